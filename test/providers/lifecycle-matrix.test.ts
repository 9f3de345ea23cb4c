/**
 * The lifecycle's guarantees, per provider: the same tests run against the LS, KIS and Kiwoom mock
 * servers over HTTP on 127.0.0.1 (real timers). Each mock keeps its broker's rules (KIS: one
 * issuance a minute and the 6 h same-token window; Kiwoom: the live token on every re-issue).
 *
 * The clock is pinned to 12:00 KST (shared by the mock and the lifecycle) so that LS's 07:00 cut-off
 * never falls inside a test, whatever the hour the suite runs at.
 */
import { inspect } from 'node:util';
import { Writable } from 'node:stream';
import { afterAll, afterEach, describe, expect, it, jest } from '@jest/globals';
import pino from 'pino';
import { ErrorCodes, LsTokenError, TokenLifecycle, kisProvider, summarizeError, type LifecycleEvents, type ProviderDefinition, type ProviderName, type TokenLifecycleOptions } from '../../src/index.js';
import { startMockKisServer, startMockKiwoomServer, startMockLsServer, type MockFault, type MockModel, type MockStats } from '../../src/testing/index.js';
import { STORE_BACKENDS, type StoreBackend } from '../helpers/store-backends.js';
import { rejection } from '../helpers/rejection.js';

const APP_KEY = 'PSmatrixAppKey000000000000000000001';
const SECRET = 'SENTINEL-MATRIX-SECRET-0123456789ab';
/** 12:00 KST on a weekday, moving with real time from the start of the file. */
const T_BASE = Date.UTC(2026, 0, 15, 3, 0, 0);
const started = Date.now();
const clock = (): number => T_BASE + (Date.now() - started);

/** What the tests need from a mock server, whichever broker. */
interface Mock {
  readonly url: string;
  readonly model: MockModel;
  isActive(token: string): boolean;
  stats(): MockStats;
  inject(fault: MockFault): () => void;
  activeTokens(): string[];
  close(): Promise<void>;
}

interface MockSettings {
  /** Token lifetime, s (default: the broker's). */
  readonly lifetimeS?: number;
  /** KIS: the same-token window, ms. */
  readonly sameTokenWindowMs?: number;
}

const credentials = [{ appKey: APP_KEY, appSecretKey: SECRET }];
const START: Record<ProviderName, (s: MockSettings) => Promise<Mock>> = {
  ls: (s) => startMockLsServer({ credentials, now: clock, ...(s.lifetimeS === undefined ? {} : { tokenLifetimeS: s.lifetimeS, cutoffKst: null }) }),
  kis: (s) => startMockKisServer({ credentials, now: clock, ...(s.lifetimeS === undefined ? {} : { tokenLifetimeS: s.lifetimeS }), ...(s.sameTokenWindowMs === undefined ? {} : { sameTokenWindowMs: s.sameTokenWindowMs }) }),
  kiwoom: (s) => startMockKiwoomServer({ credentials, now: clock, ...(s.lifetimeS === undefined ? {} : { tokenLifetimeS: s.lifetimeS }) }),
};

const mocks: Mock[] = [];
const lifecycles: TokenLifecycle[] = [];
const backends: StoreBackend[] = [];

afterEach(async () => {
  await Promise.all(lifecycles.splice(0).map((lc) => lc.shutdown({ deadlineMs: 2_000 })));
  await Promise.all(mocks.splice(0).map((m) => m.close()));
  await Promise.all(backends.splice(0).map((b) => b.cleanup()));
});

async function mockFor(name: ProviderName, settings: MockSettings = {}): Promise<Mock> {
  const m = await START[name](settings);
  mocks.push(m);
  return m;
}

function lifecycle(provider: ProviderName | ProviderDefinition, mock: Mock, extra: Partial<TokenLifecycleOptions> = {}): TokenLifecycle {
  const lc = new TokenLifecycle({ provider, appKey: APP_KEY, appSecretKey: SECRET, baseUrl: mock.url, now: clock, sweepIntervalMs: 0, ...extra });
  lifecycles.push(lc);
  return lc;
}

function nextEvent<K extends keyof LifecycleEvents>(lc: TokenLifecycle, name: K): Promise<Parameters<LifecycleEvents[K]>[0]> {
  return new Promise((resolve) => lc.once(name, ((e: Parameters<LifecycleEvents[K]>[0]) => resolve(e)) as never));
}


afterAll(() => {
  jest.restoreAllMocks();
});

describe.each(['ls', 'kis', 'kiwoom'] as const)('provider %s', (name) => {
  it('single flight: 1,000 concurrent callers share one token request', async () => {
    const mock = await mockFor(name);
    const lc = lifecycle(name, mock);
    const tokens = await Promise.all(Array.from({ length: 1_000 }, () => lc.getAccessToken()));
    expect(new Set(tokens).size).toBe(1);
    expect(mock.stats().tokenRequests).toBe(1);
    expect(mock.isActive(tokens[0]!)).toBe(true);
  });

  it('the hot path does no I/O: no store call, no request, while the token is usable', async () => {
    const mock = await mockFor(name);
    const lc = lifecycle(name, mock);
    const token = await lc.getAccessToken();
    const keyv = lc.store.keyv;
    const spies = [jest.spyOn(keyv, 'get'), jest.spyOn(keyv, 'set'), jest.spyOn(keyv, 'delete'), jest.spyOn(keyv, 'getMany'), jest.spyOn(keyv, 'iterator' as never)];
    const before = mock.stats();
    for (let i = 0; i < 10_000; i++) expect(await lc.getAccessToken()).toBe(token);
    for (const s of spies) expect(s).not.toHaveBeenCalled();
    const after = mock.stats();
    expect([after.tokenRequests, after.revokeRequests, after.trRequests]).toEqual([before.tokenRequests, before.revokeRequests, before.trRequests]);
  });

  it('logout revokes the token at the broker', async () => {
    const mock = await mockFor(name);
    const lc = lifecycle(name, mock);
    const token = await lc.getAccessToken();
    const results = await lc.logout();
    expect(results.map((r) => r.outcome)).toEqual(['revoked']);
    expect(mock.isActive(token)).toBe(false);
    expect(mock.stats().revoked).toBe(1);
  });

  it('shutdown revokes the token it held alone, and leaves nothing alive', async () => {
    const mock = await mockFor(name);
    const lc = lifecycle(name, mock);
    const token = await lc.getAccessToken();
    const summary = await lc.shutdown({ deadlineMs: 5_000 });
    expect(summary.revoked).toBe(1);
    expect(summary.notRevoked).toEqual([]);
    expect(mock.isActive(token)).toBe(false);
    expect(mock.activeTokens()).toEqual([]);
  });

  it('a raw token of another broker is refused locally by revoke(), before any request', async () => {
    const mock = await mockFor(name);
    const lc = lifecycle(name, mock);
    const foreign = name === 'kiwoom' ? 'eyJ0eXAiOiJKV1QiLCJhbGciOiJIUzUxMiJ9.eyJleHAiOjF9.c2ln' : 'WQJCwyqInphKnR3bSRtB9NE1lvOpaqueKiwoomToken0000000000000000000001';
    const err = await rejection(lc.revoke(foreign));
    expect([err.code, err.field]).toEqual([ErrorCodes.INVALID_TOKEN, 'tokenOrId']);
    expect(mock.stats().revokeRequests).toBe(0);
  });

  it('the issuance budget holds a second issuance back within a minute, fleet-wide', async () => {
    const mock = await mockFor(name);
    const a = lifecycle(name, mock);
    await a.getAccessToken();
    // A sibling on the same store that will not adopt: it must wait for the budget, not issue.
    const b = lifecycle(name, mock, { store: a.store, reuseStoredToken: false, issueLockWaitMs: 300 });
    const err = await rejection(b.getAccessToken());
    expect(err.code).toBe(ErrorCodes.ISSUE_THROTTLED);
    expect(err.retryAfterMs).toBeGreaterThan(50_000);
    expect(mock.stats().tokenRequests).toBe(1);
  });

  it('no app secret and no raw token in any event, log line, error, inspect or JSON output', async () => {
    const mock = await mockFor(name);
    let logs = '';
    const logger = pino({ level: 'debug' }, new Writable({ write: (c: Buffer, _e, cb) => ((logs += c.toString()), cb()) }));
    // issueLockWaitMs 0: the injected 500 reaches the caller (with any wait it would be retried).
    const lc = lifecycle(name, mock, { logger, issueLockWaitMs: 0, issueThrottle: { cooldownMs: 0 }, retry: { retries: 3, minDelayMs: 10, maxDelayMs: 20, rateLimitDelayMs: 20 } });
    const texts: string[] = [];
    const errors: unknown[] = [];
    for (const ev of ['issued', 'scheduled', 'revoked', 'retrying', 'revokeFailed', 'expired', 'error'] as const) {
      lc.on(ev, ((e: unknown) => texts.push(JSON.stringify(e), inspect(e, { depth: 10 }))) as never);
    }
    mock.inject({ endpoint: 'token', kind: 'http500', count: 1 });
    errors.push(await rejection(lc.getAccessToken()));
    const token = await lc.getAccessToken();
    mock.inject({ endpoint: 'revoke', kind: 'http500', count: 1 });
    mock.inject({ endpoint: 'revoke', kind: 'rate-limit', count: 1 });
    const revoked = await lc.revoke(token);
    expect(revoked.outcome).toBe('revoked');
    errors.push(await rejection(lc.revoke('x')));
    texts.push(logs, inspect(lc, { depth: 10 }), JSON.stringify(lc), inspect(lc.client, { depth: 10 }), JSON.stringify(lc.client));
    for (const e of errors) texts.push((e as Error).message, JSON.stringify(e), inspect(e, { depth: 10 }), String((e as Error).stack), JSON.stringify(summarizeError(e as LsTokenError)));
    const all = texts.join('\n');
    expect(texts.length).toBeGreaterThan(10);
    expect(all).toContain('retrying');
    expect(all).not.toContain(SECRET);
    expect(all).not.toContain(token);
    if (token.includes('.')) expect(all).not.toContain(token.slice(token.lastIndexOf('.') + 1));
  });
});

describe('the end of a token, per provider', () => {
  it.each([
    ['ls', 'ls'],
    ['kis (its same-token window ending before the token, as the real 6 h does before 24 h)', 'kis-short-window'],
  ] as const)('%s: revoked at expiry minus the margin', async (_label, which) => {
    const provider: ProviderName | ProviderDefinition = which === 'ls' ? 'ls' : { ...kisProvider, id: 'kis-short', rules: { ...kisProvider.rules, sameTokenWithinMs: 500 } };
    const mock = await mockFor(which === 'ls' ? 'ls' : 'kis', { lifetimeS: 4, sameTokenWindowMs: 500 });
    const lc = lifecycle(provider, mock, { revokeMarginMs: 2_000, refreshMarginMs: 0 });
    const revoked = nextEvent(lc, 'revoked');
    const token = await lc.getAccessToken();
    const e = await revoked;
    expect(e.reason).toBe('expiry');
    expect(mock.isActive(token)).toBe(false);
    expect(mock.model.tokenInfo(token)?.state).toBe('revoked');
  });

  it('kiwoom: a re-issue would return the token, so it is used to its expiry, left to die, and its successor fetched once it has ended', async () => {
    const mock = await mockFor('kiwoom', { lifetimeS: 3 });
    // This host runs 1.5 s ahead of the broker: right after our estimate of the expiry, the broker
    // may still answer its live token, which must not be handed out nor counted as a successor.
    const lc = lifecycle('kiwoom', mock, { now: () => clock() + 1_500, revokeMarginMs: 1_000, refreshMarginMs: 500, minIssueIntervalMs: 0 });
    const errors: unknown[] = [];
    lc.on('error', (e) => errors.push(e));
    const first = await lc.getAccessToken();
    const cur = lc.status().current!;
    expect(cur.revokeAt).toBe(cur.expiresAt);
    expect(cur.refreshAt).toBeGreaterThan(cur.expiresAt);
    const issued = nextEvent(lc, 'issued');
    // Ask as soon as our estimate says it ended (a bounded poll of a condition).
    while (clock() + 1_500 < cur.expiresAt) await new Promise((r) => setTimeout(r, 20));
    const second = await lc.getAccessToken();
    expect((await issued).id).toBe(lc.status().current!.id);
    expect(second).not.toBe(first);
    expect(mock.isActive(first)).toBe(false);
    expect(mock.isActive(second)).toBe(true);
    expect(mock.stats()).toMatchObject({ issued: 2, revokeRequests: 0 });
    expect(mock.model.stats()).toMatchObject({ sameTokenAnswers: expect.any(Number) });
    expect((mock.model.stats() as unknown as { sameTokenAnswers: number }).sameTokenAnswers).toBeGreaterThanOrEqual(1); // the path above was taken
    expect(errors).toEqual([]);
  });

  it('kis: the policy of the real rules revokes a 24 h token a margin before it ends and refreshes after the 6 h window', async () => {
    const mock = await mockFor('kis');
    const lc = lifecycle('kis', mock);
    await lc.getAccessToken();
    const cur = lc.status().current!;
    expect(cur.expiresAt - cur.issuedAt).toBeGreaterThan(86_390_000);
    expect(cur.revokeAt).toBe(cur.expiresAt - 60_000);
    expect(cur.refreshAt).toBe(cur.revokeAt - 300_000);
  });
});

describe('kis: never a second issuance inside 60 s, across a fleet on Redis', () => {
  it('a forced re-issue (the broker called the token dead) waits for the minute instead of being refused with EGW00133', async () => {
    const redis = STORE_BACKENDS.find((b) => b.name === 'redis')!.create();
    backends.push(redis);
    const mock = await mockFor('kis');
    const a = lifecycle('kis', mock, { store: redis.makeKeyv(), instanceId: 'fleet-a' });
    const b = lifecycle('kis', mock, { store: redis.makeKeyv(), instanceId: 'fleet-b', issueLockWaitMs: 300 });
    const token = await a.getAccessToken();
    expect(await b.getAccessToken()).toBe(token); // adopted from the store
    mock.model.revokeToken(token); // the broker kills it; b meets EGW00121 on a TR call
    const err = await rejection(b.invalidate(token));
    expect(err.code).toBe(ErrorCodes.ISSUE_THROTTLED);
    expect(err.retryAfterMs).toBeGreaterThan(55_000);
    expect(mock.stats().tokenRequests).toBe(1); // no request the broker would have refused
  });

  it('contrast: LS (no broker limit published) issues the forced re-issue at once', async () => {
    const mock = await mockFor('ls');
    const a = lifecycle('ls', mock);
    const token = await a.getAccessToken();
    mock.model.revokeToken(token);
    const fresh = await a.invalidate(token);
    expect(fresh).not.toBe(token);
    expect(mock.stats().tokenRequests).toBe(2);
  });
});
