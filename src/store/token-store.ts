/**
 * Persistent tracking of issued tokens in any keyv 5 store (memory, Redis, SQLite, ...).
 *
 * ## Key layout
 * Every record is its own keyv key, `${prefix}:tok:${id}` (no shared index key, so concurrent
 * writers never lose each other's records). Records found corrupt are moved to
 * `${prefix}:quarantine:tok:${id}` (the original key with `tok:` kept, under `quarantine:`).
 * Generic values of {@link TokenStore.setMeta} live at `${prefix}:meta:${key}`.
 *
 * What the backend physically holds depends on the keyv configuration, which this store mirrors
 * exactly: with keyv's default `useKeyPrefix` and a namespace `ns`, keyv stores `ns:${key}`; the
 * `@keyv/redis` adapter adds its own `ns::` in front of that (so `new Keyv(new KeyvRedis(url))`
 * writes `keyv::keyv:${key}` while `createKeyv(url, { namespace: 'ns' })`, which turns keyv's
 * prefix off, writes `ns::${key}`); `@keyv/sqlite` and a `Map` store keep keyv's key as is.
 *
 * ## Why `list()` does not use `keyv.iterator()`
 * keyv 5's own iterator strips the *first `:`-separated segment* from each key instead of the
 * namespace (so without a namespace, or with a namespace containing `:`, it mangles keys), it
 * aborts the whole iteration on one value it cannot deserialise, and it deletes expired entries
 * while `@keyv/sqlite` is paging with `LIMIT/OFFSET`, which makes the page after it skip live
 * rows. The store therefore walks the underlying adapter (the `Map` itself, or the adapter's
 * `iterator(namespace)`, which is what keyv wraps), collects every key under the prefix first,
 * and only then decodes, quarantines or clears entries, one at a time.
 *
 * ## Errors
 * A failing backend surfaces as `LsTokenError(ERR_STORE, retryable: true)`. Reads go to the
 * adapter directly, so they surface backend errors whatever keyv's `throwOnErrors` says; writes
 * go through keyv, which reports a swallowed error as `set() === false` (also turned into
 * `ERR_STORE`). Adapters that swallow errors themselves cannot be seen through: for
 * `@keyv/redis` pass `throwOnErrors: true` (e.g. `createKeyv(url, { throwOnErrors: true })`),
 * and configure the Redis client to fail fast while Redis is down (`socket.connectTimeout`, and
 * `socket.reconnectStrategy: false` or a strategy that gives up), or calls may wait indefinitely.
 * `disableOfflineQueue: true` also fails fast, but then commands sent while the client is still
 * connecting (e.g. parallel calls right after start) fail with `ERR_STORE` too.
 */
import { Keyv } from 'keyv';
import { ErrorCodes, LsTokenError, invalidOption, toLsTokenError, type TextScrubber } from '../core/errors.js';
import { shortId, tokenId } from '../core/fingerprint.js';
import { SecretRedactor } from '../core/redact.js';
import { openToken, parseEncryptionKey, sealToken } from './crypto-box.js';
import {
  RECORD_SCHEMA_VERSION,
  TOKEN_STATES,
  assertValidRecord,
  freezeRecord,
  isEnded,
  isTokenId,
  parseStoredRecord,
  toStoredRecord,
  validateNewTokenRecord,
  validatePatch,
} from './token-record.js';
import type { NewTokenRecord, SealedToken, TokenRecord, TokenRecordPatch, TokenState } from './token-record.js';

/** Default audit retention of ended records: 7 days. */
export const DEFAULT_RETAIN_MS = 7 * 24 * 60 * 60 * 1000;
/** Default key prefix inside the keyv store. */
export const DEFAULT_PREFIX = 'ls-token';
/** Longest accepted retention: 10 years. */
const MAX_RETAIN_MS = 10 * 365 * 24 * 60 * 60 * 1000;
/** Longest accepted raw token, in characters. */
const MAX_TOKEN_LENGTH = 16_384;
/** Longest accepted meta key, in characters. */
const MAX_META_KEY = 512;
const PREFIX_PATTERN = /^[A-Za-z0-9_.-]+(?::[A-Za-z0-9_.-]+)*$/;

/** Where a problem reported to {@link TokenStoreOptions.onError} happened. */
export interface TokenStoreErrorContext {
  /** The keyv key concerned (never holds a raw token), if one. */
  key?: string;
  /** The store operation: `'get'`, `'list'`, `'findUsable'`, `'quarantine'`, `'getMeta'`, ... */
  op: string;
}

/** Options of {@link TokenStore}. */
export interface TokenStoreOptions {
  /**
   * Any keyv 5 instance; default: a new in-memory `Keyv` with `throwOnErrors: true`.
   * Its store must be iterable (a `Map`, or an adapter with `iterator()`, like `@keyv/redis` and
   * `@keyv/sqlite`). Use `throwOnErrors: true` on it (and on the `@keyv/redis` adapter) so that
   * backend failures are not silently swallowed; see the module notes.
   */
  keyv?: Keyv;
  /**
   * Key prefix inside the keyv, default `'ls-token'`: letters, digits, `_ . -`, and single `:`
   * between segments. Keys are `${prefix}:tok:${id}`; corrupt records go to
   * `${prefix}:quarantine:tok:${id}`; meta values to `${prefix}:meta:${key}`. Stores sharing a
   * keyv should use prefixes that do not nest (not `a` and `a:meta`), or `listMeta` of one
   * sees keys of the other.
   */
  prefix?: string;
  /**
   * AES-256-GCM key for sealing raw tokens at rest: exactly 32 bytes, as a `Buffer`/`Uint8Array`
   * or a string of 64 hex digits or base64. Without it tokens are stored in plain text.
   */
  encryptionKey?: Buffer | Uint8Array | string;
  /** Audit retention of ended records in ms (enforced by keyv TTL), default 7 days. Integer ≥ 1. */
  retainMs?: number;
  /** Clock in epoch ms, default `Date.now`. Used for `createdAt`/`updatedAt`, TTLs and `findUsable`. */
  now?: () => number;
  /**
   * With `encryptionKey` set, also read records whose token is stored in plain text (written
   * before encryption was turned on); the next `update` of such a record seals it. Default `false`:
   * they are refused with `ERR_DECRYPT` (field `token.alg`), because anyone who can write to the
   * store could plant a plaintext token of their choosing. Turn it on for a migration window only.
   * Without `encryptionKey` plain tokens are always read and this option changes nothing.
   */
  acceptPlaintextRecords?: boolean;
  /**
   * Scrubs known secrets (by value) out of the `lastError.message` written to records and out of
   * the errors the store builds from backend errors. Share the client's
   * ({@link LsOAuthClient.redactor}). Default: a private redactor. The store also registers, for
   * the length of a write, the plain token it writes, and scrubs a record's own token from its
   * `lastError`.
   */
  redactor?: SecretRedactor;
  /**
   * Receives corrupt records (`ERR_CORRUPT_RECORD`, after they were moved to quarantine),
   * candidates skipped by `findUsable` because their token cannot be opened (`ERR_DECRYPT`: wrong
   * key, or field `token.alg` for a refused plaintext token) and store trouble met while cleaning
   * up (`ERR_STORE`). Errors thrown by the callback are ignored.
   */
  onError?: (err: LsTokenError, context: TokenStoreErrorContext) => void;
}

/** Filter of {@link TokenStore.list}. */
export interface TokenListFilter {
  /** Only records of this `appKeyId`. */
  appKeyId?: string;
  /** Only records in one of these states. */
  states?: readonly TokenState[];
}

/** Options of {@link TokenStore.update}. */
export interface TokenUpdateOptions {
  /** Write only when the current state is one of these; otherwise return `undefined`. */
  expectStates?: readonly TokenState[];
}

/** One value returned by {@link TokenStore.listMeta}. */
export interface MetaEntry {
  /** The meta key (as given to `setMeta`). */
  key: string;
  /** The stored value. */
  value: unknown;
}

/** A raw entry of the underlying adapter: the key as keyv hands it to the adapter, and the raw value. */
interface RawEntry {
  storeKey: string;
  raw: unknown;
}

/** A decoded keyv envelope. */
type Decoded = { kind: 'missing' } | { kind: 'expired' } | { kind: 'ok'; value: unknown } | { kind: 'corrupt'; error: LsTokenError };

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof value === 'object' && value !== null && typeof (value as { then?: unknown }).then === 'function';
}

/** keyv's default deserializer, taken from a throwaway instance so that it can be recognised. */
const KEYV_DEFAULT_DESERIALIZE: unknown = new Keyv().deserialize;

/** True when a JSON value holds a string starting with ':' (which keyv's reviver would rewrite). */
function hasColonString(value: unknown): boolean {
  if (typeof value === 'string') return value.startsWith(':');
  if (typeof value !== 'object' || value === null) return false;
  if (Array.isArray(value)) return value.some(hasColonString);
  for (const key in value) if (hasColonString((value as Record<string, unknown>)[key])) return true;
  return false;
}

const NOT_JSON = (): Decoded => ({ kind: 'corrupt', error: new LsTokenError(ErrorCodes.CORRUPT_RECORD, 'Stored value is not valid JSON', { field: 'json' }) });

/** Checks a deserialised keyv envelope `{ value, expires? }`. */
function envelopeOf(envelope: unknown): Decoded {
  if (!isPlainObject(envelope) || !Object.hasOwn(envelope, 'value')) {
    return { kind: 'corrupt', error: new LsTokenError(ErrorCodes.CORRUPT_RECORD, 'Stored value is not a keyv entry', { field: 'json' }) };
  }
  const expires = envelope['expires'];
  if (typeof expires === 'number' && Date.now() > expires) return { kind: 'expired' };
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

/** A display label for a key suffix: the short id for a real token id, never other text. */
function label(suffix: string): string {
  return isTokenId(suffix) ? shortId(suffix) : '(malformed id)';
}

function storeError(err: unknown, context: string, scrubber: TextScrubber): LsTokenError {
  return toLsTokenError(err, ErrorCodes.STORE, context, true, scrubber);
}

function validateStates(field: string, value: unknown): readonly TokenState[] | undefined {
  if (value === undefined) return undefined;
  if (!Array.isArray(value) || !value.every((s) => (TOKEN_STATES as readonly unknown[]).includes(s))) {
    throw invalidOption(field, `must be an array of ${TOKEN_STATES.join(', ')}`);
  }
  return value as TokenState[];
}

function validateId(id: unknown): string {
  if (!isTokenId(id)) throw invalidOption('id', 'must be a token id (64 lowercase hex digits)');
  return id;
}

function validateMetaKey(field: string, key: unknown, allowEmpty: boolean): string {
  if (typeof key !== 'string' || (!allowEmpty && key.length === 0) || key.length > MAX_META_KEY) {
    throw invalidOption(field, `must be a ${allowEmpty ? '' : 'non-empty '}string of at most ${MAX_META_KEY} characters`);
  }
  // eslint-disable-next-line no-control-regex
  if (/[\s\x00-\x1f\x7f]/.test(key)) throw invalidOption(field, 'must not contain whitespace or control characters');
  return key;
}

/**
 * Stores one {@link TokenRecord} per issued token in a keyv store, with the raw token optionally
 * sealed with AES-256-GCM (the record id is the AAD). Ended records stay for `retainMs` (keyv TTL)
 * as an audit trail; active records expire `retainMs` after the token itself would.
 *
 * Read-modify-write operations (`put`'s existence check, `update`) are not atomic across
 * processes: keyv has no compare-and-set. Coordinate writers of the same record with leases
 * (see {@link TokenStore.setMeta}).
 *
 * Every error thrown is an {@link LsTokenError}: `ERR_INVALID_OPTION` (bad argument, naming the
 * field; nothing is written), `ERR_STORE` (backend failure, retryable), `ERR_DECRYPT`.
 */
export class TokenStore {
  /** The keyv instance records are kept in. */
  readonly keyv: Keyv;
  /** The key prefix inside the keyv. */
  readonly prefix: string;
  /** Whether raw tokens are sealed with an encryption key. */
  readonly encrypted: boolean;
  /** Whether plaintext records are read although an encryption key is set (a migration window). */
  readonly acceptPlaintextRecords: boolean;
  /** The redactor that scrubs stored error messages and store errors. */
  readonly redactor: SecretRedactor;

  readonly #key: Buffer | undefined;
  readonly #retainMs: number;
  readonly #now: () => number;
  readonly #onError: TokenStoreOptions['onError'];

  /**
   * @throws LsTokenError `ERR_INVALID_OPTION` naming the bad option (`keyv`, `prefix`,
   *   `encryptionKey`, `acceptPlaintextRecords`, `redactor`, `retainMs`, `now`, `onError`); secret
   *   values are never echoed.
   */
  constructor(options: TokenStoreOptions = {}) {
    if (!isPlainObject(options as unknown)) throw invalidOption('options', 'must be an object');
    const { keyv, prefix, encryptionKey, acceptPlaintextRecords, redactor, retainMs, now, onError } = options as TokenStoreOptions;

    if (keyv === undefined) {
      this.keyv = new Keyv({ throwOnErrors: true });
    } else {
      const k = keyv as unknown as Record<string, unknown> | null;
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
      this.keyv = keyv;
    }

    if (prefix === undefined) {
      this.prefix = DEFAULT_PREFIX;
    } else {
      if (typeof prefix !== 'string' || prefix.length > 100 || !PREFIX_PATTERN.test(prefix)) {
        throw invalidOption('prefix', 'must be 1-100 characters of letters, digits, "_", ".", "-", with single ":" between segments');
      }
      this.prefix = prefix;
    }

    this.#key = encryptionKey === undefined ? undefined : parseEncryptionKey(encryptionKey, 'encryptionKey');
    this.encrypted = this.#key !== undefined;
    if (acceptPlaintextRecords !== undefined && typeof acceptPlaintextRecords !== 'boolean') {
      throw invalidOption('acceptPlaintextRecords', 'must be a boolean');
    }
    this.acceptPlaintextRecords = acceptPlaintextRecords ?? false;
    if (redactor !== undefined && !(redactor instanceof SecretRedactor)) throw invalidOption('redactor', 'must be a SecretRedactor');
    this.redactor = redactor ?? new SecretRedactor();

    if (retainMs === undefined) {
      this.#retainMs = DEFAULT_RETAIN_MS;
    } else {
      if (typeof retainMs !== 'number' || !Number.isSafeInteger(retainMs) || retainMs < 1 || retainMs > MAX_RETAIN_MS) {
        throw invalidOption('retainMs', `must be an integer between 1 and ${MAX_RETAIN_MS}`);
      }
      this.#retainMs = retainMs;
    }

    if (now !== undefined && typeof now !== 'function') throw invalidOption('now', 'must be a function returning epoch ms');
    this.#now = now ?? Date.now;
    if (onError !== undefined && typeof onError !== 'function') throw invalidOption('onError', 'must be a function');
    this.#onError = onError;
  }

  /** The keyv key of record `id`: `${prefix}:tok:${id}`. */
  recordKey(id: string): string {
    return `${this.prefix}:tok:${validateId(id)}`;
  }

  /**
   * The keyv key a corrupt record `id` is moved to: `${prefix}:quarantine:tok:${id}`. The value
   * there is `{ quarantinedAt, code, field, originalKey, raw }`, where `raw` is the value exactly
   * as it was stored (so, in an unencrypted store, possibly holding the plain token); it is kept
   * for `retainMs`.
   */
  quarantineKey(id: string): string {
    return `${this.prefix}:quarantine:tok:${validateId(id)}`;
  }

  /**
   * Stores a newly issued token as an `active` record with 0 attempts. If a record with the same
   * id (same raw token) exists already it is returned unchanged and nothing is written.
   *
   * @throws LsTokenError `ERR_INVALID_OPTION` naming the field (`appKeyId`, `issuedAt`, ...,
   *   `rawToken`) when the input is bad; `ERR_STORE` when the backend fails.
   */
  async put(input: NewTokenRecord, rawToken: string): Promise<TokenRecord> {
    const valid = validateNewTokenRecord(input);
    if (typeof rawToken !== 'string' || rawToken.length === 0 || rawToken.length > MAX_TOKEN_LENGTH) {
      throw invalidOption('rawToken', `must be a non-empty string of at most ${MAX_TOKEN_LENGTH} characters`);
    }
    const id = tokenId(rawToken);
    const existing = await this.#readRecord(id, 'put');
    if (existing !== undefined) return existing.record;

    const at = this.#time();
    const record = freezeRecord({
      schema: RECORD_SCHEMA_VERSION,
      id,
      appKeyId: valid.appKeyId,
      tokenType: valid.tokenType,
      issuedAt: valid.issuedAt,
      expiresAt: valid.expiresAt,
      revokeAt: valid.revokeAt,
      state: 'active',
      reason: null,
      attempts: 0,
      lastError: null,
      ownerId: valid.ownerId ?? null,
      createdAt: at,
      updatedAt: at,
    });
    await this.#write(record, sealToken(rawToken, this.#key, id), at);
    return record;
  }

  /**
   * The record `id`, or `undefined` when there is none (or it expired). A corrupt record is
   * reported to `onError` (`ERR_CORRUPT_RECORD`), moved to quarantine, and reads as `undefined`.
   *
   * @throws LsTokenError `ERR_INVALID_OPTION` (`id`), `ERR_STORE`.
   */
  async get(id: string): Promise<TokenRecord | undefined> {
    return (await this.#readRecord(validateId(id), 'get'))?.record;
  }

  /**
   * The raw token of record `id` (decrypted), or `undefined` when there is no such record.
   *
   * @throws LsTokenError `ERR_DECRYPT` when the token is encrypted and this store has no key or
   *   the wrong one (or the ciphertext was altered); `ERR_INVALID_OPTION` (`id`); `ERR_STORE`.
   */
  async getToken(id: string): Promise<string | undefined> {
    validateId(id);
    const found = await this.#readRecord(id, 'getToken');
    if (found === undefined) return undefined;
    return this.#open(found.sealed, id, 'getToken', found.raw);
  }

  /**
   * Read-modify-write of record `id`: applies `patch`, sets `updatedAt`, and writes it with a TTL
   * of `retainMs` for ended states, or `max(expiresAt - now, 0) + retainMs` for `active` and
   * `revoking` records (so a forgotten record still goes away). The sealed token is kept as is.
   *
   * @returns the new record; `undefined` (nothing written) when there is no such record or
   *   `expectStates` is given and the current state is not in it. The check is not atomic across
   *   processes.
   * @throws LsTokenError `ERR_INVALID_OPTION` naming the field (`id`, `state`, `attempts`, ...,
   *   `expectStates`) with nothing written; `ERR_STORE`.
   */
  async update(id: string, patch: TokenRecordPatch, opts: TokenUpdateOptions = {}): Promise<TokenRecord | undefined> {
    validateId(id);
    validatePatch(patch); // nothing is read or written on bad input
    if (!isPlainObject(opts)) throw invalidOption('opts', 'must be an object');
    const expectStates = validateStates('expectStates', opts.expectStates);

    const found = await this.#readRecord(id, 'update');
    if (found === undefined) return undefined;
    if (expectStates !== undefined && !expectStates.includes(found.record.state)) return undefined;

    // Scrubbed with the shared redactor and with this record's own token, before the cut.
    const valid = validatePatch(patch, this.#scrubberWithOwnToken(found.sealed, id));
    let sealed = found.sealed;
    if (sealed.alg === 'none' && this.#key !== undefined && this.acceptPlaintextRecords) {
      // Migration: a plaintext record read under acceptPlaintextRecords is sealed when next written.
      const raw = await this.#open(sealed, id, 'update', found.raw);
      if (raw === undefined) return undefined; // it did not match its id: quarantined
      sealed = sealToken(raw, this.#key, id);
    }
    const at = this.#time();
    const next = freezeRecord({ ...found.record, ...valid, updatedAt: at });
    assertValidRecord(next);
    await this.#write(next, sealed, at);
    return next;
  }

  /**
   * Deletes record `id`.
   * @returns whether a record was deleted (as reported by the keyv adapter).
   * @throws LsTokenError `ERR_INVALID_OPTION` (`id`), `ERR_STORE` (with a keyv that swallows
   *   errors a failure reads as `false`).
   */
  async delete(id: string): Promise<boolean> {
    const key = this.recordKey(id);
    try {
      return await this.keyv.delete(key);
    } catch (err) {
      throw storeError(err, `Token store delete failed for token ${shortId(id)}`, this.redactor);
    }
  }

  /**
   * Every record under the prefix, sorted by `issuedAt` (then id), optionally filtered. Walks
   * the adapter (see the module notes), so it behaves the same on a `Map`, Redis and SQLite, and
   * sees records written by any other store instance on the same backend. A corrupt record is
   * skipped, reported to `onError` and moved to quarantine; one bad record never fails the list.
   * Entries whose keyv TTL has passed are skipped and deleted.
   *
   * @throws LsTokenError `ERR_INVALID_OPTION` (`appKeyId`, `states`), `ERR_STORE` when the walk fails.
   */
  async list(filter: TokenListFilter = {}): Promise<TokenRecord[]> {
    if (!isPlainObject(filter)) throw invalidOption('filter', 'must be an object');
    if (filter.appKeyId !== undefined && (typeof filter.appKeyId !== 'string' || filter.appKeyId.length === 0)) {
      throw invalidOption('appKeyId', 'must be a non-empty string');
    }
    const states = validateStates('states', filter.states);
    return this.#listRecords('list', filter.appKeyId, states);
  }

  /**
   * The newest (`issuedAt`) `active` record of `appKeyId` whose `expiresAt > minValidUntil` and
   * `revokeAt > now`, with its raw token; `undefined` if none. A candidate whose token cannot be
   * decrypted is skipped and reported to `onError` (`ERR_DECRYPT`).
   *
   * @throws LsTokenError `ERR_INVALID_OPTION` (`appKeyId`, `minValidUntil`), `ERR_STORE`.
   */
  async findUsable(
    appKeyId: string,
    minValidUntil: number,
  ): Promise<
    | {
        /** The record. */
        record: TokenRecord;
        /** The raw token (decrypted). */
        token: string;
      }
    | undefined
  > {
    if (typeof appKeyId !== 'string' || appKeyId.length === 0) throw invalidOption('appKeyId', 'must be a non-empty string');
    if (typeof minValidUntil !== 'number' || Number.isNaN(minValidUntil)) throw invalidOption('minValidUntil', 'must be a number (epoch ms)');
    const now = this.#time();
    const candidates = (await this.#listRecords('findUsable', appKeyId, ['active']))
      .filter((r) => r.expiresAt > minValidUntil && r.revokeAt > now)
      .sort((a, b) => b.issuedAt - a.issuedAt || b.expiresAt - a.expiresAt);
    for (const candidate of candidates) {
      // Re-read: the record may have changed state or vanished since the walk.
      const found = await this.#readRecord(candidate.id, 'findUsable');
      if (found === undefined || found.record.state !== 'active') continue;
      try {
        const token = await this.#open(found.sealed, candidate.id, 'findUsable', found.raw);
        if (token !== undefined) return { record: found.record, token };
      } catch (err) {
        if (err instanceof LsTokenError && err.code === ErrorCodes.DECRYPT) {
          this.#report(err, { key: this.recordKey(candidate.id), op: 'findUsable' });
          continue;
        }
        throw err;
      }
    }
    return undefined;
  }

  /**
   * Stores a small JSON-serialisable value at `${prefix}:meta:${key}` (leases, heartbeats,
   * markers). Without `ttlMs` the keyv's default TTL (normally none) applies.
   *
   * @throws LsTokenError `ERR_INVALID_OPTION` (`key`, `value`, `ttlMs`), `ERR_STORE`.
   */
  async setMeta(key: string, value: unknown, ttlMs?: number): Promise<void> {
    validateMetaKey('key', key, false);
    if (value === undefined || typeof value === 'function' || typeof value === 'symbol' || typeof value === 'bigint') {
      throw invalidOption('value', 'must be a JSON-serialisable value');
    }
    if (ttlMs !== undefined && (typeof ttlMs !== 'number' || !Number.isSafeInteger(ttlMs) || ttlMs < 1)) {
      throw invalidOption('ttlMs', 'must be a positive integer (ms)');
    }
    let ok: boolean;
    try {
      ok = await this.keyv.set(this.#metaKey(key), value, ttlMs);
    } catch (err) {
      throw storeError(err, 'Token store meta write failed', this.redactor);
    }
    if (ok === false) throw new LsTokenError(ErrorCodes.STORE, 'Token store meta write failed (the keyv store reported an error)', { retryable: true });
  }

  /**
   * The meta value at `key`, or `undefined` when absent or expired. An unreadable value is
   * reported to `onError` (`ERR_CORRUPT_RECORD`) and reads as `undefined`.
   *
   * @throws LsTokenError `ERR_INVALID_OPTION` (`key`), `ERR_STORE`.
   */
  async getMeta<T = unknown>(key: string): Promise<T | undefined> {
    validateMetaKey('key', key, false);
    const fullKey = this.#metaKey(key);
    const raw = await this.#readRaw(fullKey, 'getMeta');
    const decoded = await this.#decode(raw);
    if (decoded.kind === 'ok') return decoded.value as T;
    if (decoded.kind === 'corrupt') this.#report(decoded.error, { key: fullKey, op: 'getMeta' });
    if (decoded.kind === 'expired') await this.#deleteIfUnchanged(fullKey, raw, 'getMeta');
    return undefined;
  }

  /**
   * Deletes the meta value at `key` (no error when absent).
   * @throws LsTokenError `ERR_INVALID_OPTION` (`key`), `ERR_STORE`.
   */
  async deleteMeta(key: string): Promise<void> {
    validateMetaKey('key', key, false);
    try {
      await this.keyv.delete(this.#metaKey(key));
    } catch (err) {
      throw storeError(err, 'Token store meta delete failed', this.redactor);
    }
  }

  /**
   * Every live meta value whose key starts with `keyPrefix` (`''` for all), sorted by key.
   * Unreadable values are skipped and reported to `onError`.
   *
   * @throws LsTokenError `ERR_INVALID_OPTION` (`keyPrefix`), `ERR_STORE`.
   */
  async listMeta(keyPrefix: string): Promise<MetaEntry[]> {
    validateMetaKey('keyPrefix', keyPrefix, true);
    const base = this.#storeKey(`${this.prefix}:meta:`);
    const entries = await this.#scan(`${base}${keyPrefix}`, 'listMeta');
    const out: MetaEntry[] = [];
    for (const entry of entries) {
      const metaKey = entry.storeKey.slice(base.length);
      const fullKey = `${this.prefix}:meta:${metaKey}`;
      const decoded = await this.#decode(entry.raw);
      if (decoded.kind === 'ok') out.push({ key: metaKey, value: decoded.value });
      else if (decoded.kind === 'corrupt') this.#report(decoded.error, { key: fullKey, op: 'listMeta' });
      else if (decoded.kind === 'expired') await this.#deleteIfUnchanged(fullKey, entry.raw, 'listMeta');
    }
    return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  // ---------------------------------------------------------------------------------------------

  #time(): number {
    const t = this.#now();
    if (typeof t !== 'number' || !Number.isFinite(t)) throw invalidOption('now', 'returned something other than a finite number');
    return t;
  }

  #metaKey(key: string): string {
    return `${this.prefix}:meta:${key}`;
  }

  /** The key keyv hands to its adapter for keyv key `key` (mirrors keyv's own prefixing). */
  #storeKey(key: string): string {
    const ns = this.keyv.namespace;
    if (!this.keyv.useKeyPrefix || !ns) return key;
    return key.startsWith(`${ns}:`) ? key : `${ns}:${key}`;
  }

  /** TTL for a record written at `at`: ended → retainMs; otherwise until expiry plus retainMs. */
  #ttlFor(record: TokenRecord, at: number): number {
    const ttl = isEnded(record.state) ? this.#retainMs : Math.max(record.expiresAt - at, 0) + this.#retainMs;
    return Math.max(1, Math.ceil(ttl));
  }

  #report(err: LsTokenError, context: TokenStoreErrorContext): void {
    if (this.#onError === undefined) return;
    try {
      this.#onError(err, context);
    } catch {
      // A faulty handler must not break store operations.
    }
  }

  async #write(record: TokenRecord, sealed: SealedToken, at: number): Promise<void> {
    const key = `${this.prefix}:tok:${record.id}`;
    let ok: boolean;
    // A backend may quote the value it failed to write: without a key that value holds the token.
    const plain = sealed.alg === 'none' ? sealed.data : undefined;
    if (plain !== undefined) this.redactor.add(plain);
    try {
      ok = await this.keyv.set(key, toStoredRecord(record, sealed), this.#ttlFor(record, at));
    } catch (err) {
      throw storeError(err, `Token store write failed for token ${shortId(record.id)}`, this.redactor);
    } finally {
      if (plain !== undefined) this.redactor.delete(plain);
    }
    if (ok === false) {
      throw new LsTokenError(ErrorCodes.STORE, `Token store write failed for token ${shortId(record.id)} (the keyv store reported an error)`, {
        retryable: true,
      });
    }
  }

  /**
   * Reads the raw adapter value of keyv key `key`; adapter errors become `ERR_STORE`.
   *
   * Not `async`, and {@link #decode} neither: on the in-memory store every read used to pay four
   * extra promise hops over `keyv.get`, which made `get()` 35 % slower than the raw keyv call it
   * wraps (bench/store-overhead.ts). A synchronous adapter answer now stays synchronous until the
   * caller's single `await`.
   */
  #readRaw(key: string, op: string): unknown {
    const store = this.keyv.store as { get(k: string): unknown };
    const fail = (err: unknown): never => {
      throw storeError(err, `Token store read failed (${op})`, this.redactor);
    };
    let raw: unknown;
    try {
      raw = store.get(this.#storeKey(key));
    } catch (err) {
      fail(err);
    }
    return isThenable(raw) ? Promise.resolve(raw).catch(fail) : raw;
  }

  /** Decodes a raw adapter value as keyv would (deserialise, check `expires`), without throwing. */
  #decode(raw: unknown): Decoded | Promise<Decoded> {
    if (raw === undefined || raw === null) return { kind: 'missing' };
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
   * Validates a decoded record value found under `${prefix}:tok:${suffix}`.
   * @returns the record, or an `ERR_CORRUPT_RECORD` error naming the field and the short id.
   */
  #parse(value: unknown, suffix: string): { record: TokenRecord; sealed: SealedToken } | LsTokenError {
    try {
      const parsed = parseStoredRecord(value);
      if (parsed.record.id !== suffix) {
        return new LsTokenError(ErrorCodes.CORRUPT_RECORD, `Corrupt token record ${label(suffix)}: field "id" does not match its key`, {
          field: 'id',
        });
      }
      // Whether the stored token hashes to the id is checked where the token is used (#open, for
      // getToken and findUsable), for plain and sealed tokens alike: hashing it on every read as
      // well cost 11 % of a get() and told nothing more.
      return parsed;
    } catch (err) {
      const field = err instanceof LsTokenError ? err.field : undefined;
      return new LsTokenError(ErrorCodes.CORRUPT_RECORD, `Corrupt token record ${label(suffix)}: field "${field ?? 'record'}" is invalid`, {
        field: field ?? 'record',
        cause: err,
      });
    }
  }

  /** Reads and validates record `id`; missing/expired → undefined; corrupt → quarantine + undefined. */
  async #readRecord(id: string, op: string): Promise<{ record: TokenRecord; sealed: SealedToken; raw: unknown } | undefined> {
    const key = `${this.prefix}:tok:${id}`;
    const raw = await this.#readRaw(key, op);
    const d = this.#decode(raw);
    const decoded = isThenable(d) ? await d : d;
    if (decoded.kind === 'missing') return undefined;
    if (decoded.kind === 'expired') {
      await this.#deleteIfUnchanged(key, raw, op);
      return undefined;
    }
    const parsed = decoded.kind === 'corrupt' ? this.#corruptEnvelope(decoded.error, id) : this.#parse(decoded.value, id);
    if (parsed instanceof LsTokenError) {
      await this.#quarantine(id, raw, parsed, op);
      return undefined;
    }
    return { ...parsed, raw };
  }

  #corruptEnvelope(error: LsTokenError, suffix: string): LsTokenError {
    return new LsTokenError(ErrorCodes.CORRUPT_RECORD, `Corrupt token record ${label(suffix)}: ${error.message}`, {
      field: error.field ?? 'json',
    });
  }

  /**
   * The shared redactor plus the record's own raw token (opened lazily, only if a message is
   * scrubbed; a token that cannot be opened is simply not added).
   */
  #scrubberWithOwnToken(sealed: SealedToken, id: string): TextScrubber {
    return {
      scrub: (text) => {
        let own: string | undefined;
        try {
          own = openToken(sealed, this.#key, id, true);
        } catch {
          own = undefined;
        }
        if (own === undefined) return this.redactor.scrub(text);
        this.redactor.add(own);
        try {
          return this.redactor.scrub(text);
        } finally {
          this.redactor.delete(own);
        }
      },
    };
  }

  /** Opens a sealed token; a token/id mismatch is treated as a corrupt record (quarantine, undefined). */
  async #open(sealed: SealedToken, id: string, op: string, raw: unknown): Promise<string | undefined> {
    try {
      return openToken(sealed, this.#key, id, this.acceptPlaintextRecords);
    } catch (err) {
      if (err instanceof LsTokenError && err.code === ErrorCodes.CORRUPT_RECORD) {
        await this.#quarantine(id, raw, err, op);
        return undefined;
      }
      throw err;
    }
  }

  /**
   * Reports a corrupt record, copies its raw value to `${prefix}:quarantine:tok:${suffix}` (kept
   * for `retainMs`) and deletes the original if it still holds the same raw value. Store trouble
   * here is reported, never thrown.
   */
  async #quarantine(suffix: string, raw: unknown, error: LsTokenError, op: string): Promise<void> {
    const key = `${this.prefix}:tok:${suffix}`;
    this.#report(error, { key, op });
    const qKey = `${this.prefix}:quarantine:tok:${suffix}`;
    try {
      const ok = await this.keyv.set(
        qKey,
        { quarantinedAt: this.#time(), code: error.code, field: error.field ?? null, originalKey: key, raw },
        this.#retainMs,
      );
      if (ok === false) throw new Error('keyv set() reported failure');
    } catch (err) {
      this.#report(storeError(err, `Could not quarantine token record ${label(suffix)}`, this.redactor), { key: qKey, op: 'quarantine' });
      return; // keep the original rather than lose it
    }
    await this.#deleteIfUnchanged(key, raw, 'quarantine');
  }

  /** Deletes keyv key `key` if its raw value is still `raw` (another writer may have replaced it). */
  async #deleteIfUnchanged(key: string, raw: unknown, op: string): Promise<void> {
    try {
      const current = await this.#readRaw(key, op);
      if (current !== undefined && current !== null && sameRaw(current, raw)) await this.keyv.delete(key);
    } catch (err) {
      this.#report(storeError(err, 'Token store cleanup failed', this.redactor), { key, op });
    }
  }

  /**
   * Walks the adapter and returns every entry whose adapter-level key starts with `storePrefix`.
   * Collects everything before returning, so that no deletion happens while paging.
   */
  async #scan(storePrefix: string, op: string): Promise<RawEntry[]> {
    const store = this.keyv.store as Record<string | symbol, unknown>;
    const found = new Map<string, unknown>();
    const take = (key: unknown, raw: unknown): void => {
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
      throw storeError(err, `Token store ${op} failed while iterating`, this.redactor);
    }
    return Array.from(found, ([storeKey, raw]) => ({ storeKey, raw }));
  }

  async #listRecords(op: string, appKeyId: string | undefined, states: readonly TokenState[] | undefined): Promise<TokenRecord[]> {
    const base = this.#storeKey(`${this.prefix}:tok:`);
    const entries = await this.#scan(base, op);
    const out: TokenRecord[] = [];
    for (const entry of entries) {
      const suffix = entry.storeKey.slice(base.length);
      // Ids never contain ':'; such a key belongs to a store whose prefix nests under ours
      // (e.g. `${prefix}:tok` + `:tok:<id>`): not ours to judge, let alone quarantine.
      if (suffix.includes(':')) continue;
      const d = this.#decode(entry.raw);
      const decoded = isThenable(d) ? await d : d;
      if (decoded.kind === 'missing') continue;
      if (decoded.kind === 'expired') {
        await this.#deleteIfUnchanged(`${this.prefix}:tok:${suffix}`, entry.raw, op);
        continue;
      }
      const parsed = decoded.kind === 'corrupt' ? this.#corruptEnvelope(decoded.error, suffix) : this.#parse(decoded.value, suffix);
      if (parsed instanceof LsTokenError) {
        await this.#quarantine(suffix, entry.raw, parsed, op);
        continue;
      }
      const { record } = parsed;
      if (appKeyId !== undefined && record.appKeyId !== appKeyId) continue;
      if (states !== undefined && !states.includes(record.state)) continue;
      out.push(record);
    }
    return out.sort((a, b) => a.issuedAt - b.issuedAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }
}
