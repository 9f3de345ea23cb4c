/**
 * The options of the `TokenStore`, parsed once into one frozen object, and the checks of its
 * method arguments. Every check throws `ERR_INVALID_OPTION` naming the field and never echoes a
 * secret value (an encryption key, a raw token).
 */
import { inspect } from 'node:util';
import { Keyv } from 'keyv';
import { invalidOption, type LsTokenError } from '../core/errors.js';
import { SecretRedactor } from '../core/redact.js';
import { parseEncryptionKey } from './crypto-box.js';
import { assertWalkableKeyv } from './keyv-access.js';
import { TOKEN_STATES, isPlainObject, isTokenId, type TokenState } from './token-record.js';

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
   * `@keyv/sqlite`).
   *
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
  keyv?: Keyv;
  /**
   * Key prefix inside the keyv, default `'ls-token'`: letters, digits, `_ . -`, and single `:`
   * between segments. Every key of one app key carries its id as a Redis hash tag: records
   * `${prefix}:{appKeyId}:tok:${id}`, the app key's index `${prefix}:{appKeyId}:index`, its meta
   * values `${prefix}:{appKeyId}:meta:${key}`; corrupt records go to
   * `${prefix}:quarantine:tok:${id}`, meta values not tied to an app key to `${prefix}:meta:${key}`.
   * Stores sharing a keyv should use prefixes that do not nest (not `a` and `a:meta`).
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

/** Options of {@link TokenStore.list}. */
export interface TokenListOptions {
  /**
   * Called during a walk of the whole store (`list()` without an app key) with the number of
   * backend keys read so far (every 1,000 keys and at the end), e.g. for a progress display.
   * Not called when the list is read through an app key's index.
   */
  onProgress?: (keysRead: number) => void;
}

/** Options of {@link TokenStore.update}. */
export interface TokenUpdateOptions {
  /** Write only when the current state is one of these; otherwise return `undefined`. */
  expectStates?: readonly TokenState[];
}

/** {@link TokenStoreOptions} checked, with their defaults applied. */
export interface ResolvedTokenStoreOptions {
  /** The keyv instance (checked walkable), or a new in-memory one. */
  readonly keyv: Keyv;
  /** The key prefix. */
  readonly prefix: string;
  /** The parsed AES-256-GCM key, if any. */
  readonly key: Buffer | undefined;
  /** Whether plaintext records are read although a key is set. */
  readonly acceptPlaintextRecords: boolean;
  /** The shared redactor, or a private one. */
  readonly redactor: SecretRedactor;
  /** Audit retention in ms. */
  readonly retainMs: number;
  /** The clock. */
  readonly now: () => number;
  /** The trouble callback, if any. */
  readonly onError: TokenStoreOptions['onError'];
}

/**
 * The default store: an in-memory keyv whose records (raw tokens, without an encryption key) a
 * `console.log` of it, or of its `Map`, must not print.
 */
function privateMemoryKeyv(): Keyv {
  const map = new Map<string, unknown>();
  const hide = (what: string) => ({ value: () => `${what} { <${map.size} entries hidden: they may hold raw tokens> }`, enumerable: false });
  Object.defineProperty(map, inspect.custom, hide('Map'));
  Object.defineProperty(map, 'toJSON', { value: () => ({ size: map.size }), enumerable: false });
  const keyv = new Keyv({ store: map, throwOnErrors: true });
  Object.defineProperty(keyv, inspect.custom, hide('Keyv (in memory)'));
  Object.defineProperty(keyv, 'toJSON', { value: () => ({ store: 'memory', size: map.size }), enumerable: false });
  return keyv;
}

/**
 * Checks `options` once and applies the defaults.
 * @throws LsTokenError `ERR_INVALID_OPTION` naming the bad option (`keyv`, `prefix`,
 *   `encryptionKey`, `acceptPlaintextRecords`, `redactor`, `retainMs`, `now`, `onError`); secret
 *   values are never echoed.
 */
export function resolveTokenStoreOptions(options: TokenStoreOptions): ResolvedTokenStoreOptions {
  if (!isPlainObject(options as unknown)) throw invalidOption('options', 'must be an object');
  const { keyv, prefix, encryptionKey, acceptPlaintextRecords, redactor, retainMs, now, onError } = options;

  const checkedKeyv = keyv === undefined ? privateMemoryKeyv() : assertWalkableKeyv(keyv);

  if (prefix !== undefined && (typeof prefix !== 'string' || prefix.length > 100 || !PREFIX_PATTERN.test(prefix))) {
    throw invalidOption('prefix', 'must be 1-100 characters of letters, digits, "_", ".", "-", with single ":" between segments');
  }
  const key = encryptionKey === undefined ? undefined : parseEncryptionKey(encryptionKey, 'encryptionKey');
  if (acceptPlaintextRecords !== undefined && typeof acceptPlaintextRecords !== 'boolean') {
    throw invalidOption('acceptPlaintextRecords', 'must be a boolean');
  }
  if (redactor !== undefined && !(redactor instanceof SecretRedactor)) throw invalidOption('redactor', 'must be a SecretRedactor');
  if (retainMs !== undefined && (typeof retainMs !== 'number' || !Number.isSafeInteger(retainMs) || retainMs < 1 || retainMs > MAX_RETAIN_MS)) {
    throw invalidOption('retainMs', `must be an integer between 1 and ${MAX_RETAIN_MS}`);
  }
  if (now !== undefined && typeof now !== 'function') throw invalidOption('now', 'must be a function returning epoch ms');
  if (onError !== undefined && typeof onError !== 'function') throw invalidOption('onError', 'must be a function');

  return Object.freeze({
    keyv: checkedKeyv,
    prefix: prefix ?? DEFAULT_PREFIX,
    key,
    acceptPlaintextRecords: acceptPlaintextRecords ?? false,
    redactor: redactor ?? new SecretRedactor(),
    retainMs: retainMs ?? DEFAULT_RETAIN_MS,
    now: now ?? Date.now,
    onError,
  });
}

/** Checks a raw token given to `put`. */
export function validateRawToken(rawToken: unknown): string {
  if (typeof rawToken !== 'string' || rawToken.length === 0 || rawToken.length > MAX_TOKEN_LENGTH) {
    throw invalidOption('rawToken', `must be a non-empty string of at most ${MAX_TOKEN_LENGTH} characters`);
  }
  return rawToken;
}

/** Checks `list`'s filter; returns the app key id and states to keep (`undefined`: all). */
export function validateListFilter(filter: unknown): { appKeyId: string | undefined; states: readonly TokenState[] | undefined } {
  if (!isPlainObject(filter)) throw invalidOption('filter', 'must be an object');
  const appKeyId = filter['appKeyId'];
  if (appKeyId !== undefined && (typeof appKeyId !== 'string' || appKeyId.length === 0)) throw invalidOption('appKeyId', 'must be a non-empty string');
  return { appKeyId, states: validateStates('states', filter['states']) };
}

/** Checks `update`'s options; returns the expected states (`undefined`: any). */
export function validateUpdateOptions(opts: unknown): readonly TokenState[] | undefined {
  if (!isPlainObject(opts)) throw invalidOption('opts', 'must be an object');
  return validateStates('expectStates', opts['expectStates']);
}

/** Checks an optional list of states (`field` names it in the error). */
function validateStates(field: string, value: unknown): readonly TokenState[] | undefined {
  if (value === undefined) return undefined;
  if (!Array.isArray(value) || !value.every((s) => (TOKEN_STATES as readonly unknown[]).includes(s))) {
    throw invalidOption(field, `must be an array of ${TOKEN_STATES.join(', ')}`);
  }
  return value as TokenState[];
}

/** Checks a token id: 64 lowercase hex digits. */
export function validateId(id: unknown): string {
  if (!isTokenId(id)) throw invalidOption('id', 'must be a token id (64 lowercase hex digits)');
  return id;
}

/** Checks a meta key (or, with `allowEmpty`, a meta key prefix). */
export function validateMetaKey(field: string, key: unknown, allowEmpty: boolean): string {
  if (typeof key !== 'string' || (!allowEmpty && key.length === 0) || key.length > MAX_META_KEY) {
    throw invalidOption(field, `must be a ${allowEmpty ? '' : 'non-empty '}string of at most ${MAX_META_KEY} characters`);
  }
  // eslint-disable-next-line no-control-regex
  if (/[\s\x00-\x1f\x7f]/.test(key)) throw invalidOption(field, 'must not contain whitespace or control characters');
  return key;
}

/** Checks `setMeta`'s value and TTL. */
export function validateMetaValue(value: unknown, ttlMs: unknown): void {
  if (value === undefined || typeof value === 'function' || typeof value === 'symbol' || typeof value === 'bigint') {
    throw invalidOption('value', 'must be a JSON-serialisable value');
  }
  if (ttlMs !== undefined && (typeof ttlMs !== 'number' || !Number.isSafeInteger(ttlMs) || ttlMs < 1)) {
    throw invalidOption('ttlMs', 'must be a positive integer (ms)');
  }
}
