/**
 * health() tells the truth (issue #18, finding 6): each problem is a stable code, `ok` is false
 * while any holds, and the trouble codes clear once their window passes. One pinned clock is shared
 * by the mock LS and the lifecycle (plus a host offset where the test needs one).
 */
import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import axios from 'axios';
import { ErrorCodes } from '../../src/core/errors.js';
import type { IssueLockProvider } from '../../src/lifecycle/issue-lock.js';
import { TokenLifecycle, type TokenLifecycleOptions } from '../../src/lifecycle/token-lifecycle.js';
import { startMockLsServer, type MockLsServer } from '../../src/testing/index.js';

const APP_KEY = 'PSd7orrAJnAfr202g4MpbzVxwqPBjjkvjLf2';
const SECRET = 'SENTINEL-SECRET-health-000000000000x';
/** 10:00 KST on 2026-11-25. */
const T0 = Date.UTC(2026, 10, 25, 1, 0, 0);

describe('health()', () => {
  let mock: MockLsServer;
  /** LS's clock. */
  let ls: number;
  const lifecycles: TokenLifecycle[] = [];

  function make(extra: Partial<TokenLifecycleOptions> = {}, hostOffsetMs = 0): TokenLifecycle {
    const lc = new TokenLifecycle({ appKey: APP_KEY, appSecretKey: SECRET, baseUrl: mock.url, now: () => ls + hostOffsetMs, sweepIntervalMs: 60_000, ...extra });
    lc.on('error', () => undefined);
    lifecycles.push(lc);
    return lc;
  }

  beforeEach(async () => {
    ls = T0;
    mock = await startMockLsServer({ credentials: [{ appKey: APP_KEY, appSecretKey: SECRET }], cutoffKst: '07:00', now: () => ls });
  });
  afterEach(async () => {
    await Promise.all(lifecycles.splice(0).map((lc) => lc.shutdown({ deadlineMs: 2_000 })));
    await mock.close();
  });

  it('healthy: ok, no problem, the clock read', async () => {
    const lc = make();
    await lc.getAccessToken();
    const h = await lc.health();
    expect(h).toMatchObject({ ok: true, problems: [], details: {}, recent: { callerFailures: 0, storeTimeouts: 0, lockFailures: 0 } });
    expect(h.clockSampledAt).toBe(ls);
  });

  it('LS 2 h behind the host: clock-skew, not ok (the bound is maxClockSkewMs)', async () => {
    const lc = make({}, 7_200_000);
    await lc.getAccessToken();
    const h = await lc.health();
    expect(h.clockSkewMs).toBeLessThan(-7_190_000);
    expect(h.ok).toBe(false);
    expect(h.problems).toEqual(['clock-skew']);
    expect(h.details['clock-skew']).toMatch(/clock is -7\d{3} s from this host's/);
    const lenient = make({ maxClockSkewMs: 3 * 3_600_000, instanceId: 'lenient' }, 7_200_000);
    await lenient.start();
    await lenient.getAccessToken();
    expect((await lenient.health()).problems).not.toContain('clock-skew');
  });

  it.each([0, -1, Number.NaN, '60000'])('maxClockSkewMs %p is refused, naming the field', (bad) => {
    expect(() => make({ maxClockSkewMs: bad as number })).toThrow(expect.objectContaining({ code: ErrorCodes.INVALID_OPTION, field: 'maxClockSkewMs' }));
  });

  it('every issuance-lock call failing: the token is issued anyway, but issue-lock-failing until sweepIntervalMs has passed', async () => {
    const failing: IssueLockProvider = {
      scope: 'process',
      tryAcquire: () => Promise.reject(new Error('READONLY You cannot write against a read only replica')),
      release: () => Promise.reject(new Error('READONLY You cannot write against a read only replica')),
    };
    const lc = make({ issueLock: failing });
    await lc.getAccessToken();
    const h = await lc.health();
    expect(h.ok).toBe(false);
    expect(h.problems).toEqual(['issue-lock-failing']);
    // The acquire, tried again while a refusing lock may be a failover (max(storeTimeoutMs, 5 s)), and the release.
    expect(h.recent.lockFailures).toBeGreaterThanOrEqual(3);
    ls += 60_001;
    expect(await lc.health()).toMatchObject({ ok: true, problems: [] });
  });

  it('a store call that times out: store-timeouts until sweepIntervalMs has passed', async () => {
    const lc = make({ storeTimeoutMs: 50 });
    await lc.start();
    jest.spyOn(lc.store, 'put').mockImplementation(() => new Promise(() => undefined)); // the record write hangs
    await lc.getAccessToken(); // served from memory; the record is written later
    const h = await lc.health();
    expect(h.problems).toEqual(['store-timeouts']);
    expect(h.store.reachable).toBe(true); // health's own read answers: only the trouble window says it
    ls += 60_001;
    expect((await lc.health()).problems).toEqual([]);
  });

  it('a caller refused or failed: callers-failing for a minute', async () => {
    const lc = make({ issueLockWaitMs: 0 }); // no wait: the rate limit reaches the caller (#18 retries within the wait)
    await lc.start();
    mock.inject({ endpoint: 'token', kind: 'rate-limit', count: 1_000 });
    await expect(lc.getAccessToken()).rejects.toMatchObject({ code: expect.stringMatching(/^ERR_/) });
    const h = await lc.health();
    expect(h.ok).toBe(false);
    expect(h.problems).toContain('callers-failing');
    expect(h.recent.callerFailures).toBeGreaterThanOrEqual(1);
    ls += 60_001;
    expect((await lc.health()).problems).not.toContain('callers-failing');
  });

  it('no answer of LS read its clock for 2 h: clock-unsampled', async () => {
    const http = axios.create();
    http.interceptors.request.use((config) => {
      if (config.method?.toLowerCase() === 'head') throw Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
      return config;
    });
    const lc = make({ axios: http });
    await lc.start();
    expect((await lc.health()).problems).toEqual([]);
    ls += 2 * 3_600_000 + 1;
    const h = await lc.health();
    expect(h.problems).toEqual(['clock-unsampled']);
    expect(h.clockSampledAt).toBeNull();
  });
});
