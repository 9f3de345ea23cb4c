/**
 * What a token store and its app-key views share: the options, the raw keyv access, the key
 * layout, the app-key index, record I/O and meta values, plus the per-app-key reads both the
 * store and the migration use (an app key's records and meta values through its index, the
 * current-token pointer, the index repair, and the whole-store walks left).
 */
import { invalidOption, type LsTokenError } from '../core/errors.js';
import { type AppKeyIndex, INDEX_GRACE_MS, appKeyIndexFor } from './app-key-index.js';
import { KeyvAccess, isThenable } from './keyv-access.js';
import { type MetaEntry, MetaValues, sortEntries } from './meta-values.js';
import { type FoundRecord, RecordIo } from './record-io.js';
import { META, StoreKeys } from './store-keys.js';
import { sealToken } from './crypto-box.js';
import { isEnded, isPlainObject, isTokenId, newActiveRecord, type NewTokenRecord, type SealedToken, type TokenRecord, toStoredRecord } from './token-record.js';
import type { ResolvedTokenStoreOptions, TokenStoreErrorContext } from './token-store-options.js';

/** The fleet's current-token pointer. */
export interface CurrentPointer {
  /** The token id. */
  readonly id: string;
  /** Its `issuedAt`: a pointer moves only to a token issued at the same time or later. */
  readonly issuedAt: number;
}

/** What `TokenStore.repairIndex()` did. */
export interface IndexRepair {
  /** Records found without an index entry, whose entry was written again. */
  readonly added: number;
  /** Records listed by the index (after the repair). */
  readonly records: number;
}

/** See the module notes. */
export class StoreCore {
  readonly o: ResolvedTokenStoreOptions;
  readonly kv: KeyvAccess;
  readonly keys: StoreKeys;
  readonly index: AppKeyIndex;
  readonly io: RecordIo;
  readonly meta: MetaValues;
  /** Which app key a record id belongs to, as learned in this process (for whole-store calls by id). */
  readonly located = new Map<string, string>();

  constructor(o: ResolvedTokenStoreOptions) {
    this.o = o;
    const report = (err: LsTokenError, context: TokenStoreErrorContext): void => this.report(err, context);
    this.kv = new KeyvAccess(o.keyv, o.redactor, report);
    this.keys = new StoreKeys(o.prefix);
    this.index = appKeyIndexFor(this.kv, this.keys);
    this.io = new RecordIo(this.kv, this.keys, o, report, () => this.time());
    this.meta = new MetaValues(this.kv, o.redactor, report);
  }

  time(): number {
    const t = this.o.now();
    if (typeof t !== 'number' || !Number.isFinite(t)) throw invalidOption('now', 'returned something other than a finite number');
    return t;
  }

  report(err: LsTokenError, context: TokenStoreErrorContext): void {
    const onError = this.o.onError;
    if (onError === undefined) return;
    try {
      onError(err, context);
    } catch {
      // A faulty handler must not break store operations.
    }
  }

  /**
   * `TokenStore.put` past its argument checks (see there): the record of token `id` (`rawToken`)
   * of app key `scope`, from `valid`. On Redis a new token (the usual case) is written only if no
   * record exists, in one round trip; elsewhere the record is read first.
   */
  async put(scope: string, id: string, valid: NewTokenRecord, rawToken: string): Promise<TokenRecord> {
    let existing: FoundRecord | undefined;
    let at: number;
    if (this.index.addWith !== undefined) {
      at = this.time();
      const fresh = newActiveRecord(id, valid, at);
      const held = await this.writeNew(scope, id, fresh, sealToken(rawToken, this.o.key, fresh), at, true);
      this.located.set(id, scope);
      if (held === undefined) return fresh;
      existing = await this.io.decode(this.keys.record(scope, id), id, held.raw, 'put', scope);
    } else {
      existing = await this.readRecord(scope, id, 'put');
      at = this.time();
      this.located.set(id, scope);
    }
    if (existing !== undefined && !isEnded(existing.record.state)) {
      await this.index.add(scope, StoreKeys.recordMember(id), at);
      return existing.record;
    }
    const record = newActiveRecord(id, valid, at, existing?.record.createdAt ?? at);
    await this.writeNew(scope, id, record, sealToken(rawToken, this.o.key, record), at);
    return record;
  }

  /**
   * Writes the new record `id` of app key `scope` (sealed as `sealed`, written at `at`) with its
   * index entry and the current-token pointer: on Redis in one script call
   * ({@link AppKeyIndex.addWith}), elsewhere side by side, the entry sent first (a crash leaves no
   * record the index does not know). With `ifAbsent`, nothing is written when a record `id`
   * exists, and its raw value is returned: atomically on Redis (unless keyv serializes or hooks
   * writes its own way: then, as elsewhere, the record is read first).
   */
  async writeNew(scope: string, id: string, record: TokenRecord, sealed: SealedToken, at: number, ifAbsent = false): Promise<{ raw: unknown } | undefined> {
    const member = StoreKeys.recordMember(id);
    const recordKey = this.keys.record(scope, id);
    const index = this.index;
    if (index.addWith !== undefined) {
      const ttlMs = this.io.ttlFor(record, at);
      const stored = this.kv.envelopeForWrite(toStoredRecord(record, sealed), ttlMs);
      const pointer = stored === undefined ? undefined : this.kv.envelopeForWrite({ id, issuedAt: record.issuedAt }, this.o.retainMs);
      if (stored !== undefined && pointer !== undefined) {
        const writes = [
          { key: recordKey, envelope: stored, ttlMs },
          { key: this.keys.meta(scope, META.current), envelope: pointer, ttlMs: this.o.retainMs },
        ];
        const held = await this.io.guardedWrite(record, sealed, () => index.addWith!(scope, member, at, writes, ifAbsent));
        return held === undefined || held === null ? undefined : { raw: held };
      }
    }
    if (ifAbsent) {
      const r = this.kv.readRaw(recordKey, 'put');
      const raw = isThenable(r) ? await r : r;
      if (raw !== undefined && raw !== null) return { raw };
    }
    await Promise.all([index.add(scope, member, at), this.io.write(recordKey, record, sealed, at), this.pointAt(scope, id, record.issuedAt, true)]);
    return undefined;
  }

  /** Reads record `id` of app key `scope`. */
  readRecord(scope: string, id: string, op: string): Promise<FoundRecord | undefined> {
    return this.io.read(this.keys.record(scope, id), id, op, scope);
  }

  /**
   * Every readable record of app key `scope`, through its index (O(its keys)). Index entries
   * without a record, older than the grace period, are removed on the way.
   */
  async recordsOf(scope: string, op: string): Promise<FoundRecord[]> {
    const entries = await this.index.entries(scope, StoreKeys.recordMember(''));
    const staleBefore = this.time() - INDEX_GRACE_MS;
    const found = await Promise.all(
      entries.map(async (e) => {
        const id = e.member.slice(StoreKeys.recordMember('').length);
        if (!isTokenId(id)) return undefined;
        const key = this.keys.record(scope, id);
        let raw = e.raw;
        if (!e.read) {
          const r = this.kv.readRaw(key, op);
          raw = isThenable(r) ? await r : r;
        }
        const rec = await this.io.decode(key, id, raw, op, scope);
        if (rec === undefined && (raw === undefined || raw === null) && e.addedAt !== undefined && e.addedAt <= staleBefore) {
          await this.index.removeStale(scope, e.member, staleBefore).catch((err: LsTokenError) => this.report(err, { key: this.keys.index(scope), op }));
        }
        if (rec !== undefined) this.located.set(id, scope);
        return rec;
      }),
    );
    return found.filter((f): f is FoundRecord => f !== undefined);
  }

  /** The current-token pointer of app key `scope`, if any. */
  async currentOf(scope: string): Promise<CurrentPointer | undefined> {
    if (this.index.derivesCurrent === true) return undefined;
    const pointers = this.index.pointers;
    if (pointers !== undefined) return pointers.get(this.keys.meta(scope, META.current));
    const v = await this.meta.get(this.keys.meta(scope, META.current), 'current');
    if (!isPlainObject(v) || !isTokenId(v['id']) || typeof v['issuedAt'] !== 'number') return undefined;
    return { id: v['id'], issuedAt: v['issuedAt'] };
  }

  /**
   * Points app key `scope`'s current token at `id`: unless it points at a later one already, or,
   * with `fresh` (a token just issued or revived: the newest there is), unread.
   */
  async pointAt(scope: string, id: string, issuedAt: number, fresh = false): Promise<void> {
    if (this.index.derivesCurrent === true) return; // no pointer: see app-key-index.ts
    if (!fresh) {
      const current = await this.currentOf(scope);
      if (current !== undefined && current.issuedAt > issuedAt) return;
      if (current?.id === id) return;
    }
    const key = this.keys.meta(scope, META.current);
    if (this.index.pointers !== undefined) this.index.pointers.set(key, { id, issuedAt });
    else await this.meta.set(key, { id, issuedAt }, this.o.retainMs);
  }

  /** App key `scope`'s live meta values whose name starts with `keyPrefix`, through its index, sorted. */
  async metaOf(scope: string, keyPrefix: string): Promise<MetaEntry[]> {
    const entries = await this.index.entries(scope, StoreKeys.metaMember(keyPrefix));
    const staleBefore = this.time() - INDEX_GRACE_MS;
    const out: MetaEntry[] = [];
    await Promise.all(
      entries.map(async (e) => {
        const name = e.member.slice(StoreKeys.metaMember('').length);
        const key = this.keys.meta(scope, name);
        const raw = e.read ? e.raw : await this.kv.readRaw(key, 'listMeta');
        const value = await this.meta.decode(key, raw, 'listMeta');
        if (value !== undefined) out.push({ key: name, value });
        else if ((raw === undefined || raw === null) && e.addedAt !== undefined && e.addedAt <= staleBefore) {
          await this.index.removeStale(scope, e.member, staleBefore).catch((err: LsTokenError) => this.report(err, { key: this.keys.index(scope), op: 'listMeta' }));
        }
      }),
    );
    return sortEntries(out);
  }

  /**
   * Repairs app key `scope`'s index: entries without a record are removed while listing, and the
   * records of `ids` and of the current-token pointer that exist without an entry get it back.
   */
  async repair(scope: string, ids: readonly string[]): Promise<{ added: number; records: number }> {
    const listed = new Set((await this.recordsOf(scope, 'repairIndex')).map((f) => f.record.id));
    const wanted = new Set(ids);
    const pointer = await this.currentOf(scope);
    if (pointer !== undefined) wanted.add(pointer.id);
    let added = 0;
    for (const id of wanted) {
      if (listed.has(id) || (await this.readRecord(scope, id, 'repairIndex')) === undefined) continue;
      await this.index.add(scope, StoreKeys.recordMember(id), this.time());
      listed.add(id);
      added++;
    }
    return { added, records: listed.size };
  }

  /** The app key of record `id`, by a walk of the whole store (calls by id on the whole store). */
  async locate(id: string, op: string): Promise<string | undefined> {
    const base = this.kv.storeKey('');
    for (const entry of await this.kv.scan(this.kv.storeKey(this.keys.scopedRoot()), op)) {
      const parsed = this.keys.parse(entry.storeKey.slice(base.length));
      if (parsed?.kind === 'tok' && parsed.id === id) {
        this.located.set(id, parsed.scope);
        return parsed.scope;
      }
    }
    return undefined;
  }

  /** Every record of every app key (a walk of the whole store). */
  async walkRecords(op: string, onProgress?: (keysRead: number) => void): Promise<TokenRecord[]> {
    const base = this.kv.storeKey('');
    const out: TokenRecord[] = [];
    for (const entry of await this.kv.scan(this.kv.storeKey(this.keys.scopedRoot()), op, onProgress)) {
      const key = entry.storeKey.slice(base.length);
      const parsed = this.keys.parse(key);
      if (parsed?.kind !== 'tok') continue;
      const found = await this.io.decode(key, parsed.id, entry.raw, op, parsed.scope);
      if (found === undefined) continue;
      this.located.set(parsed.id, parsed.scope);
      out.push(found.record);
    }
    return out;
  }
}
