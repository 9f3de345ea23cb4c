/**
 * A cold lifecycle on a store known to be empty (its own in-memory store, before anything was
 * written) has every answer its pre-issuance store steps would read: no token to adopt, no lease,
 * no budget mark. It sends the token request in the caller's own turn, and starts beside it.
 * Everything that can still hold an issuance back is honoured: a store holding anything, the
 * in-process lock, a lock provider of the user's, LS's 07:00 KST cut-off.
 */
import { afterEach, describe, expect, it, jest } from '@jest/globals';
import { Keyv } from 'keyv';
import { budgetKey } from '../../src/lifecycle/issue-budget.js';
import type { IssueLockProvider } from '../../src/lifecycle/issue-lock.js';
import { TokenLifecycle, type TokenLifecycleOptions } from '../../src/lifecycle/token-lifecycle.js';
import { type MockLsServer, startMockLsServer } from '../../src/testing/index.js';
import { STORE_BACKENDS } from '../helpers/store-backends.js';
import { rejection } from '../helpers/rejection.js';
import { ErrorCodes } from '../../src/core/errors.js';

const APP_KEY = 'PSatOnceAppKey00000000000000000001';
const SECRET = 'SENTINEL-SECRET-at-once-000000000x';
/** 07:00 KST on 2026-11-25 (22:00 UTC on the 24th). */
const CUTOFF = Date.UTC(2026, 10, 24, 22, 0, 0);
/** Noon KST that day: far from the cut-off, whatever hour the tests run at. */
const NOON_KST = CUTOFF + 5 * 3_600_000;

/** One clock for the mock and the lifecycles: noon KST, running at wall speed. */
function noonClock(): () => number {
  const w0 = performance.now();
  return () => Math.round(NOON_KST + performance.now() - w0);
}

const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** The mock LS, on `now` (it ends every token at 07:00 KST by that clock). */
async function mockAt(now: () => number): Promise<MockLsServer & { now: () => number }> {
  const mock = await startMockLsServer({ credentials: [{ appKey: APP_KEY, appSecretKey: SECRET }], now });
  cleanups.push(() => mock.close());
  return Object.assign(mock, { now });
}

/** A lifecycle on the mock's clock. */
function lifecycle(mock: MockLsServer & { now: () => number }, options: Partial<TokenLifecycleOptions> = {}): TokenLifecycle {
  const lc = new TokenLifecycle({ appKey: APP_KEY, appSecretKey: SECRET, baseUrl: mock.url, sweepIntervalMs: 0, now: mock.now, ...options });
  lc.on('error', () => undefined);
  cleanups.push(() => lc.shutdown({ deadlineMs: 3_000 }));
  return lc;
}

/** Calls `getAccessToken()` once and tells whether the token request left within that call. */
function callAndWatch(lc: TokenLifecycle): { sentInTurn: boolean; token: Promise<string> } {
  const issue = jest.spyOn(lc.client, 'issueToken');
  const token = lc.getAccessToken();
  return { sentInTurn: issue.mock.calls.length === 1, token };
}

describe('a cold lifecycle on its own empty store', () => {
  it('sends the token request within the first call, and has started, leased and recorded the token when the callers get it', async () => {
    const mock = await mockAt(noonClock());
    const lc = lifecycle(mock);
    const { sentInTurn, token } = callAndWatch(lc);
    const others = Array.from({ length: 50 }, () => lc.getAccessToken());
    expect(sentInTurn).toBe(true);
    const got = await token;
    expect(await Promise.all(others)).toEqual(others.map(() => got));
    expect(mock.stats().tokenRequests).toBe(1);
    expect(mock.isActive(got)).toBe(true);
    expect(lc.status().started).toBe(true);
    const records = await lc.list();
    expect(records.map((r) => r.state)).toEqual(['active']);
    const leases = await lc.store.listMeta(`lease:${lc.appKeyId}:`);
    expect(leases.map((m) => m.key)).toEqual([`lease:${lc.appKeyId}:${records[0]!.id}:${lc.instanceId}`]);
    // The budget mark was written beside the request: a sibling on this store sees the issuance.
    expect(await lc.store.getMeta(budgetKey(lc.appKeyId))).toMatchObject({ instanceId: lc.instanceId });
  });

  it('two lifecycles of one app key on one in-memory keyv, asked at once: one token request, one token', async () => {
    const mock = await mockAt(noonClock());
    const keyv = new Keyv();
    const [a, b] = [lifecycle(mock, { store: keyv, instanceId: 'at-once-a' }), lifecycle(mock, { store: keyv, instanceId: 'at-once-b' })];
    const first = callAndWatch(a);
    const second = callAndWatch(b);
    expect(first.sentInTurn).toBe(true);
    expect(second.sentInTurn).toBe(false); // the lock is taken: b waits and reads the store
    const [ta, tb] = await Promise.all([first.token, second.token]);
    expect(tb).toBe(ta);
    expect(mock.stats().tokenRequests).toBe(1);
    expect(mock.isActive(ta)).toBe(true);
  });
});

describe('shutdown racing the at-once flight', () => {
  it('a shutdown in the same turn as the first call: the caller gets ERR_CLOSED, the token LS issued is revoked, nothing is left in the store', async () => {
    const now = noonClock();
    const mock = await startMockLsServer({ credentials: [{ appKey: APP_KEY, appSecretKey: SECRET }], now, latencyMs: 200 });
    cleanups.push(() => mock.close());
    const lc = lifecycle(Object.assign(mock, { now }));
    const { sentInTurn, token } = callAndWatch(lc);
    token.catch(() => undefined); // awaited below
    expect(sentInTurn).toBe(true);
    const summary = await lc.shutdown({ deadlineMs: 3_000 }); // the start runs beside the flight still
    expect(await rejection(token)).toMatchObject({ code: ErrorCodes.CLOSED });
    expect(mock.stats().issued).toBe(1);
    expect(mock.activeTokens()).toHaveLength(0);
    expect(summary).toMatchObject({ revoked: 1, notRevoked: [] });
    expect(await lc.store.listMeta('lease:')).toEqual([]);
    expect(await lc.store.listMeta('instance:')).toEqual([]);
    expect(lc.status()).toMatchObject({ closed: true, waiting: 0 });
  });
});

describe('what still holds the request back', () => {
  it('a store that holds anything is read first (here: a token another lifecycle stored, which is adopted)', async () => {
    const mock = await mockAt(noonClock());
    const keyv = new Keyv();
    const first = lifecycle(mock, { store: keyv, instanceId: 'at-once-writer' });
    const token = await first.getAccessToken();
    const second = lifecycle(mock, { store: keyv, instanceId: 'at-once-reader' });
    const { sentInTurn, token: adopted } = callAndWatch(second);
    expect(sentInTurn).toBe(false);
    expect(await adopted).toBe(token);
    expect(mock.stats().tokenRequests).toBe(1);
  });

  it('a store that is not an in-process Map (here an empty SQLite file) is always read first', async () => {
    const mock = await mockAt(noonClock());
    const backend = STORE_BACKENDS.find((b) => b.name === 'sqlite')!.create();
    cleanups.push(() => backend.cleanup());
    const lc = lifecycle(mock, { store: backend.makeKeyv() });
    const { sentInTurn, token } = callAndWatch(lc);
    expect(sentInTurn).toBe(false);
    expect(mock.isActive(await token)).toBe(true);
  });

  it('an issuance lock of the user\'s is always asked, in its own time', async () => {
    const mock = await mockAt(noonClock());
    const asked: string[] = [];
    const issueLock: IssueLockProvider = {
      scope: 'process',
      tryAcquire: async (key) => (asked.push(key), true),
      release: async () => undefined,
    };
    const lc = lifecycle(mock, { issueLock });
    const { sentInTurn, token } = callAndWatch(lc);
    expect(sentInTurn).toBe(false);
    expect(mock.isActive(await token)).toBe(true);
    expect(asked).toHaveLength(1);
  });

  // Around LS's 07:00 KST cut-off, on one clock pinned for the mock and the lifecycle: the request
  // goes in the caller's turn exactly when the ordinary path would issue at once (a token issued in
  // the last 10 s before 07:00 would die with it: the policy waits instead).
  it.each([
    ['06:55:00', -300_000, true],
    ['06:59:49', -11_000, true],
    ['06:59:51', -9_000, false],
    ['07:00:01', 1_000, true],
    ['07:01:00', 60_000, true],
  ])('at %s KST (%d ms from 07:00): sent in the caller\'s turn: %s', async (_at, offsetMs, atOnce) => {
    const mock = await mockAt(() => CUTOFF + offsetMs);
    const lc = lifecycle(mock);
    const { sentInTurn, token } = callAndWatch(lc);
    expect(sentInTurn).toBe(atOnce);
    if (!atOnce) {
      token.catch(() => undefined); // it waits for the cut-off, which a pinned clock never reaches
      await lc.shutdown({ deadlineMs: 1_000 });
      expect(mock.stats().tokenRequests).toBe(0);
      return;
    }
    expect(mock.isActive(await token)).toBe(true);
    expect(mock.stats().tokenRequests).toBe(1);
  });
});
