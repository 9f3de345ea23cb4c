/**
 * The Kiwoom model without any transport: requests in, answers out, state by the injected clock.
 */
import { describe, expect, it } from '@jest/globals';
import { LsTokenError } from '../../src/core/errors.js';
import { createKiwoomModel, type KiwoomModel, type MockRequest, type MockResponse } from '../../src/testing/index.js';

const JSON_HEADERS = { 'content-type': 'application/json;charset=UTF-8', 'api-id': 'au10001' };
const KEY = 'kiwoom-app-key-0001';
const SECRET = 'kiwoom-secret-key-0001';
/** 2024-11-06 08:37:13 KST. */
const T0 = Date.UTC(2024, 10, 5, 23, 37, 13);
const HOUR = 3_600_000;

function tokenRequest(body: Record<string, unknown> = { grant_type: 'client_credentials', appkey: KEY, secretkey: SECRET }): MockRequest {
  return { method: 'POST', path: '/oauth2/token', headers: JSON_HEADERS, body: JSON.stringify(body) };
}

function revokeRequest(token: string | undefined, appkey = KEY): MockRequest {
  return { method: 'POST', path: '/oauth2/revoke', headers: JSON_HEADERS, body: JSON.stringify({ appkey, secretkey: SECRET, ...(token === undefined ? {} : { token }) }) };
}

function answer(model: KiwoomModel, req: MockRequest): MockResponse {
  const ex = model.receive(req);
  ex.end();
  if (ex.plan.kind !== 'answer') throw new Error(`expected an answer, got ${ex.plan.kind}`);
  return ex.plan.response;
}

const json = (res: MockResponse): Record<string, unknown> => JSON.parse(res.body) as Record<string, unknown>;

describe('createKiwoomModel', () => {
  it('issues an opaque token with expires_dt as a KST wall-clock time and return_code 0', () => {
    const model = createKiwoomModel({ now: () => T0 });
    const res = answer(model, tokenRequest());
    expect(res.status).toBe(200);
    const body = json(res);
    expect(body).toMatchObject({ expires_dt: '20241107083713', token_type: 'bearer', return_code: 0, return_msg: '정상적으로 처리되었습니다' });
    expect(body.token).toMatch(/^[A-Za-z0-9_-]{86}$/);
  });

  it('answers the same token with its original expires_dt while it lives, a new one after it died', () => {
    let t = T0;
    const model = createKiwoomModel({ now: () => t, tokenLifetimeS: 20 * 3600 });
    const first = json(answer(model, tokenRequest()));
    t += 15 * HOUR;
    const again = json(answer(model, tokenRequest()));
    expect([again.token, again.expires_dt]).toEqual([first.token, first.expires_dt]);
    t += 5 * HOUR;
    const next = json(answer(model, tokenRequest()));
    expect(next.token).not.toBe(first.token);
    expect(model.stats()).toMatchObject({ issued: 2, sameTokenAnswers: 1 });
  });

  it('puts errors at HTTP 200 with the 4-digit code in return_msg, or in return_code with codePlacement top-level', () => {
    const model = createKiwoomModel({ now: () => T0, credentials: [{ appKey: KEY, appSecretKey: SECRET }] });
    const bad = answer(model, tokenRequest({ grant_type: 'client_credentials', appkey: KEY, secretkey: 'wrong' }));
    expect(bad.status).toBe(200);
    expect(json(bad)).toEqual({ return_code: 3, return_msg: '인증에 실패했습니다[8001:App Key와 Secret Key 검증에 실패했습니다]' });
    expect(json(answer(model, tokenRequest({ appkey: KEY, secretkey: SECRET }))).return_msg).toContain('[8011:');
    expect(json(answer(model, tokenRequest({ grant_type: 'client_credentials', appkey: KEY }))).return_msg).toContain('[8020:');
    const top = createKiwoomModel({ now: () => T0, codePlacement: 'top-level' });
    expect(json(answer(top, revokeRequest('unknown'))).return_code).toBe(8005);
  });

  it('revokes a live token; a dead one answers 8005 (HTTP 200, or 401 by option); revokeDeadToken success answers 0', () => {
    const model = createKiwoomModel({ now: () => T0 });
    const token = json(answer(model, tokenRequest())).token as string;
    expect(json(answer(model, revokeRequest(token)))).toEqual({ return_code: 0, return_msg: '정상적으로 처리되었습니다' });
    expect(model.isActive(token)).toBe(false);
    const dead = answer(model, revokeRequest(token));
    expect([dead.status, json(dead).return_msg]).toEqual([200, '인증에 실패했습니다[8005:Token이 유효하지 않습니다]']);
    expect(json(answer(model, revokeRequest(undefined))).return_msg).toContain('[8016:');
    expect(answer(createKiwoomModel({ deadTokenStatus: 401 }), revokeRequest('x')).status).toBe(401);
    expect(json(answer(createKiwoomModel({ revokeDeadToken: 'success' }), revokeRequest('x'))).return_code).toBe(0);
  });

  it("afterRevoke 'keep-expiry' gives the token issued after a revoke the revoked one's expires_dt; 'fresh' a full lifetime", () => {
    let t = T0;
    const keep = createKiwoomModel({ now: () => t, afterRevoke: 'keep-expiry' });
    const fresh = createKiwoomModel({ now: () => t });
    const expiries: string[][] = [];
    for (const m of [keep, fresh]) {
      t = T0;
      const first = json(answer(m, tokenRequest()));
      answer(m, revokeRequest(first.token as string));
      t += 4 * HOUR;
      expiries.push([first.expires_dt as string, json(answer(m, tokenRequest())).expires_dt as string]);
    }
    expect(expiries[0]![1]).toBe(expiries[0]![0]);
    expect(expiries[1]![1]).toBe('20241107123713');
  });

  it('rate limit: 1700 with return_code 5 at HTTP 200 (or 429 by option), also as a fault with Retry-After', () => {
    let t = T0;
    const model = createKiwoomModel({ now: () => t, minIssueIntervalMs: 1_000, rateLimitStatus: 429 });
    answer(model, tokenRequest());
    const limited = answer(model, tokenRequest());
    expect([limited.status, json(limited).return_code, json(limited).return_msg]).toEqual([429, 5, expect.stringContaining('[1700:')]);
    t += 1_000;
    model.inject({ endpoint: 'token', kind: 'rate-limit', retryAfterS: 3 });
    const faulted = answer(model, tokenRequest());
    expect([faulted.status, faulted.headers['retry-after']]).toEqual([429, '3']);
  });

  it('TR calls (any other POST) answer return_code 0 for a live token and 8005 otherwise; GET is 404', () => {
    const model = createKiwoomModel({ now: () => T0 });
    const token = json(answer(model, tokenRequest())).token as string;
    const tr = (tok: string): MockResponse => answer(model, { method: 'POST', path: '/api/dostk/stkinfo', headers: { authorization: `Bearer ${tok}`, 'api-id': 'ka10002' }, body: '{"stk_cd":"005930"}' });
    expect(json(tr(token))).toMatchObject({ return_code: 0, echo: { stk_cd: '005930' } });
    expect(json(tr('nope')).return_msg).toContain('[8005:');
    expect(answer(model, { method: 'GET', path: '/oauth2/token', headers: {}, body: '' }).status).toBe(404);
  });

  it('is deterministic with a fixed tokenSecret, and state() holds no raw token', () => {
    const run = (): string => json(answer(createKiwoomModel({ now: () => T0, tokenSecret: 'a fixed secret for replays' }), tokenRequest())).token as string;
    expect(run()).toBe(run());
    const model = createKiwoomModel({ now: () => T0 });
    const token = json(answer(model, tokenRequest())).token as string;
    const text = JSON.stringify(model.state());
    expect(text).not.toContain(token);
    expect(JSON.parse(text)).toMatchObject({ provider: 'kiwoom', stats: { issued: 1 } });
  });

  it('validates its options with a typed error naming the option', () => {
    for (const [options, field] of [
      [{ reissue: 'sometimes' }, 'reissue'],
      [{ codePlacement: 'header' }, 'codePlacement'],
      [{ rateLimitStatus: 503 }, 'rateLimitStatus'],
      [{ tokenSecret: 'short' }, 'tokenSecret'],
    ] as const) {
      expect(() => createKiwoomModel(options as never)).toThrow(LsTokenError);
      expect(() => createKiwoomModel(options as never)).toThrow(`"${field}"`);
    }
  });
});
