/**
 * The KIS and Kiwoom providers through the generic OAuthClient against their mock models (no
 * socket), and what each provider decides on its own: codes, KST times, local token checks, key
 * scopes, credential limits.
 */
import { inspect } from 'node:util';
import { describe, expect, it } from '@jest/globals';
import axios, { type AxiosAdapter } from 'axios';
import { legacyAppKeyIdFor } from '../../src/providers/provider.js';
import { ErrorCodes, LsTokenError, OAuthClient, appKeyId, appKeyIdFor, kisProvider, kiwoomProvider, lsProvider, rejectedTokenOf, resolveProvider, type ProviderName } from '../../src/index.js';
import { parseKstCompact, parseKstDateTime } from '../../src/providers/kst.js';
import { createKisModel, createKiwoomModel, createLsModel, mockAxiosAdapter, type MockModel } from '../../src/testing/index.js';
import { rejection as failure } from '../helpers/rejection.js';

const T0 = Date.UTC(2024, 2, 15, 3, 0, 0); // 12:00 KST
const KEY = 'PSproviderTestKey0000000000000000001';
const SECRET = 'SENTINEL-APPSECRET-provider-012345';

function client(provider: ProviderName, model: MockModel | AxiosAdapter, now = (): number => T0): OAuthClient {
  const adapter = typeof model === 'function' ? model : mockAxiosAdapter(model);
  return new OAuthClient({ provider, appKey: KEY, appSecretKey: SECRET, baseUrl: 'http://127.0.0.1:9', axios: axios.create({ adapter }), now });
}


/** An adapter answering `status` with `body`, the request body echoed into it (a gateway quoting the request). */
function echoing(status: number, body: (requestBody: string) => unknown): AxiosAdapter {
  return async (config) => {
    const text = JSON.stringify(body(String(config.data)));
    if (config.validateStatus?.(status) === false) throw new Error('unexpected validateStatus');
    return { data: text, status, statusText: '', headers: {}, config, request: {} };
  };
}

describe('KIS through OAuthClient', () => {
  it('issues: the expiry is access_token_token_expired read as KST (= the JWT exp); the JWT claims are read', async () => {
    const c = client('kis', createKisModel({ now: () => T0 }));
    const t = await c.issueToken();
    expect(t.expiresAt).toBe(T0 + 86_400_000);
    expect(t.serverExpiresAt).toBe(T0 + 86_400_000);
    expect(t.lifetimeMs).toBe(86_400_000);
    expect(t.tokenType).toBe('Bearer');
  });

  it('a second issuance within a minute is ERR_RATE_LIMITED EGW00133, retryable after 60 s', async () => {
    const c = client('kis', createKisModel({ now: () => T0 }));
    await c.issueToken();
    const err = await failure(c.issueToken());
    expect([err.code, err.lsCode, err.httpStatus, err.retryable, err.retryAfterMs]).toEqual([ErrorCodes.RATE_LIMITED, 'EGW00133', 403, true, 60_000]);
  });

  it('a wrong secret is ERR_INVALID_CREDENTIALS (EGW00105), an echoed secret never shows', async () => {
    const model = createKisModel({ now: () => T0, credentials: [{ appKey: KEY, appSecretKey: 'the-right-one' }] });
    const err = await failure(client('kis', model).issueToken());
    expect([err.code, err.lsCode, err.retryable]).toEqual([ErrorCodes.INVALID_CREDENTIALS, 'EGW00105', false]);
    const hostile = client('kis', echoing(403, (req) => ({ error_code: 'EGW00105', error_description: `bad: ${req}` })));
    const leak = await failure(hostile.issueToken());
    expect(`${leak.message} ${JSON.stringify(leak)} ${inspect(leak)}`).not.toContain(SECRET);
    expect(leak.message).toContain('[redacted]');
  });

  it('revokes (code 200 or "200"); a dead token is already-invalid (EGW00121/00123); EGW codes in msg_cd are read too', async () => {
    let t = T0;
    const model = createKisModel({ now: () => t, revokeCode: 'string', tokenLifetimeS: 120 });
    const c = client('kis', model, () => t);
    const a = await c.issueToken();
    expect(await c.revokeToken(a.accessToken)).toEqual({ outcome: 'revoked' });
    expect(await c.revokeToken(a.accessToken)).toEqual({ outcome: 'already-invalid' });
    const viaMsgCd = client('kis', echoing(500, () => ({ rt_cd: '1', msg_cd: 'EGW00123', msg1: '기간이 만료된 token 입니다.' })));
    expect(await viaMsgCd.revokeToken(a.accessToken)).toEqual({ outcome: 'already-invalid' });
    const noCode = client('kis', echoing(200, () => ({ message: 'ok?' })));
    expect((await failure(noCode.revokeToken(a.accessToken))).code).toBe(ErrorCodes.BAD_RESPONSE);
  });

  it('an unreadable access_token_token_expired is refused, with the token kept for revocation', async () => {
    const token = 'eyJ0eXAiOiJKV1QiLCJhbGciOiJIUzUxMiJ9.e30.c2ln';
    const c = client('kis', echoing(200, () => ({ access_token: token, access_token_token_expired: '2024/03/16 12:00', token_type: 'Bearer', expires_in: 86400 })));
    const err = await failure(c.issueToken());
    expect([err.code, err.field]).toEqual([ErrorCodes.BAD_RESPONSE, 'access_token_token_expired']);
    expect(rejectedTokenOf(err)).toBe(token);
  });

  it('classifies its codes: fatal configuration (EGW00206/207) is not retried', () => {
    expect(['EGW00121', 'EGW00122', 'EGW00123', 'EGW00103', 'EGW00105', 'EGW00133', 'EGW00201', 'EGW00207', 'EGW99999'].map((c) => kisProvider.classifyCode(c))).toEqual([
      'dead-token',
      'dead-token',
      'dead-token',
      'bad-credentials',
      'bad-credentials',
      'rate-limit',
      'rate-limit',
      'fatal-config',
      undefined,
    ]);
    expect(kisProvider.codeOf('{"rt_cd":"1","msg_cd":"EGW00123"}')).toBe('EGW00123');
  });
});

describe('Kiwoom through OAuthClient', () => {
  it('issues: the expiry is expires_dt read as KST; a re-issue gets the same token with its original expiry', async () => {
    let t = T0;
    const c = client('kiwoom', createKiwoomModel({ now: () => t }), () => t);
    const a = await c.issueToken();
    expect([a.expiresAt, a.serverExpiresAt, a.lifetimeMs]).toEqual([T0 + 86_400_000, T0 + 86_400_000, 86_400_000]);
    t += 4 * 3_600_000;
    const b = await c.issueToken();
    expect(b.accessToken).toBe(a.accessToken);
    expect(b.expiresAt).toBe(a.expiresAt);
    expect(b.lifetimeMs).toBe(20 * 3_600_000);
  });

  it('errors at HTTP 200: the code from return_msg ([8001] credentials, [8005] dead) or from a top-level return_code', async () => {
    const model = createKiwoomModel({ now: () => T0, credentials: [{ appKey: KEY, appSecretKey: 'other' }] });
    const err = await failure(client('kiwoom', model).issueToken());
    expect([err.code, err.lsCode, err.httpStatus]).toEqual([ErrorCodes.INVALID_CREDENTIALS, '8001', 200]);
    const top = createKiwoomModel({ now: () => T0, codePlacement: 'top-level' });
    expect(await client('kiwoom', top).revokeToken('x'.repeat(86))).toEqual({ outcome: 'already-invalid' });
    const limited = createKiwoomModel({ now: () => T0, minIssueIntervalMs: 1000 });
    const lc = client('kiwoom', limited);
    await lc.issueToken();
    const rate = await failure(lc.issueToken());
    expect([rate.code, rate.lsCode, rate.retryable]).toEqual([ErrorCodes.RATE_LIMITED, '1700', true]);
  });

  it('HTTP 200 alone means nothing: no return_code is ERR_BAD_RESPONSE, and a token it carried is kept for revocation', async () => {
    const c = client('kiwoom', echoing(200, () => ({ token: 'WQJCwyqInphKnR3bSRtB9NE1lvOpaqueToken0001', expires_dt: '20240316120000' })));
    const err = await failure(c.issueToken());
    expect([err.code, err.field]).toEqual([ErrorCodes.BAD_RESPONSE, 'return_code']);
    expect(rejectedTokenOf(err)).toBe('WQJCwyqInphKnR3bSRtB9NE1lvOpaqueToken0001');
    const cat = client('kiwoom', echoing(200, () => ({ return_code: 7, return_msg: '서비스 오류' })));
    const svc = await failure(cat.revokeToken('x'.repeat(86)));
    expect([svc.code, svc.lsCode, svc.retryable]).toEqual([ErrorCodes.LS_REJECTED, '7', true]);
  });

  it('classifies its codes: 8030/8031/8040/8050/8103 are fatal configuration', () => {
    expect(['8005', '8003', '8001', '1700', '8030', '8103', '8006', '8016', '5', '9999'].map((c) => kiwoomProvider.classifyCode(c))).toEqual([
      'dead-token',
      'dead-token',
      'bad-credentials',
      'rate-limit',
      'fatal-config',
      'fatal-config',
      'retry-later',
      'rejected',
      'rate-limit',
      undefined,
    ]);
    expect(kiwoomProvider.codeOf({ return_code: 3, return_msg: '인증에 실패했습니다[8005:Token이 유효하지 않습니다]' })).toBe('8005');
    expect(kiwoomProvider.codeOf({ return_code: 0, return_msg: 'ok' })).toBeUndefined();
  });
});

describe('what each provider decides', () => {
  it('reads KST wall-clock times as UTC+9 and refuses impossible ones', () => {
    expect(parseKstDateTime('2023-12-22 08:16:59')).toBe(Date.UTC(2023, 11, 21, 23, 16, 59));
    expect(parseKstCompact('20241107083713')).toBe(Date.UTC(2024, 10, 6, 23, 37, 13));
    for (const bad of ['2024-02-30 00:00:00', '2024-13-01 00:00:00', '2024-01-01T00:00:00', '', 20241107083713]) expect(parseKstDateTime(bad)).toBeUndefined();
    expect(parseKstCompact('20241131000000')).toBeUndefined();
  });

  it('checks access tokens locally: each refuses the others\' tokens', async () => {
    const ls = (await client('ls', createLsModel({ now: () => T0 })).issueToken()).accessToken;
    const kis = (await client('kis', createKisModel({ now: () => T0 })).issueToken()).accessToken;
    const kiwoom = (await client('kiwoom', createKiwoomModel({ now: () => T0 })).issueToken()).accessToken;
    expect(lsProvider.checkAccessToken(ls, KEY).ok).toBe(true);
    expect(kisProvider.checkAccessToken(kis, KEY).ok).toBe(true);
    expect(kiwoomProvider.checkAccessToken(kiwoom, KEY).ok).toBe(true);
    expect(lsProvider.checkAccessToken(kiwoom, KEY).ok).toBe(false);
    expect(kisProvider.checkAccessToken(kiwoom, KEY).ok).toBe(false);
    expect(kiwoomProvider.checkAccessToken(kis, KEY)).toEqual({ ok: false, reason: expect.stringContaining('JWT') });
    expect(kiwoomProvider.checkAccessToken(kiwoom.slice(0, 10), KEY).ok).toBe(false);
  });

  it('scopes store keys by provider and the normalised origin of the base URL', () => {
    const ls = appKeyIdFor(lsProvider, KEY);
    expect(ls).toBe(appKeyId(KEY, 'ls:https://openapi.ls-sec.co.kr:8080'));
    // Same origin however it is spelt: case, path, the scheme's default port.
    expect(appKeyIdFor(lsProvider, KEY, 'HTTPS://OpenAPI.ls-sec.co.kr:8080/oauth2/')).toBe(ls);
    expect(appKeyIdFor(kisProvider, KEY, 'https://openapi.koreainvestment.com:443')).toBe(appKeyIdFor(kisProvider, KEY, 'https://openapi.koreainvestment.com'));
    // Another host (a dev mock, a proxy, a typo) never shares the production keys.
    expect(appKeyIdFor(lsProvider, KEY, 'http://127.0.0.1:9')).not.toBe(ls);
    expect(appKeyIdFor(lsProvider, KEY, 'http://127.0.0.1:9')).not.toBe(appKeyIdFor(lsProvider, KEY, 'http://127.0.0.1:10'));
    const real = appKeyIdFor(kisProvider, KEY);
    const mock = appKeyIdFor(kisProvider, KEY, 'https://openapivts.koreainvestment.com:29443');
    expect(new Set([ls, appKeyId(KEY), real, mock, appKeyIdFor(kiwoomProvider, KEY), appKeyIdFor(kiwoomProvider, KEY, 'https://mockapi.kiwoom.com')]).size).toBe(6);
    expect(appKeyIdFor(kisProvider, KEY, 'http://127.0.0.1:8080')).not.toBe(real);
    // What 0.1.x used, for the migration: LS unscoped, KIS and Kiwoom by environment.
    expect(legacyAppKeyIdFor(lsProvider, KEY, 'http://127.0.0.1:9')).toBe(appKeyId(KEY));
    expect(legacyAppKeyIdFor(kisProvider, KEY, 'http://127.0.0.1:8080')).toBe(appKeyId(KEY, 'kis:real'));
  });

  it('applies each provider\'s credential limits (KIS appsecret up to 180; LS appsecretkey up to 36)', () => {
    expect(() => new OAuthClient({ provider: 'kis', appKey: KEY, appSecretKey: 'x'.repeat(180) })).not.toThrow();
    expect(() => new OAuthClient({ provider: 'kis', appKey: KEY, appSecretKey: 'x'.repeat(181) })).toThrow('at most 180');
    expect(() => new OAuthClient({ provider: 'ls', appKey: KEY, appSecretKey: 'x'.repeat(37) })).toThrow('at most 36');
    expect(new OAuthClient({ provider: 'kiwoom', appKey: KEY, appSecretKey: SECRET }).baseUrl).toBe('https://api.kiwoom.com');
    expect(new OAuthClient({ provider: 'kis', appKey: KEY, appSecretKey: SECRET }).toJSON()).toMatchObject({ provider: 'kis', baseUrl: 'https://openapi.koreainvestment.com:9443' });
  });

  it('resolveProvider refuses unknown names and incomplete definitions, naming the field', () => {
    expect(resolveProvider(undefined)).toBe(lsProvider);
    expect(() => resolveProvider('toss')).toThrow('"provider"');
    expect(() => resolveProvider('constructor')).toThrow('"provider"');
    expect(() => resolveProvider({ ...kisProvider, parseIssue: undefined })).toThrow('"provider.parseIssue"');
    expect(() => resolveProvider({ ...kisProvider, id: 'KIS!' })).toThrow('"provider.id"');
    expect(resolveProvider({ ...kisProvider, id: 'kis-proxy' }).id).toBe('kis-proxy');
  });
});
