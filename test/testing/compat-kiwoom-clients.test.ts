/**
 * The Kiwoom mock as two public Kiwoom clients see it, each request built and each answer read
 * the way that client's code does (ported by hand from the versions docs/providers.md names; no
 * client code is copied here):
 * - unohee/pykiwoom-rest (`KiwoomBase._get_access_token`, `make_tr_request` and
 *   `make_tr_request_continuous`, which page on the `cont-yn`/`next-key` answer headers;
 *   `get_balance_detail` (kt00018); the CLI's `_split_account_balance`);
 * - gong-yeongbin/nest-wrapper-kiwoom (`Oauth2.au10001`/`au10002`/`getBearerToken`,
 *   `StockInfoService.ka10001`, `AccountService.kt00018`: axios with `api-id`, `cont-yn: N`,
 *   `next-key: N`, the typed response read as is).
 */
import axios from 'axios';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { startMockKiwoomServer, type MockKiwoomServer } from '../../src/testing/index.js';
import { json, send } from '../helpers/raw-http.js';

const T0 = Date.UTC(2026, 11, 1, 0, 15, 0); // 09:15 KST, pinned
const KEY = 'kiwoom-app-key-0123456789';
const SECRET = 'kiwoom-secret-key-0123456789';

let server: MockKiwoomServer;
beforeEach(async () => {
  server = await startMockKiwoomServer({ now: () => T0 });
});
afterEach(async () => {
  await server.close();
});

describe('unohee/pykiwoom-rest', () => {
  async function token(): Promise<string> {
    // _get_access_token: POST /oauth2/token, json {grant_type, appkey, secretkey}; payload = response["data"] if a dict, else response
    const res = await send(server.url, { path: '/oauth2/token', headers: { 'Content-Type': 'application/json' }, body: json({ grant_type: 'client_credentials', appkey: KEY, secretkey: SECRET }) });
    const payload = typeof res.json!['data'] === 'object' && res.json!['data'] !== null ? (res.json!['data'] as Record<string, unknown>) : res.json!;
    expect(payload['token']).toEqual(expect.any(String)); // else KiwoomAPIError("토큰 발급 실패")
    expect(payload['expires_dt']).toMatch(/^\d{14}$/); // _calculate_token_expires falls back on expires_dt (no expires_in at Kiwoom)
    return payload['token'] as string;
  }

  /** make_tr_request_continuous: headers authorization, Content-Type, api-id, cont-yn, next-key; returns data + the answer's cont-yn/next-key. */
  async function continuous(tok: string, trCode: string, path: string, data: unknown, contYn = 'N', nextKey = ''): Promise<{ data: Record<string, unknown>; cont_yn: string; next_key: string }> {
    const res = await send(server.url, { path, headers: { authorization: `Bearer ${tok}`, 'Content-Type': 'application/json;charset=UTF-8', 'api-id': trCode, 'cont-yn': contYn, 'next-key': nextKey }, body: json(data) });
    return { data: res.json!, cont_yn: res.headers['cont-yn'] ?? 'N', next_key: res.headers['next-key'] ?? '' };
  }

  it('get_balance_detail (kt00018) pages on the cont-yn / next-key answer headers until cont-yn is N', async () => {
    const tok = await token();
    const holdings: Record<string, string>[] = [];
    let [contYn, nextKey] = ['N', ''];
    let pages = 0;
    do {
      const r = await continuous(tok, 'kt00018', '/api/dostk/acnt', { acnt_no: '1234567890' }, contYn, nextKey);
      expect(r.data['return_code']).toBe(0);
      holdings.push(...(r.data['acnt_evlt_remn_indv_tot'] as Record<string, string>[]));
      [contYn, nextKey] = [r.cont_yn, r.next_key];
      pages += 1;
    } while (contYn === 'Y' && pages < 5);
    expect(pages).toBe(2);
    expect(holdings.map((h) => h['stk_cd'])).toEqual(['A005930', 'A000660']);
  });

  it('make_tr_request adds header = { cont-yn, next-key } from the answer; _split_account_balance finds the totals and acnt_evlt_remn_indv_tot', async () => {
    const tok = await token();
    const r = await continuous(tok, 'kt00018', '/api/dostk/acnt', { acnt_no: '1234567890' });
    const response: Record<string, unknown> & { header: Record<string, string> } = { ...r.data, header: { 'cont-yn': r.cont_yn, 'next-key': r.next_key } };
    expect(response.header).toEqual({ 'cont-yn': 'Y', 'next-key': expect.stringMatching(/.+/) });
    const holdings = response['acnt_evlt_remn_indv_tot'];
    expect(Array.isArray(holdings)).toBe(true);
    const meta = new Set(['rt_cd', 'msg1', 'return_code', 'return_msg', 'metadata', 'header', 'acnt_evlt_remn_indv_tot']);
    const summary = Object.fromEntries(Object.entries(response).filter(([k]) => !meta.has(k)));
    expect(Object.keys(summary)).toEqual(expect.arrayContaining(['tot_pur_amt', 'tot_evlt_amt', 'tot_evlt_pl', 'tot_prft_rt', 'prsm_dpst_aset_amt']));
  });

  it('ka10001 answers the flat fields the CLI field map names (stk_cd, stk_nm, cur_prc, ... 250hgst)', async () => {
    const tok = await token();
    const r = await continuous(tok, 'ka10001', '/api/dostk/stkinfo', { stk_cd: '005930' });
    expect(r.data).toMatchObject({ stk_cd: '005930', return_code: 0 });
    for (const f of ['stk_nm', 'cur_prc', 'pre_sig', 'pred_pre', 'flu_rt', 'open_pric', 'high_pric', 'low_pric', 'trde_qty', 'base_pric', 'upl_pric', 'lst_pric', 'mac', 'per', 'eps', 'pbr', 'bps', '250hgst', '250lwst', 'oyr_hgst', 'oyr_lwst']) {
      expect([f, typeof r.data[f]]).toEqual([f, 'string']);
    }
    expect(r.cont_yn).toBe('N');
  });
});

describe('gong-yeongbin/nest-wrapper-kiwoom', () => {
  const headers = { 'Content-Type': 'application/json;charset=UTF-8' };

  /** Oauth2.getBearerToken: au10001, then `${token_type} ${token}`, reused while expires_dt (YYYYMMDDHHmmss) is ahead. */
  async function bearer(): Promise<{ bearer: string; token: string; expiresDt: string }> {
    const res = await axios.post(`${server.url}/oauth2/token`, { appkey: KEY, secretkey: SECRET, grant_type: 'client_credentials' }, { headers });
    const data = res.data as { expires_dt: string; token_type: string; token: string; return_code: number };
    expect(data.return_code).toBe(0);
    expect(data.expires_dt).toMatch(/^\d{14}$/); // parseInt(expires_dt) compared with dayjs().format('YYYYMMDDHHmmss')
    return { bearer: `${data.token_type} ${data.token}`, token: data.token, expiresDt: data.expires_dt };
  }

  it('StockInfoService.ka10001 and AccountService.kt00018 (cont-yn N, next-key "N") answer the typed fields', async () => {
    const b = await bearer();
    expect(Number.parseInt(b.expiresDt, 10)).toBeGreaterThan(20261201091500); // the token is reused, not re-issued each call
    const call = (url: string, apiId: string, params: unknown): Promise<Record<string, unknown>> =>
      axios.post(`${server.url}${url}`, { ...(params as object) }, { headers: { ...headers, 'cont-yn': 'N', 'next-key': 'N', 'api-id': apiId, authorization: b.bearer } }).then((r) => r.data as Record<string, unknown>);
    const info = await call('/api/dostk/stkinfo', 'ka10001', { stk_cd: '005930' });
    expect(info).toMatchObject({ stk_cd: '005930', stk_nm: expect.any(String), cur_prc: expect.any(String), '250hgst_pric_dt': expect.stringMatching(/^\d{8}$/), return_code: 0, return_msg: expect.any(String) });
    const acnt = await call('/api/dostk/acnt', 'kt00018', { qry_tp: '1', dmst_stex_tp: 'KRX' });
    expect(acnt).toMatchObject({ tot_pur_amt: expect.any(String), tot_evlt_amt: expect.any(String), prsm_dpst_aset_amt: expect.any(String), return_code: 0 });
    const first = (acnt['acnt_evlt_remn_indv_tot'] as Record<string, unknown>[])[0]!;
    for (const f of ['stk_cd', 'stk_nm', 'evltv_prft', 'prft_rt', 'pur_pric', 'rmnd_qty', 'trde_able_qty', 'cur_prc', 'evlt_amt', 'poss_rt', 'crd_tp']) expect([f, typeof first[f]]).toEqual([f, 'string']);
  });

  it('au10002 revokes with { appkey, secretkey, token } and answers return_code 0', async () => {
    const b = await bearer();
    const res = await axios.post(`${server.url}/oauth2/revoke`, { appkey: KEY, secretkey: SECRET, grant_type: 'client_credentials', token: b.token }, { headers });
    expect((res.data as { return_code: number }).return_code).toBe(0);
    expect(server.isActive(b.token)).toBe(false);
  });
});
