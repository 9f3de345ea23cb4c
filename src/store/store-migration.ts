/**
 * The move from the 0.1.x key layout (records `${prefix}:tok:${id}` naming an app key id computed
 * without the provider's origin, meta values `${prefix}:meta:${name}`, no index) to the layout of
 * store-keys, one app key at a time, at its lifecycle's first start.
 *
 * For the app key's scoped id `S` and its 0.1.x id `L`: every record under `${prefix}:tok:` that
 * names `L` is written under `{S}` (index entry first) with `appKeyId: S`, same id, token and
 * state, and the old key is deleted only if it still holds what was copied; the issuance budget
 * mark `budget:L` moves with its remaining TTL; the current-token pointer is set to the newest
 * active record; a marker `${prefix}:{S}:meta:layout` says it is done. A crash halfway leaves
 * copies under both layouts: the next start copies again (same ids, no duplicates) and deletes.
 * Leases and heartbeats of 0.1.x processes are not moved: the whole fleet is upgraded together.
 * The walk of the whole store happens once per app key (until the marker is lost with the data).
 */
import { isPlainObject } from './token-record.js';
import { freezeRecord, isEnded } from './token-record.js';
import type { StoreCore } from './store-core.js';
import { LAYOUT_VERSION, META, StoreKeys } from './store-keys.js';

/** What {@link TokenStore.migrateLegacy} did. */
export interface MigrationResult {
  /** Whether the app key was already in this layout (marker found: nothing read besides it). */
  readonly alreadyDone: boolean;
  /** Records moved from the 0.1.x layout. */
  readonly records: number;
  /** Whether an issuance budget mark was moved. */
  readonly budget: boolean;
}

/** The `expires` of a raw keyv envelope, if it has one. */
function expiresOf(raw: unknown): number | undefined {
  try {
    const env = typeof raw === 'string' ? (JSON.parse(raw) as unknown) : raw;
    return isPlainObject(env) && typeof env['expires'] === 'number' ? env['expires'] : undefined;
  } catch {
    return undefined;
  }
}

/** See the module notes. */
export async function migrateLegacyLayout(c: StoreCore, scope: string, legacyAppKeyId: string): Promise<MigrationResult> {
  const op = 'migrate';
  const markerKey = c.keys.meta(scope, META.layout);
  if ((await c.meta.get(markerKey, op)) !== undefined) return { alreadyDone: true, records: 0, budget: false };

  const root = c.keys.legacyRecordRoot();
  const storeRoot = c.kv.storeKey(root);
  let records = 0;
  let newest: { id: string; issuedAt: number } | undefined;
  for (const entry of await c.kv.scan(storeRoot, op)) {
    const id = entry.storeKey.slice(storeRoot.length);
    if (id.includes(':')) continue; // a nested prefix's key, not ours
    const oldKey = `${root}${id}`;
    const found = await c.io.decode(oldKey, id, entry.raw, op);
    if (found === undefined || found.record.appKeyId !== legacyAppKeyId) continue;
    const moved = freezeRecord({ ...found.record, appKeyId: scope });
    const at = c.time();
    const existing = await c.readRecord(scope, id, op);
    await c.index.add(scope, StoreKeys.recordMember(id), at);
    // A copy from a run that crashed halfway, or a newer write since, is kept as it is.
    if (existing === undefined) await c.io.write(c.keys.record(scope, id), moved, found.sealed, at);
    await c.kv.deleteIfUnchanged(oldKey, entry.raw, op);
    c.located.set(id, scope);
    records++;
    const rec = existing?.record ?? moved;
    if (rec.state === 'active' && !isEnded(rec.state) && (newest === undefined || rec.issuedAt >= newest.issuedAt)) newest = { id, issuedAt: rec.issuedAt };
  }

  let budget = false;
  const oldBudget = c.keys.legacyMeta(`budget:${legacyAppKeyId}`);
  const raw = await c.kv.readRaw(oldBudget, op);
  const value = await c.meta.decode(oldBudget, raw, op);
  if (value !== undefined) {
    const expires = expiresOf(raw);
    const ttl = expires === undefined ? undefined : Math.ceil(expires - Date.now());
    if (ttl === undefined || ttl > 0) {
      // The name issue-budget.ts gives the mark (`budgetKey`), now under the app key's own scope.
      const name = `budget:${scope}`;
      await c.index.add(scope, StoreKeys.metaMember(name), c.time());
      await c.meta.set(c.keys.meta(scope, name), value, ttl);
      budget = true;
    }
    await c.kv.deleteIfUnchanged(oldBudget, raw, op);
  }

  if (newest !== undefined) await c.pointAt(scope, newest.id, newest.issuedAt);
  await c.meta.set(markerKey, { layout: LAYOUT_VERSION, at: c.time(), records }, undefined);
  return { alreadyDone: false, records, budget };
}
