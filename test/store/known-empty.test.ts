/**
 * A new lifecycle's own in-memory store starts empty: `isKnownEmpty()` says so without a read, and
 * `start()` then skips the reads that could not find anything (the 0.1.x move, the sweep), while a
 * store that holds anything is swept as before.
 */
import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it, jest } from '@jest/globals';
import { Keyv } from 'keyv';
import { TokenLifecycle } from '../../src/lifecycle/token-lifecycle.js';
import { TokenStore } from '../../src/store/token-store.js';
import { startMockLsServer, type MockLsServer } from '../../src/testing/index.js';

const APP_KEY = 'KNOWNEMPTYAPPKEY000000000000000001';
const SECRET = 'known-empty-secret-0001';

function fakeToken(): string {
  const body = Buffer.from(JSON.stringify({ sub: 'test', jti: randomBytes(8).toString('hex') })).toString('base64url');
  return `eyJhbGciOiJIUzI1NiJ9.${body}.${randomBytes(24).toString('base64url')}`;
}

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe('TokenStore.isKnownEmpty', () => {
  it('is true for an in-memory store with no key, false once anything is written, and false for any other backend', async () => {
    const store = new TokenStore();
    expect(store.isKnownEmpty()).toBe(true);
    const now = Date.now();
    await store.put({ appKeyId: 'app-a', tokenType: 'Bearer', issuedAt: now, expiresAt: now + 60_000, revokeAt: now + 30_000, ownerId: 'me' }, fakeToken());
    expect(store.isKnownEmpty()).toBe(false);
    expect(store.forAppKey('app-b').isKnownEmpty()).toBe(false); // a view sees the whole backend
    // Any other adapter (here an empty one that can be iterated), even one holding nothing: not known without a read.
    const notAMap = new Keyv({
      store: { get: async () => undefined, set: async () => true, delete: async () => true, clear: async () => undefined, async *iterator() {} },
      throwOnErrors: true,
    });
    expect(new TokenStore({ keyv: notAMap }).isKnownEmpty()).toBe(false);
  });
});

describe('start() on an empty in-memory store', () => {
  async function mock(): Promise<MockLsServer> {
    const m = await startMockLsServer({ credentials: [{ appKey: APP_KEY, appSecretKey: SECRET }], cutoffKst: null });
    cleanups.push(() => m.close());
    return m;
  }

  it('reads nothing (there is nothing to move or sweep), yet writes its heartbeat', async () => {
    const m = await mock();
    const lc = new TokenLifecycle({ appKey: APP_KEY, appSecretKey: SECRET, baseUrl: m.url, sweepIntervalMs: 0 });
    cleanups.push(() => lc.shutdown({ deadlineMs: 2_000 }));
    const reads = [jest.spyOn(lc.store.keyv, 'get'), jest.spyOn(lc.store.keyv, 'getMany')];
    await lc.start();
    for (const r of reads) expect(r).not.toHaveBeenCalled();
    expect(lc.store.isKnownEmpty()).toBe(false); // the heartbeat is there
  });

  it('a store that holds anything is swept at start as before', async () => {
    const m = await mock();
    const keyv = new Keyv({ throwOnErrors: true });
    const first = new TokenLifecycle({ appKey: APP_KEY, appSecretKey: SECRET, baseUrl: m.url, store: keyv, sweepIntervalMs: 0, revokeOnShutdown: 'never', instanceId: 'first' });
    const token = await first.getAccessToken();
    await first.shutdown({ deadlineMs: 2_000 });
    expect(m.isActive(token)).toBe(true);
    const next = new TokenLifecycle({ appKey: APP_KEY, appSecretKey: SECRET, baseUrl: m.url, store: keyv, sweepIntervalMs: 0, orphanPolicy: 'revoke', leaseTtlMs: 1_000, instanceId: 'next' });
    cleanups.push(() => next.shutdown({ deadlineMs: 2_000 }));
    const list = jest.spyOn(next.store, 'list');
    await next.start();
    expect(list).toHaveBeenCalled(); // swept, not skipped
  });
});
