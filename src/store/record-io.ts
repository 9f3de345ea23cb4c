/**
 * Reading, writing, opening and quarantining one token record at a given keyv key: what every
 * record operation of the token store shares, whatever the key layout around it.
 */
import { ErrorCodes, LsTokenError } from '../core/errors.js';
import { shortId } from '../core/fingerprint.js';
import { openToken, type SealBinding } from './crypto-box.js';
import { type KeyvAccess, isThenable, storeError } from './keyv-access.js';
import type { StoreKeys } from './store-keys.js';
import { corruptEnvelopeAt, isEnded, parseRecordAt, recordLabel, toStoredRecord } from './token-record.js';
import type { SealedToken, TokenRecord } from './token-record.js';
import type { ResolvedTokenStoreOptions, TokenStoreErrorContext } from './token-store-options.js';

/** A record as read: the record, its sealed token and the raw adapter value. */
export interface FoundRecord {
  readonly record: TokenRecord;
  readonly sealed: SealedToken;
  readonly raw: unknown;
}

/** Record I/O on one store; see the module notes. */
export class RecordIo {
  readonly #kv: KeyvAccess;
  readonly #keys: StoreKeys;
  readonly #o: ResolvedTokenStoreOptions;
  readonly #report: (err: LsTokenError, context: TokenStoreErrorContext) => void;
  readonly #time: () => number;

  constructor(kv: KeyvAccess, keys: StoreKeys, o: ResolvedTokenStoreOptions, report: (err: LsTokenError, context: TokenStoreErrorContext) => void, time: () => number) {
    this.#kv = kv;
    this.#keys = keys;
    this.#o = o;
    this.#report = report;
    this.#time = time;
  }

  /** TTL for a record written at `at`: ended → retainMs; otherwise until expiry plus retainMs. */
  ttlFor(record: TokenRecord, at: number): number {
    const ttl = isEnded(record.state) ? this.#o.retainMs : Math.max(record.expiresAt - at, 0) + this.#o.retainMs;
    return Math.max(1, Math.ceil(ttl));
  }

  /** Writes `record` at `key`. */
  async write(key: string, record: TokenRecord, sealed: SealedToken, at: number): Promise<void> {
    await this.guardedWrite(record, sealed, () => this.#kv.set(key, toStoredRecord(record, sealed), this.ttlFor(record, at)));
  }

  /**
   * Runs `send`, a write of `record` sealed as `sealed`: its failure becomes `ERR_STORE`, scrubbed
   * of the plain token too (a backend may quote the value it failed to write: without a key that
   * value holds the token), and a `false` answer (a keyv that swallows errors) one as well.
   * Answers what `send` answered.
   */
  async guardedWrite<T>(record: TokenRecord, sealed: SealedToken, send: () => Promise<T>): Promise<T> {
    let ok: T;
    const plain = sealed.alg === 'none' ? sealed.data : undefined;
    const redactor = this.#o.redactor;
    if (plain !== undefined) redactor.add(plain);
    try {
      ok = await send();
    } catch (err) {
      throw storeError(err, `Token store write failed for token ${shortId(record.id)}`, redactor);
    } finally {
      if (plain !== undefined) redactor.delete(plain);
    }
    if (ok === false) {
      throw new LsTokenError(ErrorCodes.STORE, `Token store write failed for token ${shortId(record.id)} (the keyv store reported an error)`, {
        retryable: true,
      });
    }
    return ok;
  }

  /** Reads and validates record `id` at `key` (of app key `scope`, see {@link RecordIo.decode}); missing/expired → undefined; corrupt → quarantine + undefined. */
  async read(key: string, id: string, op: string, scope?: string): Promise<FoundRecord | undefined> {
    const r = this.#kv.readRaw(key, op);
    const raw = isThenable(r) ? await r : r;
    return this.decode(key, id, raw, op, scope);
  }

  /**
   * Decodes the raw value of record `id` at `key`, as {@link RecordIo.read}. `scope`, when given,
   * is the app key the key belongs to: a record there that names another app key is corrupt.
   */
  async decode(key: string, id: string, raw: unknown, op: string, scope?: string): Promise<FoundRecord | undefined> {
    const d = this.#kv.decode(raw);
    const decoded = isThenable(d) ? await d : d;
    if (decoded.kind === 'missing') return undefined;
    if (decoded.kind === 'expired') {
      await this.#kv.deleteIfUnchanged(key, raw, op);
      return undefined;
    }
    let parsed = decoded.kind === 'corrupt' ? corruptEnvelopeAt(decoded.error, id) : parseRecordAt(decoded.value, id);
    if (!(parsed instanceof LsTokenError) && scope !== undefined && parsed.record.appKeyId !== scope) {
      parsed = new LsTokenError(ErrorCodes.CORRUPT_RECORD, `Token record ${recordLabel(id)} names another app key than the one it is stored under`, { field: 'appKeyId' });
    }
    if (parsed instanceof LsTokenError) {
      await this.quarantine(key, id, raw, parsed, op);
      return undefined;
    }
    return { ...parsed, raw };
  }

  /**
   * Opens a sealed token bound to `record`'s identity; a token/id mismatch, or a seal the right key
   * cannot open under the record's identity (altered or relabelled), is quarantined and reads as undefined.
   */
  async open(key: string, sealed: SealedToken, record: SealBinding, op: string, raw: unknown): Promise<string | undefined> {
    try {
      return openToken(sealed, this.#o.key, record, this.#o.acceptPlaintextRecords);
    } catch (err) {
      if (err instanceof LsTokenError && (err.code === ErrorCodes.CORRUPT_RECORD || err.field === 'token.binding')) {
        await this.quarantine(key, record.id, raw, err, op);
        return undefined;
      }
      throw err;
    }
  }

  /**
   * Reports a corrupt record, copies its raw value to the quarantine key of `id` (kept for
   * `retainMs`) and deletes the original if it still holds the same raw value. Store trouble here
   * is reported, never thrown.
   */
  async quarantine(key: string, id: string, raw: unknown, error: LsTokenError, op: string): Promise<void> {
    this.#report(error, { key, op });
    const qKey = this.#keys.quarantine(id);
    try {
      const ok = await this.#kv.keyv.set(qKey, { quarantinedAt: this.#time(), code: error.code, field: error.field ?? null, originalKey: key, raw }, this.#o.retainMs);
      if (ok === false) throw new Error('keyv set() reported failure');
    } catch (err) {
      this.#report(storeError(err, `Could not quarantine token record ${recordLabel(id)}`, this.#o.redactor), { key: qKey, op: 'quarantine' });
      return; // keep the original rather than lose it
    }
    await this.#kv.deleteIfUnchanged(key, raw, 'quarantine');
  }
}
