/**
 * The KIS model without any transport: requests in, answers out, state by the injected clock.
 */
import { describe, expect, it } from '@jest/globals';
import { LsTokenError } from '../../src/core/errors.js';
import { createKisModel, type KisModel, type MockRequest, type MockResponse } from '../../src/testing/index.js';

const JSON_HEADERS = { 'content-type': 'application/json; charset=UTF-8' };
const KEY = 'PSkisAppKey0000000000000000000000001';
const SECRET = 'kis-secret-'.padEnd(180, 'x');
/** 2024-03-15 12:00:00 KST. */
const NOON_KST = Date.UTC(2024, 2, 15, 3, 0, 0);
const MIN = 60_000;
const HOUR = 3_600_000;

function tokenRequest(body: Record<string, unknown> = { grant_type: 'client_credentials', appkey: KEY, appsecret: SECRET }, headers: Record<string, string> = JSON_HEADERS): MockRequest {
  return { method: 'POST', path: '/oauth2/tokenP', headers, body: JSON.stringify(body) };
}

function revokeRequest(token: string, appkey = KEY): MockRequest {
  return { method: 'POST', path: '/oauth2/revokeP', headers: JSON_HEADERS, body: JSON.stringify({ appkey, appsecret: SECRET, token }) };
}

function answer(model: KisModel, req: MockRequest): MockResponse {
  const ex = model.receive(req);
  ex.end();
  if (ex.plan.kind !== 'answer') throw new Error(`expected an answer, got ${ex.plan.kind}`);
  return ex.plan.response;
}

const json = (res: MockResponse): Record<string, unknown> => JSON.parse(res.body) as Record<string, unknown>;

function issue(model: KisModel): Record<string, unknown> {
  const res = answer(model, tokenRequest());
  expect(res.status).toBe(200);
  return json(res);
}

describe('createKisModel: POST /oauth2/tokenP', () => {
  it('issues a JWT with expires_in 86400 and access_token_token_expired in KST (YYYY-MM-DD HH:MM:SS)', () => {
    const model = createKisModel({ now: () => NOON_KST });
    const body = issue(model);
    expect(body).toMatchObject({ token_type: 'Bearer', expires_in: 86_400, access_token_token_expired: '2024-03-16 12:00:00' });
    const token = body.access_token as string;
    expect(token.split('.')).toHaveLength(3);
    const claims = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as Record<string, unknown>;
    expect(claims).toMatchObject({ iss: 'unogw', iat: NOON_KST / 1000, exp: NOON_KST / 1000 + 86_400 });
    expect(model.tokenInfo(token)).toEqual({ appKey: KEY, issuedAtMs: NOON_KST, expiresAtMs: NOON_KST + 86_400_000, state: 'active' });
  });

  it('answers a second request within a minute with HTTP 403 EGW00133 in the error_code shape', () => {
    let t = NOON_KST;
    const model = createKisModel({ now: () => t });
    issue(model);
    t += 59_000;
    const res = answer(model, tokenRequest());
    expect(res.status).toBe(403);
    expect(json(res)).toEqual({ error_code: 'EGW00133', error_description: '접근토큰 발급 잠시 후 다시 시도하세요(1분당 1회)' });
    t += 1_000;
    expect(answer(model, tokenRequest()).status).toBe(200);
  });

  it('within 6 h answers the same token with its own expiry; after 6 h a new one that kills the old (afterWindow default)', () => {
    let t = NOON_KST;
    const model = createKisModel({ now: () => t });
    const first = issue(model);
    t += 5 * HOUR;
    const again = issue(model);
    expect(again.access_token).toBe(first.access_token);
    expect(again.access_token_token_expired).toBe(first.access_token_token_expired);
    expect(model.stats()).toMatchObject({ issued: 1, sameTokenAnswers: 1 });
    t += HOUR + MIN;
    const next = issue(model);
    expect(next.access_token).not.toBe(first.access_token);
    expect(model.tokenInfo(first.access_token as string)?.state).toBe('superseded');
    expect(model.stats()).toMatchObject({ issued: 2, sameTokenAnswers: 1, active: 1 });
  });

  it("afterWindow 'independent' keeps the previous token alive; sameTokenWindowMs 0 always issues", () => {
    let t = NOON_KST;
    const model = createKisModel({ now: () => t, afterWindow: 'independent', sameTokenWindowMs: 0 });
    const a = issue(model).access_token as string;
    t += MIN;
    const b = issue(model).access_token as string;
    expect(a).not.toBe(b);
    expect([model.isActive(a), model.isActive(b)]).toEqual([true, true]);
  });

  it('checks the content type, the fields and the credentials, with 403 and EGW codes', () => {
    const model = createKisModel({ now: () => NOON_KST, credentials: [{ appKey: KEY, appSecretKey: SECRET }], minIssueIntervalMs: 0 });
    const code = (req: MockRequest): [number, unknown] => {
      const res = answer(model, req);
      return [res.status, json(res).error_code];
    };
    expect(code(tokenRequest(undefined, { 'content-type': 'application/x-www-form-urlencoded' }))).toEqual([403, 'EGW00132']);
    expect(code(tokenRequest({ appkey: KEY, appsecret: SECRET }))).toEqual([403, 'EGW00115']);
    expect(code(tokenRequest({ grant_type: 'password', appkey: KEY, appsecret: SECRET }))).toEqual([403, 'EGW00116']);
    expect(code(tokenRequest({ grant_type: 'client_credentials', appsecret: SECRET }))).toEqual([403, 'EGW00102']);
    expect(code(tokenRequest({ grant_type: 'client_credentials', appkey: KEY }))).toEqual([403, 'EGW00104']);
    expect(code(tokenRequest({ grant_type: 'client_credentials', appkey: 'other', appsecret: SECRET }))).toEqual([403, 'EGW00103']);
    expect(code(tokenRequest({ grant_type: 'client_credentials', appkey: KEY, appsecret: 'wrong' }))).toEqual([403, 'EGW00105']);
    const any = createKisModel({ now: () => NOON_KST });
    expect(json(answer(any, tokenRequest({ grant_type: 'client_credentials', appkey: KEY, appsecret: 'x'.repeat(181) }))).error_code).toBe('EGW00105');
    expect(answer(any, tokenRequest({ grant_type: 'client_credentials', appkey: KEY, appsecret: 'x'.repeat(180) })).status).toBe(200);
  });
});

describe('createKisModel: POST /oauth2/revokeP and TR calls', () => {
  it('revokes a live token (code 200 as a number, or "200" with revokeCode string), then answers EGW00121', () => {
    const model = createKisModel({ now: () => NOON_KST });
    const token = issue(model).access_token as string;
    const ok = answer(model, revokeRequest(token));
    expect([ok.status, json(ok)]).toEqual([200, { code: 200, message: '접근토큰 폐기에 성공하였습니다' }]);
    expect(model.isActive(token)).toBe(false);
    const again = answer(model, revokeRequest(token));
    expect([again.status, json(again).error_code]).toEqual([403, 'EGW00121']);
    const str = createKisModel({ now: () => NOON_KST, revokeCode: 'string' });
    expect(json(answer(str, revokeRequest(issue(str).access_token as string))).code).toBe('200');
  });

  it("revokeDeadToken 'success' answers code 200 for a dead token; an expired one answers EGW00123 by default", () => {
    let t = NOON_KST;
    const model = createKisModel({ now: () => t, tokenLifetimeS: 60 });
    const token = issue(model).access_token as string;
    t += 61_000;
    expect(json(answer(model, revokeRequest(token))).error_code).toBe('EGW00123');
    const lenient = createKisModel({ now: () => NOON_KST, revokeDeadToken: 'success' });
    expect(json(answer(lenient, revokeRequest('never-issued')))).toMatchObject({ code: 200 });
    expect(lenient.stats().revoked).toBe(0);
  });

  it('TR calls under /uapi/ answer rt_cd 0 for a live token and EGW00121/EGW00123 (HTTP 500, or 200 by option) otherwise', () => {
    let t = NOON_KST;
    const model = createKisModel({ now: () => t, tokenLifetimeS: 60 });
    const token = issue(model).access_token as string;
    const tr = (m: KisModel, tok?: string): MockResponse =>
      answer(m, { method: 'GET', path: '/uapi/domestic-stock/v1/quotations/inquire-price', headers: tok === undefined ? {} : { authorization: `Bearer ${tok}` }, body: '' });
    expect(json(tr(model, token))).toMatchObject({ rt_cd: '0' });
    const none = tr(model);
    expect([none.status, json(none)]).toEqual([500, { rt_cd: '1', msg_cd: 'EGW00121', msg1: '유효하지 않은 token 입니다.' }]);
    t += 61_000;
    expect(json(tr(model, token)).msg_cd).toBe('EGW00123');
    const ok200 = createKisModel({ now: () => NOON_KST, trDeadTokenStatus: 200 });
    expect(tr(ok200).status).toBe(200);
    expect(answer(model, { method: 'POST', path: '/elsewhere', headers: {}, body: '' }).status).toBe(404);
  });

  it('faults answer in KIS shapes: EGW00133 on the token endpoint, EGW00201 elsewhere, EGW00121 for invalid-token', () => {
    const model = createKisModel({ now: () => NOON_KST });
    model.inject({ endpoint: 'token', kind: 'rate-limit', retryAfterS: 2 });
    const limited = answer(model, tokenRequest());
    expect([limited.status, json(limited).error_code, limited.headers['retry-after']]).toEqual([403, 'EGW00133', '2']);
    model.inject({ endpoint: 'revoke', kind: 'rate-limit' });
    expect(json(answer(model, revokeRequest('x'))).error_code).toBe('EGW00201');
    const token = issue(model).access_token as string;
    model.inject({ endpoint: 'revoke', kind: 'invalid-token' });
    expect(json(answer(model, revokeRequest(token))).error_code).toBe('EGW00121');
    expect(model.isActive(token)).toBe(true);
    model.inject({ endpoint: 'revoke', kind: 'http500', status: 503 });
    const five = answer(model, revokeRequest(token));
    expect([five.status, json(five).error_code]).toEqual([503, 'EGW00002']);
    model.inject({ endpoint: 'token', kind: 'malformed' });
    expect(() => JSON.parse(answer(model, tokenRequest()).body)).toThrow();
    expect(model.stats().faultsInjected).toBe(5);
  });

  it('state() is JSON without raw tokens or secrets, and names the provider', () => {
    const model = createKisModel({ now: () => NOON_KST });
    const token = issue(model).access_token as string;
    const text = JSON.stringify(model.state());
    expect(text).not.toContain(token);
    expect(text).not.toContain(SECRET);
    expect(JSON.parse(text)).toMatchObject({ provider: 'kis', stats: { issued: 1, sameTokenAnswers: 0 }, liveTokens: [{ appKey: KEY }] });
  });

  it('validates its options with a typed error naming the option', () => {
    for (const [options, field] of [
      [{ afterWindow: 'never' }, 'afterWindow'],
      [{ minIssueIntervalMs: -1 }, 'minIssueIntervalMs'],
      [{ trDeadTokenStatus: 404 }, 'trDeadTokenStatus'],
      [{ jwtSecret: 'short' }, 'jwtSecret'],
      [{ tokenLifetimeS: 1.5 }, 'tokenLifetimeS'],
    ] as const) {
      expect(() => createKisModel(options as never)).toThrow(LsTokenError);
      expect(() => createKisModel(options as never)).toThrow(`"${field}"`);
    }
  });
});
