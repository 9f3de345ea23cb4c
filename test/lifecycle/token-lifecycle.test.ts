import { inspect } from 'node:util';
import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import axios from 'axios';
import { ErrorCodes, LsTokenError } from '../../src/core/errors.js';
import type { LifecycleEvents } from '../../src/core/events.js';
import { tokenId } from '../../src/core/fingerprint.js';
import { LsOAuthClient } from '../../src/providers/ls/ls-client.js';
import { TokenLifecycle, type TokenLifecycleOptions } from '../../src/lifecycle/token-lifecycle.js';
import { TokenStore } from '../../src/store/token-store.js';
import { startMockLsServer, type MockLsServer, type MockLsServerOptions } from '../../src/testing/index.js';
import { STORE_BACKENDS, type StoreBackend } from '../helpers/store-backends.js';

const APP_KEY = 'PSd7orrAJnAfr202g4MpbzVxwqPBjjkvjLf2';
const SECRET = 'SENTINEL-SECRET-fedcba9876543210xy';
const KEY32 = Buffer.alloc(32, 7);

type Recorded = Array<[keyof LifecycleEvents, unknown]>;

/** Resolves with the first event `name` that matches `pred`. Waiting on an event, never on a sleep. */
function nextEvent<K extends keyof LifecycleEvents>(lc: TokenLifecycle, name: K, pred: (e: Parameters<LifecycleEvents[K]>[0]) => boolean = () => true) {
  return new Promise<Parameters<LifecycleEvents[K]>[0]>((resolve) => {
    const fn = (e: Parameters<LifecycleEvents[K]>[0]): void => {
      if (!pred(e)) return;
      lc.off(name, fn as never);
      resolve(e);
    };
    lc.on(name, fn as never);
  });
}

describe('TokenLifecycle against the mock LS server', () => {
  let mock: MockLsServer;
  let now: number;
  const clock = () => now;
  const lifecycles: TokenLifecycle[] = [];
  let recorded: Recorded;

  async function startMock(extra: MockLsServerOptions = {}) {
    mock = await startMockLsServer({ credentials: [{ appKey: APP_KEY, appSecretKey: SECRET }], now: clock, cutoffKst: null, ...extra });
  }

  function make(extra: Partial<TokenLifecycleOptions> = {}): TokenLifecycle {
    const lc = new TokenLifecycle({ appKey: APP_KEY, appSecretKey: SECRET, baseUrl: mock.url, now: clock, sweepIntervalMs: 0, supersededGraceMs: 0, ...extra });
    for (const name of ['issued', 'scheduled', 'revoked', 'retrying', 'revokeFailed', 'expired', 'error'] as const) {
      lc.on(name, (e: unknown) => recorded.push([name, e]));
    }
    lifecycles.push(lc);
    return lc;
  }

  beforeEach(async () => {
    now = Date.now();
    recorded = [];
    await startMock();
  });
  afterEach(async () => {
    await Promise.all(lifecycles.splice(0).map((lc) => lc.shutdown({ deadlineMs: 2_000 })));
    await mock.close();
  });

  it('issues once and then answers from memory, with no store or network I/O', async () => {
    const lc = make();
    const token = await lc.getAccessToken();
    expect(mock.isActive(token)).toBe(true);
    const keyv = lc.store.keyv;
    const spies = [jest.spyOn(keyv, 'get'), jest.spyOn(keyv, 'set'), jest.spyOn(keyv, 'getMany'), jest.spyOn(keyv, 'iterator' as never)];
    for (let i = 0; i < 100; i++) expect(await lc.getAccessToken()).toBe(token);
    expect(mock.stats().tokenRequests).toBe(1);
    for (const s of spies) expect(s).not.toHaveBeenCalled();
    expect(recorded.filter(([n]) => n === 'issued')).toHaveLength(1);
  });

  it('with the host clock the held token is handed out without reading the clock, and refreshed at its refresh time all the same', async () => {
    await mock.close();
    await startMock({ now: undefined, tokenLifetimeS: 6 }); // both on the host clock
    const lc = make({ now: undefined, refreshMarginMs: 3_000, revokeMarginMs: 1_000, minIssueIntervalMs: 0 });
    const token = await lc.getAccessToken();
    const first = lc.getAccessToken();
    const reads = jest.spyOn(Date, 'now');
    for (let i = 0; i < 1_000; i++) expect(lc.getAccessToken()).toBe(first); // the same settled promise: nothing allocated, nothing read
    expect(reads).not.toHaveBeenCalled();
    reads.mockRestore();
    expect(await first).toBe(token);
    // The refresh time (6 s - 3 s) comes by the timers: the successor is fetched without any call.
    const issued = await nextEvent(lc, 'issued');
    expect(issued.id).not.toBe(tokenId(token));
    expect(await lc.getAccessToken()).not.toBe(token);
    expect(mock.stats().tokenRequests).toBe(2);
  });

  it('shares one issuance among 1,000 concurrent callers (stampede)', async () => {
    const lc = make();
    const tokens = await Promise.all(Array.from({ length: 1_000 }, () => lc.getAccessToken()));
    expect(new Set(tokens).size).toBe(1);
    expect(mock.stats().tokenRequests).toBe(1);
  });

  it('computes revokeAt from revokeMarginMs and the maxLifetimeMs policy', async () => {
    const a = make({ revokeMarginMs: 120_000 });
    await a.getAccessToken();
    const s = a.status().current!;
    expect(s.revokeAt).toBe(s.expiresAt - 120_000);
    await a.shutdown();
    const b = make({ maxLifetimeMs: 3_600_000, refreshMarginMs: 600_000 });
    await b.getAccessToken();
    const t = b.status().current!;
    expect(t.revokeAt).toBe(t.issuedAt + 3_600_000);
    expect(t.refreshAt).toBe(t.revokeAt - 600_000);
  });

  it('uses a token issued at 06:59 KST (it lives 60 s, less than the margin) until the cut-off, and refreshes only after it', async () => {
    await mock.close();
    now = Date.UTC(2026, 10, 24, 21, 59, 0); // 06:59:00 KST
    await startMock({ cutoffKst: '07:00' });
    const lc = make({ revokeMarginMs: 120_000, maxLifetimeMs: 3_600_000 });
    await lc.getAccessToken();
    const t = lc.status().current!;
    const cutoff = Date.UTC(2026, 10, 24, 22, 0, 0);
    // LS stamps whole seconds: the expiry is judged on the safe side of that second.
    expect(cutoff - t.expiresAt).toBeGreaterThanOrEqual(0);
    expect(cutoff - t.expiresAt).toBeLessThanOrEqual(1_000);
    expect(t.revokeAt).toBe(t.expiresAt); // left to die at the cut-off, not revoked halfway
    expect(t.refreshAt).toBeGreaterThanOrEqual(cutoff);
    expect(t.refreshAt).toBeLessThan(cutoff + 1_000);
  });

  it('refreshes in the background inside the margin: callers keep the current token, the old one is revoked as superseded', async () => {
    const lc = make({ refreshMarginMs: 600_000 });
    const first = await lc.getAccessToken();
    const { refreshAt } = lc.status().current!;
    now = refreshAt + 1;
    const issued = nextEvent(lc, 'issued', (e) => e.id !== tokenId(first));
    const supersededRevoked = nextEvent(lc, 'revoked', (e) => e.id === tokenId(first));
    expect(await lc.getAccessToken()).toBe(first); // no wait for the successor
    await issued;
    const second = await lc.getAccessToken();
    expect(second).not.toBe(first);
    const ev = await supersededRevoked;
    expect(ev.reason).toBe('superseded');
    expect(mock.isActive(second)).toBe(true);
    expect(mock.stats().tokenRequests).toBe(2);
  });

  it('backs off after a failed background refresh instead of flooding LS and the error event', async () => {
    const lc = make({ refreshMarginMs: 600_000 });
    const first = await lc.getAccessToken();
    now = lc.status().current!.refreshAt + 1;
    mock.inject({ endpoint: 'token', kind: 'http500-text', count: 1 });
    const failed = nextEvent(lc, 'error', (e) => e.op === 'refresh');
    expect(await lc.getAccessToken()).toBe(first);
    expect((await failed).error.code).toBe(ErrorCodes.HTTP);
    for (let i = 0; i < 50; i++) expect(await lc.getAccessToken()).toBe(first);
    expect(mock.stats().tokenRequests).toBe(2);
    expect(recorded.filter(([n]) => n === 'error')).toHaveLength(1);
    now += 5_001;
    const issued = nextEvent(lc, 'issued', (e) => e.id !== tokenId(first));
    expect(await lc.getAccessToken()).toBe(first);
    await issued;
    expect(await lc.getAccessToken()).not.toBe(first);
  });

  it('never revokes a token as superseded when LS answers a refresh with the same token', async () => {
    await mock.close();
    await startMock({ reissue: 'independent' }); // the replayed answer below must not kill the first token
    const http = axios.create();
    let firstBody: unknown;
    http.interceptors.response.use((res) => {
      if (String(res.config.url).endsWith('/oauth2/token')) {
        firstBody ??= res.data;
        res.data = firstBody;
      }
      return res;
    });
    const lc = make({ refreshMarginMs: 600_000, axios: http });
    const first = await lc.getAccessToken();
    now = lc.status().current!.refreshAt + 1;
    await lc.getAccessToken();
    await lc.sweep(); // let the background refresh settle through a store round-trip
    await new Promise<void>((resolve) => {
      const check = (): void => (mock.stats().tokenRequests >= 2 ? resolve() : void setImmediate(check));
      check();
    });
    expect(await lc.getAccessToken()).toBe(first);
    expect(lc.scheduler.isScheduled(tokenId(first))).toBe(true);
    expect(recorded.filter(([n, e]) => n === 'scheduled' && (e as { reason: string }).reason === 'superseded')).toHaveLength(0);
    expect(mock.isActive(first)).toBe(true);
  });

  it('revokes at expiry (trigger: expiry)', async () => {
    await mock.close();
    // Real clocks on both sides here: the scheduler's one timer must fire by itself. JWT times are
    // whole seconds, so a 4 s token with a 2.5 s margin is due 0.5 to 1.5 s after issue.
    mock = await startMockLsServer({ credentials: [{ appKey: APP_KEY, appSecretKey: SECRET }], tokenLifetimeS: 4 });
    const lc = new TokenLifecycle({ appKey: APP_KEY, appSecretKey: SECRET, baseUrl: mock.url, sweepIntervalMs: 0, revokeMarginMs: 2_500, refreshMarginMs: 0 });
    lifecycles.push(lc);
    const revoked = nextEvent(lc, 'revoked');
    const token = await lc.getAccessToken();
    const ev = await revoked;
    expect(ev).toMatchObject({ id: tokenId(token), reason: 'expiry', outcome: 'revoked', attempts: 1 });
    expect(mock.isActive(token)).toBe(false);
    expect((await lc.list())[0]).toMatchObject({ state: 'revoked', reason: 'expiry' });
  });

  it('revokes on logout (trigger: logout) and issues afresh afterwards', async () => {
    const lc = make();
    const token = await lc.getAccessToken();
    const results = await lc.logout();
    expect(results).toEqual([expect.objectContaining({ id: tokenId(token), reason: 'logout', outcome: 'revoked' })]);
    expect(mock.isActive(token)).toBe(false);
    now += 60_001; // the issuance budget: one issuance a minute per app key
    const next = await lc.getAccessToken();
    expect(next).not.toBe(token);
  });

  it('revokes on shutdown (trigger: shutdown) and refuses work afterwards', async () => {
    const lc = make();
    const token = await lc.getAccessToken();
    const summary = await lc.shutdown({ deadlineMs: 2_000 });
    expect(summary).toMatchObject({ revoked: 1, pending: 0, timedOut: false, keptForOthers: 0 });
    expect(mock.isActive(token)).toBe(false);
    expect(lc.shutdown()).toBe(lc.shutdown()); // idempotent
    await expect(lc.getAccessToken()).rejects.toMatchObject({ code: ErrorCodes.CLOSED });
  });

  it('revokes on demand by raw token or by id (trigger: manual)', async () => {
    const lc = make();
    const token = await lc.getAccessToken();
    const res = await lc.revoke(tokenId(token));
    expect(res).toMatchObject({ reason: 'manual', outcome: 'revoked' });
    expect(mock.isActive(token)).toBe(false);
    now += 60_001; // the issuance budget
    const other = await lc.getAccessToken();
    expect(await lc.revoke(other, 'manual')).toMatchObject({ outcome: 'revoked' });
  });

  it('refuses to "revoke" a token of another app key or a string that is no LS token, which LS would answer as already invalid', async () => {
    await mock.close();
    await startMock({ credentials: 'any' });
    const lc = make();
    const otherClient = new LsOAuthClient({ appKey: 'OTHER-APPKEY-00000000000000000000001', appSecretKey: SECRET, baseUrl: mock.url });
    const foreign = await otherClient.issueToken();
    otherClient.close();
    await expect(lc.revoke(foreign.accessToken)).rejects.toMatchObject({ code: ErrorCodes.INVALID_TOKEN, field: 'tokenOrId' });
    // A typo or a truncated paste is refused too, not answered "already invalid".
    await expect(lc.revoke('nope')).rejects.toMatchObject({ code: ErrorCodes.INVALID_TOKEN, field: 'tokenOrId' });
    await expect(lc.revoke(foreign.accessToken.slice(0, -10))).rejects.toMatchObject({ code: ErrorCodes.INVALID_TOKEN });
    expect(mock.isActive(foreign.accessToken)).toBe(true);
    expect(mock.stats().revokeRequests).toBe(0);
  });

  it('reuses a stored valid token after a restart instead of issuing', async () => {
    const store = STORE_BACKENDS[0]!.create();
    const a = make({ store: store.makeKeyv(), revokeOnShutdown: 'never' });
    const token = await a.getAccessToken();
    await a.shutdown();
    const b = make({ store: store.makeKeyv() });
    const adopted = nextEvent(b, 'issued');
    expect(await b.getAccessToken()).toBe(token);
    expect((await adopted).source).toBe('adopted');
    expect(mock.stats().tokenRequests).toBe(1);
    await store.cleanup();
  });

  it('revokes a due token left by a previous process on start (trigger: recovery)', async () => {
    const store = STORE_BACKENDS[0]!.create();
    const a = make({ store: store.makeKeyv(), revokeOnShutdown: 'never' });
    const token = await a.getAccessToken();
    const { revokeAt } = a.status().current!;
    await a.shutdown();
    now = revokeAt + 1;
    const b = make({ store: store.makeKeyv() });
    const revoked = nextEvent(b, 'revoked');
    await b.start();
    expect((await revoked).id).toBe(tokenId(token));
    expect(mock.isActive(token)).toBe(false);
    await store.cleanup();
  });

  it('cools down after a failed issuance instead of hammering LS', async () => {
    const lc = make({ appSecretKey: 'wrong-secret', issueThrottle: { cooldownMs: 60_000 } });
    await expect(lc.getAccessToken()).rejects.toMatchObject({ code: ErrorCodes.INVALID_CREDENTIALS });
    // During the cool-down a fault no retry can fix is the answer at once, as the broker's own error.
    await expect(lc.getAccessToken()).rejects.toMatchObject({ code: ErrorCodes.INVALID_CREDENTIALS, retryable: false });
    expect(mock.stats().tokenRequests).toBe(1);
    now += 60_001;
    await expect(lc.getAccessToken()).rejects.toMatchObject({ code: ErrorCodes.INVALID_CREDENTIALS });
  });

  it('keeps secrets and raw tokens out of events, status, inspect and JSON', async () => {
    const lc = make();
    const token = await lc.getAccessToken();
    await lc.logout();
    now += 60_001; // the issuance budget
    await lc.getAccessToken();
    const dump = [JSON.stringify(recorded), inspect(recorded, { depth: 10 }), inspect(lc, { depth: 5 }), JSON.stringify(lc), JSON.stringify(await lc.list())].join('\n');
    expect(recorded.length).toBeGreaterThan(3);
    expect(dump).not.toContain(SECRET);
    expect(dump).not.toContain(token);
    expect(dump).not.toContain(APP_KEY);
  });

  it('validates options once, naming the field, without echoing secrets', () => {
    expect(() => make({ refreshMarginMs: -1 })).toThrow(expect.objectContaining({ code: ErrorCodes.INVALID_OPTION, field: 'refreshMarginMs' }));
    expect(() => make({ revokeOnShutdown: 'sometimes' as never })).toThrow(expect.objectContaining({ field: 'revokeOnShutdown' }));
    expect(() => make({ store: {} as never })).toThrow(expect.objectContaining({ field: 'store' }));
    try {
      make({ appSecretKey: `${SECRET}-far-too-long` });
    } catch (err) {
      expect(err).toBeInstanceOf(LsTokenError);
      expect((err as LsTokenError).field).toBe('appSecretKey');
      expect(String((err as LsTokenError).message)).not.toContain(SECRET);
    }
    expect.assertions(6);
  });

  describe.each(STORE_BACKENDS)('on $name', (factory) => {
    let backend: StoreBackend;
    beforeEach(() => {
      backend = factory.create();
    });
    afterEach(async () => {
      await Promise.all(lifecycles.splice(0).map((lc) => lc.shutdown({ deadlineMs: 2_000 })));
      await backend.cleanup();
    });

    it('keeps the raw token out of the stored bytes with an encryption key, and restarts with it', async () => {
      const a = make({ store: backend.makeKeyv(), encryptionKey: KEY32, revokeOnShutdown: 'never' });
      const token = await a.getAccessToken();
      const bytes = await backend.dumpAll();
      expect(bytes).toContain(tokenId(token)); // the record is there...
      expect(bytes).not.toContain(token); // ...but not the token
      expect(bytes).not.toContain(token.split('.')[1]!);
      await a.shutdown();
      const b = make({ store: backend.makeKeyv(), encryptionKey: KEY32 });
      expect(await b.getAccessToken()).toBe(token);
      expect(mock.stats().tokenRequests).toBe(1);
    });

    it('skips a corrupt record with an error event and keeps working', async () => {
      const keyv = backend.makeKeyv();
      const a = make({ store: keyv });
      const token = await a.getAccessToken();
      // A record of this app key (listed by its index) that has gone corrupt.
      const view = new TokenStore({ keyv: backend.makeKeyv() }).forAppKey(a.appKeyId);
      const t = Date.now() - 3_600_000;
      const other = await view.put({ appKeyId: a.appKeyId, tokenType: 'Bearer', issuedAt: t, expiresAt: t + 7_200_000, revokeAt: t + 3_000_000 }, 'planted-token');
      await backend.writeRaw(view.recordKey(other.id), '{"value":"{not json","expires":null}');
      const errored = nextEvent(a, 'error');
      const list = await a.list();
      expect(list.map((r) => r.id)).toEqual([tokenId(token)]);
      expect((await errored).error.code).toBe(ErrorCodes.CORRUPT_RECORD);
      expect(await a.getAccessToken()).toBe(token);
    });
  });
});
