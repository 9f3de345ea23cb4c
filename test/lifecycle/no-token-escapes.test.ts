/**
 * No token escapes: the paths found in review that ended with a live LS token nobody would revoke,
 * a token handed out after shutdown, or a timer that never stops. Each test is a regression test
 * for one of them, against the mock LS server.
 */
import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { Keyv } from 'keyv';
import { ErrorCodes, LsTokenError } from '../../src/core/errors.js';
import type { LifecycleEvents } from '../../src/core/events.js';
import { tokenId } from '../../src/core/fingerprint.js';
import type { IssueLockProvider } from '../../src/lifecycle/issue-lock.js';
import { TokenLifecycle, type TokenLifecycleOptions } from '../../src/lifecycle/token-lifecycle.js';
import { TokenStore } from '../../src/store/token-store.js';
import { startMockLsServer, type MockLsServer } from '../../src/testing/index.js';

const APP_KEY = 'EscapeTestAppKey0000000000000000001';
const SECRET = 'ESCAPE-SENTINEL-SECRET-0123456789ab';

/** Resolves once `cond()` holds, checking on every turn of the event loop for at most 5 s. */
async function until(cond: () => boolean, what: string): Promise<void> {
  const end = Date.now() + 5_000;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`not within 5 s: ${what}`);
    await new Promise((r) => setImmediate(r));
  }
}

/** A keyv whose store calls hang while `frozen` is set (like a Redis that stopped answering). */
function freezableKeyv(): { keyv: Keyv; freeze(): void; thaw(): void; calls: string[] } {
  const map = new Map<string, unknown>();
  let frozen = false;
  const waiters: Array<() => void> = [];
  const calls: string[] = [];
  const gate = async (op: string): Promise<void> => {
    calls.push(op);
    if (frozen) await new Promise<void>((r) => waiters.push(r));
  };
  const store = {
    async get(k: string) {
      await gate('get');
      return map.get(k);
    },
    async set(k: string, v: unknown) {
      await gate('set');
      map.set(k, v);
      return true;
    },
    async delete(k: string) {
      await gate('delete');
      return map.delete(k);
    },
    async clear() {
      map.clear();
    },
    async *iterator() {
      await gate('iterator');
      for (const e of [...map.entries()]) yield e;
    },
    on() {
      return store;
    },
  };
  const keyv = new Keyv({ store: store as never, throwOnErrors: true });
  return {
    keyv,
    calls,
    freeze: () => void (frozen = true),
    thaw: () => {
      frozen = false;
      for (const w of waiters.splice(0)) w();
    },
  };
}

describe('no token escapes', () => {
  let mock: MockLsServer;
  const lifecycles: TokenLifecycle[] = [];
  let errors: Array<Parameters<LifecycleEvents['error']>[0]>;

  function make(extra: Partial<TokenLifecycleOptions> = {}): TokenLifecycle {
    const lc = new TokenLifecycle({ appKey: APP_KEY, appSecretKey: SECRET, baseUrl: mock.url, sweepIntervalMs: 0, ...extra });
    lc.on('error', (e) => errors.push(e));
    lifecycles.push(lc);
    return lc;
  }

  beforeEach(async () => {
    errors = [];
    mock = await startMockLsServer({ credentials: [{ appKey: APP_KEY, appSecretKey: SECRET }], cutoffKst: null });
  });
  afterEach(async () => {
    jest.useRealTimers();
    await Promise.all(lifecycles.splice(0).map((lc) => lc.shutdown({ deadlineMs: 2_000 })));
    await mock.close();
  });

  it('an issuance in flight when shutdown begins: the caller gets ERR_CLOSED and the token LS issued is revoked', async () => {
    await mock.close();
    mock = await startMockLsServer({ credentials: [{ appKey: APP_KEY, appSecretKey: SECRET }], cutoffKst: null, latencyMs: 300 });
    const lc = make();
    await lc.start();
    const pending = lc.getAccessToken();
    pending.catch(() => undefined); // awaited below, after the shutdown
    await until(() => mock.stats().tokenRequests === 1, 'the token request to reach LS');
    const summary = await lc.shutdown({ deadlineMs: 3_000 });
    await expect(pending).rejects.toMatchObject({ code: ErrorCodes.CLOSED });
    await expect(lc.getAccessToken()).rejects.toMatchObject({ code: ErrorCodes.CLOSED });
    expect(mock.stats().issued).toBe(1);
    expect(mock.activeTokens()).toHaveLength(0);
    expect(summary).toMatchObject({ revoked: 1, notRevoked: [] });
    const id = tokenId(mock.issuedTokens()[0]!);
    expect(await lc.store.get(id)).toMatchObject({ state: 'revoked', reason: 'shutdown' });
  });

  it('a request LS has not answered by the deadline is aborted and reported, not left to land later', async () => {
    const lc = make({ timeoutMs: 10_000 });
    await lc.start();
    mock.inject({ endpoint: 'token', kind: 'hang' });
    const pending = lc.getAccessToken();
    pending.catch(() => undefined);
    await until(() => mock.stats().tokenRequests === 1, 'the token request to reach LS');
    const summary = await lc.shutdown({ deadlineMs: 500 });
    await expect(pending).rejects.toBeInstanceOf(LsTokenError);
    expect(summary.notRevoked).toEqual([expect.objectContaining({ id: null, why: 'issuance-aborted' })]);
    expect(mock.stats().issued).toBe(0);
  });

  it('a lifecycle shut down while waiting for the issuance lock does not go on to issue', async () => {
    const busy: IssueLockProvider = { scope: 'process', tryAcquire: async () => false, release: async () => undefined };
    const lc = make({ issueLock: busy, issueLockWaitMs: 60_000 });
    await lc.start();
    const pending = lc.getAccessToken();
    pending.catch(() => undefined);
    await until(() => lc.status().started, 'start');
    await lc.shutdown({ deadlineMs: 1_000 });
    await expect(pending).rejects.toMatchObject({ code: ErrorCodes.CLOSED });
    expect(mock.stats().tokenRequests).toBe(0);
  });

  it('a token issued while the store hangs is held in memory: the call settles, and shutdown revokes it from memory', async () => {
    const store = freezableKeyv();
    const lc = make({ store: store.keyv, storeTimeoutMs: 200 });
    await lc.start();
    store.freeze();
    const token = await lc.getAccessToken();
    expect(mock.isActive(token)).toBe(true);
    // The first store step that ran out of time is reported; the rest of the issue path went on without the store.
    expect(errors.map((e) => e.op)).toContain('store.findUsable');
    const summary = await lc.shutdown({ deadlineMs: 2_000 });
    expect(summary.revoked).toBe(1);
    expect(mock.isActive(token)).toBe(false);
    store.thaw();
  });

  it('refuses durations a node timer cannot hold (2^31 ms or more), naming the option', async () => {
    for (const [field, extra] of [
      ['sweepIntervalMs', { sweepIntervalMs: 2 ** 31 }],
      ['leaseTtlMs', { leaseTtlMs: 2 ** 31 }],
      ['storeTimeoutMs', { storeTimeoutMs: 2 ** 31 }],
      ['shutdownDeadlineMs', { shutdownDeadlineMs: 2 ** 31 }],
      ['retry.maxDelayMs', { retry: { maxDelayMs: 2 ** 31 } }],
      ['issueThrottle.cooldownMs', { issueThrottle: { cooldownMs: 2 ** 31 } }],
    ] as const) {
      expect(() => make(extra as Partial<TokenLifecycleOptions>)).toThrow(expect.objectContaining({ code: ErrorCodes.INVALID_OPTION, field, message: expect.stringContaining('2147483647') }));
    }
    const lc = make();
    const token = await lc.getAccessToken();
    expect(() => lc.shutdown({ deadlineMs: 2 ** 31 })).toThrow(expect.objectContaining({ field: 'deadlineMs' }));
    expect(mock.isActive(token)).toBe(true); // nothing was done: the bad call changed nothing
  });

  it('no sweep timer outlives a shutdown that lands during start()\'s first heartbeat', async () => {
    const store = freezableKeyv();
    const lc = make({ store: store.keyv, sweepIntervalMs: 1_000, storeTimeoutMs: 60_000 });
    const list = jest.spyOn(lc.store, 'list');
    // The first sweep passes; the heartbeat that follows hangs.
    const origSetMeta = lc.store.setMeta.bind(lc.store);
    let beatStarted!: () => void;
    const beat = new Promise<void>((r) => (beatStarted = r));
    jest.spyOn(lc.store, 'setMeta').mockImplementation(async (...args) => {
      store.freeze();
      beatStarted();
      return origSetMeta(...args);
    });
    const starting = lc.start();
    await beat;
    jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask'] });
    const stopping = lc.shutdown({ deadlineMs: 1_000 });
    store.thaw();
    await starting;
    await jest.advanceTimersByTimeAsync(2_000);
    await stopping;
    const sweeps = list.mock.calls.length;
    await jest.advanceTimersByTimeAsync(10_000);
    expect(list.mock.calls.length).toBe(sweeps);
    expect(jest.getTimerCount()).toBe(0);
  });

  it('a throwing `issued` listener cannot leave the token unscheduled; it is reported as ERR_LISTENER', async () => {
    const lc = make();
    lc.on('issued', () => {
      throw new Error('listener bug');
    });
    const token = await lc.getAccessToken();
    expect(lc.scheduler.isScheduled(tokenId(token))).toBe(true);
    expect(errors).toContainEqual(expect.objectContaining({ op: 'listener', error: expect.objectContaining({ code: ErrorCodes.LISTENER }) }));
    await lc.shutdown({ deadlineMs: 2_000 });
    expect(mock.isActive(token)).toBe(false);
  });

  it('the bookkeeping does not depend on public listeners: after removeAllListeners() a revoked token is never handed out', async () => {
    const lc = make();
    const token = await lc.getAccessToken();
    lc.removeAllListeners();
    await lc.scheduler.revoke(tokenId(token), 'manual');
    expect(mock.isActive(token)).toBe(false);
    const next = await lc.getAccessToken().catch((e: unknown) => e);
    expect(next).not.toBe(token);
  });

  it('refuses namespace and retainMs beside a ready TokenStore instead of silently ignoring them', () => {
    const store = new TokenStore();
    expect(() => make({ store, namespace: 'other' })).toThrow(expect.objectContaining({ code: ErrorCodes.INVALID_OPTION, field: 'namespace' }));
    expect(() => make({ store, retainMs: 1_000 })).toThrow(expect.objectContaining({ field: 'retainMs' }));
  });

  it('a quiet daemon whose background refresh failed still gets a fresh token by itself (a retry timer)', async () => {
    let now = Date.now();
    const lc = make({ now: () => now, maxLifetimeMs: 3_600_000, minIssueIntervalMs: 0 });
    const first = await lc.getAccessToken();
    const fresh = new Promise<string>((resolve) => lc.on('issued', (e) => resolve(e.id)));
    mock.inject({ endpoint: 'token', kind: 'rate-limit', retryAfterS: 1 });
    now = lc.status().current!.refreshAt + 1;
    expect(await lc.getAccessToken()).toBe(first); // starts the refresh, which LS rate-limits
    await until(() => errors.some((e) => e.op === 'refresh'), 'the failed refresh');
    now += 1_500; // nobody calls again: the retry timer (1 s, from Retry-After) must do it
    expect(await fresh).not.toBe(tokenId(first));
    expect(mock.stats().tokenRequests).toBe(3); // the first, the rate-limited one, the retry
  });
});
