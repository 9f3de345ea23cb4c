/**
 * A store shared with the rest of the trading stack (#20): a lifecycle's `start()`, first
 * `getAccessToken()` (adopting the fleet's stored token) and `sweep()`, in a store that also holds
 * unrelated keys or many other app keys, against the same in a store holding only this app key.
 *
 * - Redis: a private `redis-server` on a free port, started here (with DEBUG enabled). Database 0
 *   holds the measured app key (20 records: the live token and 19 ended ones); database 1 the same
 *   plus 1,000,000 unrelated keys (`DEBUG POPULATE`); database 2 the same plus 99 other app keys
 *   with 20 records each (100 app keys x 20 records).
 * - SQLite: three files likewise, with 100,000 unrelated rows in the second.
 *
 * Runs alternate between the databases, so load on the machine falls on every side alike; each
 * figure is the median of RUNS fresh lifecycles (each a new process's view: new instance id), and
 * each ratio the median of the per-run ratios (the sides of one run are measured back to back).
 * The one-time move from the 0.1.x layout (a walk of the whole store, once per app key) is done
 * before the runs and reported apart, without a target.
 */
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient, createKeyv } from '@keyv/redis';
import KeyvSqlite from '@keyv/sqlite';
import { Keyv } from 'keyv';
import { TokenLifecycle } from '../src/lifecycle/token-lifecycle.js';
import { appKeyIdFor, legacyAppKeyIdFor } from '../src/providers/provider.js';
import { lsProvider } from '../src/providers/ls/ls-provider.js';
import { TokenStore } from '../src/store/token-store.js';
import { startMockLsServer } from '../src/testing/index.js';
import { startPrivateRedis } from '../test/fixtures/harness.js';
import { absoluteRow, gc, median, ratioRow, report, type BenchRow } from './lib.js';

const RUNS = Number(process.env['BENCH_SHARED_RUNS'] ?? 15);
const RECORDS = 20;
const OTHER_APP_KEYS = 99;
const REDIS_UNRELATED = Number(process.env['BENCH_SHARED_REDIS_KEYS'] ?? 1_000_000);
const SQLITE_UNRELATED = Number(process.env['BENCH_SHARED_SQLITE_ROWS'] ?? 100_000);
const APP_KEY = 'PSbenchSharedStore0000000000000000000'.slice(0, 36);
const SECRET = 'bench-secret-000000000000000000000000'.slice(0, 36);
const HOUR = 3_600_000;
// 10:00 KST on a fixed day, moving with real time: far from LS's 07:00 cut-off at any hour.
const T0 = Date.UTC(2026, 0, 5, 1, 0, 0);
const realStart = Date.now();
const now = (): number => T0 + (Date.now() - realStart);
const startedAt = new Date();

function fakeJwt(): string {
  const claims = Buffer.from(JSON.stringify({ sub: 'token', jti: randomBytes(8).toString('hex') })).toString('base64url');
  return `eyJ0eXAiOiJKV1QiLCJhbGciOiJIUzUxMiJ9.${claims}.${randomBytes(48).toString('base64url')}`;
}

/** Writes `RECORDS` records of `appKey` (the newest active and usable, the others revoked). */
async function seedAppKey(store: TokenStore, appKey: string, baseUrl: string): Promise<void> {
  const id = appKeyIdFor(lsProvider, appKey, baseUrl);
  const view = store.forAppKey(id);
  const t = now();
  for (let i = 0; i < RECORDS; i++) {
    const live = i === RECORDS - 1;
    const issuedAt = live ? t - 60_000 : t - (RECORDS - i) * HOUR;
    const rec = await view.put({ appKeyId: id, tokenType: 'Bearer', issuedAt, expiresAt: issuedAt + 24 * HOUR, revokeAt: issuedAt + 20 * HOUR, ownerId: 'seed' }, fakeJwt());
    if (!live) await view.update(rec.id, { state: 'revoked', reason: 'expiry' });
  }
  await view.migrateLegacy(legacyAppKeyIdFor(lsProvider, appKey, baseUrl)!); // the one-time walk, done before timing
}

interface Timing {
  start: number;
  first: number;
  sweep: number;
}

/** One fresh lifecycle on `keyv`: start(), first getAccessToken() (adopted), sweep(), in ms. */
async function measureOnce(keyv: Keyv, baseUrl: string, run: number): Promise<Timing> {
  const lc = new TokenLifecycle({ appKey: APP_KEY, appSecretKey: SECRET, baseUrl, store: keyv, now, instanceId: `bench-${run}-${randomBytes(3).toString('hex')}`, sweepIntervalMs: 0, leaseTtlMs: 600_000 });
  gc(); // the previous lifecycle's garbage is not this one's cost
  let t = performance.now();
  await lc.start();
  const start = performance.now() - t;
  t = performance.now();
  await lc.getAccessToken();
  const first = performance.now() - t;
  t = performance.now();
  await lc.sweep();
  const sweep = performance.now() - t;
  // No shutdown: it would revoke the fleet's token. Timers are unref'd; the lease expires.
  return { start, first, sweep };
}

/** A private redis-server that allows `DEBUG POPULATE` (the million unrelated keys), by database number. */
async function startRedis(): Promise<{ url: (db: number) => string; stop: () => Promise<void> }> {
  const r = await startPrivateRedis(['--enable-debug-command', 'yes']);
  return { url: (db) => `${r.url}/${db}`, stop: () => r.stop() };
}

type Side = { name: string; keyv: Keyv };

async function compare(kind: string, sides: { base: Side; unrelated: Side; appKeys: Side }, unrelatedLabel: string, baseUrl: string, rows: BenchRow[]): Promise<Record<string, unknown>> {
  const all = [sides.base, sides.unrelated, sides.appKeys];
  const times = new Map<string, Timing[]>(all.map((s) => [s.name, []]));
  const issuedPerRun: number[] = [];
  for (const s of all) await measureOnce(s.keyv, baseUrl, -1); // warm-up: connections, JIT
  for (let run = 0; run < RUNS; run++) {
    const before = mock.stats().issued;
    // Rotate the order so that each side goes first equally often.
    for (let k = 0; k < all.length; k++) {
      const s = all[(run + k) % all.length]!;
      times.get(s.name)!.push(await measureOnce(s.keyv, baseUrl, run));
    }
    issuedPerRun.push(mock.stats().issued - before);
  }
  // Every first token must be the stored one: an issuance would measure LS, not the store.
  rows.push(absoluteRow('shared-store', `${kind} tokens issued by the ${RUNS * all.length} lifecycles (all adopt the stored one)`, issuedPerRun, '', { op: '==', limit: 0, everyRun: true }));
  const runsOf = (side: Side, m: keyof Timing): number[] => times.get(side.name)!.map((t) => t[m]);
  const med = (side: Side, m: keyof Timing): number => median(runsOf(side, m));
  const labels: Record<keyof Timing, string> = { start: 'start()', first: 'first getAccessToken()', sweep: 'sweep()' };
  for (const m of ['start', 'first', 'sweep'] as const) {
    rows.push(ratioRow('shared-store', `${kind} ${labels[m]}, ${unrelatedLabel} unrelated keys (median of ${RUNS})`, runsOf(sides.unrelated, m), 'ms', { name: 'no unrelated keys', value: runsOf(sides.base, m) }, 1.2));
    rows.push(ratioRow('shared-store', `${kind} ${labels[m]}, 100 app keys x ${RECORDS} records (median of ${RUNS})`, runsOf(sides.appKeys, m), 'ms', { name: `1 app key x ${RECORDS}`, value: runsOf(sides.base, m) }, 1.2));
  }
  return Object.fromEntries(all.map((s) => [s.name, { start: med(s, 'start'), first: med(s, 'first'), sweep: med(s, 'sweep') }]));
}

async function timeMigration(keyv: Keyv, baseUrl: string): Promise<number> {
  const key = `PSbenchMigrate${randomBytes(6).toString('hex')}`.slice(0, 36);
  const view = new TokenStore({ keyv, now }).forAppKey(appKeyIdFor(lsProvider, key, baseUrl));
  const t = performance.now();
  await view.migrateLegacy(legacyAppKeyIdFor(lsProvider, key, baseUrl)!);
  return performance.now() - t;
}

const rows: BenchRow[] = [];
const details: Record<string, unknown> = { runs: RUNS, recordsPerAppKey: RECORDS, redisUnrelated: REDIS_UNRELATED, sqliteUnrelated: SQLITE_UNRELATED };
const mock = await startMockLsServer({ now });
const baseUrl = mock.url;
const redis = await startRedis();
const sqliteFiles: string[] = [];
const keyvs: Keyv[] = [];
try {
  // ---- Redis
  const redisKeyv = (db: number): Keyv => {
    const k = createKeyv({ url: redis.url(db), socket: { connectTimeout: 5_000, reconnectStrategy: false } }, { namespace: 'bench', throwOnErrors: true });
    keyvs.push(k);
    return k;
  };
  const r = { base: { name: 'redis-base', keyv: redisKeyv(0) }, unrelated: { name: 'redis-unrelated', keyv: redisKeyv(1) }, appKeys: { name: 'redis-appkeys', keyv: redisKeyv(2) } };
  const admin = createClient({ url: redis.url(1) });
  await admin.connect();
  await admin.sendCommand(['DEBUG', 'POPULATE', String(REDIS_UNRELATED), 'market:tick']);
  details['redisDb1Size'] = await admin.dbSize();
  await admin.close();
  for (const s of [r.base, r.unrelated, r.appKeys]) await seedAppKey(new TokenStore({ keyv: s.keyv, now }), APP_KEY, baseUrl);
  const others = new TokenStore({ keyv: r.appKeys.keyv, now });
  for (let i = 0; i < OTHER_APP_KEYS; i++) await seedAppKey(others, `PSother${String(i).padStart(29, '0')}`, baseUrl);
  details['redis'] = await compare('Redis', r, REDIS_UNRELATED.toLocaleString('en-US'), baseUrl, rows);
  const migrateMs = await timeMigration(r.unrelated.keyv, baseUrl);
  rows.push(absoluteRow('shared-store', `Redis one-time move from 0.1.x, ${REDIS_UNRELATED.toLocaleString('en-US')} unrelated keys (once per app key)`, migrateMs, 'ms', null));

  // ---- SQLite
  const sqliteKeyv = (name: string): Keyv => {
    const file = join(tmpdir(), `ls-bench-shared-${process.pid}-${name}.sqlite`);
    sqliteFiles.push(file);
    const k = new Keyv({ store: new KeyvSqlite({ uri: `sqlite://${file}`, busyTimeout: 5_000 }), namespace: 'bench', throwOnErrors: true });
    keyvs.push(k);
    return k;
  };
  const q = { base: { name: 'sqlite-base', keyv: sqliteKeyv('base') }, unrelated: { name: 'sqlite-unrelated', keyv: sqliteKeyv('unrelated') }, appKeys: { name: 'sqlite-appkeys', keyv: sqliteKeyv('appkeys') } };
  const adapter = q.unrelated.keyv.store as KeyvSqlite;
  await adapter.query('SELECT 1');
  await adapter.query(
    `WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < ${SQLITE_UNRELATED}) INSERT INTO keyv (key, value) SELECT 'market:tick:' || x, '{"value":1}' FROM c`,
  );
  for (const s of [q.base, q.unrelated, q.appKeys]) await seedAppKey(new TokenStore({ keyv: s.keyv, now }), APP_KEY, baseUrl);
  const sqliteOthers = new TokenStore({ keyv: q.appKeys.keyv, now });
  for (let i = 0; i < OTHER_APP_KEYS; i++) await seedAppKey(sqliteOthers, `PSother${String(i).padStart(29, '0')}`, baseUrl);
  details['sqlite'] = await compare('SQLite', q, SQLITE_UNRELATED.toLocaleString('en-US'), baseUrl, rows);
  rows.push(absoluteRow('shared-store', `SQLite one-time move from 0.1.x, ${SQLITE_UNRELATED.toLocaleString('en-US')} unrelated keys (once per app key)`, await timeMigration(q.unrelated.keyv, baseUrl), 'ms', null));
} finally {
  await Promise.all(keyvs.map((k) => k.disconnect().catch(() => undefined)));
  await redis.stop();
  await mock.close();
  for (const f of sqliteFiles) await fs.rm(f, { force: true });
}
report({ name: 'shared-store', rows, details }, startedAt);
process.exit(0);
