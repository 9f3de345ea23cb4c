/**
 * Small JSON values kept beside the token records, at `${prefix}:meta:${key}`: the fleet's leases
 * and heartbeats, the issuance budget, markers. The token store's meta API delegates here.
 */
import { ErrorCodes, LsTokenError, type TextScrubber } from '../core/errors.js';
import { type KeyvAccess, type KeyvTroubleReporter, storeError } from './keyv-access.js';

/** One value returned by {@link TokenStore.listMeta}. */
export interface MetaEntry {
  /** The meta key (as given to `setMeta`). */
  key: string;
  /** The stored value. */
  value: unknown;
}

/** The meta values under one prefix; arguments are checked by the caller. */
export class MetaValues {
  readonly #kv: KeyvAccess;
  readonly #prefix: string;
  readonly #scrubber: TextScrubber;
  readonly #report: KeyvTroubleReporter;

  /**
   * @param kv raw access to the keyv holding the values.
   * @param prefix the store's key prefix.
   * @param scrubber scrubs secrets out of the backend errors it wraps.
   * @param report receives unreadable values (`ERR_CORRUPT_RECORD`) and cleanup trouble.
   */
  constructor(kv: KeyvAccess, prefix: string, scrubber: TextScrubber, report: KeyvTroubleReporter) {
    this.#kv = kv;
    this.#prefix = prefix;
    this.#scrubber = scrubber;
    this.#report = report;
  }

  /** The keyv key of meta key `key`. */
  key(key: string): string {
    return `${this.#prefix}:meta:${key}`;
  }

  /** Writes `value` at `key`, with a TTL of `ttlMs` (keyv's default without). */
  async set(key: string, value: unknown, ttlMs: number | undefined): Promise<void> {
    let ok: boolean;
    try {
      ok = await this.#kv.keyv.set(this.key(key), value, ttlMs);
    } catch (err) {
      throw storeError(err, 'Token store meta write failed', this.#scrubber);
    }
    if (ok === false) throw new LsTokenError(ErrorCodes.STORE, 'Token store meta write failed (the keyv store reported an error)', { retryable: true });
  }

  /** The live value at `key`, or `undefined`; an expired entry is deleted if unchanged. */
  async get(key: string): Promise<unknown> {
    const fullKey = this.key(key);
    const raw = await this.#kv.readRaw(fullKey, 'getMeta');
    const decoded = await this.#kv.decode(raw);
    if (decoded.kind === 'ok') return decoded.value;
    if (decoded.kind === 'corrupt') this.#report(decoded.error, { key: fullKey, op: 'getMeta' });
    if (decoded.kind === 'expired') await this.#kv.deleteIfUnchanged(fullKey, raw, 'getMeta');
    return undefined;
  }

  /** Deletes the value at `key` (no error when absent). */
  async delete(key: string): Promise<void> {
    try {
      await this.#kv.keyv.delete(this.key(key));
    } catch (err) {
      throw storeError(err, 'Token store meta delete failed', this.#scrubber);
    }
  }

  /** Every live value whose key starts with `keyPrefix`, sorted by key (one adapter walk). */
  async list(keyPrefix: string): Promise<MetaEntry[]> {
    const base = this.#kv.storeKey(this.key(''));
    const entries = await this.#kv.scan(`${base}${keyPrefix}`, 'listMeta');
    const out: MetaEntry[] = [];
    for (const entry of entries) {
      const metaKey = entry.storeKey.slice(base.length);
      const fullKey = this.key(metaKey);
      const decoded = await this.#kv.decode(entry.raw);
      if (decoded.kind === 'ok') out.push({ key: metaKey, value: decoded.value });
      else if (decoded.kind === 'corrupt') this.#report(decoded.error, { key: fullKey, op: 'listMeta' });
      else if (decoded.kind === 'expired') await this.#kv.deleteIfUnchanged(fullKey, entry.raw, 'listMeta');
    }
    return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }
}
