/**
 * Store overhead: {@link TokenStore} put / get / update per second on memory, SQLite and Redis,
 * against raw keyv operations on the same records, in the same run, on the same backend.
 *
 * The raw side does what the store does minus the store: the same stored values (records with
 * their sealed token, precomputed), the same keys and TTLs, through the same keyv instance kind.
 * Each TokenStore operation is compared with the keyv operations that implement it:
 * - put = "store if absent" (a record written twice must keep its state): raw `get` + `set`;
 *   the row also shows the ratio against a bare `set`;
 * - get = raw `get`;
 * - update = read-modify-write: raw `get` + `set`.
 * Operations are sequential (one awaited at a time), so the figure is per-operation cost.
 *
 * Each run measures both sides on fresh keys, back to back; a row is judged on the median of the
 * per-run ratios. A discarded warm-up run per backend comes first (JIT, connections).
 */
import { randomBytes } from 'node:crypto';
import { Keyv } from 'keyv';
import { TokenStore } from '../src/store/token-store.js';
import { tokenId } from '../src/core/fingerprint.js';
import { createMemoryBackend, createRedisBackend, createSqliteBackend, type StoreBackend } from '../test/helpers/store-backends.js';
import { absoluteRow, gc, median, pairedRatios, ratioRow, report, type BenchRow } from './lib.js';
import { BENCH_REDIS_URL, redisUnreachable } from './redis-probe.js';

// An even number of runs: sides alternate which goes first, so each order is measured equally often.
// 10 shorter runs rather than 4 long ones (about the same total time): with 4, three successive
// runs of this bench gave memory put 1.31, 1.26 and 1.28, either side of its target.
const RUNS = Number(process.env['BENCH_STORE_RUNS'] ?? 10);
const SIZES: Record<string, number> = {
  memory: Number(process.env['BENCH_STORE_MEMORY_RECORDS'] ?? 8_000),
  sqlite: Number(process.env['BENCH_STORE_SQLITE_RECORDS'] ?? 400),
  redis: Number(process.env['BENCH_STORE_REDIS_RECORDS'] ?? 1_600),
};
/** put and update on memory: the store adds validation and sealing to a map write; the rest may cost more. */
const MAX_RATIO = (kind: string, op: string): number => (kind === 'memory' && op !== 'get' ? 1.2 : 1.3);
const APP = 'b'.repeat(24);
const RETAIN = 7 * 24 * 3_600_000;

const startedAt = new Date();

function fakeJwt(i: number): string {
  const claims = Buffer.from(JSON.stringify({ sub: 'token', jti: 'BENCHSTOREAPPKEY', n: i, r: randomBytes(6).toString('hex') })).toString('base64url');
  return `eyJ0eXAiOiJKV1QiLCJhbGciOiJIUzUxMiJ9.${claims}.${randomBytes(64).toString('base64url')}`;
}

interface OpSet {
  put: number;
  get: number;
  update: number;
}

/** ops/s of a sequential loop. */
async function rate(n: number, fn: (i: number) => Promise<unknown>): Promise<number> {
  gc();
  const t0 = performance.now();
  for (let i = 0; i < n; i++) await fn(i);
  return n / ((performance.now() - t0) / 1000);
}

/** One run: both sides on fresh keys (prefix `tag`), `libFirst` deciding the order. */
async function runOnce(backend: StoreBackend, n: number, tag: string, libFirst: boolean): Promise<{ lib: OpSet; raw: OpSet; bareSet: number }> {
  const now = Date.now();
  const tokens = Array.from({ length: n }, (_, i) => fakeJwt(i));
  const ids = tokens.map(tokenId);
  const input = { appKeyId: APP, tokenType: 'Bearer', issuedAt: now, expiresAt: now + 86_400_000, revokeAt: now + 86_340_000, ownerId: 'bench' };
  // The values TokenStore writes, built once, for the raw side.
  const values = tokens.map((t, i) => ({
    schema: 1, id: ids[i]!, ...input, state: 'active', reason: null, attempts: 0, lastError: null, createdAt: now, updatedAt: now,
    token: { alg: 'none', data: t },
  }));
  const ttl = 86_400_000 + RETAIN;

  const libKeyv = backend.makeKeyv();
  const store = new TokenStore({ keyv: libKeyv, prefix: `lib${tag}` });
  const rawKeyv: Keyv = backend.makeKeyv();
  const rawKey = (i: number): string => `raw${tag}:tok:${ids[i]}`;
  const bareKey = (i: number): string => `bare${tag}:tok:${ids[i]}`;

  const l: OpSet = { put: 0, get: 0, update: 0 };
  const r: OpSet = { put: 0, get: 0, update: 0 };
  // Alternate which side goes first, per run.
  const sides: Array<() => Promise<void>> = [
    async () => {
      l.put = await rate(n, (i) => store.put(input, tokens[i]!));
      l.get = await rate(n, (i) => store.get(ids[i]!));
      l.update = await rate(n, (i) => store.update(ids[i]!, { state: 'revoking', reason: 'shutdown' }));
    },
    async () => {
      r.put = await rate(n, async (i) => {
        if ((await rawKeyv.get(rawKey(i))) === undefined) await rawKeyv.set(rawKey(i), values[i], ttl);
      });
      r.get = await rate(n, (i) => rawKeyv.get(rawKey(i)));
      r.update = await rate(n, async (i) => {
        const v = (await rawKeyv.get(rawKey(i))) as Record<string, unknown>;
        await rawKeyv.set(rawKey(i), { ...v, state: 'revoking', reason: 'shutdown', updatedAt: Date.now() }, ttl);
      });
    },
  ];
  if (!libFirst) sides.reverse();
  for (const side of sides) await side();
  const bareSet = await rate(n, (i) => rawKeyv.set(bareKey(i), values[i], ttl));
  return { lib: l, raw: r, bareSet };
}

async function measure(kind: string, backend: StoreBackend, n: number): Promise<{ lib: OpSet[]; raw: OpSet[]; bareSet: number[] }> {
  const lib: OpSet[] = [];
  const raw: OpSet[] = [];
  const bareSet: number[] = [];
  await runOnce(backend, Math.max(1, Math.ceil(n / 4)), 'warm', true); // warm-up, discarded
  if (kind === 'memory') await backend.cleanup(); // free the Map between runs
  for (let run = 0; run < RUNS; run++) {
    const m = await runOnce(backend, n, String(run), run % 2 === 0);
    lib.push(m.lib);
    raw.push(m.raw);
    bareSet.push(m.bareSet);
    if (kind === 'memory') await backend.cleanup();
  }
  return { lib, raw, bareSet };
}

const backends: Array<[string, () => StoreBackend]> = [
  ['memory', createMemoryBackend],
  ['sqlite', createSqliteBackend],
  ['redis', () => createRedisBackend(BENCH_REDIS_URL)],
];
const rows: BenchRow[] = [];
const details: Record<string, unknown> = {};
for (const [kind, make] of backends) {
  const down = kind === 'redis' ? await redisUnreachable() : null;
  if (down !== null) {
    rows.push(absoluteRow('store', kind, NaN, '', null, null, `skipped: ${down}`));
    continue;
  }
  const backend = make();
  try {
    const n = SIZES[kind]!;
    const m = await measure(kind, backend, n);
    details[kind] = { n, ...m };
    for (const op of ['put', 'get', 'update'] as const) {
      // Time per op (us), so that higher is worse: the ratio is TokenStore over raw, per run.
      const libUs = m.lib.map((x) => 1e6 / x[op]);
      const rawUs = m.raw.map((x) => 1e6 / x[op]);
      const note =
        op === 'put'
          ? `raw = get + set (store-if-absent); against a bare set (${Math.round(median(m.bareSet)).toLocaleString('en-US')} ops/s) the ratio is ${median(pairedRatios(libUs, m.bareSet.map((x) => 1e6 / x))).toFixed(2)}`
          : undefined;
      rows.push(ratioRow('store', `${kind} ${op} (${n.toLocaleString('en-US')} records, median of ${RUNS})`, libUs, 'us/op', { name: `raw keyv ${op === 'get' ? 'get' : 'get + set'}`, value: rawUs }, MAX_RATIO(kind, op), note));
    }
  } catch (err) {
    rows.push(absoluteRow('store', `${kind}`, NaN, '', null, null, `skipped: ${err instanceof Error ? err.message : String(err)}`));
  } finally {
    await backend.cleanup().catch(() => undefined);
  }
}
report({ name: 'store-overhead', rows, details }, startedAt);
