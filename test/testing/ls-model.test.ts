/**
 * The LS model without any transport: requests in, plans out, state by the injected clock.
 */
import { describe, expect, it } from '@jest/globals';
import { LsTokenError } from '../../src/core/errors.js';
import { createLsModel, type LsModel, type MockRequest, type MockResponse } from '../../src/testing/index.js';
import { seededRandom } from '../helpers/net-and-random.js';

const FORM = { 'content-type': 'application/x-www-form-urlencoded' };
const KEY = 'PSd7orrAJnAfr202g4MpbzVxwqPBjjkvjLf2';
const SECRET = 'puQoMSRYZwOHt8goiEHbOazdBqLRUyYA';
/** 2024-03-15 12:00:00 KST. */
const NOON_KST = Date.UTC(2024, 2, 15, 3, 0, 0);

function tokenRequest(appkey = KEY, appsecretkey = SECRET): MockRequest {
  return {
    method: 'POST',
    path: '/oauth2/token',
    headers: FORM,
    body: new URLSearchParams({ grant_type: 'client_credentials', appkey, appsecretkey, scope: 'oob' }).toString(),
  };
}

function revokeRequest(token: string, appkey = KEY): MockRequest {
  return { method: 'POST', path: '/oauth2/revoke', headers: FORM, body: new URLSearchParams({ appkey, appsecretkey: SECRET, token_type_hint: 'access_token', token }).toString() };
}

function trRequest(token: string | undefined): MockRequest {
  return { method: 'POST', path: '/stock/market-data', headers: token === undefined ? {} : { authorization: `Bearer ${token}`, tr_cd: 't8407' }, body: '{}' };
}

/** Takes a request whose plan is an answer, ends the exchange, returns the answer. */
function answer(model: LsModel, req: MockRequest): MockResponse {
  const ex = model.receive(req);
  ex.end();
  if (ex.plan.kind !== 'answer') throw new Error(`expected an answer, got ${ex.plan.kind}`);
  return ex.plan.response;
}

function json(res: MockResponse): Record<string, unknown> {
  return JSON.parse(res.body) as Record<string, unknown>;
}

function issue(model: LsModel, appkey = KEY): string {
  const res = answer(model, tokenRequest(appkey));
  expect(res.status).toBe(200);
  return json(res).access_token as string;
}

describe('createLsModel', () => {
  it('issues, supersedes, revokes and kills tokens, and reports each state', () => {
    let t = NOON_KST;
    const model = createLsModel({ now: () => t, tokenLifetimeS: 3600 });
    const a = issue(model);
    expect(model.tokenInfo(a)).toEqual({ appKey: KEY, issuedAtMs: NOON_KST, expiresAtMs: NOON_KST + 3_600_000, state: 'active' });
    const b = issue(model);
    expect(model.tokenInfo(a)?.state).toBe('superseded');
    expect(answer(model, revokeRequest(b)).status).toBe(200);
    expect(model.tokenInfo(b)?.state).toBe('revoked');
    const c = issue(model);
    expect(model.revokeToken(c)).toBe(true);
    expect(model.tokenInfo(c)?.state).toBe('killed');
    const d = issue(model);
    t += 3_600_000;
    expect(model.tokenInfo(d)?.state).toBe('expired');
    expect(model.tokenInfo('nope')).toBeUndefined();
    expect(model.stats()).toMatchObject({ tokenRequests: 4, revokeRequests: 1, issued: 4, revoked: 1, active: 0, inflight: 0 });
  });

  it('killTokens kills the live tokens of one app key, or of all', () => {
    const model = createLsModel({ now: () => NOON_KST });
    const a = issue(model, 'key-a');
    const b = issue(model, 'key-b');
    expect(model.killTokens('key-a')).toBe(1);
    expect([model.isActive(a), model.isActive(b)]).toEqual([false, true]);
    expect(model.killTokens()).toBe(1);
    expect(model.activeTokens()).toEqual([]);
  });

  it('the clock offset moves issuance: at 06:59 KST a token lives 60 s', () => {
    const model = createLsModel({ now: () => NOON_KST });
    model.setClockOffset(Date.UTC(2024, 2, 15, 21, 59, 0) - NOON_KST); // 06:59 KST the next morning
    expect(model.clockOffsetMs()).toBe(Date.UTC(2024, 2, 15, 21, 59, 0) - NOON_KST);
    expect(json(answer(model, tokenRequest())).expires_in).toBe(60);
    expect(() => model.setClockOffset(Number.NaN)).toThrow(LsTokenError);
  });

  it('a hang plan does the work when resumed, by the clock at that moment', () => {
    let t = NOON_KST;
    const model = createLsModel({ now: () => t, cutoffKst: null });
    model.inject({ endpoint: 'token', kind: 'hang', hangMs: 5000 });
    const ex = model.receive(tokenRequest());
    expect(ex.plan).toEqual({ kind: 'hang', ms: 5000 });
    expect(model.stats().issued).toBe(0);
    t += 5000;
    const res = ex.resume();
    expect(ex.resume()).toBe(res); // handled once
    ex.end();
    expect(model.tokenInfo(json(res).access_token as string)?.issuedAtMs).toBe(NOON_KST + 5000);
    expect(model.stats()).toMatchObject({ issued: 1, faultsInjected: 1, inflight: 0 });
  });

  it('a reset plan issues nothing', () => {
    const model = createLsModel({ now: () => NOON_KST });
    model.inject({ endpoint: 'token', kind: 'reset' });
    const ex = model.receive(tokenRequest());
    expect(ex.plan.kind).toBe('reset');
    ex.end();
    expect(model.stats()).toMatchObject({ issued: 0, faultsInjected: 1 });
  });

  it('counts in-flight requests until end() (idempotent) and the most concurrent revokes', () => {
    const model = createLsModel({ now: () => NOON_KST });
    const token = issue(model);
    const exchanges = [1, 2, 3].map(() => model.receive(revokeRequest(token)));
    expect(model.stats()).toMatchObject({ inflight: 3, maxInflightRevokes: 3 });
    for (const ex of exchanges) {
      ex.end();
      ex.end();
    }
    expect(model.stats()).toMatchObject({ inflight: 0, maxInflightRevokes: 3, revoked: 1 });
  });

  it('answers 404 to what LS does not serve, without an endpoint', () => {
    const model = createLsModel();
    const ex = model.receive({ method: 'GET', path: '/oauth2/token', headers: {}, body: '' });
    expect(ex.endpoint).toBeUndefined();
    expect(ex.plan).toEqual({ kind: 'answer', response: expect.objectContaining({ status: 404 }) });
    ex.end();
    expect(model.stats()).toMatchObject({ tokenRequests: 0, inflight: 0 });
  });

  it('is deterministic with a fixed jwtSecret: the same tokens on every run', () => {
    const run = (): string[] => {
      const model = createLsModel({ now: () => NOON_KST, jwtSecret: 'a fixed secret for replays', random: seededRandom(3) });
      model.inject({ endpoint: 'token', kind: 'http500', rate: 0.5 });
      return Array.from({ length: 8 }, () => answer(model, tokenRequest()).body);
    };
    const first = run();
    expect(run()).toEqual(first);
    expect(new Set(first).size).toBeGreaterThan(2); // tokens differ from each other, faults came too
    const other = createLsModel({ now: () => NOON_KST });
    expect(issue(other)).not.toBe(JSON.parse(first.find((b) => b.includes('access_token'))!).access_token);
  });

  it('state() is JSON without raw tokens or secrets', () => {
    const model = createLsModel({ now: () => NOON_KST, credentials: [{ appKey: KEY, appSecretKey: SECRET }] });
    const token = issue(model);
    model.inject({ endpoint: 'revoke', kind: 'http500', count: 2 });
    const text = JSON.stringify(model.state());
    expect(text).not.toContain(token);
    expect(text).not.toContain(SECRET);
    expect(JSON.parse(text)).toMatchObject({
      now: new Date(NOON_KST).toISOString(),
      cutoffKst: '07:00',
      clockOffsetMs: 0,
      stats: { issued: 1, active: 1 },
      faults: [{ fault: { endpoint: 'revoke', kind: 'http500', count: 2 }, remaining: 2 }],
      liveTokens: [{ appKey: KEY, issuedAt: new Date(NOON_KST).toISOString(), expiresAt: new Date(Date.UTC(2024, 2, 15, 22)).toISOString() }],
    });
  });

  it('validates its options with a typed error naming the option', () => {
    const bad: [Parameters<typeof createLsModel>[0], string][] = [
      [{ cutoffKst: '7:00' }, 'cutoffKst'],
      [{ tokenLifetimeS: 0 }, 'tokenLifetimeS'],
      [{ jwtSecret: 'short' }, 'jwtSecret'],
      [{ credentials: [{ appKey: 'k', appSecretKey: '' }] }, 'credentials'],
      [{ credentials: [{ appKey: 'k', appSecretKey: 's', paper: 'yes' as unknown as boolean }] }, 'credentials'],
      [{ trRoutes: [{ path: 'no-slash', trCode: 'X', answer: () => ({ rspCd: '0', rspMsg: '' }) }] }, 'trRoutes'],
      [{ reissue: 'sometimes' as 'independent' }, 'reissue'],
      [{ now: 5 as unknown as () => number }, 'now'],
    ];
    for (const [options, field] of bad) {
      let err: unknown;
      try {
        createLsModel(options);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(LsTokenError);
      expect((err as LsTokenError).message).toContain(`"${field}"`);
    }
  });

  it('stays cheap: thousands of issuances, TR calls and revocations in well under a second each', () => {
    let t = NOON_KST;
    const model = createLsModel({ now: () => t });
    const t0 = performance.now();
    for (let i = 0; i < 2000; i++) {
      t += 43_000; // ~2000 calls over a simulated day
      const token = issue(model, `key-${i % 3}`);
      expect(answer(model, trRequest(token)).status).toBe(200);
      if (i % 2 === 0) answer(model, revokeRequest(token, `key-${i % 3}`));
    }
    expect(performance.now() - t0).toBeLessThan(3000); // ~100 ms on a laptop; the bound leaves room for a busy CI box
    expect(model.stats()).toMatchObject({ issued: 2000, trRequests: 2000, revoked: 1000 });
  });
});
