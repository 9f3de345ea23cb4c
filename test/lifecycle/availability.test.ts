/**
 * Issue #18, "a hiccup never stops trading": a hung store or lock, a blip of the token endpoint at
 * LS's 07:00 KST cut-off, an inexact issuance budget, and a caller's wait that let the process
 * exit. Each finding (1, 2, 4, 5) is reproduced here against the mock brokers over HTTP, with one
 * clock shared by the mock and the lifecycle where time matters.
 */
import { afterEach, describe, expect, it } from '@jest/globals';
import axios from 'axios';
import { createKeyv } from '@keyv/redis';
import { Keyv } from 'keyv';
import { ErrorCodes } from '../../src/core/errors.js';
import { tokenId } from '../../src/core/fingerprint.js';
import { budgetKey } from '../../src/lifecycle/issue-budget.js';
import { parseLifecycleOptions } from '../../src/lifecycle/lifecycle-options.js';
import { TokenLifecycle, type TokenLifecycleOptions } from '../../src/lifecycle/token-lifecycle.js';
import { rfc7009Provider } from '../../src/providers/rfc7009.js';
import { type MockFault, startMockKisServer, startMockLsServer } from '../../src/testing/index.js';
import { exitWithin, killAllChildren, spawnFixture, startPrivateRedis, waitUntil, type PrivateRedis } from '../fixtures/harness.js';
import { rejection } from '../helpers/rejection.js';

const APP_KEY = 'PSd7orrAJnAfr202g4MpbzVxwqPBjjkvjLf2';
const SECRET = 'SENTINEL-SECRET-availability-0000x';
const DAY = 86_400_000;
/** 07:00 KST on 2026-11-25 (22:00 UTC on the 24th). */
const CUTOFF = Date.UTC(2026, 10, 24, 22, 0, 0);
const kst = (h: number, m: number, s = 0): number => CUTOFF + ((h - 7) * 3600 + m * 60 + s) * 1000;

/** A clock that runs at wall speed from wherever it was last set: one for the mock and the lifecycle. */
function runningClock(at: number): { now: () => number; set(at: number): void } {
  let base = at;
  let w0 = performance.now();
  return {
    now: () => Math.round(base + performance.now() - w0),
    set(t: number) {
      base = t;
      w0 = performance.now();
    },
  };
}

const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function track(lc: TokenLifecycle): TokenLifecycle {
  cleanups.push(() => lc.shutdown({ deadlineMs: 2_000 }));
  return lc;
}

describe('finding 1: a hung store or lock does not stop trading', () => {
  let redis: PrivateRedis;

  it('Redis frozen (SIGSTOP): a call with no token gets one within timeoutMs + 2 x storeTimeoutMs, invalidate() too, and a held token needs no store', async () => {
    redis = await startPrivateRedis();
    cleanups.push(() => redis.stop());
    const mock = await startMockLsServer({ credentials: [{ appKey: APP_KEY, appSecretKey: SECRET }], cutoffKst: null });
    cleanups.push(() => mock.close());
    const keyv = createKeyv({ url: redis.url, socket: { connectTimeout: 1_000 } }, { namespace: 'frozen', throwOnErrors: true });
    cleanups.push(() => keyv.disconnect().catch(() => undefined));
    const opts = { timeoutMs: 2_000, storeTimeoutMs: 1_000, issueLockWaitMs: 3_000, leaseTtlMs: 3_000 };
    const lc = track(new TokenLifecycle({ appKey: APP_KEY, appSecretKey: SECRET, baseUrl: mock.url, store: keyv, sweepIntervalMs: 0, ...opts }));
    lc.on('error', () => undefined);
    await lc.start();
    redis.pause();
    cleanups.push(() => redis.resume()); // before stop, so that shutdown's store calls can end
    const bound = opts.timeoutMs + 2 * opts.storeTimeoutMs + 1_500; // + scheduling slack on a loaded machine

    let t0 = performance.now();
    const token = await lc.getAccessToken();
    expect(performance.now() - t0).toBeLessThan(bound);
    expect(mock.isActive(token)).toBe(true);

    // Held: served from memory, the frozen store is not asked.
    t0 = performance.now();
    expect(await lc.getAccessToken()).toBe(token);
    expect(performance.now() - t0).toBeLessThan(100);

    // The broker called it dead: the forced re-issue does not join a flight stuck on the lock.
    mock.revokeToken(token);
    t0 = performance.now();
    const fresh = await lc.invalidate(token);
    expect(performance.now() - t0).toBeLessThan(bound + opts.storeTimeoutMs); // + invalidate's own record update
    expect(fresh).not.toBe(token);
    expect(mock.isActive(fresh)).toBe(true);
    expect(mock.stats().tokenRequests).toBe(2);
    expect(lc.status().availability.storeTimeouts).toBeGreaterThan(0);
    expect(lc.status().availability.failedCalls).toBe(0);

    // The record of the token held in memory reaches the store once it answers again (the heartbeat).
    redis.resume();
    await waitUntil(async () => (await lc.store.get(tokenId(fresh)).catch(() => undefined)) !== undefined, 10_000, 'the record written again');
  }, 60_000);
});

describe('finding 2: a blip of the token endpoint at 07:00 KST fails no call', () => {
  const faults: Array<[string, MockFault[]]> = [
    ['two 500s', [{ endpoint: 'token', kind: 'http500', count: 2 }]],
    ['one rate limit (Retry-After 2 s)', [{ endpoint: 'token', kind: 'rate-limit', retryAfterS: 2, count: 1 }]],
    ['a connection reset, then a 503', [{ endpoint: 'token', kind: 'reset', count: 1 }, { endpoint: 'token', kind: 'http500', status: 503, count: 1 }]],
  ];

  it.each(faults)('%s on the first token requests after the cut-off: ten callers every 50 ms from 06:59:59 to 07:00:05, none fails', async (_name, injected) => {
    const clock = runningClock(kst(12, 0) - DAY);
    const mock = await startMockLsServer({ credentials: [{ appKey: APP_KEY, appSecretKey: SECRET }], cutoffKst: '07:00', now: clock.now });
    cleanups.push(() => mock.close());
    const lc = track(new TokenLifecycle({ appKey: APP_KEY, appSecretKey: SECRET, baseUrl: mock.url, now: clock.now, sweepIntervalMs: 0 }));
    lc.on('error', () => undefined);
    const yesterday = await lc.getAccessToken(); // dies at 07:00
    for (const f of injected) mock.inject(f);
    clock.set(kst(6, 59, 59));
    const outcomes: Array<Promise<'ok' | 'dead' | string>> = [];
    await new Promise<void>((resolve) => {
      const tick = setInterval(() => {
        if (clock.now() >= kst(7, 0, 5)) {
          clearInterval(tick);
          resolve();
          return;
        }
        for (let i = 0; i < 10; i++) {
          const at = clock.now();
          outcomes.push(
            lc.getAccessToken().then(
              (t) => (mock.isActive(t) || (at >= CUTOFF && at <= CUTOFF + 1_000) ? 'ok' : 'dead'),
              (err: { code?: string }) => String(err.code),
            ),
          );
        }
      }, 50);
    });
    const results = await Promise.all(outcomes);
    expect(results.length).toBeGreaterThan(500);
    expect(results.filter((r) => r !== 'ok')).toEqual([]);
    expect(lc.status().availability).toMatchObject({ failedCalls: 0, throttledCalls: 0 });
    expect(mock.isActive(yesterday)).toBe(false);
    expect(mock.stats().faultsInjected).toBe(injected.reduce((n, f) => n + (f.count ?? 1), 0));
  }, 60_000);

  it('a fault no retry can fix (credentials) fails at once, as the broker\'s own error', async () => {
    const mock = await startMockLsServer({ credentials: [{ appKey: APP_KEY, appSecretKey: SECRET }], cutoffKst: null });
    cleanups.push(() => mock.close());
    const lc = track(new TokenLifecycle({ appKey: APP_KEY, appSecretKey: 'wrong-secret', baseUrl: mock.url, sweepIntervalMs: 0, issueLockWaitMs: 60_000 }));
    lc.on('error', () => undefined);
    const t0 = performance.now();
    expect(await rejection(lc.getAccessToken())).toMatchObject({ code: ErrorCodes.INVALID_CREDENTIALS });
    expect(performance.now() - t0).toBeLessThan(10_000); // not the 60 s wait
    expect(mock.stats().tokenRequests).toBe(1);
    expect(lc.status().availability).toMatchObject({ failedCalls: 1, throttledCalls: 0 });
  });

  it('a fault that outlasts the wait reaches the caller as the broker\'s error, not ERR_ISSUE_THROTTLED', async () => {
    const mock = await startMockLsServer({ credentials: [{ appKey: APP_KEY, appSecretKey: SECRET }], cutoffKst: null });
    cleanups.push(() => mock.close());
    mock.inject({ endpoint: 'token', kind: 'http500', count: 100 });
    const lc = track(new TokenLifecycle({ appKey: APP_KEY, appSecretKey: SECRET, baseUrl: mock.url, sweepIntervalMs: 0, issueLockWaitMs: 1_500, issueThrottle: { cooldownMs: 200 } }));
    lc.on('error', () => undefined);
    const pending = lc.getAccessToken();
    expect(lc.status().waiting).toBe(1);
    const err = await rejection(pending);
    expect(lc.status().waiting).toBe(0);
    expect(err.code).toBe(ErrorCodes.LS_REJECTED);
    expect(err.httpStatus).toBe(500);
    expect(mock.stats().tokenRequests).toBeGreaterThan(1); // retried with backoff meanwhile
    expect(mock.stats().tokenRequests).toBeLessThan(8);
  });
});

describe('finding 4: the issuance budget is exact', () => {
  it('KIS: the minute runs from the answer, with a margin: a forced re-issue after a slow first answer is not refused (EGW00133)', async () => {
    const clock = runningClock(kst(10, 0));
    const mock = await startMockKisServer({ credentials: [{ appKey: APP_KEY, appSecretKey: SECRET }], now: clock.now });
    cleanups.push(() => mock.close());
    // The first token request spends 1 s on the way to KIS (KIS counts its minute from then); the next ones none.
    const http = axios.create();
    let slow = true;
    http.interceptors.request.use((config) => {
      if (slow && String(config.url).includes('/oauth2/tokenP')) {
        slow = false;
        clock.set(clock.now() + 1_000);
      }
      return config;
    });
    const lc = track(new TokenLifecycle({ provider: 'kis', appKey: APP_KEY, appSecretKey: SECRET, baseUrl: mock.url, now: clock.now, axios: http, sweepIntervalMs: 0, issueLockWaitMs: 10_000 }));
    lc.on('error', () => undefined);
    const token = await lc.getAccessToken();
    clock.set(clock.now() + 57_500);
    // The store's TTLs run on wall time, not on this test's clock: drop the mark as the store would
    // have by now had the minute passed for real. This process's own mark must still hold.
    await lc.store.deleteMeta(budgetKey(lc.appKeyId));
    mock.model.revokeToken(token); // KIS calls it dead; the re-issue must wait for KIS's minute
    const fresh = await lc.invalidate(token);
    expect(fresh).not.toBe(token);
    expect(mock.stats().tokenRequests).toBe(2); // no request KIS refused
  }, 30_000);

  it('a mark that is present is taken whatever its `at` (a writer whose clock is behind)', async () => {
    const mock = await startMockLsServer({ credentials: [{ appKey: APP_KEY, appSecretKey: SECRET }], cutoffKst: null });
    cleanups.push(() => mock.close());
    const keyv = new Keyv({ throwOnErrors: true });
    let sentAt = 0;
    const http = axios.create();
    http.interceptors.request.use((config) => ((sentAt = performance.now()), config));
    const lc = track(new TokenLifecycle({ appKey: APP_KEY, appSecretKey: SECRET, baseUrl: mock.url, store: keyv, axios: http, sweepIntervalMs: 0 }));
    // Another process took the budget 58.8 s ago; its clock is 3 s behind ours, so its `at` says the
    // minute is already up, while the store keeps the mark 1.2 s more.
    await lc.store.setMeta(budgetKey(lc.appKeyId), { at: Date.now() - 61_800, instanceId: 'behind' }, 1_200);
    const plantedAt = performance.now();
    await lc.getAccessToken();
    expect(sentAt - plantedAt).toBeGreaterThanOrEqual(1_000); // not before the store let the mark go
    expect(await lc.store.getMeta(budgetKey(lc.appKeyId))).toMatchObject({ instanceId: lc.instanceId });
  });

  it('an unreadable mark (no TTL, no numeric `at`) counts as expired after minIssueIntervalMs and is overwritten', async () => {
    const mock = await startMockLsServer({ credentials: [{ appKey: APP_KEY, appSecretKey: SECRET }], cutoffKst: null });
    cleanups.push(() => mock.close());
    const keyv = new Keyv({ throwOnErrors: true });
    const lc = track(new TokenLifecycle({ appKey: APP_KEY, appSecretKey: SECRET, baseUrl: mock.url, store: keyv, sweepIntervalMs: 0, minIssueIntervalMs: 500, issueLockWaitMs: 5_000 }));
    await lc.store.setMeta(budgetKey(lc.appKeyId), { junk: true });
    const token = await lc.getAccessToken();
    expect(mock.isActive(token)).toBe(true);
    expect(mock.stats().tokenRequests).toBe(1);
    expect(await lc.store.getMeta(budgetKey(lc.appKeyId))).toMatchObject({ at: expect.any(Number), instanceId: lc.instanceId });
  });

  it('after logout() the next issuance passes the budget (LS), and the forced cap applies', async () => {
    const mock = await startMockLsServer({ credentials: [{ appKey: APP_KEY, appSecretKey: SECRET }], cutoffKst: null });
    cleanups.push(() => mock.close());
    const lc = track(new TokenLifecycle({ appKey: APP_KEY, appSecretKey: SECRET, baseUrl: mock.url, sweepIntervalMs: 0, issueLockWaitMs: 500, issueThrottle: { maxForcedReissues: 1 } }));
    const first = await lc.getAccessToken();
    await lc.logout();
    const second = await lc.getAccessToken();
    expect(second).not.toBe(first);
    expect(mock.isActive(second)).toBe(true);
    await lc.revoke(second); // the current token, revoked by the user: the same
    expect(await rejection(lc.getAccessToken())).toMatchObject({ code: ErrorCodes.ISSUE_THROTTLED, retryAfterMs: expect.any(Number) });
    expect(mock.stats().tokenRequests).toBe(2);
  });

  it('after logout() on KIS the next issuance waits for the broker\'s minute (within issueLockWaitMs), never refused', async () => {
    const mock = await startMockKisServer({ credentials: [{ appKey: APP_KEY, appSecretKey: SECRET }] });
    cleanups.push(() => mock.close());
    const lc = track(new TokenLifecycle({ provider: 'kis', appKey: APP_KEY, appSecretKey: SECRET, baseUrl: mock.url, sweepIntervalMs: 0, issueLockWaitMs: 300 }));
    await lc.getAccessToken();
    await lc.logout();
    const err = await rejection(lc.getAccessToken());
    expect(err.code).toBe(ErrorCodes.ISSUE_THROTTLED);
    expect(err.retryAfterMs).toBeGreaterThan(55_000);
    expect(mock.stats().tokenRequests).toBe(1);
  });

  it('rfc7009Provider has no budget unless one is set; KIS keeps its minute plus a margin', () => {
    const base: TokenLifecycleOptions = { appKey: 'client', appSecretKey: 'secret' };
    const provider = rfc7009Provider({ tokenEndpoint: 'https://auth.example.com/token', revocationEndpoint: 'https://auth.example.com/revoke', clientAuth: 'client_secret_post' });
    expect(parseLifecycleOptions({ ...base, provider }).minIssueIntervalMs).toBe(0);
    expect(parseLifecycleOptions({ ...base, provider, minIssueIntervalMs: 30_000 }).minIssueIntervalMs).toBe(30_000);
    expect(parseLifecycleOptions(base).minIssueIntervalMs).toBe(60_000);
    const kis = parseLifecycleOptions({ ...base, provider: 'kis' }).provider.rules;
    expect(kis.minIssueIntervalMs + (kis.issueIntervalMarginMs ?? 0)).toBeGreaterThan(60_000);
  });
});

describe('finding 5: a caller waiting for a token keeps the process alive', () => {
  afterEach(() => killAllChildren());

  it('a daemon whose only work is a getAccessToken() waiting for the 07:00 cut-off gets its token and then exits by itself', async () => {
    // One clock for the mock and the child: host time plus an offset, set to 06:59:55 KST at 'go'.
    let offsetMs = kst(6, 59, 50) - Date.now();
    const mock = await startMockLsServer({ credentials: [{ appKey: 'FIXTUREAPPKEY0001', appSecretKey: 'fixture-secret-do-not-print-0001' }], cutoffKst: '07:00', now: () => Date.now() + offsetMs });
    cleanups.push(() => mock.close());
    const child = spawnFixture('waits-for-token.ts', { LS_URL: mock.url });
    await child.waitForLine((l) => l === 'ready-for-go', 30_000);
    offsetMs = kst(6, 59, 55) - Date.now(); // the wait is LS's cut-off, about 5 s away
    child.send(`go ${offsetMs}`);
    await child.waitForLine((l) => l === 'waiting', 15_000);
    const got = await child.waitForLine((l) => l.startsWith('got ') || l.startsWith('failed '), 20_000);
    expect(got).toMatch(/^got [0-9a-f]{64}$/);
    expect(Date.now() + offsetMs).toBeGreaterThanOrEqual(CUTOFF);
    expect(mock.stats().tokenRequests).toBe(1);
    // No handle is left once nobody waits: the process ends by itself.
    expect(await exitWithin(child, 10_000)).toMatchObject({ code: 0, signal: null });
    expect(child.stderr()).toBe('');
  }, 60_000);
});
