/**
 * The three keyv backends the store behaviour is tested on: an in-memory `Map`, a real Redis at
 * 127.0.0.1:6379 (override with `LS_TEST_REDIS_URL`) and a SQLite file under `os.tmpdir()`.
 *
 * Each {@link StoreBackend} owns a unique namespace (and file), so test files may run in parallel
 * on the same Redis. `makeKeyv()` returns a new keyv on the same shared data, as a second process
 * would see it. The raw accessors bypass keyv and the token store to inspect or damage the bytes
 * really stored. Call `cleanup()` in `afterAll`/`afterEach`: it removes the data and closes every
 * connection so jest can exit.
 *
 * Usage:
 * ```ts
 * describe.each(STORE_BACKENDS)('$name', (factory) => {
 *   let backend: StoreBackend;
 *   beforeEach(() => { backend = factory.create(); });
 *   afterEach(() => backend.cleanup());
 * });
 * ```
 */
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Keyv } from 'keyv';
import { createClient, createKeyv } from '@keyv/redis';
import KeyvSqlite from '@keyv/sqlite';

/** Names of the test backends. */
export type BackendName = 'memory' | 'redis' | 'sqlite' | 'redis-sentinel' | 'redis-cluster';

/** Deletes every key of the test Redis matching `pattern` (a test's own namespace): tests leave nothing behind. */
export async function deleteRedisKeys(pattern: string, url: string = TEST_REDIS_URL): Promise<void> {
  const client = createClient({ url });
  await client.connect();
  try {
    const keys = await client.keys(pattern);
    if (keys.length > 0) await client.del(keys);
  } finally {
    await client.close();
  }
}

/** URL of the test Redis. */
export const TEST_REDIS_URL = process.env['LS_TEST_REDIS_URL'] ?? 'redis://127.0.0.1:6379';

/** One live test backend (one namespace on one data set). */
export interface StoreBackend {
  /** Which backend this is. */
  readonly name: BackendName;
  /** The keyv namespace used (unique per backend instance). */
  readonly namespace: string;
  /** A new keyv (with `throwOnErrors: true`) on this backend's shared data. Closed by `cleanup()`. */
  makeKeyv(): Keyv;
  /** The raw text physically stored for keyv key `key` (keyv envelope JSON), bypassing keyv. */
  readRaw(key: string): Promise<string | undefined>;
  /** Writes raw text for keyv key `key`, bypassing keyv (no TTL). */
  writeRaw(key: string, raw: string): Promise<void>;
  /** Everything this backend physically holds, as text (SQLite: the database file bytes). */
  dumpAll(): Promise<string>;
  /** Remaining native TTL of keyv key `key` in ms (Redis `PTTL`); `undefined` where the backend has none. */
  nativeTtlMs(key: string): Promise<number | undefined>;
  /** Removes this backend's data and closes every connection it opened. */
  cleanup(): Promise<void>;
}

/** A way to create a {@link StoreBackend}; `name` makes it usable with `describe.each(...)('$name')`. */
export interface BackendFactory {
  /** Which backend this creates. */
  readonly name: BackendName;
  /** Creates a fresh backend with a new unique namespace. */
  create(): StoreBackend;
  /** Starts the servers the backend needs (Sentinel, Cluster), once per suite, before `create()`. */
  setup?(): Promise<void>;
  /** Stops what `setup()` started. */
  teardown?(): Promise<void>;
}

function uniqueNamespace(): string {
  return `lstest-${process.pid}-${randomBytes(6).toString('hex')}`;
}

/** A fresh in-memory backend: one shared `Map`, keyv keys stored as `${namespace}:${key}`. */
export function createMemoryBackend(): StoreBackend {
  const namespace = uniqueNamespace();
  const map = new Map<string, unknown>();
  const physical = (key: string): string => `${namespace}:${key}`;
  return {
    name: 'memory',
    namespace,
    makeKeyv: () => new Keyv({ store: map, namespace, throwOnErrors: true }),
    readRaw: async (key) => {
      const v = map.get(physical(key));
      return typeof v === 'string' ? v : v === undefined ? undefined : JSON.stringify(v);
    },
    writeRaw: async (key, raw) => {
      map.set(physical(key), raw);
    },
    dumpAll: async () => JSON.stringify(Array.from(map.entries())),
    nativeTtlMs: async () => undefined,
    cleanup: async () => {
      map.clear();
    },
  };
}

/**
 * Redis client options that fail fast while Redis is down instead of waiting forever: a connect
 * timeout and no automatic reconnect (the `@keyv/redis` adapter reconnects on the next command,
 * so a dead Redis costs one failed connect per operation). The offline queue stays on: with
 * `disableOfflineQueue: true`, commands issued while the first connect is still in progress
 * (e.g. parallel puts right after start) fail with "The client is offline".
 */
export function fastFailRedisOptions(url: string = TEST_REDIS_URL): { url: string; socket: { connectTimeout: number; reconnectStrategy: false } } {
  return { url, socket: { connectTimeout: 2_000, reconnectStrategy: false } };
}

/**
 * A fresh Redis backend built the way `@keyv/redis` recommends (`createKeyv(url, { namespace })`,
 * which turns keyv's own prefix off): keyv keys are stored as `${namespace}::${key}`.
 */
export function createRedisBackend(url: string = TEST_REDIS_URL): StoreBackend {
  const namespace = uniqueNamespace();
  const physical = (key: string): string => `${namespace}::${key}`;
  const keyvs: Keyv[] = [];
  const raw = createClient({ url });
  raw.on('error', () => {
    /* surfaced by the commands themselves */
  });
  let connecting: Promise<unknown> | undefined;
  const client = async (): Promise<typeof raw> => {
    connecting ??= raw.connect();
    await connecting;
    return raw;
  };
  return {
    name: 'redis',
    namespace,
    makeKeyv: () => {
      const keyv = createKeyv(fastFailRedisOptions(url), { namespace, throwOnErrors: true });
      keyvs.push(keyv);
      return keyv;
    },
    readRaw: async (key) => (await (await client()).get(physical(key))) ?? undefined,
    writeRaw: async (key, value) => {
      await (await client()).set(physical(key), value);
    },
    dumpAll: async () => {
      const c = await client();
      const keys = await c.keys(`${namespace}::*`);
      const values = keys.length > 0 ? await c.mGet(keys) : [];
      return JSON.stringify(keys.map((k, i) => [k, values[i]]));
    },
    nativeTtlMs: async (key) => (await client()).pTTL(physical(key)),
    cleanup: async () => {
      try {
        const c = await client();
        const keys = await c.keys(`${namespace}::*`);
        if (keys.length > 0) await c.del(keys);
      } finally {
        await Promise.all(keyvs.map((k) => k.disconnect().catch(() => undefined)));
        if (raw.isOpen) await raw.close();
      }
    },
  };
}

/** A fresh SQLite backend: a temp file, keyv keys stored as `${namespace}:${key}` in table `keyv`. */
export function createSqliteBackend(): StoreBackend {
  const namespace = uniqueNamespace();
  const file = join(tmpdir(), `ls-token-test-${namespace}.sqlite`);
  const uri = `sqlite://${file}`;
  const physical = (key: string): string => `${namespace}:${key}`;
  const keyvs: Keyv[] = [];
  let admin: KeyvSqlite | undefined;
  const adminStore = (): KeyvSqlite => (admin ??= new KeyvSqlite({ uri, busyTimeout: 5_000 }));
  return {
    name: 'sqlite',
    namespace,
    makeKeyv: () => {
      const keyv = new Keyv({ store: new KeyvSqlite({ uri, busyTimeout: 5_000 }), namespace, throwOnErrors: true });
      keyvs.push(keyv);
      return keyv;
    },
    readRaw: async (key) => {
      const rows = (await adminStore().query('SELECT value FROM keyv WHERE key = ?', physical(key))) as Array<{ value: string }>;
      return rows[0]?.value;
    },
    writeRaw: async (key, value) => {
      await adminStore().query(
        'INSERT INTO keyv (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value',
        physical(key),
        value,
      );
    },
    dumpAll: async () => {
      await adminStore().query('SELECT 1'); // make sure the file exists and the table was created
      return (await fs.readFile(file)).toString('latin1');
    },
    nativeTtlMs: async () => undefined,
    cleanup: async () => {
      await Promise.all(keyvs.map((k) => k.disconnect().catch(() => undefined)));
      if (admin !== undefined) await admin.disconnect().catch(() => undefined);
      await fs.rm(file, { force: true });
      await fs.rm(`${file}-journal`, { force: true });
    },
  };
}

/** The three backends, for `describe.each(STORE_BACKENDS)('$name', ...)`. */
export const STORE_BACKENDS: readonly BackendFactory[] = [
  { name: 'memory', create: createMemoryBackend },
  { name: 'redis', create: () => createRedisBackend() },
  { name: 'sqlite', create: createSqliteBackend },
];
