/**
 * Hot path: `getAccessToken()` with a valid token, in ns per call, against an async function that
 * returns a cached string (the least any async token getter can cost), measured in the same
 * process, alternating, several runs, median. The store is a keyv over a {@link CountingMap}:
 * the loop must read it zero times (and send zero requests). A second lifecycle with an
 * OpenTelemetry meter (the SDK's MeterProvider with a reader, so the instruments are real) is
 * measured against the first in the same alternation: metrics must cost the hot path nothing.
 * A peer, google-auth-library's `OAuth2Client.getAccessToken()` holding a valid token (answered from
 * memory: with `access_token` set and `expiry_date` beyond its eager-refresh threshold it returns
 * without a request, and needs no refresh token), is measured in the same alternation too.
 */
import Keyv from 'keyv';
import { MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import { OAuth2Client } from 'google-auth-library';
import { TokenLifecycle } from '../src/lifecycle/token-lifecycle.js';
import { startMockLsServer } from '../src/testing/index.js';
import { CountingMap } from './counting-store.js';
import { absoluteRow, gc, ratioRow, report, type BenchRow } from './lib.js';

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
const meteredMap = new CountingMap();
const metered = new TokenLifecycle({
  appKey: 'BENCHHOTPATHAPPKEY00000000000000001',
  appSecretKey: SENTINEL_SECRET,
  baseUrl: mock.url,
  store: new Keyv({ store: meteredMap, throwOnErrors: true }),
  sweepIntervalMs: 0,
  meter: meterProvider.getMeter('bench'),
});
const meteredToken = await metered.getAccessToken();

const cached: string = token;
async function cachedString(): Promise<string> {
  return cached;
}

// The peer: a warm OAuth2Client with the same token string, valid for an hour. Every request it
// could send (a refresh) goes through its transporter: counted, and must stay at 0.
const peer = new OAuth2Client();
peer.setCredentials({ access_token: token, expiry_date: Date.now() + 3_600_000, token_type: 'Bearer' });
let peerRequests = 0;
const peerRequest = peer.transporter.request.bind(peer.transporter);
peer.transporter.request = ((opts: Parameters<typeof peerRequest>[0]) => {
  peerRequests++;
  return peerRequest(opts);
}) as typeof peer.transporter.request;
if (peer.refreshHandler !== undefined || peer.credentials.refresh_token !== undefined) throw new Error('the peer must answer from memory: no refresh handler, no refresh token');
if ((await peer.getAccessToken()).token !== token) throw new Error('the peer returned another token');

// Identical loops, one per subject, so that each call site stays monomorphic.
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

async function loopPeer(n: number): Promise<number> {
  let len = 0;
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) len += (await peer.getAccessToken()).token!.length;
  const ns = Number(process.hrtime.bigint() - t0) / n;
  if (len !== n * cached.length) throw new Error("google-auth-library's getAccessToken returned another token");
  return ns;
}

/** Runs a loop on a freshly collected heap, so that one loop's garbage is not collected in the next. */
async function timed(loop: (n: number) => Promise<number>, n: number): Promise<number> {
  gc();
  return loop(n);
}

// Warm-up (JIT), then count from zero.
await loopBaseline(200_000);
await loopLifecycle(200_000);
await loopMetered(200_000);
await loopPeer(200_000);
const lsRequests = (): number => mock.stats().tokenRequests + mock.stats().revokeRequests;
const requestsBefore = lsRequests();

const base: number[] = [];
const life: number[] = [];
const meteredNs: number[] = [];
const peerNs: number[] = [];
const readsPerRun: number[] = [];
const requestsPerRun: number[] = [];
const readsDetail = { get: 0, has: 0, getMany: 0, iterate: 0 };
for (let r = 0; r < RUNS; r++) {
  map.reset();
  meteredMap.reset();
  const before = lsRequests();
  const order: Array<[(n: number) => Promise<number>, number[]]> = [
    [loopBaseline, base],
    [loopLifecycle, life],
    [loopMetered, meteredNs],
    [loopPeer, peerNs],
  ];
  // Alternate the order so drift (thermal, GC) hits each equally.
  if (r % 2 === 1) order.reverse();
  for (const [loop, out] of order) out.push(await timed(loop, CALLS));
  // Both lifecycles' stores: the note counts both lifecycles' calls.
  readsPerRun.push(map.totalReads + meteredMap.totalReads);
  for (const k of Object.keys(readsDetail) as Array<keyof typeof readsDetail>) readsDetail[k] += map.reads[k] + meteredMap.reads[k];
  requestsPerRun.push(lsRequests() - before);
}
const requests = lsRequests() - requestsBefore;
if (peerRequests !== 0) throw new Error(`google-auth-library sent ${peerRequests} request(s): it was not answering from memory`);
if ((await peer.getAccessToken()).token !== token) throw new Error('the peer returned another token after the runs');

await lc.shutdown({ deadlineMs: 5_000 });
await metered.shutdown({ deadlineMs: 5_000 });
await meterProvider.shutdown();
await mock.close();

const rows: BenchRow[] = [
  ratioRow('hot-path', 'getAccessToken() ns/call (median)', life, 'ns', { name: 'async fn returning a cached string', value: base }, 1.25),
  ratioRow('hot-path', 'getAccessToken() with a meter, ns/call (median)', meteredNs, 'ns', { name: 'the same without a meter', value: life }, 1.05),
  ratioRow(
    'hot-path',
    "getAccessToken() vs google-auth-library's warm getAccessToken()",
    life,
    'ns',
    { name: 'google-auth-library OAuth2Client, valid token in memory', value: peerNs },
    0.5,
    `the peer answered from memory: ${peerRequests} requests, the same token before and after the runs (and of the same length on every call)`,
  ),
  absoluteRow(
    'hot-path',
    'store reads during the loop',
    readsPerRun,
    '',
    { op: '==', limit: 0, everyRun: true },
    null,
    `${(RUNS * CALLS * 2).toLocaleString('en-US')} calls counted: get/has/getMany/iterate = ${Object.values(readsDetail).join('/')}`,
  ),
  absoluteRow('hot-path', 'LS requests during the loop', requestsPerRun, '', { op: '==', limit: 0, everyRun: true }, null, `${requests} over all runs`),
];
report({ name: 'hot-path', rows, details: { calls: CALLS, runs: RUNS, lifecycleNs: life, meteredNs, baselineNs: base, peerNs, peerRequests, readsPerRun, requestsPerRun, reads: readsDetail } }, startedAt);
