/**
 * Hot path: `getAccessToken()` with a valid token, in ns per call, against an async function that
 * returns a cached string (the least any async token getter can cost), measured in the same
 * process, alternating, several runs, median. The store is a keyv over a {@link CountingMap}:
 * the loop must read it zero times (and send zero requests). A second lifecycle with an
 * OpenTelemetry meter (the SDK's MeterProvider with a reader, so the instruments are real) is
 * measured against the first in the same alternation: metrics must cost the hot path nothing.
 */
import Keyv from 'keyv';
import { MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import { TokenLifecycle } from '../src/lifecycle/token-lifecycle.js';
import { startMockLsServer } from '../src/testing/index.js';
import { CountingMap } from './counting-store.js';
import { absoluteRow, median, ratioRow, report, type BenchRow } from './lib.js';

const CALLS = Number(process.env['BENCH_HOT_CALLS'] ?? 2_000_000);
const RUNS = Number(process.env['BENCH_HOT_RUNS'] ?? 9);
const SENTINEL_SECRET = 'SENTINEL-SECRET-do-not-log-0123456';

const startedAt = new Date();
const mock = await startMockLsServer({ credentials: 'any' });
const map = new CountingMap();
const lc = new TokenLifecycle({
  appKey: 'BENCHHOTPATHAPPKEY00000000000000000',
  appSecretKey: SENTINEL_SECRET,
  baseUrl: mock.url,
  store: new Keyv({ store: map, throwOnErrors: true }),
  sweepIntervalMs: 0,
});
const token = await lc.getAccessToken();

class PullReader extends MetricReader {
  protected override async onForceFlush(): Promise<void> {}
  protected override async onShutdown(): Promise<void> {}
}
const meterProvider = new MeterProvider({ readers: [new PullReader()] });
const metered = new TokenLifecycle({
  appKey: 'BENCHHOTPATHAPPKEY00000000000000001',
  appSecretKey: SENTINEL_SECRET,
  baseUrl: mock.url,
  store: new Keyv({ store: new CountingMap(), throwOnErrors: true }),
  sweepIntervalMs: 0,
  meter: meterProvider.getMeter('bench'),
});
const meteredToken = await metered.getAccessToken();

const cached: string = token;
async function cachedString(): Promise<string> {
  return cached;
}

// Two identical loops, so that each call site stays monomorphic.
async function loopBaseline(n: number): Promise<number> {
  let len = 0;
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) len += (await cachedString()).length;
  const ns = Number(process.hrtime.bigint() - t0) / n;
  if (len !== n * cached.length) throw new Error('baseline returned something else');
  return ns;
}
async function loopLifecycle(n: number): Promise<number> {
  let len = 0;
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) len += (await lc.getAccessToken()).length;
  const ns = Number(process.hrtime.bigint() - t0) / n;
  if (len !== n * cached.length) throw new Error('getAccessToken returned another token');
  return ns;
}

async function loopMetered(n: number): Promise<number> {
  let len = 0;
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) len += (await metered.getAccessToken()).length;
  const ns = Number(process.hrtime.bigint() - t0) / n;
  if (len !== n * meteredToken.length) throw new Error('getAccessToken (metered) returned another token');
  return ns;
}

// Warm-up (JIT), then count from zero.
await loopBaseline(200_000);
await loopLifecycle(200_000);
await loopMetered(200_000);
map.reset();
const requestsBefore = mock.stats().tokenRequests + mock.stats().revokeRequests;

const base: number[] = [];
const life: number[] = [];
const meteredNs: number[] = [];
for (let r = 0; r < RUNS; r++) {
  // Alternate the order so drift (thermal, GC) hits each equally.
  if (r % 2 === 0) {
    base.push(await loopBaseline(CALLS));
    life.push(await loopLifecycle(CALLS));
    meteredNs.push(await loopMetered(CALLS));
  } else {
    meteredNs.push(await loopMetered(CALLS));
    life.push(await loopLifecycle(CALLS));
    base.push(await loopBaseline(CALLS));
  }
}
const reads = map.totalReads;
const readsDetail = { ...map.reads };
const requests = mock.stats().tokenRequests + mock.stats().revokeRequests - requestsBefore;

await lc.shutdown({ deadlineMs: 5_000 });
await metered.shutdown({ deadlineMs: 5_000 });
await meterProvider.shutdown();
await mock.close();

const rows: BenchRow[] = [
  ratioRow('hot-path', 'getAccessToken() ns/call (median)', median(life), 'ns', { name: 'async fn returning a cached string', value: median(base) }, 2),
  ratioRow('hot-path', 'getAccessToken() with a meter, ns/call (median)', median(meteredNs), 'ns', { name: 'the same without a meter', value: median(life) }, 1.05),
  absoluteRow('hot-path', 'store reads during the loop', reads, '', { op: '==', limit: 0 }, null, `${(RUNS * CALLS * 2).toLocaleString('en-US')} calls counted: get/has/getMany/iterate = ${Object.values(readsDetail).join('/')}`),
  absoluteRow('hot-path', 'LS requests during the loop', requests, '', { op: '==', limit: 0 }),
];
report({ name: 'hot-path', rows, details: { calls: CALLS, runs: RUNS, lifecycleNs: life, meteredNs, baselineNs: base, reads: readsDetail } }, startedAt);
