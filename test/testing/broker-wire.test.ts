/**
 * The mocks on the wire as the brokers write it (issue #23): LS's OAuth form read from the query
 * string when the body has none, header names in the brokers' case (standard ones canonical, the
 * brokers' own as they spell them) on every TR answer, paged and failed ones included, the TR
 * tables' two-page continuation, and the `trRoutes` option of each mock.
 */
import { afterEach, describe, expect, it } from '@jest/globals';
import axios from 'axios';
import {
  createKisModel,
  mockAxiosAdapter,
  startMockKisServer,
  startMockKiwoomServer,
  startMockLsServer,
  type KisTrRoute,
  type KiwoomTrRoute,
  type MockHttpServer,
  type MockTrRoute,
} from '../../src/testing/index.js';
import { form, json, send, type RawAnswer } from '../helpers/raw-http.js';

const T0 = Date.UTC(2026, 11, 1, 3, 0, 0); // 12:00 KST, pinned
const now = (): number => T0;
const KEY = 'PSd7orrAJnAfr202g4MpbzVxwqPBjjkvjLf2';
const SECRET = 'puQoMSRYZwOHt8goiEHbOazdBqLRUyYA';

const servers: MockHttpServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});
async function track<S extends MockHttpServer>(p: Promise<S>): Promise<S> {
  const s = await p;
  servers.push(s);
  return s;
}

const FORM = { 'content-type': 'application/x-www-form-urlencoded' };
const lsTokenForm = (appkey = KEY): Record<string, string> => ({ grant_type: 'client_credentials', appkey, appsecretkey: SECRET, scope: 'oob' });

async function lsToken(url: string): Promise<string> {
  const res = await send(url, { path: '/oauth2/token', headers: FORM, body: form(lsTokenForm()) });
  return res.json!['access_token'] as string;
}

/** Standard names must go out canonical; the broker's own exactly as listed. */
function expectNames(res: RawAnswer, own: string[]): void {
  expect(res.rawNames).toEqual(expect.arrayContaining(['Content-Type', 'Content-Length', 'Date', ...own]));
  const lowerCase = res.rawNames.filter((n) => n === n.toLowerCase());
  expect(lowerCase.sort()).toEqual([...own].sort());
}

describe('LS: the OAuth form from the query string', () => {
  it('issues and revokes with the form in the query string and an empty or "null" body (as requests.post(url, params=...) sends)', async () => {
    const s = await track(startMockLsServer({ now }));
    const issued = await send(s.url, { path: '/oauth2/token', query: lsTokenForm(), headers: FORM, body: 'null' });
    expect(issued.status).toBe(200);
    const token = issued.json!['access_token'] as string;
    expect(s.isActive(token)).toBe(true);
    const revoked = await send(s.url, { path: '/oauth2/revoke', query: { appkey: KEY, appsecretkey: SECRET, token_type_hint: 'access_token', token }, headers: FORM });
    expect([revoked.status, revoked.json!['code']]).toEqual([200, 200]);
    expect(s.isActive(token)).toBe(false);
  });

  it('the body wins when both carry the form', async () => {
    const s = await track(startMockLsServer({ now }));
    const res = await send(s.url, { path: '/oauth2/token', query: lsTokenForm('QUERY-KEY'), headers: FORM, body: form(lsTokenForm('BODY-KEY')) });
    expect(s.model.tokenInfo(res.json!['access_token'] as string)?.appKey).toBe('BODY-KEY');
    // A body with the form but no grant_type is still the body's: the query does not fill it in.
    const partial = await send(s.url, { path: '/oauth2/token', query: lsTokenForm(), headers: FORM, body: form({ appkey: KEY, appsecretkey: SECRET, scope: 'oob' }) });
    expect([partial.status, partial.json!['error_code']]).toEqual([400, 'IGW00115']);
  });
});

describe('header names as the brokers write them', () => {
  it('LS: Content-Type, Content-Length, Date canonical; tr_cd, tr_cont, tr_cont_key on every TR answer, both pages and errors', async () => {
    const s = await track(startMockLsServer({ now }));
    expectNames(await send(s.url, { path: '/oauth2/token', headers: FORM, body: form(lsTokenForm()) }), []);
    const token = await lsToken(s.url);
    const tr = (trCont: string, key: string, auth = token): Promise<RawAnswer> =>
      send(s.url, {
        path: '/stock/chart',
        headers: { 'Content-Type': 'application/json; charset=utf-8', authorization: `Bearer ${auth}`, tr_cd: 't8410', tr_cont: trCont, tr_cont_key: key },
        body: json({ t8410InBlock: { shcode: '005930', gubun: '2', qrycnt: 2, sdate: '', edate: '', cts_date: '', comp_yn: 'N', sujung: 'Y' } }),
      });
    const first = await tr('N', '');
    expectNames(first, ['tr_cd', 'tr_cont', 'tr_cont_key']);
    expect([first.headers['tr_cd'], first.headers['tr_cont']]).toEqual(['t8410', 'Y']);
    const second = await tr('Y', first.headers['tr_cont_key']!);
    expectNames(second, ['tr_cd', 'tr_cont', 'tr_cont_key']);
    expect(second.headers['tr_cont']).toBe('N');
    const dead = await tr('N', '', 'not-a-token');
    expectNames(dead, ['tr_cd', 'tr_cont', 'tr_cont_key']);
    expect(dead.json!['rsp_cd']).toBe('IGW00121');
  });

  it('KIS: tr_id, tr_cont, gt_uid on every TR answer, both pages, the stand-in and errors; nothing else in lower case', async () => {
    const s = await track(startMockKisServer({ now }));
    const tok = await send(s.url, { path: '/oauth2/tokenP', headers: { 'content-type': 'application/json' }, body: json({ grant_type: 'client_credentials', appkey: KEY, appsecret: SECRET }) });
    expectNames(tok, []);
    const token = tok.json!['access_token'] as string;
    const get = (path: string, trId: string, query: Record<string, string>, trCont = '', auth = token): Promise<RawAnswer> =>
      send(s.url, { method: 'GET', path, query, headers: { 'content-type': 'application/json', authorization: `Bearer ${auth}`, appkey: KEY, appsecret: SECRET, tr_id: trId, tr_cont: trCont, custtype: 'P' } });
    const balance = '/uapi/domestic-stock/v1/trading/inquire-balance';
    const page1 = await get(balance, 'TTTC8434R', { CANO: '12345678', ACNT_PRDT_CD: '01', CTX_AREA_FK100: '', CTX_AREA_NK100: '' });
    expectNames(page1, ['tr_id', 'tr_cont', 'gt_uid']);
    expect([page1.headers['tr_id'], page1.headers['tr_cont'], page1.headers['gt_uid']]).toEqual(['TTTC8434R', 'M', expect.stringMatching(/^[0-9A-F]{32}$/)]);
    const page2 = await get(balance, 'TTTC8434R', { CANO: '12345678', ACNT_PRDT_CD: '01', CTX_AREA_FK100: page1.json!['ctx_area_fk100'] as string, CTX_AREA_NK100: page1.json!['ctx_area_nk100'] as string }, 'N');
    expectNames(page2, ['tr_id', 'tr_cont', 'gt_uid']);
    expect(page2.headers['tr_cont']).toBe('D');
    expect(page2.headers['gt_uid']).not.toBe(page1.headers['gt_uid']);
    const standIn = await get('/uapi/domestic-stock/v1/quotations/inquire-ccnl', 'FHKST01010300', { FID_INPUT_ISCD: '005930' });
    expectNames(standIn, ['tr_id', 'tr_cont', 'gt_uid']);
    const dead = await get('/uapi/domestic-stock/v1/quotations/inquire-price', 'FHKST01010100', {}, '', 'dead');
    expectNames(dead, ['tr_id', 'tr_cont', 'gt_uid']);
    expect([dead.status, dead.json!['msg_cd'], dead.headers['tr_id']]).toEqual([500, 'EGW00121', 'FHKST01010100']);
  });

  it('Kiwoom: api-id, cont-yn, next-key on every TR answer, both pages, the stand-in and errors', async () => {
    const s = await track(startMockKiwoomServer({ now }));
    const tok = await send(s.url, { path: '/oauth2/token', headers: { 'Content-Type': 'application/json;charset=UTF-8' }, body: json({ grant_type: 'client_credentials', appkey: KEY, secretkey: SECRET }) });
    expectNames(tok, []);
    const token = tok.json!['token'] as string;
    const post = (path: string, apiId: string, contYn = 'N', nextKey = '', auth = token): Promise<RawAnswer> =>
      send(s.url, { path, headers: { 'Content-Type': 'application/json;charset=UTF-8', authorization: `Bearer ${auth}`, 'api-id': apiId, 'cont-yn': contYn, 'next-key': nextKey }, body: json({ qry_tp: '1', dmst_stex_tp: 'KRX' }) });
    const page1 = await post('/api/dostk/acnt', 'kt00018');
    expectNames(page1, ['api-id', 'cont-yn', 'next-key']);
    expect([page1.headers['api-id'], page1.headers['cont-yn']]).toEqual(['kt00018', 'Y']);
    const page2 = await post('/api/dostk/acnt', 'kt00018', 'Y', page1.headers['next-key']!);
    expectNames(page2, ['api-id', 'cont-yn', 'next-key']);
    expect([page2.headers['cont-yn'], page2.headers['next-key']]).toEqual(['N', '']);
    expectNames(await post('/api/dostk/acnt', 'kt00004'), ['api-id', 'cont-yn', 'next-key']);
    const dead = await post('/api/dostk/acnt', 'kt00018', 'N', '', 'dead');
    expectNames(dead, ['api-id', 'cont-yn', 'next-key']);
    expect(dead.json!['return_msg']).toContain('[8005:');
  });

  it('Retry-After goes out canonical, on the faults and the issuance limit alike', async () => {
    const s = await track(startMockKisServer({ now }));
    s.inject({ endpoint: 'token', kind: 'rate-limit', count: 1, retryAfterS: 2 });
    const res = await send(s.url, { path: '/oauth2/tokenP', headers: { 'content-type': 'application/json' }, body: json({ grant_type: 'client_credentials', appkey: KEY, appsecret: SECRET }) });
    expect(res.rawNames).toContain('Retry-After');
    expect(res.rawNames).not.toContain('retry-after');
  });
});

describe('the trRoutes option', () => {
  it("LS: MockTrRoute's two-page example answers both pages; a user route replaces the built-in one with the same path and TR code", async () => {
    const t8407: MockTrRoute = {
      path: '/stock/market-data',
      trCode: 't8407',
      answer: (call) =>
        call.trCont === 'Y' && call.trContKey === 'p2'
          ? { rspCd: '00000', rspMsg: '조회완료', blocks: { t8407OutBlock1: [{ shcode: '000660', price: 182000 }] } }
          : { rspCd: '00000', rspMsg: '조회완료', blocks: { t8407OutBlock1: [{ shcode: '005930', price: 71000 }] }, trCont: 'Y', trContKey: 'p2' },
    };
    const t1102: MockTrRoute = { path: '/stock/market-data', trCode: 't1102', answer: () => ({ rspCd: '00000', rspMsg: 'mine', blocks: { t1102OutBlock: { price: 1 } } }) };
    const s = await track(startMockLsServer({ now, trRoutes: [t8407, t1102] }));
    const token = await lsToken(s.url);
    const call = (trCd: string, trCont = 'N', key = ''): Promise<RawAnswer> =>
      send(s.url, { path: '/stock/market-data', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}`, tr_cd: trCd, tr_cont: trCont, tr_cont_key: key }, body: '{}' });
    const first = await call('t8407');
    expect([first.json!['t8407OutBlock1'], first.headers['tr_cont'], first.headers['tr_cont_key']]).toEqual([[{ shcode: '005930', price: 71000 }], 'Y', 'p2']);
    const second = await call('t8407', 'Y', 'p2');
    expect([second.json!['t8407OutBlock1'], second.headers['tr_cont']]).toEqual([[{ shcode: '000660', price: 182000 }], 'N']);
    expect((await call('t1102')).json).toEqual({ rsp_cd: '00000', rsp_msg: 'mine', t1102OutBlock: { price: 1 } });
    expect((await call('t1101')).json!['t1101OutBlock']).toBeDefined(); // the other built-ins stay
  });

  it('KIS: a user route by path, with the call it sees (tr_id, query, app key) and the envelope the mock adds', async () => {
    const seen: unknown[] = [];
    const psbl: KisTrRoute = {
      path: '/uapi/domestic-stock/v1/trading/inquire-psbl-order',
      answer: (call) => {
        seen.push([call.method, call.trId, call.query['PDNO'], call.appKey]);
        return { fields: { output: { ord_psbl_cash: '1000000' } } };
      },
    };
    const s = await track(startMockKisServer({ now, trRoutes: [psbl] }));
    const tok = await send(s.url, { path: '/oauth2/tokenP', headers: { 'content-type': 'application/json' }, body: json({ grant_type: 'client_credentials', appkey: KEY, appsecret: SECRET }) });
    const res = await send(s.url, { method: 'GET', path: psbl.path, query: { PDNO: '005930' }, headers: { authorization: `Bearer ${tok.json!['access_token'] as string}`, tr_id: 'TTTC8908R' } });
    expect(res.json).toEqual({ rt_cd: '0', msg_cd: 'MCA00000', msg1: '정상처리 되었습니다.', output: { ord_psbl_cash: '1000000' } });
    expect(seen).toEqual([['GET', 'TTTC8908R', '005930', KEY]]);
    expect(res.headers['tr_cont']).toBe('D');
    // The README's example, as it stands there.
    const readme = await track(startMockKisServer({ trRoutes: [{ path: '/uapi/x', answer: () => ({ fields: { output: {} } }) }] }));
    const t2 = await send(readme.url, { path: '/oauth2/tokenP', headers: { 'content-type': 'application/json' }, body: json({ grant_type: 'client_credentials', appkey: KEY, appsecret: SECRET }) });
    const x = await send(readme.url, { method: 'GET', path: '/uapi/x', headers: { authorization: `Bearer ${t2.json!['access_token'] as string}`, tr_id: 'X' } });
    expect(x.json).toEqual({ rt_cd: '0', msg_cd: 'MCA00000', msg1: '정상처리 되었습니다.', output: {} });
  });

  it('Kiwoom: a user route by path and api-id; a route that throws answers a 500 in the broker shape', async () => {
    const ka10004: KiwoomTrRoute = { path: '/api/dostk/mrkcond', apiId: 'ka10004', answer: () => ({ fields: { sel_fpr_bid: '71100' } }) };
    const broken: KiwoomTrRoute = {
      path: '/api/dostk/mrkcond',
      apiId: 'ka10005',
      answer: () => {
        throw new Error('boom');
      },
    };
    const s = await track(startMockKiwoomServer({ now, trRoutes: [ka10004, broken] }));
    const tok = await send(s.url, { path: '/oauth2/token', headers: { 'content-type': 'application/json' }, body: json({ grant_type: 'client_credentials', appkey: KEY, secretkey: SECRET }) });
    const call = (apiId: string): Promise<RawAnswer> => send(s.url, { path: '/api/dostk/mrkcond', headers: { 'content-type': 'application/json', authorization: `Bearer ${tok.json!['token'] as string}`, 'api-id': apiId }, body: '{}' });
    expect((await call('ka10004')).json).toEqual({ sel_fpr_bid: '71100', return_code: 0, return_msg: '정상적으로 처리되었습니다' });
    const failed = await call('ka10005');
    expect([failed.status, failed.json!['return_code'], failed.headers['api-id']]).toEqual([500, 7, 'ka10005']);
  });

  it('a malformed route is refused with ERR_INVALID_OPTION naming trRoutes, for every broker', async () => {
    const bad = [{ path: 'no-slash', answer: () => ({}) }];
    await expect(startMockLsServer({ trRoutes: bad as never })).rejects.toMatchObject({ code: 'ERR_INVALID_OPTION', field: 'trRoutes' });
    await expect(startMockKisServer({ trRoutes: bad as never })).rejects.toMatchObject({ code: 'ERR_INVALID_OPTION', field: 'trRoutes' });
    await expect(startMockKisServer({ trRoutes: [{ path: '/api/x', answer: () => ({}) }] })).rejects.toMatchObject({ code: 'ERR_INVALID_OPTION', field: 'trRoutes' }); // KIS serves TRs under /uapi/ only
    await expect(startMockKiwoomServer({ trRoutes: [{ path: '/api/dostk/acnt', answer: () => ({}) }] as never })).rejects.toMatchObject({ code: 'ERR_INVALID_OPTION', field: 'trRoutes' });
  });

  it('the axios adapter hands the query string (axios `params` included) to the model, as the HTTP shell does', async () => {
    const model = createKisModel({ now });
    const http = axios.create({ baseURL: 'http://kis.mock', adapter: mockAxiosAdapter(model) });
    const tok = await http.post<{ access_token: string }>('/oauth2/tokenP', { grant_type: 'client_credentials', appkey: KEY, appsecret: SECRET });
    const res = await http.get<{ output: { stck_shrn_iscd: string } }>('/uapi/domestic-stock/v1/quotations/inquire-price?FID_COND_MRKT_DIV_CODE=J', {
      params: { FID_INPUT_ISCD: '035420' },
      headers: { authorization: `Bearer ${tok.data.access_token}`, tr_id: 'FHKST01010100' },
    });
    expect(res.data.output.stck_shrn_iscd).toBe('035420');
    expect(res.headers['tr_id']).toBe('FHKST01010100');
  });
});
