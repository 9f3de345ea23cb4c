/**
 * Small JSON values kept beside the token records: the fleet's leases and heartbeats, the
 * issuance budget, markers. The token store's meta API delegates here.
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

/**
 * Reads and writes meta values at full keyv keys (which key is the caller's business: see
 * store-keys); arguments are checked by the caller.
 */
export class MetaValues {
  readonly #kv: KeyvAccess;
  readonly #scrubber: TextScrubber;
  readonly #report: KeyvTroubleReporter;

  /**
   * @param kv raw access to the keyv holding the values.
   * @param scrubber scrubs secrets out of the backend errors it wraps.
   * @param report receives unreadable values (`ERR_CORRUPT_RECORD`) and cleanup trouble.
   */
  constructor(kv: KeyvAccess, scrubber: TextScrubber, report: KeyvTroubleReporter) {
    this.#kv = kv;
    this.#scrubber = scrubber;
    this.#report = report;
  }

  /** Writes `value` at keyv key `key`, with a TTL of `ttlMs` (keyv's default without). */
  async set(key: string, value: unknown, ttlMs: number | undefined): Promise<void> {
    let ok: boolean;
    try {
      ok = await this.#kv.set(key, value, ttlMs);
    } catch (err) {
      throw storeError(err, 'Token store meta write failed', this.#scrubber);
    }
    if (ok === false) throw new LsTokenError(ErrorCodes.STORE, 'Token store meta write failed (the keyv store reported an error)', { retryable: true });
  }

  /** The live value at keyv key `key`, or `undefined`; an expired entry is deleted if unchanged. */
  async get(key: string, op = 'getMeta'): Promise<unknown> {
    const raw = await this.#kv.readRaw(key, op);
    return this.decode(key, raw, op);
  }

  /** Decodes the raw value read at `key` (`undefined` when absent, expired or unreadable). */
  async decode(key: string, raw: unknown, op: string): Promise<unknown> {
    const decoded = await this.#kv.decode(raw);
    if (decoded.kind === 'ok') return decoded.value;
    if (decoded.kind === 'corrupt') this.#report(decoded.error, { key, op });
    if (decoded.kind === 'expired') await this.#kv.deleteIfUnchanged(key, raw, op);
    return undefined;
  }

  /** Deletes the value at keyv key `key` (no error when absent). */
  async delete(key: string): Promise<void> {
    try {
      await this.#kv.keyv.delete(key);
    } catch (err) {
      throw storeError(err, 'Token store meta delete failed', this.#scrubber);
    }
  }

  /**
   * Every live value whose keyv key starts with `base + keyPrefix`, keyed by the part after
   * `base`, sorted (one walk of the whole backend: for values not tied to an app key only).
   */
  async scan(base: string, keyPrefix: string): Promise<MetaEntry[]> {
    const storeBase = this.#kv.storeKey(base);
    const entries = await this.#kv.scan(`${storeBase}${keyPrefix}`, 'listMeta');
    const out: MetaEntry[] = [];
    for (const entry of entries) {
      const metaKey = entry.storeKey.slice(storeBase.length);
      const value = await this.decode(`${base}${metaKey}`, entry.raw, 'listMeta');
      if (value !== undefined) out.push({ key: metaKey, value });
    }
    return sortEntries(out);
  }
}

/** Meta entries sorted by key. */
export function sortEntries(entries: MetaEntry[]): MetaEntry[] {
  return entries.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}
