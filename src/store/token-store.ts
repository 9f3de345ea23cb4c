/**
 * Persistent tracking of issued tokens in any keyv 5 store (memory, Redis, SQLite, ...): one
 * record per token, and quarantine for the records found corrupt.
 *
 * ## Key layout
 * Every record is its own keyv key, `${prefix}:tok:${id}` (no shared index key, so concurrent
 * writers never lose each other's records). Records found corrupt are moved to
 * `${prefix}:quarantine:tok:${id}` (the original key with `tok:` kept, under `quarantine:`).
 * Generic values of {@link TokenStore.setMeta} live at `${prefix}:meta:${key}`. How keyv and its
 * adapter prefix these keys physically, and why reads and walks go to the adapter underneath keyv,
 * is the business of the keyv-access module (`KeyvAccess`), and nothing here re-derives it.
 */
import type { Keyv } from 'keyv';
import { inspect } from 'node:util';
import { ErrorCodes, LsTokenError, invalidOption } from '../core/errors.js';
import { shortId, tokenId } from '../core/fingerprint.js';
import type { SecretRedactor } from '../core/redact.js';
import { isLegacySeal, openToken, ownTokenScrubber, sealToken } from './crypto-box.js';
import { KeyvAccess, isThenable, storeError } from './keyv-access.js';
import { MetaValues, type MetaEntry } from './meta-values.js';
import {
  assertValidRecord,
  corruptEnvelopeAt,
  freezeRecord,
  isEnded,
  newActiveRecord,
  parseRecordAt,
  recordLabel,
  toStoredRecord,
  validateNewTokenRecord,
  validatePatch,
} from './token-record.js';
import type { NewTokenRecord, SealedToken, TokenRecord, TokenRecordPatch, TokenState } from './token-record.js';
import {
  resolveTokenStoreOptions,
  type ResolvedTokenStoreOptions,
  validateId,
  validateMetaKey,
  validateMetaValue,
  validateRawToken,
  validateListFilter,
  validateUpdateOptions,
  type TokenListFilter,
  type TokenStoreErrorContext,
  type TokenStoreOptions,
  type TokenUpdateOptions,
} from './token-store-options.js';

export { DEFAULT_PREFIX, DEFAULT_RETAIN_MS } from './token-store-options.js';
export type { TokenListFilter, TokenStoreErrorContext, TokenStoreOptions, TokenUpdateOptions } from './token-store-options.js';
export type { MetaEntry } from './meta-values.js';

/**
 * Stores one {@link TokenRecord} per issued token in a keyv store, with the raw token optionally
 * sealed with AES-256-GCM (the record id and app key id are the AAD). Ended records stay for `retainMs` (keyv TTL)
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

  /** The options, checked once (`key` is the parsed encryption key). */
  readonly #o: ResolvedTokenStoreOptions;
  readonly #kv: KeyvAccess;
  readonly #meta: MetaValues;

  /**
   * @throws LsTokenError `ERR_INVALID_OPTION` naming the bad option (`keyv`, `prefix`,
   *   `encryptionKey`, `acceptPlaintextRecords`, `redactor`, `retainMs`, `now`, `onError`); secret
   *   values are never echoed.
   */
  constructor(options: TokenStoreOptions = {}) {
    const o = (this.#o = resolveTokenStoreOptions(options));
    this.keyv = o.keyv;
    this.prefix = o.prefix;
    this.encrypted = o.key !== undefined;
    this.acceptPlaintextRecords = o.acceptPlaintextRecords;
    this.redactor = o.redactor;
    const report = (err: LsTokenError, context: TokenStoreErrorContext): void => this.#report(err, context);
    this.#kv = new KeyvAccess(o.keyv, o.redactor, report);
    this.#meta = new MetaValues(this.#kv, o.prefix, o.redactor, report);
  }

  /** The keyv key of record `id`: `${prefix}:tok:${id}`. */
  recordKey(id: string): string {
    return this.#recordKey(validateId(id));
  }

  /**
   * The keyv key a corrupt record `id` is moved to: `${prefix}:quarantine:tok:${id}`. The value
   * there is `{ quarantinedAt, code, field, originalKey, raw }`, where `raw` is the value exactly
   * as it was stored (so, in an unencrypted store, possibly holding the plain token); it is kept
   * for `retainMs`.
   */
  quarantineKey(id: string): string {
    return this.#quarantineKey(validateId(id));
  }

  /**
   * Stores a newly issued token as an `active` record with 0 attempts. A record with the same id
   * (the broker issued the same raw token again) that is `active` or `revoking` is returned
   * unchanged and nothing is written; one that has ended (`revoked`, `failed`, `expired`) is
   * written `active` again with the new dates and owner (reason, attempts and error reset,
   * `createdAt` kept), since the broker has just handed the token out alive. Read, then write: not
   * atomic across processes.
   *
   * @throws LsTokenError `ERR_INVALID_OPTION` naming the field (`appKeyId`, `issuedAt`, ...,
   *   `rawToken`) when the input is bad; `ERR_STORE` when the backend fails.
   */
  async put(input: NewTokenRecord, rawToken: string): Promise<TokenRecord> {
    const valid = validateNewTokenRecord(input);
    validateRawToken(rawToken);
    const id = tokenId(rawToken);
    const existing = await this.#readRecord(id, 'put');
    if (existing !== undefined && !isEnded(existing.record.state)) return existing.record;

    const at = this.#time();
    const record = newActiveRecord(id, valid, at, existing?.record.createdAt ?? at);
    await this.#write(record, sealToken(rawToken, this.#o.key, record), at);
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
    return this.#open(found.sealed, found.record, 'getToken', found.raw);
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

    const found = await this.#readRecord(id, 'update');
    if (found === undefined) return undefined;
    if (expectStates !== undefined && !expectStates.includes(found.record.state)) return undefined;

    // Scrubbed with the shared redactor and with this record's own token, before the cut.
    const valid = validatePatch(patch, ownTokenScrubber(this.redactor, found.sealed, this.#o.key, found.record));
    let sealed = found.sealed;
    if (sealed.alg === 'none' && this.#o.key !== undefined && this.acceptPlaintextRecords) {
      // Migration: a plaintext record read under acceptPlaintextRecords is sealed when next written.
      const raw = await this.#open(sealed, found.record, 'update', found.raw);
      if (raw === undefined) return undefined; // it did not match its id: quarantined
      sealed = sealToken(raw, this.#o.key, found.record);
    } else if (isLegacySeal(sealed) && this.#o.key !== undefined) {
      // Upgrade: a seal of 0.1.x (bound to the record id alone) is sealed with the record's identity
      // when next written. One this key cannot open keeps its seal: the update itself must not fail.
      const raw = await this.#open(sealed, found.record, 'update', found.raw).catch(() => null);
      if (raw === undefined) return undefined; // it did not match its id: quarantined
      if (raw !== null) sealed = sealToken(raw, this.#o.key, found.record);
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
   * the adapter underneath keyv (not `keyv.iterator()`, which mangles keys), so it behaves the same on a `Map`, Redis and SQLite, and
   * sees records written by any other store instance on the same backend. A corrupt record is
   * skipped, reported to `onError` and moved to quarantine; one bad record never fails the list.
   * Entries whose keyv TTL has passed are skipped and deleted.
   *
   * @throws LsTokenError `ERR_INVALID_OPTION` (`appKeyId`, `states`), `ERR_STORE` when the walk fails.
   */
  async list(filter: TokenListFilter = {}): Promise<TokenRecord[]> {
    const { appKeyId, states } = validateListFilter(filter);
    return this.#listRecords('list', appKeyId, states);
  }

  /**
   * The newest (`issuedAt`) `active` record of `appKeyId` whose `expiresAt > minValidUntil` and
   * `revokeAt > now`, with its raw token; `undefined` if none. A candidate whose token cannot be
   * decrypted is skipped and reported to `onError` (`ERR_DECRYPT`); one whose seal does not open
   * under its record's identity (relabelled), or whose token `belongs` refuses, is reported and
   * quarantined.
   *
   * @param belongs whether an opened token is one of this app key's (e.g. by its JWT claims);
   *   default: every token is.
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
    const now = this.#time();
    const candidates = (await this.#listRecords('findUsable', appKeyId, ['active']))
      .filter((r) => r.expiresAt > minValidUntil && r.revokeAt > now)
      .sort((a, b) => b.issuedAt - a.issuedAt || b.expiresAt - a.expiresAt);
    for (const candidate of candidates) {
      // Re-read: the record may have changed state or vanished since the walk.
      const found = await this.#readRecord(candidate.id, 'findUsable');
      if (found === undefined || found.record.state !== 'active') continue;
      try {
        const token = await this.#open(found.sealed, found.record, 'findUsable', found.raw);
        if (token === undefined) continue;
        if (belongs !== undefined && !belongs(token)) {
          const err = new LsTokenError(ErrorCodes.CORRUPT_RECORD, `Token ${shortId(candidate.id)} is stored for this app key but was issued for another one: not adopted`, {
            field: 'appKeyId',
          });
          await this.#quarantine(candidate.id, found.raw, err, 'findUsable');
          continue;
        }
        return { record: found.record, token };
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
    validateMetaValue(value, ttlMs);
    await this.#meta.set(key, value, ttlMs);
  }

  /**
   * The meta value at `key`, or `undefined` when absent or expired. An unreadable value is
   * reported to `onError` (`ERR_CORRUPT_RECORD`) and reads as `undefined`.
   *
   * @throws LsTokenError `ERR_INVALID_OPTION` (`key`), `ERR_STORE`.
   */
  async getMeta<T = unknown>(key: string): Promise<T | undefined> {
    validateMetaKey('key', key, false);
    return (await this.#meta.get(key)) as T | undefined;
  }

  /**
   * Deletes the meta value at `key` (no error when absent).
   * @throws LsTokenError `ERR_INVALID_OPTION` (`key`), `ERR_STORE`.
   */
  async deleteMeta(key: string): Promise<void> {
    validateMetaKey('key', key, false);
    await this.#meta.delete(key);
  }

  /**
   * Every live meta value whose key starts with `keyPrefix` (`''` for all), sorted by key.
   * Unreadable values are skipped and reported to `onError`.
   *
   * @throws LsTokenError `ERR_INVALID_OPTION` (`keyPrefix`), `ERR_STORE`.
   */
  async listMeta(keyPrefix: string): Promise<MetaEntry[]> {
    validateMetaKey('keyPrefix', keyPrefix, true);
    return this.#meta.list(keyPrefix);
  }

  // ---------------------------------------------------------------------------------------------

  #time(): number {
    const t = this.#o.now();
    if (typeof t !== 'number' || !Number.isFinite(t)) throw invalidOption('now', 'returned something other than a finite number');
    return t;
  }

  /** The keyv key of the record whose id is `suffix` (unchecked). */
  #recordKey(suffix: string): string {
    return `${this.prefix}:tok:${suffix}`;
  }

  /** The keyv key a corrupt record under `#recordKey(suffix)` is moved to. */
  #quarantineKey(suffix: string): string {
    return `${this.prefix}:quarantine:tok:${suffix}`;
  }

  /** TTL for a record written at `at`: ended → retainMs; otherwise until expiry plus retainMs. */
  #ttlFor(record: TokenRecord, at: number): number {
    const ttl = isEnded(record.state) ? this.#o.retainMs : Math.max(record.expiresAt - at, 0) + this.#o.retainMs;
    return Math.max(1, Math.ceil(ttl));
  }

  #report(err: LsTokenError, context: TokenStoreErrorContext): void {
    const onError = this.#o.onError;
    if (onError === undefined) return;
    try {
      onError(err, context);
    } catch {
      // A faulty handler must not break store operations.
    }
  }

  async #write(record: TokenRecord, sealed: SealedToken, at: number): Promise<void> {
    const key = this.#recordKey(record.id);
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

  /** Reads and validates record `id`; missing/expired → undefined; corrupt → quarantine + undefined. */
  async #readRecord(id: string, op: string): Promise<{ record: TokenRecord; sealed: SealedToken; raw: unknown } | undefined> {
    const key = this.#recordKey(id);
    const raw = await this.#kv.readRaw(key, op);
    const d = this.#kv.decode(raw);
    const decoded = isThenable(d) ? await d : d;
    if (decoded.kind === 'missing') return undefined;
    if (decoded.kind === 'expired') {
      await this.#kv.deleteIfUnchanged(key, raw, op);
      return undefined;
    }
    const parsed = decoded.kind === 'corrupt' ? corruptEnvelopeAt(decoded.error, id) : parseRecordAt(decoded.value, id);
    if (parsed instanceof LsTokenError) {
      await this.#quarantine(id, raw, parsed, op);
      return undefined;
    }
    return { ...parsed, raw };
  }

  /**
   * Opens a sealed token; a token/id mismatch, or a seal that the right key cannot open under the
   * record's identity (altered or relabelled), is quarantined and reads as undefined.
   */
  async #open(sealed: SealedToken, record: TokenRecord, op: string, raw: unknown): Promise<string | undefined> {
    try {
      return openToken(sealed, this.#o.key, record, this.acceptPlaintextRecords);
    } catch (err) {
      if (err instanceof LsTokenError && (err.code === ErrorCodes.CORRUPT_RECORD || err.field === 'token.binding')) {
        await this.#quarantine(record.id, raw, err, op);
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
    const key = this.#recordKey(suffix);
    this.#report(error, { key, op });
    const qKey = this.#quarantineKey(suffix);
    try {
      const ok = await this.keyv.set(
        qKey,
        { quarantinedAt: this.#time(), code: error.code, field: error.field ?? null, originalKey: key, raw },
        this.#o.retainMs,
      );
      if (ok === false) throw new Error('keyv set() reported failure');
    } catch (err) {
      this.#report(storeError(err, `Could not quarantine token record ${recordLabel(suffix)}`, this.redactor), { key: qKey, op: 'quarantine' });
      return; // keep the original rather than lose it
    }
    await this.#kv.deleteIfUnchanged(key, raw, 'quarantine');
  }

  /** What the store is, never what it holds. */
  toJSON(): {
    /** The key prefix. */
    prefix: string;
    /** Whether raw tokens are sealed. */
    encrypted: boolean;
    /** Whether plaintext records are read although a key is set. */
    acceptPlaintextRecords: boolean;
  } {
    return { prefix: this.prefix, encrypted: this.encrypted, acceptPlaintextRecords: this.acceptPlaintextRecords };
  }

  /** `TokenStore { prefix, encrypted, acceptPlaintextRecords }`: never the keyv (which may hold raw tokens) or the key. */
  [inspect.custom](): string {
    return `TokenStore ${inspect(this.toJSON())}`;
  }

  async #listRecords(op: string, appKeyId: string | undefined, states: readonly TokenState[] | undefined): Promise<TokenRecord[]> {
    const base = this.#kv.storeKey(this.#recordKey(''));
    const entries = await this.#kv.scan(base, op);
    const out: TokenRecord[] = [];
    for (const entry of entries) {
      const suffix = entry.storeKey.slice(base.length);
      // Ids never contain ':'; such a key belongs to a store whose prefix nests under ours
      // (e.g. `${prefix}:tok` + `:tok:<id>`): not ours to judge, let alone quarantine.
      if (suffix.includes(':')) continue;
      const d = this.#kv.decode(entry.raw);
      const decoded = isThenable(d) ? await d : d;
      if (decoded.kind === 'missing') continue;
      if (decoded.kind === 'expired') {
        await this.#kv.deleteIfUnchanged(this.#recordKey(suffix), entry.raw, op);
        continue;
      }
      const parsed = decoded.kind === 'corrupt' ? corruptEnvelopeAt(decoded.error, suffix) : parseRecordAt(decoded.value, suffix);
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
