/**
 * The KIS mock as three public KIS clients see it, each request built and each answer read the way
 * that client's code does (ported by hand from the versions docs/providers.md names; no client code
 * is copied here):
 * - Soju06/python-kis (`PyKis.request`/`fetch`, `KisAccessToken`, `KisDomesticQuote`,
 *   `KisDomesticBalance` with `KisPage`/`to_page_status`, `KisDomesticOrder`);
 * - sharebook-kr/mojito (`KoreaInvestment.issue_access_token`, `fetch_domestic_price`,
 *   `fetch_balance`, `issue_hashkey` + `create_order`);
 * - koreainvestment/open-trading-api `examples_user` (`kis_auth.auth`, `_url_fetch`, `APIResp`,
 *   which turns the body's keys and every all-lower-case answer header into namedtuple fields).
 */
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { startMockKisServer, type MockKisServer } from '../../src/testing/index.js';
import { json, send, type RawAnswer } from '../helpers/raw-http.js';

const T0 = Date.UTC(2026, 11, 1, 1, 30, 0); // 10:30 KST, pinned
const KEY = 'PSkisrrAJnAfr202g4MpbzVxwqPBjjkvjLf2'; // 36 characters, KIS's limit
const SECRET = 'kis-secret-'.padEnd(180, 'x');
const CANO = '50123456';

let server: MockKisServer;
beforeEach(async () => {
  server = await startMockKisServer({ now: () => T0 });
});
afterEach(async () => {
  await server.close();
});

/** Python's `int(s)` / `Decimal(s)` on a KIS string field: a plain decimal number. */
const pyDecimal = /^[+-]?\d+(\.\d+)?$/;
/** `datetime.strptime(s, fmt)` for the formats these clients use. */
const STRPTIME: Record<string, RegExp> = { '%Y-%m-%d %H:%M:%S': /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/, '%H%M%S': /^\d{6}$/, '%Y%m%d': /^\d{8}$/ };

const PY_KEYWORDS = new Set(['False', 'None', 'True', 'and', 'as', 'assert', 'async', 'await', 'break', 'class', 'continue', 'def', 'del', 'elif', 'else', 'except', 'finally', 'for', 'from', 'global', 'if', 'import', 'in', 'is', 'lambda', 'nonlocal', 'not', 'or', 'pass', 'raise', 'return', 'try', 'while', 'with', 'yield']);
/** `collections.namedtuple(name, fields)` accepts these field names (else ValueError). */
function namedtupleAccepts(fields: string[]): boolean {
  return new Set(fields).size === fields.length && fields.every((f) => /^[A-Za-z][A-Za-z0-9_]*$/.test(f) && !PY_KEYWORDS.has(f));
}
/** Python's `str.islower()`: at least one cased character, and none upper case. */
const pyIsLower = (s: string): boolean => /[a-z]/i.test(s) && s === s.toLowerCase();

describe('Soju06/python-kis', () => {
  /** `PyKis.request`: appkey/appsecret headers, `Authorization: <token_type> <token>`, tr_id via `api=`, `json=body` on POST. */
  async function issue(): Promise<{ token: string; type: string }> {
    // token_issue: fetch('/oauth2/tokenP', body={grant_type}, appkey_location='body', method='POST', auth=False)
    const res = await send(server.url, { path: '/oauth2/tokenP', headers: { 'Content-Type': 'application/json' }, body: json({ grant_type: 'client_credentials', appkey: KEY, appsecret: SECRET }) });
    expect(res.status).toBe(200); // resp.ok
    const b = res.json!;
    // KisAccessToken: access_token, token_type, access_token_token_expired ("%Y-%m-%d %H:%M:%S"), expires_in (KisInt)
    expect(b['access_token']).toEqual(expect.any(String));
    expect(b['token_type']).toBe('Bearer');
    expect(b['access_token_token_expired']).toMatch(STRPTIME['%Y-%m-%d %H:%M:%S']!);
    expect(Number.isInteger(b['expires_in'])).toBe(true);
    return { token: b['access_token'] as string, type: b['token_type'] as string };
  }

  function fetchTr(auth: { token: string; type: string }, path: string, api: string, params: Record<string, string>, continuous = false, method = 'GET', body?: unknown): Promise<RawAnswer> {
    return send(server.url, {
      method,
      path,
      query: params,
      headers: {
        ...(method === 'POST' ? { 'Content-Type': 'application/json' } : {}),
        appkey: KEY,
        appsecret: SECRET,
        Authorization: `${auth.type} ${auth.token}`,
        tr_id: api,
        ...(continuous ? { tr_cont: 'N' } : {}),
      },
      ...(body === undefined ? {} : { body: json(body) }),
    });
  }

  /** KisResponse.__pre_init__: `int(data["rt_cd"]) != 0` raises KisAPIError. */
  function kisResponse(res: RawAnswer): Record<string, unknown> {
    expect(res.status).toBe(200);
    expect(Number.parseInt(res.json!['rt_cd'] as string, 10)).toBe(0);
    expect(res.json!['msg_cd']).toEqual(expect.any(String));
    expect(res.json!['msg1']).toEqual(expect.any(String));
    return res.json!;
  }

  it('quote(): inquire-price output has every field KisDomesticQuote reads, and stck_prpr is not "0" (else KisNotFoundError)', async () => {
    const auth = await issue();
    const data = kisResponse(await fetchTr(auth, '/uapi/domestic-stock/v1/quotations/inquire-price', 'FHKST01010100', { FID_COND_MRKT_DIV_CODE: 'J', FID_INPUT_ISCD: '000660' }));
    const out = data['output'] as Record<string, string>;
    expect(out['stck_prpr']).not.toBe('0');
    expect(out['stck_shrn_iscd']).toBe('000660');
    for (const f of ['stck_prpr', 'acml_vol', 'acml_tr_pbmn', 'hts_avls', 'prdy_vrss_vol_rate', 'prdy_vrss', 'stck_oprc', 'stck_hgpr', 'stck_lwpr', 'stck_mxpr', 'stck_llam', 'stck_sdpr', 'aspr_unit', 'eps', 'bps', 'per', 'pbr', 'w52_hgpr', 'w52_lwpr']) {
      expect([f, out[f]]).toEqual([f, expect.stringMatching(pyDecimal)]);
    }
    expect(['0', '1', '2', '3', '4', '5']).toContain(out['prdy_vrss_sign']); // STOCK_SIGN_TYPE_MAP
    expect(['00', '01', '02', '03']).toContain(out['mrkt_warn_cls_code']); // STOCK_RISK_TYPE_MAP
    expect(['Y', 'N']).toContain(out['temp_stop_yn']); // KisBool
    expect(['Y', 'N']).toContain(out['short_over_yn']);
    expect(out['w52_hgpr_date']).toMatch(STRPTIME['%Y%m%d']!);
    expect(out['w52_lwpr_date']).toMatch(STRPTIME['%Y%m%d']!);
    expect(out['bstp_kor_isnm']).toEqual(expect.any(String));
  });

  it('balance(): pages on response.headers["tr_cont"] (F/M begin, D/E end) and the ctx_area_*100 cursor, merging output1; output2[0] is the deposit', async () => {
    const auth = await issue();
    // domestic_balance: KisPage.first().to(100) builds lower-case ctx_area_fk100/ctx_area_nk100 params;
    // continuous=not page.is_first sends tr_cont: N from the second page on.
    let page = { search: '', key: '' };
    const stocks: Record<string, string>[] = [];
    let deposit: Record<string, string> | undefined;
    for (let n = 0; n < 5; n++) {
      const first = page.search.trim() === '' && page.key.trim() === '';
      const res = await fetchTr(
        auth,
        '/uapi/domestic-stock/v1/trading/inquire-balance',
        'TTTC8434R',
        { AFHR_FLPR_YN: 'N', OFL_YN: '', INQR_DVSN: '02', UNPR_DVSN: '01', FUND_STTL_ICLD_YN: 'Y', FNCG_AMT_AUTO_RDPT_YN: 'N', PRCS_DVSN: '00', CANO, ACNT_PRDT_CD: '01', ctx_area_fk100: page.search, ctx_area_nk100: page.key },
        !first,
      );
      const data = kisResponse(res);
      const status = res.headers['tr_cont']; // KeyError when absent
      expect(['F', 'M', 'D', 'E']).toContain(status); // else ValueError("Invalid page status")
      expect(data['ctx_area_fk100']).toEqual(expect.any(String)); // KisPage.__pre_init__: else ValueError
      page = { search: data['ctx_area_fk100'] as string, key: data['ctx_area_nk100'] as string };
      stocks.push(...(data['output1'] as Record<string, string>[]));
      deposit ??= (data['output2'] as Record<string, string>[])[0];
      const isLast = status === 'D' || status === 'E';
      const hasNext = !isLast && !(page.key.trim() === '' && page.search.trim() === '');
      if (isLast || !hasNext) break;
    }
    expect(stocks.map((s) => s['pdno'])).toEqual(['005930', '000660']);
    for (const s of stocks) {
      expect(s['prdt_name']).toEqual(expect.any(String));
      for (const f of ['prpr', 'hldg_qty', 'ord_psbl_qty', 'pchs_amt']) expect(s[f]).toMatch(pyDecimal);
    }
    expect(deposit!['dnca_tot_amt']).toMatch(pyDecimal);
  });

  it('order(): POST order-cash with the form in the JSON body; output has KRX_FWDG_ORD_ORGNO, ODNO and ORD_TMD (%H%M%S)', async () => {
    const auth = await issue();
    const res = await fetchTr(auth, '/uapi/domestic-stock/v1/trading/order-cash', 'TTTC0012U', {}, false, 'POST', { CANO, ACNT_PRDT_CD: '01', PDNO: '005930', ORD_DVSN: '00', ORD_QTY: '1', ORD_UNPR: '71000' });
    const out = kisResponse(res)['output'] as Record<string, string>;
    expect(out['KRX_FWDG_ORD_ORGNO']).toEqual(expect.any(String));
    expect(out['ODNO']).toMatch(/^\d+$/);
    expect(out['ORD_TMD']).toMatch(STRPTIME['%H%M%S']!);
    expect(out['ORD_TMD']).toBe('103000'); // the model's clock, in KST
  });

  it("request(): a non-ok answer is read for msg_cd (EGW00201 is retried; a dead token's EGW00121 raises KisHTTPError)", async () => {
    const auth = await issue();
    server.inject({ endpoint: 'tr', kind: 'rate-limit', count: 1 });
    const limited = await fetchTr(auth, '/uapi/domestic-stock/v1/quotations/inquire-price', 'FHKST01010100', { FID_COND_MRKT_DIV_CODE: 'J', FID_INPUT_ISCD: '005930' });
    expect([limited.status >= 400, limited.json!['msg_cd']]).toEqual([true, 'EGW00201']);
    server.revokeToken(auth.token);
    const dead = await fetchTr(auth, '/uapi/domestic-stock/v1/quotations/inquire-price', 'FHKST01010100', { FID_COND_MRKT_DIV_CODE: 'J', FID_INPUT_ISCD: '005930' });
    expect([dead.status >= 400, dead.json!['msg_cd']]).toEqual([true, 'EGW00121']);
  });
});

describe('sharebook-kr/mojito', () => {
  async function issue(): Promise<string> {
    // issue_access_token: requests.post(url, headers={"content-type": "application/json"}, json=data)
    const res = await send(server.url, { path: '/oauth2/tokenP', headers: { 'content-type': 'application/json' }, body: json({ grant_type: 'client_credentials', appkey: KEY, appsecret: SECRET }) });
    expect(res.json!['access_token_token_expired']).toMatch(STRPTIME['%Y-%m-%d %H:%M:%S']!);
    return `Bearer ${res.json!['access_token'] as string}`;
  }
  const headers = (access: string, trId: string): Record<string, string> => ({ 'content-type': 'application/json', authorization: access, appKey: KEY, appSecret: SECRET, tr_id: trId });

  it('fetch_domestic_price: lower-case fid_* params; the caller reads output', async () => {
    const access = await issue();
    const res = await send(server.url, { method: 'GET', path: '/uapi/domestic-stock/v1/quotations/inquire-price', query: { fid_cond_mrkt_div_code: 'J', fid_input_iscd: '035720' }, headers: headers(access, 'FHKST01010100') });
    expect(res.json!['rt_cd']).toBe('0');
    expect((res.json!['output'] as Record<string, string>)['stck_shrn_iscd']).toBe('035720');
  });

  it('fetch_balance: reads res.headers["tr_cont"] on every page, loops while it is "M" with the body cursor as CTX_AREA_*100, extends output1 and output2', async () => {
    const access = await issue();
    const page = (fk: string, nk: string): Promise<RawAnswer> =>
      send(server.url, {
        method: 'GET',
        path: '/uapi/domestic-stock/v1/trading/inquire-balance',
        // no tr_cont request header: mojito pages by the cursor alone
        query: { CANO, ACNT_PRDT_CD: '01', AFHR_FLPR_YN: 'N', OFL_YN: 'N', INQR_DVSN: '01', UNPR_DVSN: '01', FUND_STTL_ICLD_YN: 'N', FNCG_AMT_AUTO_RDPT_YN: 'N', PRCS_DVSN: '01', CTX_AREA_FK100: fk, CTX_AREA_NK100: nk },
        headers: headers(access, 'TTTC8434R'),
      });
    let res = await page('', '');
    let data: Record<string, unknown> = { ...res.json!, tr_cont: res.headers['tr_cont'] };
    const output1 = [...(data['output1'] as unknown[])];
    const output2 = [...(data['output2'] as unknown[])];
    let rounds = 0;
    while (data['tr_cont'] === 'M' && rounds++ < 5) {
      res = await page(data['ctx_area_fk100'] as string, data['ctx_area_nk100'] as string);
      data = { ...res.json!, tr_cont: res.headers['tr_cont'] };
      output1.push(...(data['output1'] as unknown[]));
      output2.push(...(data['output2'] as unknown[]));
    }
    expect(rounds).toBe(1);
    expect(output1.map((s) => (s as Record<string, string>)['pdno'])).toEqual(['005930', '000660']);
    expect(output2).toHaveLength(2);
  });

  it('create_order: /uapi/hashkey without a token answers HASH, then order-cash with the hashkey header answers output.ODNO', async () => {
    const access = await issue();
    const data = { CANO, ACNT_PRDT_CD: '01', PDNO: '005930', ORD_DVSN: '00', ORD_QTY: '1', ORD_UNPR: '71000' };
    const hash = await send(server.url, { path: '/uapi/hashkey', headers: { 'content-type': 'application/json', appKey: KEY, appSecret: SECRET, 'User-Agent': 'Mozilla/5.0' }, body: json(data) });
    expect(hash.status).toBe(200);
    expect(hash.json!['HASH']).toMatch(/^[0-9a-f]{64}$/);
    expect(hash.json!['BODY']).toEqual(data);
    const order = await send(server.url, { path: '/uapi/domestic-stock/v1/trading/order-cash', headers: { ...headers(access, 'TTTC0802U'), custtype: 'P', hashkey: hash.json!['HASH'] as string }, body: json(data) });
    expect(order.json!['rt_cd']).toBe('0');
    expect((order.json!['output'] as Record<string, string>)['ODNO']).toMatch(/^\d+$/);
  });
});

describe('koreainvestment/open-trading-api examples_user', () => {
  const BASE = { 'Content-Type': 'application/json', Accept: 'text/plain', charset: 'UTF-8', 'User-Agent': 'mock-test' };

  /** kis_auth.auth(): data=json.dumps(p); status 200; namedtuple of the body's keys; access_token, access_token_token_expired. */
  async function auth(): Promise<Record<string, string>> {
    const res = await send(server.url, { path: '/oauth2/tokenP', headers: BASE, body: json({ grant_type: 'client_credentials', appkey: KEY, appsecret: SECRET }) });
    expect(res.status).toBe(200);
    expect(namedtupleAccepts(Object.keys(res.json!))).toBe(true);
    return { ...BASE, authorization: `Bearer ${res.json!['access_token'] as string}`, appkey: KEY, appsecret: SECRET };
  }

  /** `_url_fetch` + `APIResp`: status 200, then namedtuples of the all-lower-case headers and of the body keys; isOK is rt_cd "0". */
  async function urlFetch(base: Record<string, string>, apiUrl: string, trId: string, trCont: string, params: Record<string, string>, post = false): Promise<{ header: Record<string, string>; body: Record<string, unknown> }> {
    const headers = { ...base, tr_id: trId, custtype: 'P', tr_cont: trCont };
    const res = post ? await send(server.url, { path: apiUrl, headers, body: json(params) }) : await send(server.url, { method: 'GET', path: apiUrl, query: params, headers });
    expect(res.status).toBe(200);
    const lower = res.rawNames.filter(pyIsLower); // `for x in resp.headers.keys(): if x.islower()`
    expect(namedtupleAccepts(lower)).toBe(true); // namedtuple("header", ...): ValueError on "content-type"
    expect(lower.sort()).toEqual(['gt_uid', 'tr_cont', 'tr_id']);
    expect(namedtupleAccepts(Object.keys(res.json!))).toBe(true); // namedtuple("body", ...)
    expect(res.json!['rt_cd']).toBe('0'); // isOK
    return { header: Object.fromEntries(lower.map((n) => [n, res.headers[n]!])), body: res.json! };
  }

  it('inquire_price: output as one record', async () => {
    const base = await auth();
    const r = await urlFetch(base, '/uapi/domestic-stock/v1/quotations/inquire-price', 'FHKST01010100', '', { FID_COND_MRKT_DIV_CODE: 'J', FID_INPUT_ISCD: '005930' });
    expect(r.body['output']).toEqual(expect.objectContaining({ stck_prpr: expect.any(String) }));
    expect(r.header['tr_id']).toBe('FHKST01010100');
  });

  it('inquire_balance: recurses while getHeader().tr_cont is M or F, sending tr_cont "N" and the body cursor as CTX_AREA_*100', async () => {
    const base = await auth();
    let trCont = '';
    let [fk, nk] = ['', ''];
    const output1: unknown[] = [];
    const output2: unknown[] = [];
    for (let depth = 0; depth <= 10; depth++) {
      const r = await urlFetch(base, '/uapi/domestic-stock/v1/trading/inquire-balance', 'TTTC8434R', trCont, { CANO, ACNT_PRDT_CD: '01', AFHR_FLPR_YN: 'N', OFL_YN: '', INQR_DVSN: '01', UNPR_DVSN: '01', FUND_STTL_ICLD_YN: 'N', FNCG_AMT_AUTO_RDPT_YN: 'N', PRCS_DVSN: '00', CTX_AREA_FK100: fk, CTX_AREA_NK100: nk });
      output1.push(...(r.body['output1'] as unknown[]));
      output2.push(...(r.body['output2'] as unknown[]));
      [fk, nk] = [r.body['ctx_area_fk100'] as string, r.body['ctx_area_nk100'] as string];
      if (!['M', 'F'].includes(r.header['tr_cont']!)) break;
      trCont = 'N';
    }
    expect(output1).toHaveLength(2);
    expect(output2).toHaveLength(2);
  });

  it('order_cash: POST, output as one record', async () => {
    const base = await auth();
    const r = await urlFetch(base, '/uapi/domestic-stock/v1/trading/order-cash', 'TTTC0012U', '', { CANO, ACNT_PRDT_CD: '01', PDNO: '005930', ORD_DVSN: '00', ORD_QTY: '1', ORD_UNPR: '71000', EXCG_ID_DVSN_CD: 'KRX', SLL_TYPE: '', CNDT_PRIC: '' }, true);
    expect(r.body['output']).toEqual(expect.objectContaining({ ODNO: expect.any(String), ORD_TMD: expect.any(String) }));
  });

  it('an error is not 200, so APIRespError keeps it as text (no header namedtuple)', async () => {
    const base = await auth();
    server.inject({ endpoint: 'tr', kind: 'http500', count: 1 });
    const res = await send(server.url, { method: 'GET', path: '/uapi/domestic-stock/v1/quotations/inquire-price', query: { FID_COND_MRKT_DIV_CODE: 'J', FID_INPUT_ISCD: '005930' }, headers: { ...base, tr_id: 'FHKST01010100', custtype: 'P', tr_cont: '' } });
    expect(res.status).toBe(500);
    expect(JSON.parse(res.text)).toMatchObject({ rt_cd: '1', msg_cd: 'EGW00002' });
  });
});
