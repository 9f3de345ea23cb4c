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
 */
import { randomBytes } from 'node:crypto';
import { Keyv } from 'keyv';
import { TokenStore } from '../src/store/token-store.js';
import { tokenId } from '../src/core/fingerprint.js';
import { createMemoryBackend, createRedisBackend, createSqliteBackend, type StoreBackend } from '../test/helpers/store-backends.js';
import { absoluteRow, gc, median, ratioRow, report, type BenchRow } from './lib.js';

// An even number of runs: sides alternate which goes first, so each order is measured equally often.
const RUNS = Number(process.env['BENCH_STORE_RUNS'] ?? 4);
const SIZES: Record<string, number> = { memory: 20_000, sqlite: 1_000, redis: 4_000 };
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

async function measure(kind: string, backend: StoreBackend, n: number): Promise<{ lib: OpSet[]; raw: OpSet[]; bareSet: number[] }> {
  const lib: OpSet[] = [];
  const raw: OpSet[] = [];
  const bareSet: number[] = [];
  for (let run = 0; run < RUNS; run++) {
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
    const store = new TokenStore({ keyv: libKeyv, prefix: `lib${run}` });
    const rawKeyv: Keyv = backend.makeKeyv();
    const rawKey = (i: number): string => `raw${run}:tok:${ids[i]}`;
    const bareKey = (i: number): string => `bare${run}:tok:${ids[i]}`;

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
    if (run % 2 === 1) sides.reverse();
    for (const side of sides) await side();
    bareSet.push(await rate(n, (i) => rawKeyv.set(bareKey(i), values[i], ttl)));
    lib.push(l);
    raw.push(r);
    if (kind === 'memory') await backend.cleanup(); // free the Map between runs
  }
  return { lib, raw, bareSet };
}

const backends: Array<[string, () => StoreBackend]> = [
  ['memory', createMemoryBackend],
  ['sqlite', createSqliteBackend],
  ['redis', () => createRedisBackend(process.env['REDIS_URL'] ?? process.env['LS_TEST_REDIS_URL'])],
];
const rows: BenchRow[] = [];
const details: Record<string, unknown> = {};
for (const [kind, make] of backends) {
  const backend = make();
  try {
    const n = SIZES[kind]!;
    const m = await measure(kind, backend, n);
    details[kind] = { n, ...m };
    for (const op of ['put', 'get', 'update'] as const) {
      const libOps = median(m.lib.map((x) => x[op]));
      const rawOps = median(m.raw.map((x) => x[op]));
      const note =
        op === 'put'
          ? `raw = get + set (store-if-absent); against a bare set (${Math.round(median(m.bareSet)).toLocaleString('en-US')} ops/s) the ratio is ${(median(m.bareSet) / libOps).toFixed(2)}`
          : undefined;
      // Throughputs: ratio = raw ops/s / TokenStore ops/s (time per op, TokenStore over raw), so higher is worse.
      rows.push(ratioRow('store', `${kind} ${op} (${n.toLocaleString('en-US')} records, median of ${RUNS})`, 1e6 / libOps, 'us/op', { name: `raw keyv ${op === 'get' ? 'get' : 'get + set'}`, value: 1e6 / rawOps }, 1.3, note));
    }
  } catch (err) {
    rows.push(absoluteRow('store', `${kind}`, NaN, '', null, null, `skipped: ${err instanceof Error ? err.message : String(err)}`));
  } finally {
    await backend.cleanup().catch(() => undefined);
  }
}
report({ name: 'store-overhead', rows, details }, startedAt);
