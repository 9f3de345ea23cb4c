import { LsTokenError } from '../../src/core/errors.js';
import { afterEach, describe, expect, it, jest } from '@jest/globals';
import { request as httpRequest } from 'node:http';
import { startMockLsServer, type MockLsServer, type MockLsServerOptions } from '../../src/testing/index.js';
import { nextCutoffMs } from '../../src/testing/mock-jwt.js';
import { seededRandom } from '../helpers/net-and-random.js';

const FORM = { 'content-type': 'application/x-www-form-urlencoded' } as const;
const KEY = 'PSd7orrAJnAfr202g4MpbzVxwqPBjjkvjLf2';
const SECRET = 'puQoMSRYZwOHt8goiEHbOazdBqLRUyYA';

const servers: MockLsServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function start(options: MockLsServerOptions = {}): Promise<MockLsServer> {
  const s = await startMockLsServer(options);
  servers.push(s);
  return s;
}

function issueRaw(s: MockLsServer, fields: Record<string, string>, init: RequestInit = {}): Promise<Response> {
  return fetch(`${s.url}/oauth2/token`, { method: 'POST', headers: FORM, body: new URLSearchParams(fields), ...init });
}

function issue(s: MockLsServer, appkey = KEY, appsecretkey = SECRET, init: RequestInit = {}): Promise<Response> {
  return issueRaw(s, { grant_type: 'client_credentials', appkey, appsecretkey, scope: 'oob' }, init);
}

async function issueToken(s: MockLsServer, appkey = KEY, appsecretkey = SECRET): Promise<string> {
  const res = await issue(s, appkey, appsecretkey);
  expect(res.status).toBe(200);
  const body = (await res.json()) as { access_token: string };
  return body.access_token;
}

function revoke(s: MockLsServer, token: string, appkey = KEY, appsecretkey = SECRET, hint = 'access_token', init: RequestInit = {}): Promise<Response> {
  return fetch(`${s.url}/oauth2/revoke`, {
    method: 'POST',
    headers: FORM,
    body: new URLSearchParams({ appkey, appsecretkey, token_type_hint: hint, token }),
    ...init,
  });
}

function tr(s: MockLsServer, token: string | undefined, body: unknown = { t8407InBlock: { nrec: 1 } }): Promise<Response> {
  const headers: Record<string, string> = { 'content-type': 'application/json; charset=utf-8' };
  if (token !== undefined) headers.authorization = `Bearer ${token}`;
  return fetch(`${s.url}/stock/market-data`, { method: 'POST', headers, body: JSON.stringify(body) });
}

function decodeJwt(token: string): { header: unknown; claims: Record<string, unknown>; signature: string } {
  const [h, c, sig] = token.split('.');
  return {
    header: JSON.parse(Buffer.from(h!, 'base64url').toString('utf8')),
    claims: JSON.parse(Buffer.from(c!, 'base64url').toString('utf8')) as Record<string, unknown>,
    signature: sig!,
  };
}


/** Waits for a condition on server state (polls; fails after `timeoutMs`). */
async function waitFor(cond: () => boolean, timeoutMs = 2000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('condition not reached in time');
    await new Promise((r) => setTimeout(r, 2));
  }
}

/** 12:53:21 KST on 2024-03-15 (= 03:53:21 UTC). */
const KST_12_53_21 = Date.UTC(2024, 2, 15, 3, 53, 21);
/** 07:00:00 KST on 2024-03-16 (= 22:00 UTC on the 15th). */
const KST_NEXT_07_00 = Date.UTC(2024, 2, 15, 22, 0, 0);

describe('nextCutoffMs', () => {
  it('finds the next HH:MM KST strictly after the instant', () => {
    expect(nextCutoffMs(KST_12_53_21, '07:00')).toBe(KST_NEXT_07_00);
    expect((KST_NEXT_07_00 - KST_12_53_21) / 1000).toBe(65_199);
    // 06:59 KST -> 07:00 the same KST day
    expect(nextCutoffMs(Date.UTC(2024, 2, 14, 21, 59, 0), '07:00')).toBe(Date.UTC(2024, 2, 14, 22, 0, 0));
    // exactly 07:00 KST -> the next day's 07:00
    expect(nextCutoffMs(Date.UTC(2024, 2, 14, 22, 0, 0), '07:00')).toBe(Date.UTC(2024, 2, 15, 22, 0, 0));
    // 23:30 UTC is 08:30 KST the next calendar day (UTC date and KST date differ)
    expect(nextCutoffMs(Date.UTC(2024, 2, 14, 23, 30, 0), '07:00')).toBe(Date.UTC(2024, 2, 15, 22, 0, 0));
    expect(nextCutoffMs(Date.UTC(2024, 2, 14, 14, 0, 0), '23:59')).toBe(Date.UTC(2024, 2, 14, 14, 59, 0));
  });

  it('rejects a malformed time', () => {
    expect(() => nextCutoffMs(0, '7:00')).toThrow(LsTokenError);
    expect(() => nextCutoffMs(0, '24:00')).toThrow(LsTokenError);
  });
});

describe('POST /oauth2/token', () => {
  it('issues a unique HS512 JWT with the LS claims and expires_in as a number', async () => {
    const t = 1_700_000_000_123;
    const s = await start({ now: () => t, cutoffKst: null });
    const res = await issue(s);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8');
    const body = (await res.json()) as Record<string, unknown>;
    expect(body).toEqual({ access_token: expect.any(String), scope: 'oob', token_type: 'Bearer', expires_in: 86_400 });
    const token = body.access_token as string;
    expect(token.startsWith('eyJ0eXAiOiJKV1QiLCJhbGciOiJIUzUxMiJ9.')).toBe(true);
    const { header, claims, signature } = decodeJwt(token);
    expect(header).toEqual({ typ: 'JWT', alg: 'HS512' });
    expect(Object.keys(claims)).toEqual(['sub', 'aud', 'nbf', 'grant_type', 'iss', 'exp', 'iat', 'jti']);
    expect(claims).toEqual({
      sub: 'token',
      aud: expect.stringMatching(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/),
      nbf: 1_700_000_000,
      grant_type: 'Client',
      iss: 'unogw',
      exp: 1_700_086_400,
      iat: 1_700_000_000,
      jti: KEY,
    });
    expect(signature).toMatch(/^[A-Za-z0-9_-]{86}$/); // 64-byte HMAC-SHA512

    const other = await issueToken(s);
    expect(other).not.toBe(token);
    expect(decodeJwt(other).claims.aud).not.toBe(claims.aud);
    expect(s.issuedTokens()).toEqual([token, other]);
  });

  it('by default a token dies at the next 07:00 KST (LS measured live), in expires_in and in the JWT exp', async () => {
    const t = 1_700_000_000_123; // 2023-11-15 07:13:20 KST
    const s = await start({ now: () => t });
    const body = (await (await issue(s)).json()) as { access_token: string; expires_in: number };
    const cutoffS = Date.UTC(2023, 10, 15, 22, 0, 0) / 1000; // 2023-11-16 07:00 KST
    expect(body.expires_in).toBe(cutoffS - 1_700_000_000);
    expect(decodeJwt(body.access_token).claims.exp).toBe(cutoffS);
  });

  it('by default a token issued at 06:59:30 KST lives 30 s; cutoffKst: null gives the full lifetime', async () => {
    const t = Date.UTC(2024, 2, 14, 21, 59, 30);
    const dflt = await start({ now: () => t });
    expect(((await (await issue(dflt)).json()) as { expires_in: number }).expires_in).toBe(30);
    const off = await start({ now: () => t, cutoffKst: null });
    expect(((await (await issue(off)).json()) as { expires_in: number }).expires_in).toBe(86_400);
  });

  it("answers the lifetime as a numeric string under expire_in with lifetimeField 'expire_in'", async () => {
    const s = await start({ lifetimeField: 'expire_in', tokenLifetimeS: 3600 });
    const body = (await (await issue(s)).json()) as Record<string, unknown>;
    expect(body.expire_in).toBe('3600');
    expect(body).not.toHaveProperty('expires_in');
  });

  it('caps exp at the next 07:00 KST: issued 12:53:21 KST lives 65,199 s', async () => {
    const s = await start({ cutoffKst: '07:00', now: () => KST_12_53_21 });
    const body = (await (await issue(s)).json()) as { access_token: string; expires_in: number };
    expect(body.expires_in).toBe(65_199);
    expect(decodeJwt(body.access_token).claims.exp).toBe(KST_NEXT_07_00 / 1000);
  });

  it('a token issued at 06:59 KST lives 60 s and dies at 07:00', async () => {
    let t = Date.UTC(2024, 2, 14, 21, 59, 0);
    const s = await start({ cutoffKst: '07:00', now: () => t });
    const body = (await (await issue(s)).json()) as { access_token: string; expires_in: number };
    expect(body.expires_in).toBe(60);
    t += 59_999;
    expect(s.isActive(body.access_token)).toBe(true);
    t += 1;
    expect(s.isActive(body.access_token)).toBe(false);
    expect(s.stats().active).toBe(0);
  });

  it('the lifetime wins when it ends before the cut-off', async () => {
    const s = await start({ cutoffKst: '07:00', tokenLifetimeS: 600, now: () => KST_12_53_21 });
    const body = (await (await issue(s)).json()) as { expires_in: number };
    expect(body.expires_in).toBe(600);
  });

  it("'invalidate-previous' (default): a new token kills the key's previous one, not other keys'", async () => {
    const s = await start();
    const a1 = await issueToken(s);
    const b1 = await issueToken(s, 'other-key', 'other-secret');
    const a2 = await issueToken(s);
    expect(s.isActive(a1)).toBe(false);
    expect(s.isActive(a2)).toBe(true);
    expect(s.isActive(b1)).toBe(true);
    expect(s.activeTokens()).toEqual([b1, a2]);
    expect(((await (await tr(s, a1)).json()) as { rsp_cd: string }).rsp_cd).toBe('IGW00121');
    expect(s.stats()).toMatchObject({ issued: 3, active: 2 });
  });

  it("'independent': tokens of one key coexist", async () => {
    const s = await start({ reissue: 'independent' });
    const a1 = await issueToken(s);
    const a2 = await issueToken(s);
    expect(s.isActive(a1)).toBe(true);
    expect(s.isActive(a2)).toBe(true);
    expect(s.stats().active).toBe(2);
  });

  it('expires tokens by the now() clock', async () => {
    let t = 1_700_000_000_000;
    const s = await start({ tokenLifetimeS: 100, now: () => t });
    const token = await issueToken(s);
    t += 99_999;
    expect(s.isActive(token)).toBe(true);
    t += 1;
    expect(s.isActive(token)).toBe(false);
    expect(s.activeTokens()).toEqual([]);
    expect(s.model.tokenInfo(token)?.state).toBe('expired');
    // an expired token answers IGW00123 (expired), a killed one IGW00121 (invalid)
    expect(((await (await tr(s, token)).json()) as { rsp_cd: string }).rsp_cd).toBe('IGW00123');
    const rev = await revoke(s, token);
    expect(rev.status).toBe(401);
    expect(((await rev.json()) as { rsp_cd: string }).rsp_cd).toBe('IGW00123');
  });

  it('answers IGW00103 / IGW00105 with HTTP 403 and the error_code body shape', async () => {
    const s = await start({ credentials: [{ appKey: KEY, appSecretKey: SECRET }] });
    const unknownKey = await issue(s, 'nope', SECRET);
    expect(unknownKey.status).toBe(403);
    expect(await unknownKey.json()).toEqual({ error_code: 'IGW00103', error_description: expect.any(String) });
    const wrongSecret = await issue(s, KEY, 'wrong');
    expect(wrongSecret.status).toBe(403);
    expect(await wrongSecret.json()).toEqual({ error_code: 'IGW00105', error_description: expect.any(String) });
    expect((await issue(s)).status).toBe(200);
    expect(s.stats()).toMatchObject({ tokenRequests: 3, issued: 1 });
  });

  it("with credentials 'any', rejects keys and secrets longer than 36 characters", async () => {
    const s = await start();
    expect(((await (await issue(s, 'k'.repeat(37), SECRET)).json()) as { error_code: string }).error_code).toBe('IGW00103');
    expect(((await (await issue(s, KEY, 's'.repeat(37))).json()) as { error_code: string }).error_code).toBe('IGW00105');
    expect((await issue(s, 'k'.repeat(36), 's'.repeat(36))).status).toBe(200);
  });

  it.each([
    [{ appkey: KEY, appsecretkey: SECRET, scope: 'oob' }, 'IGW00115'],
    [{ grant_type: 'password', appkey: KEY, appsecretkey: SECRET, scope: 'oob' }, 'IGW00116'],
    [{ grant_type: 'client_credentials', appsecretkey: SECRET, scope: 'oob' }, 'IGW00102'],
    [{ grant_type: 'client_credentials', appkey: KEY, scope: 'oob' }, 'IGW00104'],
    [{ grant_type: 'client_credentials', appkey: KEY, appsecretkey: SECRET }, 'IGW00109'],
    [{ grant_type: 'client_credentials', appkey: KEY, appsecretkey: SECRET, scope: 'all' }, 'IGW00110'],
  ])('rejects a bad form %j with %s (HTTP 400)', async (fields, code) => {
    const s = await start();
    const res = await issueRaw(s, fields);
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ error_code: code, error_description: expect.any(String) });
  });

  it('rejects a non-form content type with IGW00132 (HTTP 400)', async () => {
    const s = await start();
    const res = await fetch(`${s.url}/oauth2/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ grant_type: 'client_credentials', appkey: KEY, appsecretkey: SECRET, scope: 'oob' }),
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error_code: string }).error_code).toBe('IGW00132');
    // a charset parameter on the form type is fine
    const ok = await issueRaw(
      s,
      { grant_type: 'client_credentials', appkey: KEY, appsecretkey: SECRET, scope: 'oob' },
      { headers: { 'content-type': 'application/x-www-form-urlencoded; charset=UTF-8' } },
    );
    expect(ok.status).toBe(200);
    expect(s.stats().issued).toBe(1);
  });

  it('minIssueIntervalMs answers IGW00201 per app key until the interval has passed', async () => {
    let t = 1_700_000_000_000;
    const s = await start({ minIssueIntervalMs: 60_000, now: () => t });
    expect((await issue(s)).status).toBe(200);
    t += 30_000;
    const limited = await issue(s);
    expect(limited.status).toBe(403);
    expect(limited.headers.get('retry-after')).toBe('30');
    expect(await limited.json()).toEqual({ error_code: 'IGW00201', error_description: expect.any(String) });
    expect((await issue(s, 'other-key', 'other-secret')).status).toBe(200);
    t += 30_000;
    expect((await issue(s)).status).toBe(200);
    expect(s.stats()).toMatchObject({ issued: 3, faultsInjected: 0 });
  });
});

describe('POST /oauth2/revoke', () => {
  it('revokes an active token (code as a number by default) and answers IGW00121 the second time', async () => {
    const s = await start();
    const token = await issueToken(s);
    expect(token.length).toBeGreaterThan(256); // the 256 limit of the page must not be enforced
    const res = await revoke(s, token);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(await res.json()).toEqual({ code: 200, message: '접근토큰 폐기에 성공하였습니다.' });
    expect(s.isActive(token)).toBe(false);

    const again = await revoke(s, token);
    expect(again.status).toBe(401);
    expect(await again.json()).toEqual({ rsp_cd: 'IGW00121', rsp_msg: '유효하지 않은 토큰입니다.' });
    expect(s.stats()).toMatchObject({ revokeRequests: 2, revoked: 1, active: 0 });
  });

  it("answers code \"200\" with revokeCode 'string'", async () => {
    const s = await start({ revokeCode: 'string' });
    const token = await issueToken(s);
    expect(await (await revoke(s, token)).json()).toEqual({ code: '200', message: '접근토큰 폐기에 성공하였습니다.' });
  });

  it('answers IGW00121 for unknown, invalidated, server-revoked and foreign tokens, without killing them', async () => {
    const s = await start();
    const first = await issueToken(s);
    const second = await issueToken(s); // invalidates `first`
    const foreign = await issueToken(s, 'other-key', 'other-secret');
    for (const [token, appkey] of [
      ['x'.repeat(1000), KEY],
      [first, KEY],
      [foreign, KEY], // token of another app key
    ] as const) {
      const res = await revoke(s, token, appkey);
      expect(res.status).toBe(401);
      expect(((await res.json()) as { rsp_cd: string }).rsp_cd).toBe('IGW00121');
    }
    expect(s.isActive(foreign)).toBe(true);
    expect(s.revokeToken(second)).toBe(true);
    expect(s.revokeToken(second)).toBe(false);
    expect((await revoke(s, second)).status).toBe(401);
    expect(s.stats()).toMatchObject({ revoked: 0, active: 1 });
  });

  it('checks token_type_hint, credentials and content type', async () => {
    const s = await start({ credentials: [{ appKey: KEY, appSecretKey: SECRET }] });
    const token = await issueToken(s);
    const badHint = await revoke(s, token, KEY, SECRET, 'id_token');
    expect(badHint.status).toBe(400);
    expect(((await badHint.json()) as { rsp_cd: string }).rsp_cd).toBe('IGW00117');
    const badKey = await revoke(s, token, 'nope', SECRET);
    expect(badKey.status).toBe(403);
    expect(((await badKey.json()) as { rsp_cd: string }).rsp_cd).toBe('IGW00103');
    const badSecret = await revoke(s, token, KEY, 'wrong');
    expect(badSecret.status).toBe(403);
    expect(((await badSecret.json()) as { rsp_cd: string }).rsp_cd).toBe('IGW00105');
    const json = await fetch(`${s.url}/oauth2/revoke`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ appkey: KEY, appsecretkey: SECRET, token_type_hint: 'access_token', token }),
    });
    expect(json.status).toBe(400);
    expect(((await json.json()) as { rsp_cd: string }).rsp_cd).toBe('IGW00132');
    expect(s.isActive(token)).toBe(true);
    const refreshHint = await revoke(s, token, KEY, SECRET, 'refresh_token');
    expect(refreshHint.status).toBe(200);
  });
});

describe('TR endpoint (any other POST path)', () => {
  it('answers 00000 with the echoed body for an active token, IGW00121 with HTTP 200 otherwise', async () => {
    const s = await start();
    const token = await issueToken(s);
    const ok = await tr(s, token, { hello: '세계' });
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual({ rsp_cd: '00000', rsp_msg: '정상적으로 조회가 완료되었습니다.', echo: { hello: '세계' } });

    const noAuth = await tr(s, undefined);
    expect(noAuth.status).toBe(200);
    expect(((await noAuth.json()) as { rsp_cd: string }).rsp_cd).toBe('IGW00121');

    const notJson = await fetch(`${s.url}/stock/price`, { method: 'POST', headers: { authorization: `Bearer ${token}` }, body: 'x=1' });
    expect(await notJson.json()).toEqual({ rsp_cd: '00000', rsp_msg: expect.any(String), echo: null });

    s.revokeToken(token);
    const dead = await tr(s, token);
    expect(dead.status).toBe(200);
    expect(((await dead.json()) as { rsp_cd: string }).rsp_cd).toBe('IGW00121');
    expect(s.stats()).toMatchObject({ trRequests: 4, tokenRequests: 1, revokeRequests: 0 });
  });

  it('answers 404 to non-POST requests', async () => {
    const s = await start();
    expect((await fetch(`${s.url}/oauth2/token`)).status).toBe(404);
  });
});

describe('faults', () => {
  it('http500 applies to the next `count` matching calls only, with a JSON body in the token endpoint\'s shape', async () => {
    const s = await start();
    s.inject({ endpoint: 'token', kind: 'http500', count: 2 });
    for (let i = 0; i < 2; i++) {
      const res = await issue(s);
      expect(res.status).toBe(500);
      expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8');
      expect(await res.json()).toEqual({ error_code: 'IGW00002', error_description: expect.any(String) });
    }
    expect((await issue(s)).status).toBe(200);
    expect(s.stats()).toMatchObject({ tokenRequests: 3, issued: 1, faultsInjected: 2 });
  });

  it('http500 answers rsp_cd/rsp_msg on revoke and TR calls (TR with tr_cont headers), with the given 5xx status', async () => {
    const s = await start();
    s.inject({ endpoint: 'revoke', kind: 'http500' });
    s.inject({ endpoint: 'tr', kind: 'http500', status: 503 });
    const rev = await revoke(s, 'x');
    expect(rev.status).toBe(500);
    expect(await rev.json()).toEqual({ rsp_cd: 'IGW00002', rsp_msg: expect.any(String) });
    const trRes = await tr(s, 'x');
    expect(trRes.status).toBe(503);
    expect(trRes.headers.get('tr_cont')).toBe('N');
    expect(trRes.headers.get('tr_cont_key')).toBe('');
    expect(await trRes.json()).toEqual({ rsp_cd: 'IGW00002', rsp_msg: expect.any(String) });
  });

  it('http500-text answers a raw text/plain 5xx without an LS code or TR headers', async () => {
    const s = await start();
    s.inject({ endpoint: 'any', kind: 'http500-text', count: 2 });
    const res = await issue(s);
    expect(res.status).toBe(500);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(await res.text()).toBe('Internal Server Error');
    const trRes = await tr(s, 'x');
    expect(trRes.status).toBe(500);
    expect(trRes.headers.get('tr_cont')).toBeNull();
    expect((await issue(s)).status).toBe(200);
  });

  it('count defaults to 1, and faults only hit their endpoint', async () => {
    const s = await start();
    s.inject({ endpoint: 'revoke', kind: 'http500' });
    const token = await issueToken(s);
    expect((await tr(s, token)).status).toBe(200);
    expect((await revoke(s, token)).status).toBe(500);
    expect(s.isActive(token)).toBe(true);
    expect((await revoke(s, token)).status).toBe(200);
  });

  it("'any' matches every endpoint", async () => {
    const s = await start();
    s.inject({ endpoint: 'any', kind: 'http500', count: 3 });
    expect((await issue(s)).status).toBe(500);
    expect((await revoke(s, 'x')).status).toBe(500);
    expect((await tr(s, 'x')).status).toBe(500);
    expect((await issue(s)).status).toBe(200);
  });

  it('rate-limit answers 403 IGW00201 with Retry-After', async () => {
    const s = await start();
    s.inject({ endpoint: 'token', kind: 'rate-limit', retryAfterS: 2 });
    s.inject({ endpoint: 'tr', kind: 'rate-limit' });
    const res = await issue(s);
    expect(res.status).toBe(403);
    expect(res.headers.get('retry-after')).toBe('2');
    // the token endpoint's shape, the same as the mock's own issue-interval limit
    expect(await res.json()).toEqual({ error_code: 'IGW00201', error_description: '초당 거래건수를 초과하였습니다.' });
    const trRes = await tr(s, 'x');
    expect(trRes.status).toBe(403);
    expect(trRes.headers.get('retry-after')).toBeNull();
    expect(await trRes.json()).toEqual({ rsp_cd: 'IGW00201', rsp_msg: '초당 거래건수를 초과하였습니다.' });
  });

  it('invalid-token on revoke answers 401 IGW00121 and leaves the token alive', async () => {
    const s = await start();
    const token = await issueToken(s);
    s.inject({ endpoint: 'revoke', kind: 'invalid-token' });
    const res = await revoke(s, token);
    expect(res.status).toBe(401);
    expect(await res.json()).toEqual({ rsp_cd: 'IGW00121', rsp_msg: expect.any(String) });
    expect(s.isActive(token)).toBe(true);
    expect(s.stats()).toMatchObject({ revoked: 0, faultsInjected: 1 });
  });

  it('malformed answers 200 JSON with a truncated body', async () => {
    const s = await start();
    s.inject({ endpoint: 'token', kind: 'malformed' });
    const res = await issue(s);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    const text = await res.text();
    expect(text).toBe('{"access_tok');
    expect(() => JSON.parse(text)).toThrow();
    expect(s.stats().issued).toBe(0);
  });

  it('reset destroys the connection without an answer; the next call works', async () => {
    const s = await start();
    s.inject({ endpoint: 'token', kind: 'reset' });
    await expect(issue(s)).rejects.toThrow();
    expect(s.stats()).toMatchObject({ issued: 0, faultsInjected: 1 });
    expect((await issue(s)).status).toBe(200);
    await waitFor(() => s.stats().inflight === 0);
  });

  it('rate draws from the seeded RNG on each matching call until removed', async () => {
    const s = await start({ random: seededRandom(42) });
    const remove = s.inject({ endpoint: 'tr', kind: 'http500', rate: 0.5 });
    const replay = seededRandom(42);
    const expected = Array.from({ length: 20 }, () => (replay() < 0.5 ? 500 : 200));
    expect(new Set(expected).size).toBe(2); // the seed gives both outcomes
    const got: number[] = [];
    for (let i = 0; i < 20; i++) got.push((await tr(s, 'x')).status);
    expect(got).toEqual(expected);
    expect(s.stats().faultsInjected).toBe(expected.filter((x) => x === 500).length);
    remove();
    for (let i = 0; i < 5; i++) expect((await tr(s, 'x')).status).toBe(200);
  });

  it('rate with count stops after count hits; clearFaults removes everything', async () => {
    const s = await start({ random: () => 0 });
    s.inject({ endpoint: 'tr', kind: 'http500', rate: 1, count: 2 });
    expect((await tr(s, 'x')).status).toBe(500);
    expect((await tr(s, 'x')).status).toBe(500);
    expect((await tr(s, 'x')).status).toBe(200);
    s.inject({ endpoint: 'any', kind: 'http500', rate: 1 });
    expect((await tr(s, 'x')).status).toBe(500);
    s.clearFaults();
    expect((await tr(s, 'x')).status).toBe(200);
  });

  it('rejects invalid faults', async () => {
    const s = await start();
    expect(() => s.inject({ endpoint: 'token', kind: 'http500', rate: 1.5 })).toThrow(LsTokenError);
    expect(() => s.inject({ endpoint: 'token', kind: 'http500', count: 0 })).toThrow(LsTokenError);
    expect(() => s.inject({ endpoint: 'nope' as 'token', kind: 'http500' })).toThrow(LsTokenError);
  });

  it('hang with hangMs holds the request, then answers normally', async () => {
    const s = await start();
    s.inject({ endpoint: 'token', kind: 'hang', hangMs: 60 });
    const t0 = performance.now();
    const res = await issue(s);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(50);
    expect(res.status).toBe(200);
    expect(s.stats()).toMatchObject({ issued: 1, faultsInjected: 1 });
  });

  it('hang without hangMs never answers; a client abort ends it without issuing', async () => {
    const s = await start();
    s.inject({ endpoint: 'token', kind: 'hang' });
    const ac = new AbortController();
    const pending = issue(s, KEY, SECRET, { signal: ac.signal });
    await waitFor(() => s.stats().inflight === 1);
    ac.abort();
    await expect(pending).rejects.toThrow();
    await waitFor(() => s.stats().inflight === 0);
    expect(s.stats().issued).toBe(0);
    expect((await issue(s)).status).toBe(200);
  });

  it('tracks concurrent revokes in maxInflightRevokes', async () => {
    const s = await start();
    const token = await issueToken(s);
    s.inject({ endpoint: 'revoke', kind: 'hang', count: 3 });
    const ac = new AbortController();
    const pending = [1, 2, 3].map(() => revoke(s, token, KEY, SECRET, 'access_token', { signal: ac.signal }).catch(() => 'aborted'));
    await waitFor(() => s.stats().inflight === 3);
    expect(s.stats().maxInflightRevokes).toBe(3);
    ac.abort();
    expect(await Promise.all(pending)).toEqual(['aborted', 'aborted', 'aborted']);
    await waitFor(() => s.stats().inflight === 0);
    expect((await revoke(s, token)).status).toBe(200);
    expect(s.stats()).toMatchObject({ maxInflightRevokes: 3, revokeRequests: 4, revoked: 1 });
  });
});

describe('latency, stats and close', () => {
  it('latencyMs delays every answer, faults included', async () => {
    const s = await start({ latencyMs: 40 });
    let t0 = performance.now();
    expect((await issue(s)).status).toBe(200);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(35);
    s.inject({ endpoint: 'token', kind: 'http500' });
    t0 = performance.now();
    expect((await issue(s)).status).toBe(500);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(35);
  });

  it('counts requests, issuance, revocation and faults; resetStats zeroes the counters', async () => {
    const s = await start();
    const a = await issueToken(s);
    await issueToken(s, 'k2', 's2');
    await revoke(s, a);
    await tr(s, a);
    s.inject({ endpoint: 'tr', kind: 'http500' });
    await tr(s, a);
    expect(s.stats()).toEqual({
      tokenRequests: 2,
      revokeRequests: 1,
      trRequests: 2,
      issued: 2,
      revoked: 1,
      active: 1,
      faultsInjected: 1,
      inflight: 0,
      maxInflightRevokes: 1,
    });
    s.resetStats();
    expect(s.stats()).toEqual({
      tokenRequests: 0,
      revokeRequests: 0,
      trRequests: 0,
      issued: 0,
      revoked: 0,
      active: 1,
      faultsInjected: 0,
      inflight: 0,
      maxInflightRevokes: 0,
    });
  });

  it('close() resolves promptly with a hung request and an idle keep-alive connection', async () => {
    const s = await startMockLsServer();
    expect((await issue(s)).status).toBe(200); // leaves a keep-alive socket in fetch's pool
    s.inject({ endpoint: 'any', kind: 'hang' });
    const hung = new Promise<string>((resolve) => {
      const req = httpRequest(`${s.url}/oauth2/token`, { method: 'POST', headers: FORM }, () => resolve('answered'));
      req.on('error', (err) => resolve(`error: ${(err as NodeJS.ErrnoException).code ?? err.message}`));
      req.end('grant_type=client_credentials');
    });
    await waitFor(() => s.stats().inflight === 1);
    const t0 = performance.now();
    await s.close();
    expect(performance.now() - t0).toBeLessThan(1000);
    expect(await hung).toMatch(/^error: /);
    await s.close(); // idempotent
    await expect(issue(s)).rejects.toThrow();
  });

  it('close() clears a pending hangMs timer (no leaked timer keeps the answer coming)', async () => {
    const s = await startMockLsServer();
    const setSpy = jest.spyOn(globalThis, 'setTimeout');
    const clearSpy = jest.spyOn(globalThis, 'clearTimeout');
    s.inject({ endpoint: 'token', kind: 'hang', hangMs: 60_000 });
    const pending = issue(s).then(
      () => 'answered',
      () => 'failed',
    );
    await waitFor(() => s.stats().inflight === 1);
    const hangTimers = setSpy.mock.calls.flatMap((call, i) => (call[1] === 60_000 ? [setSpy.mock.results[i]!.value as NodeJS.Timeout] : []));
    expect(hangTimers).toHaveLength(1);
    expect(clearSpy).not.toHaveBeenCalledWith(hangTimers[0]);
    await s.close();
    expect(clearSpy).toHaveBeenCalledWith(hangTimers[0]);
    setSpy.mockRestore();
    clearSpy.mockRestore();
    expect(await pending).toBe('failed');
    expect(s.stats().issued).toBe(0);
  });

  it('validates options', async () => {
    await expect(startMockLsServer({ cutoffKst: '7:00' })).rejects.toThrow(LsTokenError);
    await expect(startMockLsServer({ tokenLifetimeS: 0 })).rejects.toThrow(LsTokenError);
    await expect(startMockLsServer({ reissue: 'x' as 'independent' })).rejects.toThrow(LsTokenError);
  });
});
