/**
 * Persistent tracking of issued tokens in any keyv 5 store (memory, Redis, SQLite, ...): one
 * record per token, kept per app key, and quarantine for the records found corrupt.
 *
 * ## Key layout
 * Built in one place, the store-keys module: every key of one app key carries its id as a Redis
 * hash tag (`${prefix}:{appKeyId}:tok:${id}`, `...:index`, `...:meta:${name}`), and an index per
 * app key (app-key-index) lists its records and meta values, so that finding them costs O(that
 * app key's keys) whatever else the backend holds. Walking the whole store is left to
 * `list()` without an app key (`ls-token list --all`), the quarantine report and the migration
 * from the 0.1.x layout (store-migration). How keyv and its adapter prefix these keys physically
 * is the business of the keyv-access module (`KeyvAccess`).
 *
 * ## App-key views
 * A store answers for every app key; {@link TokenStore.forAppKey} returns a view bound to one,
 * which the lifecycle uses: its calls by record id and its meta values need no walk. Calls by id
 * on the whole store find the record's app key from what this process has seen, else by a walk.
 */
import { inspect } from 'node:util';
import type { Keyv } from 'keyv';
import { ErrorCodes, LsTokenError, invalidOption } from '../core/errors.js';
import { shortId, tokenId } from '../core/fingerprint.js';
import type { SecretRedactor } from '../core/redact.js';
import { isLegacySeal, ownTokenScrubber, sealToken } from './crypto-box.js';
import { storeError } from './keyv-access.js';
import type { MetaEntry } from './meta-values.js';
import type { FoundRecord } from './record-io.js';
import { StoreCore, type IndexRepair } from './store-core.js';
import { findUsableToken } from './usable-token.js';
import { META, StoreKeys, scopeOrNull, validateScope } from './store-keys.js';
import { migrateLegacyLayout, type MigrationResult } from './store-migration.js';
import { assertValidRecord, freezeRecord, validateNewTokenRecord, validatePatch } from './token-record.js';
import type { NewTokenRecord, TokenRecord, TokenRecordPatch, TokenState } from './token-record.js';
import {
  resolveTokenStoreOptions,
  validateId,
  validateMetaKey,
  validateMetaValue,
  validateRawToken,
  validateListFilter,
  validateUpdateOptions,
  type TokenListFilter,
  type TokenListOptions,
  type TokenStoreOptions,
  type TokenUpdateOptions,
} from './token-store-options.js';

export { DEFAULT_PREFIX, DEFAULT_RETAIN_MS } from './token-store-options.js';
export type { TokenListFilter, TokenListOptions, TokenStoreErrorContext, TokenStoreOptions, TokenUpdateOptions } from './token-store-options.js';
export type { MetaEntry } from './meta-values.js';
export type { MigrationResult } from './store-migration.js';
export type { IndexRepair } from './store-core.js';

/** Set by {@link TokenStore.forAppKey} for the constructor call it makes (synchronously). */
let pendingView: { core: StoreCore; appKeyId: string } | undefined;

/**
 * Stores one {@link TokenRecord} per issued token in a keyv store, with the raw token optionally
 * sealed with AES-256-GCM (the record's id and app key id are the AAD). Ended records stay for `retainMs` (keyv TTL)
 * as an audit trail; active records expire `retainMs` after the token itself would.
 *
 * Read-modify-write operations (`update`, and `put`'s existence check except on Redis, where a
 * script makes it atomic) are not atomic across processes: keyv has no compare-and-set.
 * Coordinate writers of the same record with leases (see {@link TokenStore.setMeta}).
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
  /** The app key this view is bound to ({@link TokenStore.forAppKey}); `undefined` for the whole store. */
  readonly appKeyId: string | undefined;

  readonly #c: StoreCore;

  /**
   * @throws LsTokenError `ERR_INVALID_OPTION` naming the bad option (`keyv`, `prefix`,
   *   `encryptionKey`, `acceptPlaintextRecords`, `redactor`, `retainMs`, `now`, `onError`); secret
   *   values are never echoed.
   */
  constructor(options: TokenStoreOptions = {}) {
    const view = pendingView;
    pendingView = undefined;
    const c = (this.#c = view?.core ?? new StoreCore(resolveTokenStoreOptions(options)));
    this.appKeyId = view?.appKeyId;
    this.keyv = c.o.keyv;
    this.prefix = c.o.prefix;
    this.encrypted = c.o.key !== undefined;
    this.acceptPlaintextRecords = c.o.acceptPlaintextRecords;
    this.redactor = c.o.redactor;
  }

  /**
   * A view of this store bound to one app key (same backend, options and caches): its calls by
   * record id, `list()`, `findUsable()` and meta values concern that app key only and cost
   * O(its keys). `put()` on it refuses records of another app key.
   *
   * @param appKeyId the app key's scoped id (`appKeyIdFor(provider, appKey, baseUrl)`): 1-64
   *   letters, digits, `_ . -`.
   * @throws LsTokenError `ERR_INVALID_OPTION` (`appKeyId`).
   */
  forAppKey(appKeyId: string): TokenStore {
    validateScope(appKeyId);
    if (this.appKeyId === appKeyId) return this;
    pendingView = { core: this.#c, appKeyId };
    try {
      return new TokenStore();
    } finally {
      pendingView = undefined;
    }
  }

  /** Whether the backend holds nothing, known without a read (an in-process `Map` with no key; any other backend: `false`). */
  isKnownEmpty(): boolean {
    return this.#c.kv.isKnownEmpty();
  }

  /**
   * The keyv key of record `id`: `${prefix}:{appKeyId}:tok:${id}`.
   * @param appKeyId default: this view's app key, or the one this process has seen record `id`
   *   under; required otherwise.
   * @throws LsTokenError `ERR_INVALID_OPTION` (`id`, `appKeyId`).
   */
  recordKey(id: string, appKeyId?: string): string {
    validateId(id);
    return this.#c.keys.record(this.#scopeOf(appKeyId ?? this.appKeyId ?? this.#c.located.get(id)), id);
  }

  /**
   * The keyv key of an app key's meta value `key`: `${prefix}:{appKeyId}:meta:${key}`.
   * @param appKeyId default: this view's app key (required on the whole store).
   * @throws LsTokenError `ERR_INVALID_OPTION` (`key`, `appKeyId`).
   */
  metaKey(key: string, appKeyId: string | undefined = this.appKeyId): string {
    validateMetaKey('key', key, false);
    return this.#c.keys.meta(this.#scopeOf(appKeyId), key);
  }

  /**
   * The key the backend physically holds for the app key's issuance lock (for raw Redis
   * commands: `SET NX PX`): in the app key's hash slot.
   * @throws LsTokenError `ERR_INVALID_OPTION` (`appKeyId`).
   */
  issueLockKey(appKeyId: string | undefined = this.appKeyId): string {
    return this.#c.kv.physicalKey(this.#c.keys.meta(this.#scopeOf(appKeyId), META.issueLock));
  }

  /**
   * The keyv key a corrupt record `id` is moved to: `${prefix}:quarantine:tok:${id}`. The value
   * there is `{ quarantinedAt, code, field, originalKey, raw }`, where `raw` is the value exactly
   * as it was stored (so, in an unencrypted store, possibly holding the plain token); it is kept
   * for `retainMs`.
   */
  quarantineKey(id: string): string {
    return this.#c.keys.quarantine(validateId(id));
  }

  /**
   * Stores a newly issued token as an `active` record with 0 attempts, under its app key
   * (`input.appKeyId`), adds it to the app key's index first and points the app key's current
   * token at it. A record with the same id (the broker issued the same raw token again) that is
   * `active` or `revoking` is returned unchanged (its index entry is written again); one that has
   * ended (`revoked`, `failed`, `expired`) is written `active` again with the new dates and owner
   * (reason, attempts and error reset, `createdAt` kept), since the broker has just handed the
   * token out alive. On Redis a new token's record is written only if none exists, atomically;
   * elsewhere the record is read, then written (not atomic across processes).
   *
   * @throws LsTokenError `ERR_INVALID_OPTION` naming the field (`appKeyId`, `issuedAt`, ...,
   *   `rawToken`) when the input is bad or, on a view, names another app key; `ERR_STORE` when the
   *   backend fails.
   */
  async put(input: NewTokenRecord, rawToken: string): Promise<TokenRecord> {
    const valid = validateNewTokenRecord(input);
    validateRawToken(rawToken);
    const scope = validateScope(valid.appKeyId);
    if (this.appKeyId !== undefined && scope !== this.appKeyId) throw invalidOption('appKeyId', 'is not the app key of this store view');
    return this.#c.put(scope, tokenId(rawToken), valid, rawToken);
  }

  /**
   * The record `id`, or `undefined` when there is none (or it expired). A corrupt record is
   * reported to `onError` (`ERR_CORRUPT_RECORD`), moved to quarantine, and reads as `undefined`.
   *
   * @throws LsTokenError `ERR_INVALID_OPTION` (`id`), `ERR_STORE`.
   */
  async get(id: string): Promise<TokenRecord | undefined> {
    return (await this.#find(validateId(id), 'get'))?.found.record;
  }

  /**
   * The raw token of record `id` (decrypted), or `undefined` when there is no such record.
   *
   * @throws LsTokenError `ERR_DECRYPT` when the token is encrypted and this store has no key or
   *   the wrong one (or the ciphertext was altered); `ERR_INVALID_OPTION` (`id`); `ERR_STORE`.
   */
  async getToken(id: string): Promise<string | undefined> {
    const hit = await this.#find(validateId(id), 'getToken');
    if (hit === undefined) return undefined;
    return this.#c.io.open(this.#c.keys.record(hit.scope, id), hit.found.sealed, hit.found.record, 'getToken', hit.found.raw);
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
    const expectStates = validateUpdateOptions(opts);
    const c = this.#c;

    const hit = await this.#find(id, 'update');
    if (hit === undefined) return undefined;
    const { found, scope } = hit;
    if (expectStates !== undefined && !expectStates.includes(found.record.state)) return undefined;

    const key = c.keys.record(scope, id);
    // Scrubbed with the shared redactor and with this record's own token, before the cut.
    const valid = validatePatch(patch, ownTokenScrubber(this.redactor, found.sealed, c.o.key, found.record));
    let sealed = found.sealed;
    if (sealed.alg === 'none' && c.o.key !== undefined && this.acceptPlaintextRecords) {
      // Migration: a plaintext record read under acceptPlaintextRecords is sealed when next written.
      const raw = await c.io.open(key, sealed, found.record, 'update', found.raw);
      if (raw === undefined) return undefined; // it did not match its id: quarantined
      sealed = sealToken(raw, c.o.key, found.record);
    } else if (isLegacySeal(sealed) && c.o.key !== undefined) {
      // Upgrade: a seal of 0.1.x (bound to the record id alone) is sealed with the record's identity
      // when next written. One this key cannot open keeps its seal: the update itself must not fail.
      const raw = await c.io.open(key, sealed, found.record, 'update', found.raw).catch(() => null);
      if (raw === undefined) return undefined; // it did not match its id: quarantined
      if (raw !== null) sealed = sealToken(raw, c.o.key, found.record);
    }
    const at = c.time();
    const next = freezeRecord({ ...found.record, ...valid, updatedAt: at });
    assertValidRecord(next);
    await c.io.write(key, next, sealed, at);
    return next;
  }

  /**
   * Deletes record `id` (then its index entry).
   * @returns whether a record was deleted (as reported by the keyv adapter).
   * @throws LsTokenError `ERR_INVALID_OPTION` (`id`), `ERR_STORE` (with a keyv that swallows
   *   errors a failure reads as `false`).
   */
  async delete(id: string): Promise<boolean> {
    validateId(id);
    const c = this.#c;
    const scope = this.appKeyId ?? c.located.get(id) ?? (await c.locate(id, 'delete'));
    if (scope === undefined) return false;
    try {
      const deleted = await this.keyv.delete(c.keys.record(scope, id));
      await c.index.remove(scope, StoreKeys.recordMember(id));
      c.located.delete(id);
      return deleted;
    } catch (err) {
      throw err instanceof LsTokenError ? err : storeError(err, `Token store delete failed for token ${shortId(id)}`, this.redactor);
    }
  }

  /**
   * The records of one app key (`filter.appKeyId`, or this view's), read through its index, or,
   * without an app key on the whole store, every record under the prefix (a walk of the whole
   * backend: `ls-token list --all`). Sorted by `issuedAt` (then id), optionally filtered. A corrupt
   * record is skipped, reported to `onError` and moved to quarantine; one bad record never fails
   * the list. Entries whose keyv TTL has passed are skipped and deleted.
   *
   * @param options `onProgress` hears how far a walk of the whole store has got.
   * @throws LsTokenError `ERR_INVALID_OPTION` (`appKeyId`, `states`, `onProgress`), `ERR_STORE` when the read fails.
   */
  async list(filter: TokenListFilter = {}, options: TokenListOptions = {}): Promise<TokenRecord[]> {
    const { appKeyId, states } = validateListFilter(filter);
    const onProgress = options.onProgress;
    if (onProgress !== undefined && typeof onProgress !== 'function') throw invalidOption('onProgress', 'must be a function');
    if (appKeyId !== undefined && this.appKeyId !== undefined && appKeyId !== this.appKeyId) return [];
    const scope = appKeyId ?? this.appKeyId;
    const records =
      scope === undefined ? await this.#c.walkRecords('list', onProgress) : scopeOrNull(scope) === null ? [] : (await this.#c.recordsOf(scope, 'list')).map((f) => f.record);
    return records
      .filter((r) => states === undefined || states.includes(r.state))
      .sort((a, b) => a.issuedAt - b.issuedAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  /**
   * The newest (`issuedAt`) `active` record of `appKeyId` whose `expiresAt > minValidUntil` and
   * `revokeAt > now`, with its raw token; `undefined` if none. The app key's current-token pointer
   * is read first (one or two keys); the index only when it points at nothing usable. A candidate
   * whose token cannot be decrypted is skipped and reported to `onError` (`ERR_DECRYPT`); one whose
   * seal does not open under its record's identity (relabelled), or whose token `belongs` refuses,
   * is reported and quarantined.
   *
   * @throws LsTokenError `ERR_INVALID_OPTION` (`appKeyId`, `minValidUntil`), `ERR_STORE`.
   */
  async findUsable(
    appKeyId: string,
    minValidUntil: number,
    belongs?: (token: string) => boolean,
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
    if (scopeOrNull(appKeyId) === null || (this.appKeyId !== undefined && appKeyId !== this.appKeyId)) return undefined;
    return findUsableToken(this.#c, appKeyId, minValidUntil, belongs);
  }

  /**
   * Stores a small JSON-serialisable value (leases, heartbeats, markers): on a view at
   * `${prefix}:{appKeyId}:meta:${key}` (and in the app key's index), on the whole store at
   * `${prefix}:meta:${key}`. Without `ttlMs` the keyv's default TTL (normally none) applies.
   *
   * @throws LsTokenError `ERR_INVALID_OPTION` (`key`, `value`, `ttlMs`), `ERR_STORE`.
   */
  async setMeta(key: string, value: unknown, ttlMs?: number): Promise<void> {
    validateMetaKey('key', key, false);
    validateMetaValue(value, ttlMs);
    const c = this.#c;
    if (this.appKeyId !== undefined) await c.index.add(this.appKeyId, StoreKeys.metaMember(key), c.time());
    await c.meta.set(this.#metaKeyOf(key), value, ttlMs);
  }

  /**
   * The meta value at `key`, or `undefined` when absent or expired. An unreadable value is
   * reported to `onError` (`ERR_CORRUPT_RECORD`) and reads as `undefined`.
   *
   * @throws LsTokenError `ERR_INVALID_OPTION` (`key`), `ERR_STORE`.
   */
  async getMeta<T = unknown>(key: string): Promise<T | undefined> {
    validateMetaKey('key', key, false);
    return (await this.#c.meta.get(this.#metaKeyOf(key))) as T | undefined;
  }

  /**
   * Deletes the meta value at `key` (no error when absent), then its index entry.
   * @throws LsTokenError `ERR_INVALID_OPTION` (`key`), `ERR_STORE`.
   */
  async deleteMeta(key: string): Promise<void> {
    validateMetaKey('key', key, false);
    await this.#c.meta.delete(this.#metaKeyOf(key));
    if (this.appKeyId !== undefined) await this.#c.index.remove(this.appKeyId, StoreKeys.metaMember(key));
  }

  /**
   * Every live meta value whose key starts with `keyPrefix` (`''` for all), sorted by key: on a
   * view the app key's own (through its index), on the whole store those not tied to an app key
   * (a walk). Unreadable values are skipped and reported to `onError`.
   *
   * @throws LsTokenError `ERR_INVALID_OPTION` (`keyPrefix`), `ERR_STORE`.
   */
  async listMeta(keyPrefix: string): Promise<MetaEntry[]> {
    validateMetaKey('keyPrefix', keyPrefix, true);
    const c = this.#c;
    return this.appKeyId === undefined ? c.meta.scan(c.keys.storeMeta(''), keyPrefix) : c.metaOf(this.appKeyId, keyPrefix);
  }

  /**
   * Repairs this view's index: entries without a record (older than a minute) are removed while
   * listing, and the records of `ids` (tokens the fleet knows of: held, leased) and of the
   * current-token pointer that exist without an entry get their entry back.
   *
   * @throws LsTokenError `ERR_INVALID_OPTION` (on the whole store, or a bad id), `ERR_STORE`.
   */
  async repairIndex(ids: Iterable<string> = []): Promise<IndexRepair> {
    return this.#c.repair(this.#scopeOf(this.appKeyId), Array.from(ids, (id) => validateId(id)));
  }

  /**
   * Moves this app key's records written by 0.1.x (`${prefix}:tok:${id}`, stored under
   * `legacyAppKeyId`, the app key's id as 0.1.x computed it) and its issuance budget mark into
   * this layout, once: a marker under the app key says it is done, so later starts read one key.
   * Nothing is re-issued: the records keep their ids, tokens and states. See store-migration.
   *
   * @throws LsTokenError `ERR_INVALID_OPTION` (on the whole store), `ERR_STORE`.
   */
  migrateLegacy(legacyAppKeyId: string): Promise<MigrationResult> {
    return migrateLegacyLayout(this.#c, this.#scopeOf(this.appKeyId), legacyAppKeyId);
  }

  // ---------------------------------------------------------------------------------------------

  #scopeOf(appKeyId: string | undefined): string {
    if (appKeyId === undefined) throw invalidOption('appKeyId', 'is required on a store not bound to an app key (see forAppKey)');
    return validateScope(appKeyId);
  }

  #metaKeyOf(key: string): string {
    return this.appKeyId === undefined ? this.#c.keys.storeMeta(key) : this.#c.keys.meta(this.appKeyId, key);
  }

  /** Record `id` and its app key: this view's, the one seen in this process, or found by a walk. */
  async #find(id: string, op: string): Promise<{ found: FoundRecord; scope: string } | undefined> {
    const c = this.#c;
    const known = this.appKeyId ?? c.located.get(id);
    if (known !== undefined) {
      const found = await c.readRecord(known, id, op);
      if (found !== undefined || this.appKeyId !== undefined) return found === undefined ? undefined : { found, scope: known };
    }
    const scope = await c.locate(id, op);
    if (scope === undefined) return undefined;
    const found = await c.readRecord(scope, id, op);
    return found === undefined ? undefined : { found, scope };
  }

  /** What the store is, never what it holds. */
  toJSON(): Pick<TokenStore, 'prefix' | 'encrypted' | 'acceptPlaintextRecords'> {
    return { prefix: this.prefix, encrypted: this.encrypted, acceptPlaintextRecords: this.acceptPlaintextRecords };
  }

  /** `TokenStore { prefix, encrypted, acceptPlaintextRecords }`: never the keyv (which may hold raw tokens) or the key. */
  [inspect.custom](): string {
    return `TokenStore ${inspect(this.toJSON())}`;
  }
}
