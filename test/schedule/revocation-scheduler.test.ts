import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { ErrorCodes, LsTokenError } from '../../src/core/errors.js';
import type { LifecycleEvents } from '../../src/core/events.js';
import type { RevokeResult } from '../../src/providers/types.js';
import { RevocationScheduler, type RevocationSchedulerOptions } from '../../src/schedule/revocation-scheduler.js';
import { TokenStore } from '../../src/store/token-store.js';

const T0 = Date.UTC(2026, 10, 24, 0, 0, 0);
const APP = 'a'.repeat(24);
const DAY = 86_400_000;

type Call = { token: string; at: number };

/** A scriptable revoke function: each call takes the next scripted behaviour (default: success). */
function scriptedRevoke(script: Array<'ok' | 'dead' | LsTokenError | 'hang'> = []) {
  const calls: Call[] = [];
  let concurrent = 0;
  let maxConcurrent = 0;
  const fn = async (token: string, signal: AbortSignal): Promise<RevokeResult> => {
    calls.push({ token, at: Date.now() });
    concurrent++;
    maxConcurrent = Math.max(maxConcurrent, concurrent);
    try {
      const step = script.shift() ?? 'ok';
      if (step === 'hang') {
        await new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason), { once: true }));
      }
      await Promise.resolve();
      if (step instanceof LsTokenError) throw step;
      return { outcome: step === 'dead' ? 'already-invalid' : 'revoked' };
    } finally {
      concurrent--;
    }
  };
  return { fn, calls, maxConcurrent: () => maxConcurrent };
}

function retryable(code = ErrorCodes.HTTP): LsTokenError {
  return new LsTokenError(code, 'LS revoke answered HTTP 500', { retryable: true, httpStatus: 500 });
}

describe('RevocationScheduler', () => {
  let store: TokenStore;
  let events: Array<[keyof LifecycleEvents, unknown]>;

  beforeEach(() => {
    jest.useFakeTimers({ now: T0 });
    store = new TokenStore();
    events = [];
  });
  afterEach(() => {
    jest.useRealTimers();
  });

  function make(revoke: RevocationSchedulerOptions['revoke'], extra: Partial<RevocationSchedulerOptions> = {}): RevocationScheduler {
    const s = new RevocationScheduler({ store, revoke, random: () => 0.5, ...extra });
    for (const name of ['scheduled', 'revoked', 'retrying', 'revokeFailed', 'expired', 'error'] as const) {
      s.events.on(name, (e: unknown) => events.push([name, e]));
    }
    return s;
  }

  let seq = 0;
  async function track(revokeInMs: number, lifeMs = revokeInMs + 60_000) {
    const token = `eyJ0eXAi.eyJ${(seq++).toString(36)}x.sig`;
    const now = Date.now();
    const record = await store.put({ appKeyId: APP, tokenType: 'Bearer', issuedAt: now, expiresAt: now + lifeMs, revokeAt: now + revokeInMs }, token);
    return { token, record };
  }

  const named = (name: keyof LifecycleEvents) => events.filter(([n]) => n === name).map(([, e]) => e as Record<string, unknown>);

  it('arms exactly one timer for many scheduled tokens and revokes each at its revokeAt, not before', async () => {
    const r = scriptedRevoke();
    const s = make(r.fn);
    const tracked = [];
    for (let i = 1; i <= 50; i++) tracked.push(await track(i * 1_000));
    for (const t of tracked.reverse()) s.schedule(t.record);
    expect(s.size).toBe(50);
    expect(jest.getTimerCount()).toBe(1);

    await jest.advanceTimersByTimeAsync(999);
    expect(r.calls).toHaveLength(0);
    await jest.advanceTimersByTimeAsync(1);
    expect(r.calls).toHaveLength(1);
    await jest.advanceTimersByTimeAsync(49_000);
    expect(r.calls).toHaveLength(50);
    // Each call happened at its token's revokeAt: never before, and at most one event-loop turn
    // after (fake timers count a deferred setImmediate as 1 ms).
    const byToken = new Map(tracked.map((t) => [t.token, t.record.revokeAt]));
    for (const c of r.calls) expect(c.at - byToken.get(c.token)!).toBeGreaterThanOrEqual(0);
    for (const c of r.calls) expect(c.at - byToken.get(c.token)!).toBeLessThanOrEqual(1);
    expect(named('revoked').every((e) => e.reason === 'expiry' && e.outcome === 'revoked')).toBe(true);
    expect((await store.list()).every((rec) => rec.state === 'revoked')).toBe(true);
    expect(jest.getTimerCount()).toBe(0);
  });

  it('handles a delay beyond setTimeout\'s 24.8-day limit', async () => {
    const r = scriptedRevoke();
    const s = make(r.fn);
    const { record } = await track(30 * DAY);
    s.schedule(record);
    await jest.advanceTimersByTimeAsync(29 * DAY);
    expect(r.calls).toHaveLength(0);
    expect(jest.getTimerCount()).toBe(1);
    await jest.advanceTimersByTimeAsync(DAY);
    expect(r.calls).toHaveLength(1);
    expect(r.calls[0]!.at).toBe(record.revokeAt);
  });

  it('notices a forward wall-clock jump within one re-arm chunk', async () => {
    const r = scriptedRevoke();
    const s = make(r.fn, { maxTimerDelayMs: 60_000 });
    const { record } = await track(3_600_000, 10_000_000);
    s.schedule(record);
    jest.setSystemTime(T0 + 2 * 3_600_000); // the clock jumps, no timer fires
    expect(r.calls).toHaveLength(0);
    await jest.advanceTimersByTimeAsync(60_000);
    expect(r.calls).toHaveLength(1);
  });

  it('writes the revocation intent to the store before the request goes out', async () => {
    let stateSeen: string | undefined;
    const { token, record } = await track(1_000);
    const s = make(async (t) => {
      stateSeen = (await store.get(record.id))?.state;
      expect(t).toBe(token);
      return { outcome: 'revoked' };
    });
    await s.revoke(record.id, 'manual');
    expect(stateSeen).toBe('revoking');
    expect((await store.get(record.id))?.state).toBe('revoked');
  });

  it('retries retryable failures with exponential backoff and jitter, emitting retrying events', async () => {
    const r = scriptedRevoke([retryable(), retryable(), 'ok']);
    const s = make(r.fn, { retry: { minDelayMs: 1_000, factor: 2 } });
    const { record } = await track(1_000);
    const p = s.revoke(record.id, 'logout');
    await jest.advanceTimersByTimeAsync(10_000);
    const res = await p;
    expect(res).toMatchObject({ outcome: 'revoked', attempts: 3 });
    // random() = 0.5 → delay = base/2 + base/4 = 0.75 × base.
    expect(named('retrying').map((e) => [e.attempt, e.delayMs])).toEqual([[1, 750], [2, 1_500]]);
    expect(r.calls[1]!.at - r.calls[0]!.at).toBe(750);
    expect(r.calls[2]!.at - r.calls[1]!.at).toBe(1_500);
    expect(named('revoked')[0]).toMatchObject({ id: record.id, reason: 'logout', attempts: 3 });
  });

  it('gives up after `retries` retries (retries: 3 means 4 attempts) and records the failure', async () => {
    const r = scriptedRevoke(Array.from({ length: 10 }, () => retryable()));
    const s = make(r.fn, { retry: { retries: 3, minDelayMs: 100 } });
    const { record } = await track(1_000);
    const p = s.revoke(record.id, 'manual');
    await jest.advanceTimersByTimeAsync(60_000);
    expect(await p).toMatchObject({ outcome: 'failed', attempts: 4 });
    expect(r.calls).toHaveLength(4);
    expect(named('revokeFailed')[0]).toMatchObject({ id: record.id, attempts: 4, error: { code: ErrorCodes.HTTP } });
    const stored = await store.get(record.id);
    expect(stored).toMatchObject({ state: 'failed', attempts: 4, lastError: { code: ErrorCodes.HTTP } });
  });

  it('stops at once on a non-retryable error', async () => {
    const bad = new LsTokenError(ErrorCodes.LS_REJECTED, 'LS revoke failed with IGW40342', { lsCode: 'IGW40342' });
    const r = scriptedRevoke([bad, 'ok']);
    const s = make(r.fn);
    const { record } = await track(1_000);
    expect(await s.revoke(record.id, 'manual')).toMatchObject({ outcome: 'failed', attempts: 1 });
    expect(named('retrying')).toHaveLength(0);
    expect(await store.get(record.id)).toMatchObject({ state: 'failed', lastError: { code: ErrorCodes.LS_REJECTED } });
  });

  it('leaves the token owed, not failed, when LS refuses the app key or secret (not the token\'s fault)', async () => {
    const bad = new LsTokenError(ErrorCodes.INVALID_CREDENTIALS, 'LS revoke failed with IGW00105', { lsCode: 'IGW00105' });
    const r = scriptedRevoke([bad]);
    const s = make(r.fn);
    const { record } = await track(1_000);
    expect(await s.revoke(record.id, 'manual')).toMatchObject({ outcome: 'owed', attempts: 1, error: { code: ErrorCodes.INVALID_CREDENTIALS } });
    expect(named('retrying')).toHaveLength(0);
    expect(named('revokeFailed')).toHaveLength(0);
    expect(named('error')).toEqual([expect.objectContaining({ op: 'revoke', id: record.id })]);
    expect(await store.get(record.id)).toMatchObject({ state: 'revoking', lastError: { code: ErrorCodes.INVALID_CREDENTIALS } });
    // With the right secret (the next sweep or start), the same record is revoked.
    const fixed = make(scriptedRevoke().fn);
    expect(await fixed.revoke(record.id, 'recovery')).toMatchObject({ outcome: 'revoked' });
    expect(await store.get(record.id)).toMatchObject({ state: 'revoked' });
  });

  it('stops when the total retry time budget is spent', async () => {
    const r = scriptedRevoke(Array.from({ length: 50 }, () => retryable()));
    const s = make(r.fn, { retry: { retries: 50, minDelayMs: 1_000, factor: 1, maxRetryTimeMs: 5_000 } });
    const { record } = await track(1_000);
    const p = s.revoke(record.id, 'manual');
    await jest.advanceTimersByTimeAsync(20_000);
    const res = await p;
    expect(res.outcome).toBe('failed');
    expect(r.calls.length).toBeLessThanOrEqual(8);
    expect(r.calls.at(-1)!.at - T0).toBeLessThanOrEqual(5_000);
  });

  it('waits longer after a rate-limit answer, honouring Retry-After', async () => {
    const limited = new LsTokenError(ErrorCodes.RATE_LIMITED, 'IGW00201', { retryable: true, lsCode: 'IGW00201' });
    const limitedLong = new LsTokenError(ErrorCodes.RATE_LIMITED, 'IGW00201', { retryable: true, lsCode: 'IGW00201', retryAfterMs: 9_000 });
    const r = scriptedRevoke([limited, limitedLong, 'ok']);
    const s = make(r.fn, { retry: { minDelayMs: 100, rateLimitDelayMs: 5_000 } });
    const { record } = await track(1_000);
    const p = s.revoke(record.id, 'manual');
    await jest.advanceTimersByTimeAsync(30_000);
    expect((await p).outcome).toBe('revoked');
    expect(named('retrying').map((e) => e.delayMs)).toEqual([5_000, 9_000]);
  });

  it('counts "already invalid" as revoked', async () => {
    const r = scriptedRevoke(['dead']);
    const s = make(r.fn);
    const { record } = await track(1_000);
    expect(await s.revoke(record.id, 'manual')).toMatchObject({ outcome: 'already-invalid' });
    expect((await store.get(record.id))?.state).toBe('revoked');
    expect(named('revoked')[0]).toMatchObject({ outcome: 'already-invalid' });
  });

  it('sends one request when one token is revoked twice (concurrently or after the fact)', async () => {
    const r = scriptedRevoke();
    const s = make(r.fn);
    const { record } = await track(1_000);
    s.schedule(record);
    const [a, b] = await Promise.all([s.revoke(record.id, 'manual'), s.revoke(record.id, 'logout')]);
    expect(a).toBe(b);
    const c = await s.revoke(record.id, 'manual');
    expect(c.outcome).toBe('skipped');
    await jest.advanceTimersByTimeAsync(5_000); // the scheduled expiry must not fire either
    expect(r.calls).toHaveLength(1);
  });

  it('limits concurrency when many tokens fall due together', async () => {
    const r = scriptedRevoke();
    const s = make(r.fn, { concurrency: 3 });
    for (let i = 0; i < 20; i++) s.schedule((await track(1_000)).record);
    await jest.advanceTimersByTimeAsync(1_000);
    await jest.advanceTimersByTimeAsync(10);
    expect(r.calls).toHaveLength(20);
    expect(r.maxConcurrent()).toBe(3);
  });

  it('spaces requests by revokeRatePerSec', async () => {
    const r = scriptedRevoke();
    const s = make(r.fn, { revokeRatePerSec: 10, concurrency: 50 });
    for (let i = 0; i < 10; i++) s.schedule((await track(1_000)).record);
    await jest.advanceTimersByTimeAsync(3_000);
    const times = r.calls.map((c) => c.at - T0);
    expect(times).toEqual([1_000, 1_100, 1_200, 1_300, 1_400, 1_500, 1_600, 1_700, 1_800, 1_900]);
  });

  it('marks a token that expired before anyone revoked it as expired, without a request', async () => {
    const r = scriptedRevoke();
    const s = make(r.fn, { clockSkewMs: 60_000 });
    const { record } = await track(1_000, 2_000);
    jest.setSystemTime(T0 + 2_000 + 60_000);
    expect(await s.revoke(record.id, 'recovery')).toMatchObject({ outcome: 'expired' });
    expect(r.calls).toHaveLength(0);
    expect(named('expired')[0]).toMatchObject({ id: record.id });
    expect((await store.get(record.id))?.state).toBe('expired');
  });

  it('drains by the deadline whatever the server does, leaving unfinished work owed in the store', async () => {
    const r = scriptedRevoke(['ok', 'hang', 'hang']);
    const s = make(r.fn, { concurrency: 8 });
    const ids = [];
    for (let i = 0; i < 3; i++) {
      const { record } = await track(3_600_000);
      s.schedule(record);
      ids.push(record.id);
    }
    const p = s.drain({ deadlineMs: 2_000 });
    let done = false;
    void p.then(() => (done = true));
    await jest.advanceTimersByTimeAsync(1_999);
    expect(done).toBe(false);
    await jest.advanceTimersByTimeAsync(1);
    const summary = await p;
    expect(summary).toMatchObject({ revoked: 1, pending: 2, timedOut: true });
    expect(summary.durationMs).toBe(2_000);
    const states = await Promise.all(ids.map(async (id) => (await store.get(id))?.state));
    expect(states.sort()).toEqual(['revoked', 'revoking', 'revoking']);
    expect(named('error').filter((e) => (e.error as LsTokenError).code === ErrorCodes.ABORTED)).toHaveLength(2);
  });

  it('drains only what the filter selects and keeps the rest scheduled', async () => {
    const r = scriptedRevoke();
    const s = make(r.fn);
    const a = await track(3_600_000);
    const b = await track(3_600_000);
    s.schedule(a.record);
    s.schedule(b.record);
    const summary = await s.drain({ deadlineMs: 1_000, filter: (id) => id === a.record.id });
    expect(summary).toMatchObject({ revoked: 1, pending: 0, timedOut: false });
    expect(s.isScheduled(b.record.id)).toBe(true);
    expect(r.calls.map((c) => c.token)).toEqual([a.token]);
  });

  it('still revokes from memory when the store is down at intent time', async () => {
    const r = scriptedRevoke();
    const { token, record } = await track(1_000);
    const s = make(r.fn, { vault: { get: (id) => (id === record.id ? token : undefined) } });
    jest.spyOn(store, 'update').mockRejectedValue(new LsTokenError(ErrorCodes.STORE, 'store down', { retryable: true }));
    expect(await s.revoke(record.id, 'shutdown')).toMatchObject({ outcome: 'revoked' });
    expect(r.calls).toHaveLength(1);
    expect(named('error').length).toBeGreaterThanOrEqual(1);
  });

  it('validates its options, naming the field', () => {
    expect(() => new RevocationScheduler({ store, revoke: async () => ({ outcome: 'revoked' }), concurrency: 0 })).toThrow(
      expect.objectContaining({ code: ErrorCodes.INVALID_OPTION, field: 'concurrency' }),
    );
    expect(() => new RevocationScheduler({ store, revoke: async () => ({ outcome: 'revoked' }), retry: { retries: -1 } })).toThrow(
      expect.objectContaining({ field: 'retry.retries' }),
    );
  });
});
