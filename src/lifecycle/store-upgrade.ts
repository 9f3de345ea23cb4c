/**
 * The one-time move of a store written by 0.1.x (no hash tag, no index, no host in the scope) to
 * the current key layout, for this lifecycle's app key, at `start()` before the first sweep (see
 * CHANGELOG, "Upgrading"). Bounded generously: the first start walks the whole store; a marker
 * makes later starts read one key.
 */
import { boundedStoreCall } from '../store/store-call.js';
import type { LifecycleParts } from './assemble.js';

/** Moves the app key's 0.1.x records and budget mark, if its provider had another scope then. Never rejects: trouble goes to `report`. */
export async function upgradeStore(p: Pick<LifecycleParts, 'legacyAppKeyId' | 'store' | 'cfg'>, report: (err: unknown) => void): Promise<void> {
  if (p.legacyAppKeyId === undefined) return;
  if (p.store.isKnownEmpty()) return; // nothing to move (a new lifecycle's own store)
  await boundedStoreCall(p.store.migrateLegacy(p.legacyAppKeyId), Math.max(60_000, p.cfg.storeTimeoutMs * 20), 'migrate').catch(report);
}
