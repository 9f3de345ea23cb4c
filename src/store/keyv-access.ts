/**
 * The token store's way around keyv 5 where keyv cannot be used as is: reads and walks go to the
 * adapter underneath keyv, keyv's envelopes are decoded here, and stale entries are deleted only
 * if unchanged. Plain deletes go through keyv, and so do writes, except the one case below.
 *
 * ## Physical key layout
 * What the backend physically holds depends on the keyv configuration, which
 * {@link KeyvAccess.storeKey} mirrors exactly (and nothing else re-derives): with keyv's default
 * `useKeyPrefix` and a namespace `ns`, keyv stores `ns:${key}`; the `@keyv/redis` adapter adds its
 * own `ns::` in front of that (so `new Keyv(new KeyvRedis(url))` writes `keyv::keyv:${key}` while
 * `createKeyv(url, { namespace: 'ns' })`, which turns keyv's prefix off, writes `ns::${key}`);
 * `@keyv/sqlite` and a `Map` store keep keyv's key as is.
 *
 * ## Why reads bypass `keyv.get()`
 * Reading the adapter directly surfaces backend errors whatever keyv's `throwOnErrors` says (keyv
 * turns them into "missing" when it is off), hands back the raw value (a corrupt record is moved to
 * quarantine byte for byte), and lets an expired entry be deleted only if it still holds the value
 * that was judged expired: `keyv.get()` deletes the key unconditionally, which can remove a value
 * another process has just written.
 *
 * ## When a write bypasses `keyv.set()`
 * On an in-process `Map` (not a subclass) with keyv's default serializer, no compression and no
 * `preSet`/`postSet` hook, {@link KeyvAccess.set} writes the envelope `{ value, expires }` itself.
 * For a value of plain JSON (no string starting with `:`, no Buffer, no `toJSON`), which is what
 * records and meta values are, that is `JSON.stringify`, the same string keyv's serializer would
 * have written: that serializer walks the value in JavaScript and was a third of a memory `put`.
 * Any other value is serialized by keyv's own serializer. Any other store or configuration still
 * goes through `keyv.set()`. The Redis put script (`app-key-index.ts`) writes the same strings
 * ({@link KeyvAccess.envelopeForWrite}).
 *
 * ## Why the store does not use `keyv.iterator()`
 * keyv 5's own iterator strips the *first `:`-separated segment* from each key instead of the
 * namespace (so without a namespace, or with a namespace containing `:`, it mangles keys), it
 * aborts the whole iteration on one value it cannot deserialise, and it deletes expired entries
 * while `@keyv/sqlite` is paging with `LIMIT/OFFSET`, which makes the page after it skip live
 * rows. {@link KeyvAccess.scan} therefore walks the underlying adapter (the `Map` itself, or the
 * adapter's `iterator(namespace)`, which is what keyv wraps) and collects every key under the
 * prefix first; callers decode, quarantine or clear entries only afterwards, one at a time.
 *
 * ## Who judges expiry
 * keyv writes `{ value, expires: Date.now() + ttl }` with the *writer's* clock. An adapter that
 * enforces the TTL itself (`@keyv/redis`: `SET ... PX ttl`, counted on the Redis server's clock)
 * is trusted: the envelope's `expires` is not compared with the reader's clock, because fleet
 * processes on other hosts may run seconds ahead, and such a reader would read (and delete) a
 * live lease or record of another process. Where the adapter keeps no TTL of its own (a `Map`,
 * `@keyv/sqlite`) the envelope's `expires` is the only judge; there every reader shares one
 * host's clock, so there is no skew to speak of.
 */
import { Keyv } from 'keyv';
import { ErrorCodes, LsTokenError, invalidOption, toLsTokenError, type TextScrubber } from '../core/errors.js';
import { isPlainObject } from './token-record.js';
import { type RedisCommands, isRedisAdapter, redisCommandsOf } from './redis-commands.js';

/** A raw entry of the underlying adapter: the key as keyv hands it to the adapter, and the raw value. */
export interface RawEntry {
  /** The adapter-level key (keyv's prefixing applied, see {@link KeyvAccess.storeKey}). */
  readonly storeKey: string;
  /** The value exactly as the adapter returned it. */
  readonly raw: unknown;
}

/** A raw adapter value decoded as keyv would: absent, past its `expires`, its `value`, or unreadable. */
export type Decoded = { kind: 'missing' } | { kind: 'expired' } | { kind: 'ok'; value: unknown } | { kind: 'corrupt'; error: LsTokenError };

/** Receives store trouble met while cleaning up (never thrown), with the keyv key and the operation. */
export type KeyvTroubleReporter = (err: LsTokenError, context: { key?: string; op: string }) => void;

/** True for a promise-like value: keyv adapters answer synchronously (a `Map`) or with a promise. */
export function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof value === 'object' && value !== null && typeof (value as { then?: unknown }).then === 'function';
}

/** A backend failure as a retryable `ERR_STORE`, its foreign message scrubbed. */
export function storeError(err: unknown, context: string, scrubber: TextScrubber): LsTokenError {
  return toLsTokenError(err, ErrorCodes.STORE, context, true, scrubber);
}

/**
 * Checks that `keyv` is a keyv 5 instance whose adapter can be walked (a `Map`, or an adapter with
 * `iterator()`, like `@keyv/redis` and `@keyv/sqlite`).
 * @throws LsTokenError `ERR_INVALID_OPTION` naming `keyv`.
 */
export function assertWalkableKeyv(keyv: unknown): Keyv {
  const k = keyv as Record<string, unknown> | null;
  if (
    typeof k !== 'object' ||
    k === null ||
    typeof k['get'] !== 'function' ||
    typeof k['set'] !== 'function' ||
    typeof k['delete'] !== 'function' ||
    typeof k['store'] !== 'object' ||
    k['store'] === null
  ) {
    throw invalidOption('keyv', 'must be a keyv 5 instance');
  }
  const store = k['store'] as Record<string | symbol, unknown>;
  if (!(store instanceof Map) && typeof store['iterator'] !== 'function' && typeof store[Symbol.iterator] !== 'function') {
    throw invalidOption('keyv', 'its store cannot be iterated (use a Map, @keyv/redis, @keyv/sqlite or another adapter with iterator())');
  }
  return keyv as Keyv;
}

/** keyv's default deserializer, taken from a throwaway instance so that it can be recognised. */
const KEYV_DEFAULT_DESERIALIZE: unknown = new Keyv().deserialize;

/** keyv's default serializer, recognised the same way. */
const KEYV_DEFAULT_SERIALIZE: unknown = new Keyv().serialize;

/** A settled `true`: what a write that took no I/O answers. */
const WRITTEN: Promise<boolean> = Promise.resolve(true);

/**
 * True when keyv's default serializer writes `value` (a member of an envelope) exactly as
 * `JSON.stringify` does: strings not starting with ':', numbers, booleans, null, and plain objects
 * and dense arrays of those, at most 32 levels deep. A Buffer, a `toJSON`, a function, a bigint or
 * a symbol is not (keyv writes them its own way, or fails).
 */
function plainJson(value: unknown, depth: number): boolean {
  switch (typeof value) {
    case 'string':
      return !value.startsWith(':');
    case 'number':
    case 'boolean':
    case 'undefined': // a member both leave out (or write null in an array)
      return true;
    case 'object': {
      if (value === null) return true;
      if (depth > 32) return false;
      if (Array.isArray(value)) {
        for (let i = 0; i < value.length; i++) if (!(i in value) || !plainJson(value[i], depth + 1)) return false;
        return true;
      }
      const proto: unknown = Object.getPrototypeOf(value);
      if ((proto !== Object.prototype && proto !== null) || 'toJSON' in value) return false;
      for (const key in value) if (!plainJson((value as Record<string, unknown>)[key], depth + 1)) return false;
      return true;
    }
    default:
      return false;
  }
}

/** True when a JSON value holds a string starting with ':' (which keyv's reviver would rewrite). */
function hasColonString(value: unknown): boolean {
  if (typeof value === 'string') return value.startsWith(':');
  if (typeof value !== 'object' || value === null) return false;
  if (Array.isArray(value)) return value.some(hasColonString);
  for (const key in value) if (hasColonString((value as Record<string, unknown>)[key])) return true;
  return false;
}

const NOT_JSON = (): Decoded => ({ kind: 'corrupt', error: new LsTokenError(ErrorCodes.CORRUPT_RECORD, 'Stored value is not valid JSON', { field: 'json' }) });

/**
 * True when the adapter under `keyv` enforces entry TTLs itself, on the server: `@keyv/redis`
 * (recognised by `opts.dialect`, as keyv itself recognises adapters), which writes every TTL as
 * Redis `PX`. See the module notes.
 */
export function adapterEnforcesTtl(keyv: Keyv): boolean {
  return isRedisAdapter((keyv as unknown as { store?: unknown }).store);
}

/**
 * Raw commands on the Redis behind `keyv` (a plain client, Sentinel or Cluster; see
 * `redis-commands.ts`), or `undefined` for any other store. The one place that decides "is this
 * Redis?" (server-side TTLs, the `SET NX PX` lock).
 * @throws LsTokenError `ERR_INVALID_OPTION` for an `@keyv/redis` connection nothing can lock on.
 */
export function redisAdapterOf(keyv: Keyv): RedisCommands | undefined {
  return redisCommandsOf((keyv as unknown as { store?: unknown }).store);
}

/**
 * Checks a deserialised keyv envelope `{ value, expires? }`; `expires` is compared with this
 * host's clock only when `judgeExpires` (the adapter keeps no TTL of its own).
 */
function envelopeOf(envelope: unknown, judgeExpires: boolean): Decoded {
  if (!isPlainObject(envelope) || !Object.hasOwn(envelope, 'value')) {
    return { kind: 'corrupt', error: new LsTokenError(ErrorCodes.CORRUPT_RECORD, 'Stored value is not a keyv entry', { field: 'json' }) };
  }
  const expires = envelope['expires'];
  if (judgeExpires && typeof expires === 'number' && Date.now() > expires) return { kind: 'expired' };
  return { kind: 'ok', value: envelope['value'] };
}

function sameRaw(a: unknown, b: unknown): boolean {
  if (typeof a === 'string' || typeof b === 'string') return a === b;
  try {
    return JSON.stringify(a) === JSON.stringify(b);
  } catch {
    return false;
  }
}

/**
 * Raw reads, decoding, walks and guarded deletes on one keyv instance; see the module notes.
 * Errors are `ERR_STORE` (retryable), their messages scrubbed with the given scrubber.
 */
export class KeyvAccess {
  /** The keyv instance accessed. */
  readonly keyv: Keyv;
  /** Whether the adapter enforces TTLs itself, so that the envelope's `expires` is not judged here. */
  readonly adapterTtl: boolean;
  readonly #scrubber: TextScrubber;
  readonly #envelopeOf: (envelope: unknown) => Decoded;
  readonly #report: KeyvTroubleReporter;

  /** Whether the backend holds nothing, known without a read: an in-process `Map` with no key (a new lifecycle's own store). */
  isKnownEmpty(): boolean {
    const store: unknown = this.keyv.store;
    return store instanceof Map && store.size === 0;
  }

  /**
   * @param keyv a keyv 5 instance, already checked with {@link assertWalkableKeyv}.
   * @param scrubber scrubs secrets out of the backend errors it wraps.
   * @param report receives cleanup trouble, which is never thrown.
   */
  constructor(keyv: Keyv, scrubber: TextScrubber, report: KeyvTroubleReporter) {
    this.keyv = keyv;
    this.adapterTtl = adapterEnforcesTtl(keyv);
    const judgeExpires = !this.adapterTtl;
    this.#envelopeOf = (envelope) => envelopeOf(envelope, judgeExpires);
    this.#scrubber = scrubber;
    this.#report = report;
  }

  /** Scrubs secrets out of the backend errors this access wraps. */
  get scrubber(): TextScrubber {
    return this.#scrubber;
  }

  /** The key keyv hands to its adapter for keyv key `key` (mirrors keyv's own prefixing). */
  storeKey(key: string): string {
    const ns = this.keyv.namespace;
    if (!this.keyv.useKeyPrefix || !ns) return key;
    return key.startsWith(`${ns}:`) ? key : `${ns}:${key}`;
  }

  /**
   * The key the backend physically holds for keyv key `key`: {@link KeyvAccess.storeKey}, plus the
   * `@keyv/redis` adapter's own `ns::` when it has a namespace. For raw Redis commands.
   */
  physicalKey(key: string): string {
    const storeKey = this.storeKey(key);
    const store = this.keyv.store as { namespace?: unknown; createKeyPrefix?: (k: string, ns?: string) => string };
    if (!this.adapterTtl || typeof store.createKeyPrefix !== 'function') return storeKey;
    return store.createKeyPrefix(storeKey, typeof store.namespace === 'string' ? store.namespace : undefined);
  }

  /**
   * Writes `value` at keyv key `key` for `ttlMs`, as `keyv.set(key, value, ttlMs)` does (its
   * errors and answer too), but on an in-process `Map` without keyv's serializer where the result
   * is the same string (see the module notes).
   */
  set(key: string, value: unknown, ttlMs: number | undefined): Promise<boolean> {
    const keyv = this.keyv;
    const store: unknown = keyv.store;
    // A plain Map only: a subclass's set() may do (or fail) anything, which keyv.set() reports.
    if (store instanceof Map && Object.getPrototypeOf(store) === Map.prototype && ttlMs !== undefined) {
      const envelope = this.envelopeForWrite(value, ttlMs);
      if (envelope !== undefined) {
        store.set(this.storeKey(key), envelope);
        return WRITTEN;
      }
    }
    return keyv.set(key, value, ttlMs);
  }

  /**
   * For a write about to be made: the string `keyv.set(key, value, ttlMs)` would hand its adapter,
   * counted in keyv's stats as keyv counts a write. With keyv's default serializer, no compression
   * and no set hooks it is always known: `JSON.stringify` of the envelope for plain JSON (the same
   * string, see the module notes), keyv's own serializer for anything else (a string starting with
   * `:`, a Buffer, a Date). `undefined` when keyv must write it itself.
   */
  envelopeForWrite(value: unknown, ttlMs: number): string | undefined {
    if (!(ttlMs > 0) || typeof value === 'symbol' || !this.#writesAsKeyvDefault()) return undefined;
    const envelope = { value, expires: Date.now() + ttlMs };
    let text: unknown;
    try {
      text = plainJson(value, 1) ? JSON.stringify(envelope) : (this.keyv.serialize as (d: unknown) => unknown)(envelope);
    } catch {
      return undefined; // keyv.set() meets (and reports) the same failure
    }
    if (typeof text !== 'string') return undefined;
    this.keyv.stats.set();
    return text;
  }

  /** Whether keyv writes with its default serializer, no compression and no set hooks. */
  #writesAsKeyvDefault(): boolean {
    const keyv = this.keyv as unknown as { serialize?: unknown; compression?: unknown; hooks?: { _hookHandlers?: unknown } };
    if (keyv.serialize !== KEYV_DEFAULT_SERIALIZE || keyv.compression !== undefined) return false;
    const hooks = keyv.hooks?._hookHandlers;
    if (!(hooks instanceof Map)) return false; // another keyv: it may run hooks we cannot see
    return !((hooks.get('preSet') as unknown[] | undefined)?.length ?? 0) && !((hooks.get('postSet') as unknown[] | undefined)?.length ?? 0);
  }

  /**
   * Reads the raw adapter value of keyv key `key`; adapter errors become `ERR_STORE`.
   *
   * Not `async`, and {@link KeyvAccess.decode} neither: on the in-memory store every read used to
   * pay four extra promise hops over `keyv.get`, which made `TokenStore.get()` 35 % slower than the
   * raw keyv call it wraps (measured on a `Map`). A synchronous adapter answer now stays synchronous
   * until the caller's single `await`.
   */
  readRaw(key: string, op: string): unknown {
    const store = this.keyv.store as { get(k: string): unknown };
    let raw: unknown;
    try {
      raw = store.get(this.storeKey(key));
    } catch (err) {
      throw this.#readFailed(err, op);
    }
    // No closure on the synchronous path: a Map read is most of the cost of a memory get.
    return isThenable(raw)
      ? Promise.resolve(raw).catch((err: unknown) => {
          throw this.#readFailed(err, op);
        })
      : raw;
  }

  #readFailed(err: unknown, op: string): LsTokenError {
    return storeError(err, `Token store read failed (${op})`, this.#scrubber);
  }

  /**
   * Decodes a raw adapter value as keyv would (deserialise, check `expires` unless the adapter
   * enforces TTLs itself: see the module notes), without throwing.
   */
  decode(raw: unknown): Decoded | Promise<Decoded> {
    if (raw === undefined || raw === null) return { kind: 'missing' };
    const envelopeOf = this.#envelopeOf;
    if (typeof raw !== 'string') return envelopeOf(raw);
    const keyv = this.keyv as unknown as { compression?: unknown; deserialize?: (data: string) => unknown };
    if (keyv.compression === undefined && typeof keyv.deserialize === 'function') {
      // What keyv.deserializeData does without compression, minus its promise.
      let envelope: unknown;
      try {
        if (keyv.deserialize === KEYV_DEFAULT_DESERIALIZE) {
          // keyv's default deserializer is JSON.parse with a reviver that only touches strings
          // starting with ':' (its escape for such strings and for Buffers). The reviver costs
          // more than the parse itself, and stored records hold no such strings: parse plainly,
          // and fall back to keyv's function only when one turns up. Same result, half the time.
          envelope = JSON.parse(raw) as unknown;
          if (hasColonString(envelope)) envelope = keyv.deserialize(raw);
        } else {
          envelope = keyv.deserialize(raw);
        }
      } catch {
        return NOT_JSON();
      }
      return isThenable(envelope) ? Promise.resolve(envelope).then(envelopeOf, NOT_JSON) : envelopeOf(envelope);
    }
    return this.keyv.deserializeData(raw).then(envelopeOf, NOT_JSON);
  }

  /**
   * Deletes keyv key `key` if its raw value is still `raw` (another writer may have replaced it).
   * Store trouble is reported, never thrown.
   */
  async deleteIfUnchanged(key: string, raw: unknown, op: string): Promise<void> {
    try {
      const current = await this.readRaw(key, op);
      if (current !== undefined && current !== null && sameRaw(current, raw)) await this.keyv.delete(key);
    } catch (err) {
      this.#report(storeError(err, 'Token store cleanup failed', this.#scrubber), { key, op });
    }
  }

  /**
   * Walks the adapter and returns every entry whose adapter-level key starts with `storePrefix`.
   * Collects everything before returning, so that no deletion happens while paging. `onProgress`
   * hears the number of keys read, every 1,000 and at the end.
   */
  async scan(storePrefix: string, op: string, onProgress?: (keysRead: number) => void): Promise<RawEntry[]> {
    const store = this.keyv.store as Record<string | symbol, unknown>;
    const found = new Map<string, unknown>();
    let read = 0;
    const take = (key: unknown, raw: unknown): void => {
      if (onProgress !== undefined && ++read % 1_000 === 0) onProgress(read);
      if (typeof key === 'string' && key.startsWith(storePrefix)) found.set(key, raw);
    };
    try {
      if (store instanceof Map) {
        for (const [key, raw] of Array.from(store.entries())) take(key, raw);
      } else if (typeof store['iterator'] === 'function') {
        const iterate = store['iterator'] as (namespace?: string) => AsyncIterable<unknown[]>;
        for await (const entry of iterate.call(store, store['namespace'] as string | undefined)) {
          if (Array.isArray(entry)) take(entry[0], entry[1]);
        }
      } else {
        const iterable = store as unknown as Iterable<unknown>;
        for (const entry of Array.from(iterable)) if (Array.isArray(entry)) take(entry[0], entry[1]);
      }
    } catch (err) {
      throw storeError(err, `Token store ${op} failed while iterating`, this.#scrubber);
    }
    onProgress?.(read);
    return Array.from(found, ([storeKey, raw]) => ({ storeKey, raw }));
  }
}
