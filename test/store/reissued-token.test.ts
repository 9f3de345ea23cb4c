/**
 * Issue 10, item 7 (fourth case): LS hands back a token whose record has ended.
 *
 * A broker may issue the same raw token again (KIS returns the same token within 6 h; LS may
 * answer a token request with the token it already has live). `put` is how the issuer records a
 * token it was just issued, so the token is alive at the broker whatever the store says. An ended
 * record (`revoked`, `failed`, `expired`) returned unchanged would keep the live token out of
 * `findUsable` and of the sweep, and tell every process it is dead: the record must become `active`
 * again with the new dates. An `active` record is the same token issued twice and stays as it is.
 */
import { randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { tokenId } from '../../src/core/fingerprint.js';
import { ENDED_STATES, RECORD_SCHEMA_VERSION, type NewTokenRecord, type TokenState } from '../../src/store/token-record.js';
import { TokenStore } from '../../src/store/token-store.js';
import { STORE_BACKENDS, type StoreBackend } from '../helpers/store-backends.js';

const HOUR = 3_600_000;
const PREFIX = 'ri';
const RETAIN_MS = 60_000;

function makeToken(): string {
  const body = Buffer.from(JSON.stringify({ sub: 'token', jti: randomBytes(8).toString('hex') })).toString('base64url');
  return `eyJhbGciOiJIUzI1NiJ9.${body}.${randomBytes(24).toString('base64url')}`;
}

describe.each(STORE_BACKENDS)('putting a token again on $name', (factory) => {
  let backend: StoreBackend;
  let clock: number;
  let store: TokenStore;
  let t0: number;

  const input = (issuedAt: number, lifetime: number, ownerId: string): NewTokenRecord => ({
    appKeyId: 'app-r',
    tokenType: 'Bearer',
    issuedAt,
    expiresAt: issuedAt + lifetime,
    revokeAt: issuedAt + lifetime - HOUR,
    ownerId,
  });

  beforeEach(() => {
    backend = factory.create();
    t0 = Date.now();
    clock = t0;
    store = new TokenStore({ keyv: backend.makeKeyv(), prefix: PREFIX, encryptionKey: randomBytes(32), retainMs: RETAIN_MS, now: () => clock });
  });
  afterEach(async () => {
    await backend.cleanup();
  });

  it.each(ENDED_STATES.map((state) => ({ state })))('makes an ended record ($state) active again with the new dates', async ({ state }) => {
    const token = makeToken();
    const id = tokenId(token);
    const first = await store.put(input(t0, 10 * HOUR, 'first'), token);
    clock += 1_000;
    const ended = await store.update(id, { state, reason: 'manual', attempts: 3, lastError: { code: 'ERR_NETWORK', message: 'ECONNRESET' } });
    expect(ended?.state).toBe(state);

    clock += 1_000;
    const fresh = input(clock, 12 * HOUR, 'second');
    const again = await store.put(fresh, token);
    expect(again).toEqual({
      schema: RECORD_SCHEMA_VERSION,
      id,
      ...fresh,
      state: 'active',
      reason: null,
      attempts: 0,
      lastError: null,
      createdAt: first.createdAt,
      updatedAt: clock,
    });
    expect(await store.get(id)).toEqual(again);
    expect(await store.getToken(id)).toBe(token);
    expect(await store.findUsable('app-r', clock)).toEqual({ record: again, token });
    if (backend.name === 'redis') {
      // Kept as an active record (until expiry + retainMs), no longer as an ended one (retainMs).
      expect(await backend.nativeTtlMs(store.recordKey(id))).toBeGreaterThan(12 * HOUR - 5_000);
    }
  });

  it.each<{ state: TokenState }>([{ state: 'active' }, { state: 'revoking' }])('returns a record still in state $state unchanged and writes nothing', async ({ state }) => {
    const token = makeToken();
    const id = tokenId(token);
    await store.put(input(t0, 10 * HOUR, 'first'), token);
    clock += 1_000;
    const current = state === 'active' ? await store.update(id, { attempts: 1 }) : await store.update(id, { state, reason: 'logout' });
    const rawBefore = await backend.readRaw(store.recordKey(id));

    clock += 1_000;
    const again = await store.put(input(clock, 12 * HOUR, 'second'), token);
    expect(again).toEqual(current);
    expect(await backend.readRaw(store.recordKey(id))).toBe(rawBefore);
  });
});
