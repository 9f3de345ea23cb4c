/**
 * Regression guard for issue #23: the fault answers public clients already understand keep their
 * shape (status, body fields, codes) while the mocks gain TR headers and TR tables. One case per
 * broker and shape: a server error (500), a rate limit, a dead token.
 */
import { afterEach, describe, expect, it } from '@jest/globals';
import { startMockKisServer, startMockKiwoomServer, startMockLsServer, type MockHttpServer } from '../../src/testing/index.js';
import { form, json, send, type RawAnswer } from '../helpers/raw-http.js';

const T0 = Date.UTC(2026, 11, 1, 3, 0, 0); // 12:00 KST, pinned
const now = (): number => T0;
const KEY = 'PSd7orrAJnAfr202g4MpbzVxwqPBjjkvjLf2';
const SECRET = 'puQoMSRYZwOHt8goiEHbOazdBqLRUyYA';

const servers: MockHttpServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

const shape = (r: RawAnswer): [number, unknown] => [r.status, r.json];

describe('LS', () => {
  async function setup(): Promise<{ s: Awaited<ReturnType<typeof startMockLsServer>>; token: (body?: string) => Promise<RawAnswer>; tr: (tok: string) => Promise<RawAnswer> }> {
    const s = await startMockLsServer({ now });
    servers.push(s);
    const token = (): Promise<RawAnswer> =>
      send(s.url, { path: '/oauth2/token', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: form({ grant_type: 'client_credentials', appkey: KEY, appsecretkey: SECRET, scope: 'oob' }) });
    const tr = (tok: string): Promise<RawAnswer> => send(s.url, { path: '/stock/market-data', headers: { 'content-type': 'application/json', authorization: `Bearer ${tok}`, tr_cd: 't1102' }, body: json({ t1102InBlock: { shcode: '005930' } }) });
    return { s, token, tr };
  }

  it('500: error_code IGW00002 on the token endpoint, rsp_cd IGW00002 on a TR (with the TR headers)', async () => {
    const { s, token, tr } = await setup();
    const live = (await token()).json!['access_token'] as string;
    s.inject({ endpoint: 'any', kind: 'http500', count: 2 });
    expect(shape(await token())).toEqual([500, { error_code: 'IGW00002', error_description: '서버 에러가 발생했습니다.' }]);
    const t = await tr(live);
    expect(shape(t)).toEqual([500, { rsp_cd: 'IGW00002', rsp_msg: '서버 에러가 발생했습니다.' }]);
    expect([t.headers['tr_cont'], t.headers['tr_cont_key']]).toEqual(['N', '']);
  });

  it('rate limit: HTTP 403 IGW00201 with Retry-After', async () => {
    const { s, token } = await setup();
    s.inject({ endpoint: 'token', kind: 'rate-limit', count: 1, retryAfterS: 3 });
    const r = await token();
    expect(shape(r)).toEqual([403, { error_code: 'IGW00201', error_description: '초당 거래건수를 초과하였습니다.' }]);
    expect(r.headers['retry-after']).toBe('3');
  });

  it('dead token: a TR answers HTTP 200 rsp_cd IGW00121 (revoked) / IGW00123 (expired); revoke answers 401 IGW00121', async () => {
    const { s, token, tr } = await setup();
    const live = (await token()).json!['access_token'] as string;
    s.revokeToken(live);
    expect(shape(await tr(live))).toEqual([200, { rsp_cd: 'IGW00121', rsp_msg: '유효하지 않은 토큰입니다.' }]);
    const fresh = (await token()).json!['access_token'] as string;
    s.model.setClockOffset(25 * 3_600_000);
    expect(shape(await tr(fresh))).toEqual([200, { rsp_cd: 'IGW00123', rsp_msg: '만료된 토큰입니다.' }]);
    const rev = await send(s.url, { path: '/oauth2/revoke', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: form({ appkey: KEY, appsecretkey: SECRET, token_type_hint: 'access_token', token: live }) });
    expect(shape(rev)).toEqual([401, { rsp_cd: 'IGW00121', rsp_msg: '유효하지 않은 토큰입니다.' }]);
  });
});

describe('KIS', () => {
  async function setup(): Promise<{ s: Awaited<ReturnType<typeof startMockKisServer>>; token: () => Promise<RawAnswer>; tr: (tok: string) => Promise<RawAnswer> }> {
    const s = await startMockKisServer({ now, minIssueIntervalMs: 0 });
    servers.push(s);
    const token = (): Promise<RawAnswer> => send(s.url, { path: '/oauth2/tokenP', headers: { 'content-type': 'application/json' }, body: json({ grant_type: 'client_credentials', appkey: KEY, appsecret: SECRET }) });
    const tr = (tok: string): Promise<RawAnswer> =>
      send(s.url, { method: 'GET', path: '/uapi/domestic-stock/v1/quotations/inquire-price', query: { FID_COND_MRKT_DIV_CODE: 'J', FID_INPUT_ISCD: '005930' }, headers: { authorization: `Bearer ${tok}`, appkey: KEY, appsecret: SECRET, tr_id: 'FHKST01010100' } });
    return { s, token, tr };
  }

  it('500: error_code EGW00002 on the token endpoint, rt_cd "1" msg_cd EGW00002 on a TR', async () => {
    const { s, token, tr } = await setup();
    const live = (await token()).json!['access_token'] as string;
    s.inject({ endpoint: 'any', kind: 'http500', count: 2 });
    expect(shape(await token())).toEqual([500, { error_code: 'EGW00002', error_description: '서버 에러가 발생했습니다.' }]);
    expect(shape(await tr(live))).toEqual([500, { rt_cd: '1', msg_cd: 'EGW00002', msg1: '서버 에러가 발생했습니다.' }]);
  });

  it('rate limit: 403 EGW00133 on the token endpoint (once a minute), 500 EGW00201 on a TR', async () => {
    const { s, token, tr } = await setup();
    const live = (await token()).json!['access_token'] as string;
    s.inject({ endpoint: 'token', kind: 'rate-limit', count: 1 });
    s.inject({ endpoint: 'tr', kind: 'rate-limit', count: 1 });
    expect(shape(await token())).toEqual([403, { error_code: 'EGW00133', error_description: '접근토큰 발급 잠시 후 다시 시도하세요(1분당 1회)' }]);
    expect(shape(await tr(live))).toEqual([500, { rt_cd: '1', msg_cd: 'EGW00201', msg1: '초당 거래건수를 초과하였습니다.' }]);
  });

  it('dead token: a TR answers HTTP 500 rt_cd "1" EGW00121 (revoked) / EGW00123 (expired)', async () => {
    const { s, token, tr } = await setup();
    const live = (await token()).json!['access_token'] as string;
    s.revokeToken(live);
    expect(shape(await tr(live))).toEqual([500, { rt_cd: '1', msg_cd: 'EGW00121', msg1: '유효하지 않은 token 입니다.' }]);
    s.model.setClockOffset(7 * 3_600_000);
    const fresh = (await token()).json!['access_token'] as string;
    s.model.setClockOffset(32 * 3_600_000);
    expect(shape(await tr(fresh))).toEqual([500, { rt_cd: '1', msg_cd: 'EGW00123', msg1: '기간이 만료된 token 입니다.' }]);
  });
});

describe('Kiwoom', () => {
  async function setup(): Promise<{ s: Awaited<ReturnType<typeof startMockKiwoomServer>>; token: () => Promise<RawAnswer>; tr: (tok: string) => Promise<RawAnswer> }> {
    const s = await startMockKiwoomServer({ now });
    servers.push(s);
    const token = (): Promise<RawAnswer> => send(s.url, { path: '/oauth2/token', headers: { 'content-type': 'application/json' }, body: json({ grant_type: 'client_credentials', appkey: KEY, secretkey: SECRET }) });
    const tr = (tok: string): Promise<RawAnswer> => send(s.url, { path: '/api/dostk/stkinfo', headers: { 'content-type': 'application/json', authorization: `Bearer ${tok}`, 'api-id': 'ka10001' }, body: json({ stk_cd: '005930' }) });
    return { s, token, tr };
  }

  it('500: return_code 7 without a bracketed code, on the token endpoint and a TR alike', async () => {
    const { s, token, tr } = await setup();
    const live = (await token()).json!['token'] as string;
    s.inject({ endpoint: 'any', kind: 'http500', count: 2 });
    expect(shape(await token())).toEqual([500, { return_code: 7, return_msg: '서비스 오류가 발생했습니다' }]);
    expect(shape(await tr(live))).toEqual([500, { return_code: 7, return_msg: '서비스 오류가 발생했습니다' }]);
  });

  it('rate limit: HTTP 200 return_code 5 with [1700:...] in return_msg', async () => {
    const { s, token } = await setup();
    s.inject({ endpoint: 'token', kind: 'rate-limit', count: 1 });
    expect(shape(await token())).toEqual([200, { return_code: 5, return_msg: '요청 제한을 초과하였습니다[1700:허용된 API 요청 개수를 초과하였습니다. 유량=au10001]' }]);
  });

  it('dead token: a TR answers HTTP 200 return_code 3 with [8005:...] in return_msg', async () => {
    const { s, token, tr } = await setup();
    const live = (await token()).json!['token'] as string;
    s.revokeToken(live);
    expect(shape(await tr(live))).toEqual([200, { return_code: 3, return_msg: '인증에 실패했습니다[8005:Token이 유효하지 않습니다]' }]);
  });
});
