/**
 * The LS trading day, against the mock LS server, with one clock shared by the mock (LS's clock)
 * and the lifecycle (the host's, possibly skewed). Every token a call gets is checked against the
 * mock at that instant: is it alive at LS?
 */
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import axios from 'axios';
import { Keyv } from 'keyv';
import { ErrorCodes } from '../../src/core/errors.js';
import type { LifecycleEvents } from '../../src/core/events.js';
import { tokenId } from '../../src/core/fingerprint.js';
import { TokenLifecycle, type TokenLifecycleOptions } from '../../src/lifecycle/token-lifecycle.js';
import { startMockLsServer, type MockLsServer } from '../../src/testing/index.js';
import { whileTimeRuns } from '../helpers/pinned-clock.js';

const APP_KEY = 'PSd7orrAJnAfr202g4MpbzVxwqPBjjkvjLf2';
const SECRET = 'SENTINEL-SECRET-tradingday-000000x';
/** 07:00 KST on 2026-11-25 (22:00 UTC on the 24th). */
const CUTOFF = Date.UTC(2026, 10, 24, 22, 0, 0);
const kst = (h: number, m: number, s = 0): number => CUTOFF + ((h - 7) * 3600 + m * 60 + s) * 1000;

describe('the LS trading day (one clock for the mock LS and the lifecycle)', () => {
  let mock: MockLsServer;
  /** LS's clock. */
  let ls: number;
  /** How far the host's clock is from LS's. */
  let hostOffset: number;
  const lifecycles: TokenLifecycle[] = [];
  let errors: Array<Parameters<LifecycleEvents['error']>[0]>;

  function make(extra: Partial<TokenLifecycleOptions> = {}): TokenLifecycle {
    const lc = new TokenLifecycle({ appKey: APP_KEY, appSecretKey: SECRET, baseUrl: mock.url, now: () => ls + hostOffset, sweepIntervalMs: 0, ...extra });
    lc.on('error', (e) => errors.push(e));
    lifecycles.push(lc);
    return lc;
  }


  /** Resolves once `cond()` holds, checking on every turn of the event loop for at most 2 s. */
  async function until(cond: () => boolean): Promise<void> {
    const end = Date.now() + 2_000;
    while (!cond()) {
      if (Date.now() > end) throw new Error('condition not met within 2 s');
      await new Promise((r) => setImmediate(r));
    }
  }

  /**
   * Calls getAccessToken every `stepMs` of LS time from `from` to `to`, one call every `paceMs` of
   * wall time (so that background work, a refresh or a storm of them, really runs between calls,
   * as it would in a daemon); returns how many tokens were dead at LS when handed out, outside
   * [cutoff, cutoff + 1 s].
   */
  async function callEvery(lc: TokenLifecycle, from: number, to: number, stepMs = 50, paceMs = 10): Promise<{ calls: number; deadOutsideWindow: number }> {
    let calls = 0;
    let deadOutsideWindow = 0;
    for (ls = from; ls < to; ls += stepMs) {
      const token = await whileTimeRuns(lc.getAccessToken(), (ms) => (ls += ms));
      calls++;
      if (!mock.isActive(token) && !(ls >= CUTOFF && ls <= CUTOFF + 1_000)) deadOutsideWindow++;
      await new Promise((r) => setTimeout(r, paceMs)); // the daemon's pace, not a wait for a result
    }
    return { calls, deadOutsideWindow };
  }

  beforeEach(async () => {
    ls = kst(6, 57);
    hostOffset = 0;
    errors = [];
    mock = await startMockLsServer({ credentials: [{ appKey: APP_KEY, appSecretKey: SECRET }], cutoffKst: '07:00', now: () => ls });
  });
  afterEach(async () => {
    await Promise.all(lifecycles.splice(0).map((lc) => lc.shutdown({ deadlineMs: 2_000 })));
    await mock.close();
  });

  it('06:57, a call every 50 ms for 10 s: one token request, and every call gets a live token', async () => {
    const lc = make();
    const r = await callEvery(lc, kst(6, 57), kst(6, 57, 10));
    expect(r).toEqual({ calls: 200, deadOutsideWindow: 0 });
    expect(mock.stats().tokenRequests).toBe(1);
  });

  it('a process started at 06:58 adopts the fleet\'s 07:00 token instead of killing it with a new one', async () => {
    const keyv = new Keyv({ throwOnErrors: true });
    ls = kst(6, 50);
    const first = make({ store: keyv, revokeOnShutdown: 'never' });
    const token = await first.getAccessToken();
    ls = kst(6, 58);
    const second = make({ store: keyv });
    expect(await second.getAccessToken()).toBe(token);
    expect(mock.stats().tokenRequests).toBe(1);
    expect(mock.isActive(token)).toBe(true);
  });

  it('crossing 07:00 from 06:59:56 (token from the evening before): one more token request, just after the cut-off', async () => {
    ls = kst(18, 30) - 86_400_000;
    const lc = make();
    await lc.getAccessToken();
    const r = await callEvery(lc, kst(6, 59, 56), kst(7, 0, 4));
    expect(r.deadOutsideWindow).toBe(0);
    expect(mock.stats().tokenRequests).toBe(2);
    const issuedAt = (await lc.list()).map((rec) => rec.issuedAt).sort((a, b) => a - b);
    expect(issuedAt[1]).toBeGreaterThanOrEqual(CUTOFF);
    expect(issuedAt[1]).toBeLessThanOrEqual(CUTOFF + 1_000); // the new token within 1 s of the cut-off
  });

  it('a fresh process at 06:59:56 waits for the cut-off instead of issuing a 4-second token', async () => {
    ls = kst(6, 59, 56);
    const lc = make();
    const token = await whileTimeRuns(lc.getAccessToken(), (ms) => (ls += ms));
    expect(mock.isActive(token)).toBe(true);
    expect(mock.stats().tokenRequests).toBe(1);
    expect((await lc.list())[0]!.issuedAt).toBeGreaterThanOrEqual(CUTOFF);
  });

  it('with refresh off, from 06:59:40: one token until the cut-off and one after it (no re-issue at half life)', async () => {
    const lc = make({ refreshMarginMs: 0 });
    const r = await callEvery(lc, kst(6, 59, 40), kst(7, 0, 5));
    expect(r.deadOutsideWindow).toBe(0);
    expect(mock.stats().tokenRequests).toBe(2);
  });

  it.each([
    ['2 minutes ahead of LS', 120_000],
    ['5 s ahead of LS', 5_000],
    ['5 s behind LS', -5_000],
  ])('a host %s gets one issuance per cut-off and never a dead token outside the cut-off second', async (_name, offset) => {
    hostOffset = offset;
    ls = kst(12, 0) - 86_400_000;
    const lc = make();
    await lc.getAccessToken();
    const r = await callEvery(lc, kst(6, 59, 50), kst(7, 0, 10));
    expect(r.deadOutsideWindow).toBe(0);
    expect(mock.stats().tokenRequests).toBe(2);
    const skew = lc.status().clockSkew!;
    expect(skew.lowMs).toBeLessThanOrEqual(-offset);
    expect(skew.highMs).toBeGreaterThanOrEqual(-offset);
    expect(skew.highMs - skew.lowMs).toBeLessThanOrEqual(1_100);
  });

  it('a token issued at LS 06:59 to a host 2 min ahead is used, not thrown away as already expired', async () => {
    hostOffset = 120_000;
    ls = kst(6, 59);
    const lc = make();
    for (let i = 0; i < 10; i++, ls += 1_000) expect(mock.isActive(await lc.getAccessToken())).toBe(true);
    expect(mock.stats().tokenRequests).toBe(1);
  });

  it('the issuance budget is shared through the store: a sibling may not issue within a minute, a forced re-issue may', async () => {
    const keyv = new Keyv({ throwOnErrors: true });
    ls = kst(10, 0);
    const a = make({ store: keyv, instanceId: 'budget-a', revokeOnShutdown: 'never' });
    const first = await a.getAccessToken();
    const b = make({ store: keyv, instanceId: 'budget-b', reuseStoredToken: false });
    ls += 10_000;
    await expect(b.getAccessToken()).rejects.toMatchObject({ code: ErrorCodes.ISSUE_THROTTLED, retryable: true });
    expect(errors).toContainEqual(expect.objectContaining({ op: 'acquire', error: expect.objectContaining({ code: ErrorCodes.ISSUE_THROTTLED }) }));
    expect(mock.stats().tokenRequests).toBe(1);
    // LS rejected the token (IGW00121): the forced re-issue passes the budget (its own cap applies).
    mock.revokeToken(first);
    const fresh = await a.invalidate(first);
    expect(fresh).not.toBe(first);
    expect(mock.stats().tokenRequests).toBe(2);
    ls += 60_001;
    expect(await b.getAccessToken()).not.toBe(fresh); // a minute later b may issue (reuse is off)
  });

  it('a refresh that would break the budget keeps the current token and tries again when it frees', async () => {
    ls = kst(10, 0);
    const lc = make({ maxLifetimeMs: 60_000, refreshMarginMs: 30_000, revokeMarginMs: 0 });
    const first = await lc.getAccessToken();
    ls += 40_000; // inside the refresh margin, 40 s after the last issuance
    expect(await lc.getAccessToken()).toBe(first);
    // The refresh ran in the background and was held back by the budget until 10:01.
    await until(() => lc.status().current!.refreshAt >= kst(10, 1));
    expect(mock.stats().tokenRequests).toBe(1);
  });

  it('a token already dead when it arrives is a bad response: revoked, and the budget holds the retry', async () => {
    await mock.close();
    mock = await startMockLsServer({ credentials: [{ appKey: APP_KEY, appSecretKey: SECRET }], tokenLifetimeS: 1, cutoffKst: null, now: () => ls });
    ls = kst(10, 0);
    // The answer takes 2 s of LS time to arrive; the token lives 1 s.
    const http = axios.create();
    http.interceptors.response.use((res) => {
      if (String(res.config.url).endsWith('/oauth2/token')) ls += 2_000;
      return res;
    });
    const lc = make({ axios: http });
    const revoked = new Promise<string>((resolve) => lc.on('revoked', (e) => resolve(e.id)));
    await expect(lc.getAccessToken()).rejects.toMatchObject({ code: ErrorCodes.BAD_RESPONSE });
    expect(await revoked).toBe(tokenId(mock.issuedTokens()[0]!));
    expect(mock.activeTokens()).toHaveLength(0);
    await expect(lc.getAccessToken()).rejects.toMatchObject({ code: ErrorCodes.ISSUE_THROTTLED });
    expect(mock.stats().tokenRequests).toBe(1);
  });

  it('at revokeAt, a refresh in flight is joined: two token requests, not three', async () => {
    await mock.close();
    mock = await startMockLsServer({ credentials: [{ appKey: APP_KEY, appSecretKey: SECRET }], cutoffKst: null, latencyMs: 150, now: () => ls });
    ls = kst(10, 0);
    const lc = make({ maxLifetimeMs: 3_600_000, minIssueIntervalMs: 0 });
    const first = await lc.getAccessToken();
    const { refreshAt, revokeAt } = lc.status().current!;
    ls = refreshAt + 1;
    expect(await lc.getAccessToken()).toBe(first); // starts the refresh (150 ms at the mock)
    ls = revokeAt + 1; // the current token is no longer usable while the refresh is in flight
    const next = await lc.getAccessToken();
    expect(next).not.toBe(first);
    expect(mock.stats().tokenRequests).toBe(2);
  });
});
