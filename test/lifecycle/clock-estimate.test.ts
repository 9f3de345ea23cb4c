/**
 * The estimate of the broker's clock stays alive (issue #18, finding 3): every broker answer is a
 * reading (its `Date` header), a failed `HEAD /` probe is retried until it reads the clock, and the
 * token handed out, JWT or opaque, is timed again whenever the estimate moves. One clock is shared
 * by the mock (the broker's) and each lifecycle (its host's, `offset` from the broker's), pinned to
 * fixed dates, so the tests pass at any hour.
 */
import { afterEach, describe, expect, it } from '@jest/globals';
import axios, { type AxiosInstance } from 'axios';
import { Keyv } from 'keyv';
import { TokenLifecycle, type TokenLifecycleOptions } from '../../src/lifecycle/token-lifecycle.js';
import { OAuthClient, type ServerTimeSample } from '../../src/providers/oauth-client.js';
import { startMockKisServer, startMockKiwoomServer, startMockLsServer, type MockKiwoomServer, type MockLsServer } from '../../src/testing/index.js';
import { whileTimeRuns } from '../helpers/pinned-clock.js';

const APP_KEY = 'PSd7orrAJnAfr202g4MpbzVxwqPBjjkvjLf2';
const SECRET = 'SENTINEL-SECRET-clockestimate-0000x';
/** 07:00 KST on 2026-11-25 (22:00 UTC on the 24th). */
const CUTOFF = Date.UTC(2026, 10, 24, 22, 0, 0);
const kst = (h: number, m: number, s = 0): number => CUTOFF + ((h - 7) * 3600 + m * 60 + s) * 1000;

/** The broker's clock, shared by the mock and (plus each host's offset) the lifecycles. */
let broker = 0;
const lifecycles: TokenLifecycle[] = [];
const closers: Array<() => Promise<void>> = [];

afterEach(async () => {
  await Promise.all(lifecycles.splice(0).map((lc) => lc.shutdown({ deadlineMs: 2_000 })));
  await Promise.all(closers.splice(0).map((close) => close()));
});

function lifecycle(options: Partial<TokenLifecycleOptions> & { baseUrl: string }, offsetMs: number): TokenLifecycle {
  const lc = new TokenLifecycle({ appKey: APP_KEY, appSecretKey: SECRET, now: () => broker + offsetMs, sweepIntervalMs: 0, ...options });
  lc.on('error', () => undefined);
  lifecycles.push(lc);
  return lc;
}

/** An axios instance whose `HEAD /` (the clock probe) fails the first `failures` times (`Infinity`: always). */
function probeFailing(failures: number): { http: AxiosInstance; probes: () => number } {
  const http = axios.create();
  let probes = 0;
  http.interceptors.request.use((config) => {
    if (config.method?.toLowerCase() !== 'head') return config;
    probes++;
    if (probes <= failures) throw Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
    return config;
  });
  return { http, probes: () => probes };
}

/** Resolves once `cond()` holds, checking on every turn of the event loop for at most `ms` of wall time. */
async function until(cond: () => boolean, ms = 5_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`condition not met within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/**
 * Calls getAccessToken every 50 ms of broker time over [from, to), one call per 10 ms of wall
 * time; counts the tokens dead at the broker when handed out, outside [endsAt, endsAt + 1 s].
 */
async function callAcross(lc: TokenLifecycle, isActive: (t: string) => boolean, from: number, to: number, endsAt: number): Promise<{ calls: number; dead: number }> {
  let calls = 0;
  let dead = 0;
  for (broker = from; broker < to; broker += 50) {
    const token = await whileTimeRuns(lc.getAccessToken(), (ms) => (broker += ms));
    calls++;
    if (!isActive(token) && !(broker >= endsAt && broker <= endsAt + 1_000)) dead++;
    await new Promise((r) => setTimeout(r, 10)); // the daemon's pace, not a wait for a result
  }
  return { calls, dead };
}

describe('the clock probe at start', () => {
  it('is not sent when the first token answer read the clock; it is when nothing else did', async () => {
    broker = kst(10, 0);
    const mock = await startMockLsServer({ credentials: [{ appKey: APP_KEY, appSecretKey: SECRET }], cutoffKst: '07:00', now: () => broker });
    closers.push(() => mock.close());
    // Issues at once: the answer (Date header, JWT iat) is the reading.
    const issuing = probeFailing(0);
    const a = lifecycle({ baseUrl: mock.url, axios: issuing.http, revokeOnShutdown: 'never' }, 0);
    await a.getAccessToken();
    expect(a.status().clockSkew).not.toBeNull();
    // Only started, nothing issued: the probe reads the clock (PROBE_START_DELAY_MS later).
    const idle = probeFailing(0);
    const b = lifecycle({ baseUrl: mock.url, axios: idle.http, store: new Keyv({ throwOnErrors: true }) }, 0);
    await b.start();
    expect(b.status().clockSkew).toBeNull();
    await until(() => b.status().clockSkew !== null);
    expect(idle.probes()).toBe(1);
    // By then a's probe was due too, and a's reading made it unnecessary.
    expect(issuing.probes()).toBe(0);
  });
});

describe('LS: a fleet member whose clock probe failed', () => {
  let mock: MockLsServer;

  it('5 s behind LS, it retries the probe, re-times the adopted token, and hands out no dead token after 07:00', async () => {
    broker = kst(6, 50);
    mock = await startMockLsServer({ credentials: [{ appKey: APP_KEY, appSecretKey: SECRET }], cutoffKst: '07:00', now: () => broker });
    closers.push(() => mock.close());
    const keyv = new Keyv({ throwOnErrors: true });
    const first = lifecycle({ baseUrl: mock.url, store: keyv, instanceId: 'clock-a', revokeOnShutdown: 'never' }, 0);
    const token = await first.getAccessToken();
    const { http, probes } = probeFailing(1);
    const behind = lifecycle({ baseUrl: mock.url, store: keyv, instanceId: 'clock-b', axios: http }, -5_000);
    expect(await behind.getAccessToken()).toBe(token); // adopted: no answer of LS read the clock
    expect(mock.stats().tokenRequests).toBe(1);
    await until(() => behind.status().clockSkew !== null); // the failed probe was tried again
    expect(probes()).toBeGreaterThanOrEqual(2);
    const skew = behind.status().clockSkew!;
    expect(skew.lowMs).toBeLessThanOrEqual(5_000);
    expect(skew.highMs).toBeGreaterThanOrEqual(5_000);
    const r = await callAcross(behind, (t) => mock.isActive(t), kst(6, 59, 50), kst(7, 0, 10), CUTOFF);
    expect(r.dead).toBe(0);
    expect(r.calls).toBeGreaterThan(100);
    expect(mock.stats().tokenRequests).toBe(2);
  });
});

describe('Kiwoom (opaque tokens, no iat): the token answer and the probe read the clock', () => {
  let mock: MockKiwoomServer;
  const T0 = Date.UTC(2026, 10, 25, 3, 0, 0);
  const LIFETIME_S = 3_600;
  const expiry = T0 + LIFETIME_S * 1000;

  async function start(): Promise<void> {
    broker = T0;
    mock = await startMockKiwoomServer({ tokenLifetimeS: LIFETIME_S, now: () => broker });
    closers.push(() => mock.close());
  }

  it.each([
    ['5 s ahead of the host', 5_000],
    ['5 s behind the host', -5_000],
  ])('Kiwoom %s, the probe always failing: no dead token handed out and no request storm across the expiry', async (_name, brokerAhead) => {
    await start();
    const lc = lifecycle({ provider: 'kiwoom', baseUrl: mock.url, axios: probeFailing(Infinity).http }, -brokerAhead);
    await lc.getAccessToken();
    const skew = lc.status().clockSkew!; // read from the token answer's Date header
    expect(skew.lowMs).toBeLessThanOrEqual(brokerAhead);
    expect(skew.highMs).toBeGreaterThanOrEqual(brokerAhead);
    const r = await callAcross(lc, (t) => mock.isActive(t), expiry - 10_000, expiry + 10_000, expiry);
    expect(r.dead).toBe(0);
    expect(r.calls).toBeGreaterThan(100);
    expect(mock.stats().tokenRequests).toBeLessThanOrEqual(3); // the first, at most one answered with the ending token, the successor
  });

  it('Kiwoom 5 s ahead, a slow probe and token answers without a Date header: the opaque token is re-timed when the probe lands', async () => {
    await start();
    const http = axios.create();
    let probeLanded = false;
    http.interceptors.request.use(async (config) => {
      if (config.method?.toLowerCase() === 'head') await new Promise((r) => setTimeout(r, 600)); // a slow network, not a synchronisation
      return config;
    });
    http.interceptors.response.use((res) => {
      if (res.config.method?.toLowerCase() === 'head') probeLanded = true;
      else delete res.headers['date'];
      return res;
    });
    const lc = lifecycle({ provider: 'kiwoom', baseUrl: mock.url, axios: http }, -5_000);
    await lc.getAccessToken();
    const before = lc.status().current!.expiresAt;
    expect(lc.status().clockSkew).toBeNull(); // issued before the probe answered
    await until(() => probeLanded && lc.status().clockSkew !== null);
    expect(lc.status().current!.expiresAt).toBeLessThanOrEqual(before - 4_000); // by the broker's clock, 5 s earlier
    const r = await callAcross(lc, (t) => mock.isActive(t), expiry - 10_000, expiry + 10_000, expiry);
    expect(r.dead).toBe(0);
    expect(r.calls).toBeGreaterThan(100);
    expect(mock.stats().tokenRequests).toBeLessThanOrEqual(3);
  });
});

describe.each([
  ['ls', (now: () => number) => startMockLsServer({ credentials: [{ appKey: APP_KEY, appSecretKey: SECRET }], cutoffKst: null, now })],
  ['kis', (now: () => number) => startMockKisServer({ now })],
  ['kiwoom', (now: () => number) => startMockKiwoomServer({ now })],
] as const)('OAuthClient (%s): every answer reads the broker clock', (provider, startMock) => {
  it('token, revoke (error answers included) and probe answers each give one sample with the Date header', async () => {
    broker = Date.UTC(2026, 10, 25, 3, 0, 0, 700);
    const mock = await startMock(() => broker);
    closers.push(() => mock.close());
    const client = new OAuthClient({ provider, appKey: APP_KEY, appSecretKey: SECRET, baseUrl: mock.url, now: () => broker - 2_000 });
    closers.push(async () => client.close());
    const samples: ServerTimeSample[] = [];
    client.onServerTime(() => {
      throw new Error('a throwing listener is ignored');
    });
    const off = client.onServerTime((s) => samples.push(s));
    const issued = await client.issueToken();
    await client.revokeToken(issued.accessToken);
    mock.inject({ endpoint: 'token', kind: 'http500' });
    await expect(client.issueToken()).rejects.toMatchObject({ httpStatus: 500 });
    await client.serverTime();
    const second = Date.UTC(2026, 10, 25, 3, 0, 0);
    expect(samples).toEqual(Array.from({ length: 4 }, () => ({ sentAt: broker - 2_000, receivedAt: broker - 2_000, serverMs: second })));
    off();
    await client.serverTime();
    expect(samples).toHaveLength(4);
  });
});
