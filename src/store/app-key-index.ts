/**
 * The per-app-key index: which records and meta values one app key has, so that finding them
 * costs O(that app key's keys) whatever else the backend holds (the rest of a trading stack's
 * Redis, other app keys). One implementation per kind of backend, picked once:
 *
 * - Redis: a sorted set at `${prefix}:{S}:index` (same hash tag, so same Cluster slot as the keys
 *   it lists), member `tok:<id>` or `meta:<name>`, score = when it was last added (writer's clock).
 *   `ZADD`/`ZREM` are atomic, so concurrent writers in several processes never lose each other's
 *   entries. A new record goes with its entry and the current-token pointer in one script call
 *   ({@link AppKeyIndex.addWith}), written only if no record of that token exists: a put of a
 *   new token is one round trip.
 * - SQLite: no index of its own: the table's primary key already is one, and a range query on the
 *   app key's key prefix reads just its rows, values included. No current-token pointer either
 *   ({@link AppKeyIndex.derivesCurrent}): that one query already brings every record of the app
 *   key, the newest usable one is picked from them, and a put is one write (one transaction) where
 *   the pointer made it two.
 * - A `Map` (in-memory keyv, one process by nature): the index lives beside it in this process's
 *   memory, keyed by the `Map` itself (several stores over one `Map` share it), and so does the
 *   app key's current-token pointer ({@link AppKeyIndex.pointers}): every reader of a `Map` is
 *   in this process, and a put then costs what keyv's own get and set cost (one write, not two).
 * - Any other keyv adapter: an index record at the same key, `{ members: { member: addedAt } }`,
 *   rewritten under a lock held in this process (a write costs O(the app key's entries)).
 *   Processes sharing such a backend can lose an entry to a concurrent rewrite; the sweep's
 *   repair puts back the entries of every token the fleet still knows of (pointer, leases).
 *
 * Write order makes a crash harmless: the entry is added before the value is written, and removed
 * after the value is deleted, so a crash in between leaves an entry without a value (skipped on
 * read, removed by the repair once it is older than {@link INDEX_GRACE_MS}), never a value the
 * index does not know. An entry is removed as stale only if it was not added again meanwhile.
 */
import { createHash } from 'node:crypto';
import { ErrorCodes, LsTokenError } from '../core/errors.js';
import { type KeyvAccess, isThenable, redisAdapterOf, storeError } from './keyv-access.js';
import { isPlainObject } from './token-record.js';
import type { StoreKeys } from './store-keys.js';

/**
 * How old an index entry without a value must be before the repair removes it: far longer than
 * one write takes (entry first, value right after), so a write in flight is never undone.
 */
export const INDEX_GRACE_MS = 60_000;

/** One entry of an app key's index. */
export interface IndexedEntry {
  /** `tok:<id>` or `meta:<name>`. */
  readonly member: string;
  /** When the entry was last added (writer's clock), where the index keeps it. */
  readonly addedAt: number | undefined;
  /** Whether `raw` holds the value already (SQLite's range query reads it with the key). */
  readonly read: boolean;
  /** The raw adapter value, when `read`. */
  readonly raw: unknown;
}

/** One app key's index; see the module notes. Failures are `ERR_STORE`. */
export interface AppKeyIndex {
  /** Which implementation this is. */
  readonly kind: 'redis' | 'sqlite' | 'memory' | 'record';
  /** Adds (or refreshes) `member` of app key `scope`. */
  add(scope: string, member: string, at: number): Promise<void>;
  /** Removes `member`. */
  remove(scope: string, member: string): Promise<void>;
  /** Removes `member` only if it was last added at or before `notAfter`. */
  removeStale(scope: string, member: string, notAfter: number): Promise<void>;
  /** The entries whose member starts with `memberPrefix`. */
  entries(scope: string, memberPrefix: string): Promise<IndexedEntry[]>;
  /**
   * Where this index keeps the current-token pointers itself (an in-process `Map` store), by app
   * key; `undefined`: the pointer is a meta value in the backend.
   */
  readonly pointers?: Map<string, { readonly id: string; readonly issuedAt: number }>;
  /** Whether no pointer is kept at all: the current token is found among the app key's records, which the index reads in one query. */
  readonly derivesCurrent?: boolean;
  /**
   * Adds `member` and makes `writes` (values already serialized as keyv would write them, at keyv
   * keys of the same app key) in one atomic call, where the backend has one (Redis: a script,
   * whose index keeps the current-token pointer as a value in the backend); absent elsewhere. With `ifAbsent`, nothing is done when the first write's key holds a value,
   * and that raw value is the answer; otherwise the answer is `null`.
   */
  addWith?(scope: string, member: string, at: number, writes: readonly EnvelopeWrite[], ifAbsent: boolean): Promise<unknown>;
}

/** One value for {@link AppKeyIndex.addWith}: a keyv key, the string keyv would store there, its TTL. */
export interface EnvelopeWrite {
  readonly key: string;
  readonly envelope: string;
  readonly ttlMs: number;
}

/** Picks the index for the backend behind `kv`. */
export function appKeyIndexFor(kv: KeyvAccess, keys: StoreKeys): AppKeyIndex {
  const sqlite = sqliteQueryOf(kv);
  if (redisAdapterOf(kv.keyv) !== undefined) return new RedisIndex(kv, keys);
  if (sqlite !== undefined) return new SqliteIndex(kv, keys, sqlite.query, sqlite.table);
  if (kv.keyv.store instanceof Map) return new MemoryIndex(kv.keyv.store, keys);
  return new RecordIndex(kv, keys);
}

type Query = (sql: string, ...params: unknown[]) => Promise<unknown>;

/** The `@keyv/sqlite` adapter's `query` and table, recognised by `opts.dialect` as keyv does. */
function sqliteQueryOf(kv: KeyvAccess): { query: Query; table: string } | undefined {
  const store = kv.keyv.store as { opts?: { dialect?: unknown; table?: unknown }; query?: unknown } | undefined;
  if (store === undefined || store === null || store instanceof Map) return undefined;
  try {
    const table = store.opts?.table ?? 'keyv';
    if (store.opts?.dialect !== 'sqlite' || typeof store.query !== 'function') return undefined;
    if (typeof table !== 'string' || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(table)) return undefined;
    const query = store.query as Query;
    return { query: (sql, ...params) => query.call(store, sql, ...params), table };
  } catch {
    return undefined;
  }
}

/**
 * A put on Redis: the index entry (`ZADD KEYS[1] ARGV[2] ARGV[3]`) and each value (`SET KEYS[i]
 * ARGV[2i] PX ARGV[2i+1]`, as `@keyv/redis` writes one) in one call; with `ARGV[1] == '1'`, only if
 * `KEYS[2]` (the record) does not exist, whose value is answered otherwise (nothing written).
 * Every key belongs to one app key, so to one hash slot (its hash tag): the script runs on Cluster too.
 */
const PUT_SCRIPT =
  "if ARGV[1] == '1' then local v = redis.call('GET', KEYS[2]) if v then return v end end " +
  "redis.call('ZADD', KEYS[1], ARGV[2], ARGV[3]) for i = 2, #KEYS do redis.call('SET', KEYS[i], ARGV[2 * i], 'PX', ARGV[2 * i + 1]) end return false";

const PUT_SHA = createHash('sha1').update(PUT_SCRIPT).digest('hex');

const REMOVE_STALE_SCRIPT =
  "local s = redis.call('ZSCORE', KEYS[1], ARGV[1]) if s and tonumber(s) <= tonumber(ARGV[2]) then return redis.call('ZREM', KEYS[1], ARGV[1]) end return 0";

class RedisIndex implements AppKeyIndex {
  readonly kind = 'redis';
  readonly #kv: KeyvAccess;
  readonly #keys: StoreKeys;

  constructor(kv: KeyvAccess, keys: StoreKeys) {
    this.#kv = kv;
    this.#keys = keys;
  }

  /** Sends a command whose one key is `key` (routed by it on Cluster: every key of an app key shares its hash slot). */
  async #send(key: string, args: string[], op: string): Promise<unknown> {
    try {
      return await redisAdapterOf(this.#kv.keyv)!.run(key, args);
    } catch (err) {
      throw storeError(err, `Token store index ${op} failed`, this.#kv.scrubber);
    }
  }

  #key(scope: string): string {
    return this.#kv.physicalKey(this.#keys.index(scope));
  }

  async add(scope: string, member: string, at: number): Promise<void> {
    await this.#send(this.#key(scope), ['ZADD', this.#key(scope), String(Math.floor(at)), member], 'add');
  }

  async remove(scope: string, member: string): Promise<void> {
    await this.#send(this.#key(scope), ['ZREM', this.#key(scope), member], 'remove');
  }

  async addWith(scope: string, member: string, at: number, writes: readonly EnvelopeWrite[], ifAbsent: boolean): Promise<unknown> {
    const index = this.#key(scope);
    const keys = writes.map((w) => this.#kv.physicalKey(w.key));
    const args = writes.flatMap((w) => [w.envelope, String(Math.max(1, Math.ceil(w.ttlMs)))]);
    const tail = [String(1 + keys.length), index, ...keys, ifAbsent ? '1' : '0', String(Math.floor(at)), member, ...args];
    // By its hash: the script's text is sent and hashed again only where the server lacks it
    // (first use on a node, a promoted replica, SCRIPT FLUSH).
    try {
      return await redisAdapterOf(this.#kv.keyv)!.run(index, ['EVALSHA', PUT_SHA, ...tail]);
    } catch (err) {
      if (!String((err as { message?: unknown } | undefined)?.message).includes('NOSCRIPT')) throw storeError(err, 'Token store index write failed', this.#kv.scrubber);
      return this.#send(index, ['EVAL', PUT_SCRIPT, ...tail], 'write');
    }
  }

  async removeStale(scope: string, member: string, notAfter: number): Promise<void> {
    await this.#send(this.#key(scope), ['EVAL', REMOVE_STALE_SCRIPT, '1', this.#key(scope), member, String(Math.floor(notAfter))], 'repair');
  }

  async entries(scope: string, memberPrefix: string): Promise<IndexedEntry[]> {
    const reply = await this.#send(this.#key(scope), ['ZRANGE', this.#key(scope), '0', '-1', 'WITHSCORES'], 'read');
    const out: IndexedEntry[] = [];
    const push = (member: unknown, score: unknown): void => {
      const m = typeof member === 'string' ? member : Buffer.isBuffer(member) ? member.toString('utf8') : undefined;
      if (m === undefined || !m.startsWith(memberPrefix)) return;
      const at = Number(typeof score === 'string' || typeof score === 'number' ? score : Buffer.isBuffer(score) ? score.toString() : NaN);
      out.push({ member: m, addedAt: Number.isFinite(at) ? at : undefined, read: false, raw: undefined });
    };
    if (Array.isArray(reply)) {
      // RESP2: a flat [member, score, ...]; RESP3: [[member, score], ...].
      if (reply.length > 0 && Array.isArray(reply[0])) for (const pair of reply as unknown[][]) push(pair[0], pair[1]);
      else for (let i = 0; i + 1 < reply.length; i += 2) push(reply[i], reply[i + 1]);
    }
    return out;
  }
}

class SqliteIndex implements AppKeyIndex {
  readonly kind = 'sqlite';
  readonly derivesCurrent = true;
  readonly #kv: KeyvAccess;
  readonly #keys: StoreKeys;
  readonly #query: Query;
  readonly #sql: string;

  constructor(kv: KeyvAccess, keys: StoreKeys, query: Query, table: string) {
    this.#kv = kv;
    this.#keys = keys;
    this.#query = query;
    // A range on the primary key: SQLite walks just this app key's rows (LIKE would scan the table).
    this.#sql = `SELECT key, value FROM ${table} WHERE key >= ? AND key < ?`;
  }

  async add(): Promise<void> {}
  async remove(): Promise<void> {}
  async removeStale(): Promise<void> {}

  async entries(scope: string, memberPrefix: string): Promise<IndexedEntry[]> {
    const root = this.#kv.storeKey(this.#keys.scopeRoot(scope));
    const lo = `${root}${memberPrefix}`;
    let rows: unknown;
    try {
      rows = await this.#query(this.#sql, lo, `${lo}\uffff`);
    } catch (err) {
      throw storeError(err, 'Token store index read failed', this.#kv.scrubber);
    }
    const out: IndexedEntry[] = [];
    if (!Array.isArray(rows)) return out;
    for (const row of rows as Array<{ key?: unknown; value?: unknown }>) {
      if (typeof row?.key !== 'string' || !row.key.startsWith(lo)) continue;
      out.push({ member: row.key.slice(root.length), addedAt: undefined, read: true, raw: row.value });
    }
    return out;
  }
}

/** In-process locks of index records, by backend object and key (several stores may share one `Map`). */
const recordLocks = new WeakMap<object, Map<string, Promise<unknown>>>();

class RecordIndex implements AppKeyIndex {
  readonly kind = 'record';
  readonly #kv: KeyvAccess;
  readonly #keys: StoreKeys;

  constructor(kv: KeyvAccess, keys: StoreKeys) {
    this.#kv = kv;
    this.#keys = keys;
  }

  async #read(key: string): Promise<Record<string, number>> {
    const raw = this.#kv.readRaw(key, 'index');
    const d = this.#kv.decode(isThenable(raw) ? await raw : raw);
    const decoded = isThenable(d) ? await d : d;
    if (decoded.kind !== 'ok' || !isPlainObject(decoded.value) || !isPlainObject(decoded.value['members'])) return {};
    const out: Record<string, number> = {};
    for (const [m, at] of Object.entries(decoded.value['members'])) if (typeof at === 'number') out[m] = at;
    return out;
  }

  /** Read-modify-write of app key `scope`'s index record, one at a time per key in this process. */
  async #change(scope: string, change: (members: Record<string, number>) => boolean): Promise<void> {
    const key = this.#keys.index(scope);
    const owner = this.#kv.keyv.store as object;
    let locks = recordLocks.get(owner);
    if (locks === undefined) recordLocks.set(owner, (locks = new Map()));
    const previous = locks.get(key) ?? Promise.resolve();
    const run = previous.then(async () => {
      const members = await this.#read(key);
      if (!change(members)) return;
      let ok: boolean;
      try {
        ok = await this.#kv.keyv.set(key, { members });
      } catch (err) {
        throw storeError(err, 'Token store index write failed', this.#kv.scrubber);
      }
      if (ok === false) throw new LsTokenError(ErrorCodes.STORE, 'Token store index write failed (the keyv store reported an error)', { retryable: true });
    });
    const settled = run.catch(() => undefined);
    locks.set(key, settled);
    void settled.then(() => {
      if (locks.get(key) === settled) locks.delete(key);
    });
    await run;
  }

  add(scope: string, member: string, at: number): Promise<void> {
    return this.#change(scope, (m) => {
      m[member] = at;
      return true;
    });
  }

  remove(scope: string, member: string): Promise<void> {
    return this.#change(scope, (m) => Object.hasOwn(m, member) && delete m[member]);
  }

  removeStale(scope: string, member: string, notAfter: number): Promise<void> {
    return this.#change(scope, (m) => Object.hasOwn(m, member) && m[member]! <= notAfter && delete m[member]);
  }

  async entries(scope: string, memberPrefix: string): Promise<IndexedEntry[]> {
    const key = this.#keys.index(scope);
    await (recordLocks.get(this.#kv.keyv.store as object)?.get(key) ?? Promise.resolve()); // read after a write in flight
    const members = await this.#read(key);
    return Object.entries(members)
      .filter(([m]) => m.startsWith(memberPrefix))
      .map(([member, addedAt]) => ({ member, addedAt, read: false, raw: undefined }));
  }
}

/** In-process indexes of `Map` stores, by `Map` and index key. */
const memoryIndexes = new WeakMap<object, Map<string, Map<string, number>>>();
/** In-process current-token pointers of `Map` stores, by `Map` and app key. */
const memoryPointers = new WeakMap<object, Map<string, { readonly id: string; readonly issuedAt: number }>>();

class MemoryIndex implements AppKeyIndex {
  readonly kind = 'memory';
  readonly #all: Map<string, Map<string, number>>;
  readonly #keys: StoreKeys;
  readonly pointers: Map<string, { readonly id: string; readonly issuedAt: number }>;

  constructor(store: Map<unknown, unknown>, keys: StoreKeys) {
    let all = memoryIndexes.get(store);
    if (all === undefined) memoryIndexes.set(store, (all = new Map()));
    let pointers = memoryPointers.get(store);
    if (pointers === undefined) memoryPointers.set(store, (pointers = new Map()));
    this.#all = all;
    this.#keys = keys;
    this.pointers = pointers;
  }

  #of(scope: string): Map<string, number> {
    const key = this.#keys.index(scope);
    let m = this.#all.get(key);
    if (m === undefined) this.#all.set(key, (m = new Map()));
    return m;
  }

  async add(scope: string, member: string, at: number): Promise<void> {
    this.#of(scope).set(member, at);
  }

  async remove(scope: string, member: string): Promise<void> {
    this.#of(scope).delete(member);
  }

  async removeStale(scope: string, member: string, notAfter: number): Promise<void> {
    const m = this.#of(scope);
    const at = m.get(member);
    if (at !== undefined && at <= notAfter) m.delete(member);
  }

  async entries(scope: string, memberPrefix: string): Promise<IndexedEntry[]> {
    const out: IndexedEntry[] = [];
    for (const [member, addedAt] of this.#of(scope)) if (member.startsWith(memberPrefix)) out.push({ member, addedAt, read: false, raw: undefined });
    return out;
  }
}
