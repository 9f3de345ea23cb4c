/**
 * The one lookup on the issue path: the newest usable token of one app key, by its current-token
 * pointer (one or two keys) and, only when that points at nothing usable, its index. Never a walk
 * of the store. Split from `token-store.ts`, which keeps the public method.
 */
import { ErrorCodes, LsTokenError } from '../core/errors.js';
import { shortId } from '../core/fingerprint.js';
import type { FoundRecord } from './record-io.js';
import type { StoreCore } from './store-core.js';
import { META } from './store-keys.js';
import type { TokenRecord } from './token-record.js';

/** What `TokenStore.findUsable()` answers; `appKeyId` is already checked. */
export async function findUsableToken(
  c: StoreCore,
  appKeyId: string,
  minValidUntil: number,
  belongs: ((token: string) => boolean) | undefined,
): Promise<{ record: TokenRecord; token: string } | undefined> {
  const now = c.time();
  const usable = (r: TokenRecord): boolean => r.state === 'active' && r.expiresAt > minValidUntil && r.revokeAt > now;
  const pointer = await c.currentOf(appKeyId);
  if (pointer !== undefined) {
    const found = await c.readRecord(appKeyId, pointer.id, 'findUsable');
    if (found !== undefined && usable(found.record)) {
      const token = await openUsable(c, appKeyId, found, belongs);
      if (token !== undefined) return { record: found.record, token };
    }
  }
  const candidates = (await c.recordsOf(appKeyId, 'findUsable'))
    .map((f) => f.record)
    .filter((r) => usable(r) && r.id !== pointer?.id)
    .sort((a, b) => b.issuedAt - a.issuedAt || b.expiresAt - a.expiresAt);
  for (const candidate of candidates) {
    // Re-read: the record may have changed state or vanished since the listing.
    const found = await c.readRecord(appKeyId, candidate.id, 'findUsable');
    if (found === undefined || found.record.state !== 'active') continue;
    const token = await openUsable(c, appKeyId, found, belongs);
    if (token === undefined) continue;
    // The pointer was missing or stale: mend it, so the next process reads one key again.
    await c.pointAt(appKeyId, found.record.id, found.record.issuedAt).catch((err: LsTokenError) => c.report(err, { key: c.keys.meta(appKeyId, META.current), op: 'findUsable' }));
    return { record: found.record, token };
  }
  return undefined;
}

/**
 * Opens a usable candidate's token; one that cannot be decrypted is reported and skipped, one
 * whose token `belongs` refuses (issued for another app key) is reported and quarantined.
 */
async function openUsable(c: StoreCore, scope: string, found: FoundRecord, belongs?: (token: string) => boolean): Promise<string | undefined> {
  const key = c.keys.record(scope, found.record.id);
  try {
    const token = await c.io.open(key, found.sealed, found.record, 'findUsable', found.raw);
    if (token !== undefined && belongs !== undefined && !belongs(token)) {
      const err = new LsTokenError(ErrorCodes.CORRUPT_RECORD, `Token ${shortId(found.record.id)} is stored for this app key but was issued for another one: not adopted`, { field: 'appKeyId' });
      await c.io.quarantine(key, found.record.id, found.raw, err, 'findUsable');
      return undefined;
    }
    return token;
  } catch (err) {
    if (err instanceof LsTokenError && err.code === ErrorCodes.DECRYPT) {
      c.report(err, { key, op: 'findUsable' });
      return undefined;
    }
    throw err;
  }
}
