/**
 * Shutdown: revoke 1,000 tracked tokens through {@link RevocationScheduler.drain} (what
 * `TokenLifecycle.shutdown()` runs) with concurrency 16, against the mock at 20 ms latency.
 *
 * The tokens are real: issued by the mock (`reissue: 'independent'`, so one app key can hold 1,000
 * live tokens; LS itself keeps one per app key, and a fleet of 1,000 app keys would be the real
 * equivalent), stored in a {@link TokenStore}, scheduled, and revoked with an {@link LsOAuthClient}
 * over HTTP. The figure is the wall time of the drain; its baseline is the lower bound
 * ceil(N / concurrency) x latency (and, with a revoke rate limit, N / rate).
 *
 * The mock runs in a child process ({@link startRemoteMock}): LS's own work is not the library's.
 */
import { LsOAuthClient } from '../src/providers/ls/ls-client.js';
import { RevocationScheduler } from '../src/schedule/revocation-scheduler.js';
import { TokenStore } from '../src/store/token-store.js';
import { appKeyId } from '../src/core/fingerprint.js';
import { startRemoteMock, type RemoteMock } from './mock-host.js';
import { createRedisBackend, createSqliteBackend, type StoreBackend } from '../test/helpers/store-backends.js';
import { absoluteRow, gc, ratioRow, report, tick, type BenchRow } from './lib.js';
import { BENCH_REDIS_URL, redisUnreachable } from './redis-probe.js';

const N = Number(process.env['BENCH_SHUTDOWN_TOKENS'] ?? 1_000);
const CONCURRENCY = 16;
const LATENCY_MS = 20;
const RATE = 400; // revokes per second: below what 16 x (1000 / 20 ms) = 800/s could do, so the rate binds
// 5 runs (was 3): a median of 3 is whichever run was in the middle; the rows are judged on it.
const RUNS = Number(process.env['BENCH_SHUTDOWN_RUNS'] ?? 5);
const APP_KEY = 'BENCHSHUTDOWNAPPKEY0000000000000000';
const SENTINEL_SECRET = 'SENTINEL-SECRET-do-not-log-0123456';

const startedAt = new Date();

interface DrainRun {
  wallMs: number;
  revoked: number;
  failed: number;
  pending: number;
  requests: number;
  maxInflight: number;
  aliveAfter: number;
}

async function issueMany(mock: RemoteMock, client: LsOAuthClient, n: number): Promise<string[]> {
  const out: string[] = [];
  const next = async (): Promise<void> => {
    while (out.length < n) {
      out.push('');
      const i = out.length - 1;
      out[i] = (await client.issueToken()).accessToken;
    }
  };
  await Promise.all(Array.from({ length: 64 }, next));
  if ((await mock.stats()).active < n) throw new Error('setup: tokens not alive');
  return out;
}

async function drainOnce(mock: RemoteMock, client: LsOAuthClient, store: TokenStore, opts: { rate?: number }): Promise<DrainRun> {
  const tokens = await issueMany(mock, client, N);
  const now = Date.now();
  const scheduler = new RevocationScheduler({
    store,
    revoke: (token, signal) => client.revokeToken(token, 'access_token', { signal }),
    concurrency: CONCURRENCY,
    ...(opts.rate === undefined ? {} : { revokeRatePerSec: opts.rate }),
  });
  for (const t of tokens) {
    const record = await store.put({ appKeyId: appKeyId(APP_KEY), tokenType: 'Bearer', issuedAt: now, expiresAt: now + 86_400_000, revokeAt: now + 3_600_000 }, t);
    scheduler.schedule(record, 'expiry');
  }
  gc();
  await mock.resetStats();
  const t0 = performance.now();
  const summary = await scheduler.drain({ deadlineMs: 60_000 });
  const wallMs = performance.now() - t0;
  const s = await mock.stats();
  scheduler.close();
  await tick();
  return { wallMs, revoked: summary.revoked, failed: summary.failed, pending: summary.pending, requests: s.revokeRequests, maxInflight: s.maxInflightRevokes, aliveAfter: s.active };
}

async function withStore<T>(kind: 'memory' | 'sqlite' | 'redis', fn: (store: TokenStore) => Promise<T>): Promise<T> {
  let backend: StoreBackend | undefined;
  let store: TokenStore;
  if (kind === 'memory') store = new TokenStore();
  else {
    backend = kind === 'sqlite' ? createSqliteBackend() : createRedisBackend(BENCH_REDIS_URL);
    store = new TokenStore({ keyv: backend.makeKeyv() });
  }
  try {
    return await fn(store);
  } finally {
    await backend?.cleanup();
  }
}

const mock = await startRemoteMock({ credentials: 'any', latencyMs: LATENCY_MS, reissue: 'independent' });
const client = new LsOAuthClient({ appKey: APP_KEY, appSecretKey: SENTINEL_SECRET, baseUrl: mock.url });
const lowerBound = Math.ceil(N / CONCURRENCY) * LATENCY_MS;
const rateBound = (N / RATE) * 1000;

// Warm-up (JIT, connections).
await withStore('memory', (store) => drainOnce(mock, client, store, {}));

const plain: DrainRun[] = [];
const rated: DrainRun[] = [];
for (let r = 0; r < RUNS; r++) {
  plain.push(await withStore('memory', (store) => drainOnce(mock, client, store, {})));
  rated.push(await withStore('memory', (store) => drainOnce(mock, client, store, { rate: RATE })));
}
const others: Record<string, DrainRun | { error: string }> = {};
for (const kind of ['sqlite', 'redis'] as const) {
  try {
    const down = kind === 'redis' ? await redisUnreachable() : null;
    if (down !== null) throw new Error(down);
    others[kind] = await withStore(kind, (store) => drainOnce(mock, client, store, {}));
  } catch (err) {
    others[kind] = { error: err instanceof Error ? err.message : String(err) };
  }
}
client.close();
await mock.close();

const check = (runs: DrainRun[]): string => {
  const bad = runs.filter((r) => r.revoked !== N || r.aliveAfter !== 0 || r.maxInflight > CONCURRENCY);
  return bad.length === 0 ? `all ${N} revoked in every run, 0 alive after, max ${Math.max(...runs.map((r) => r.maxInflight))} in flight` : `PROBLEM: ${JSON.stringify(bad)}`;
};
const rows: BenchRow[] = [
  ratioRow(
    'shutdown',
    `drain ${N} tokens, concurrency ${CONCURRENCY}, memory store (median of ${RUNS})`,
    plain.map((r) => r.wallMs),
    'ms',
    { name: `ceil(${N}/${CONCURRENCY}) x ${LATENCY_MS} ms`, value: lowerBound },
    1.25,
    `${check(plain)}; runs: ${plain.map((r) => r.wallMs.toFixed(0)).join(', ')} ms`,
  ),
  ratioRow(
    'shutdown',
    `drain ${N} tokens at revokeRatePerSec ${RATE} (median of ${RUNS})`,
    rated.map((r) => r.wallMs),
    'ms',
    { name: `${N} / ${RATE} per s`, value: rateBound },
    1.1,
    `${check(rated)}; runs: ${rated.map((r) => r.wallMs.toFixed(0)).join(', ')} ms`,
  ),
];
for (const [kind, r] of Object.entries(others)) {
  if ('error' in r) rows.push(absoluteRow('shutdown', `drain ${N} tokens, ${kind} store`, NaN, 'ms', null, null, `skipped: ${r.error}`));
  else rows.push(ratioRow('shutdown', `drain ${N} tokens, concurrency ${CONCURRENCY}, ${kind} store (1 run)`, r.wallMs, 'ms', { name: `ceil(${N}/${CONCURRENCY}) x ${LATENCY_MS} ms`, value: lowerBound }, null, check([r])));
}
report({ name: 'shutdown', rows, details: { tokens: N, concurrency: CONCURRENCY, latencyMs: LATENCY_MS, rate: RATE, plain, rated, others } }, startedAt);
