/**
 * The LS mock as two public LS clients see it, each request built and each answer read the way
 * that client's code does (ported by hand from the versions docs/providers.md names; no client
 * code is copied here):
 * - whitehwarang/LSREST (`OAuth.IssueToken`/`RevokeToken` with the form in `params` and
 *   `data=json.dumps(None)`, `Base.BaseTR` headers, `Sync.rq_tr` paging on `tr_cont`/`tr_cont_key`
 *   and the main OutBlock's `cts_` fields, `Util.AccessTokenManager` reading `expires_in`);
 * - shinalok/finestock (`API.oauth` with a form body, `LS.get_ohlcv` (t8410), `get_orderbook`
 *   (t1101), `get_balance` (CSPAQ12200, then `get_holds`: t0424), each branching on `rsp_cd` before reading the blocks).
 */
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { startMockLsServer, type MockLsServer } from '../../src/testing/index.js';
import { form, json, send, type RawAnswer } from '../helpers/raw-http.js';

const T0 = Date.UTC(2026, 11, 1, 1, 0, 0); // 10:00 KST, pinned
const KEY = 'PSd7orrAJnAfr202g4MpbzVxwqPBjjkvjLf2';
const SECRET = 'puQoMSRYZwOHt8goiEHbOazdBqLRUyYA';

let server: MockLsServer;
beforeEach(async () => {
  server = await startMockLsServer({ now: () => T0 });
});
afterEach(async () => {
  await server.close();
});

/** Python's `int(v)` on an LS block value (a JSON number, or a string of digits). */
const pyInt = (v: unknown): boolean => (typeof v === 'number' && Number.isInteger(v)) || (typeof v === 'string' && /^[+-]?\d+$/.test(v.trim()));

describe('whitehwarang/LSREST', () => {
  /** A TR instance: Url, TRCode, header (BaseTR's), params, body. */
  interface TrInst {
    url: string;
    trCode: string;
    header: Record<string, string>;
    params?: Record<string, string>;
    body: Record<string, Record<string, unknown>> | null;
  }

  /** Sync._post: requests.post(url, headers=header, params=params, data=json.dumps(body)). */
  async function post(inst: TrInst): Promise<{ header: Record<string, string>; body: Record<string, unknown>; raw: RawAnswer }> {
    const raw = await send(server.url, { path: inst.url, ...(inst.params === undefined ? {} : { query: inst.params }), headers: inst.header, body: json(inst.body) });
    return { header: raw.headers, body: JSON.parse(raw.text) as Record<string, unknown>, raw }; // json.loads(rp.content)
  }

  /** Sync.rq_tr: page while the answer header tr_cont is "Y", carrying the main OutBlock's cts_ fields into the InBlock. */
  async function rqTr(inst: TrInst): Promise<{ body: Record<string, unknown>; pages: number }> {
    let rp = await post(inst);
    const body = rp.body;
    let pages = 1;
    while (rp.header['tr_cont'] === 'Y' && pages < 10) {
      inst.header['tr_cont'] = rp.header['tr_cont'] || 'N';
      inst.header['tr_cont_key'] = rp.header['tr_cont_key'] ?? '';
      const outblocks = Object.keys(rp.body).filter((k) => k.includes('OutBlock'));
      if (outblocks.length === 0) break;
      const main = [...outblocks].sort()[0]!; // min(_outblock_nms)
      const cts = Object.fromEntries(Object.entries(rp.body[main] as Record<string, unknown>).filter(([k]) => k.startsWith('cts_')));
      Object.assign(inst.body![`${inst.trCode}InBlock`]!, cts); // KeyError for an InBlock1 TR
      rp = await post(inst);
      pages += 1;
      for (const sub of outblocks) {
        expect(Object.keys(rp.body)).toContain(sub); // rp['body'][sub_outblock_nm]: KeyError when a page lacks it
        if (Array.isArray(rp.body[sub])) body[sub] = [...(rp.body[sub] as unknown[]), ...(body[sub] as unknown[])];
      }
    }
    return { body, pages };
  }

  const tokenHeader = { 'content-type': 'application/x-www-form-urlencoded' };

  /** AccessTokenManager.__enter__: IssueToken through rq_tr; is_token_expired adds expires_in to a float timestamp. */
  async function issue(): Promise<string> {
    const { body } = await rqTr({ url: '/oauth2/token', trCode: 'token', header: { ...tokenHeader }, params: { grant_type: 'client_credentials', appkey: KEY, appsecretkey: SECRET, scope: 'oob' }, body: null });
    expect(body['access_token']).toEqual(expect.any(String));
    expect(typeof body['expires_in']).toBe('number'); // timestamp + token_info.get('expires_in'): a str would raise TypeError
    return body['access_token'] as string;
  }

  const trHeader = (token: string, trCode: string): Record<string, string> => ({ 'content-type': 'application/json; charset=UTF-8', authorization: `Bearer ${token}`, tr_cd: trCode, tr_cont: 'N', tr_cont_key: '' });

  it('issues and revokes with the form in the query string and a "null" body; the revoke answer is code 200', async () => {
    const token = await issue();
    expect(server.isActive(token)).toBe(true);
    const { body } = await rqTr({ url: '/oauth2/revoke', trCode: 'revoke', header: { ...tokenHeader }, params: { appkey: KEY, appsecretkey: SECRET, token_type_hint: 'access_token', token }, body: null });
    expect(body).toMatchObject({ code: 200 });
    expect(server.isActive(token)).toBe(false);
  });

  it('t8410 pages: tr_cont Y with tr_cont_key and cts_date, the older candles put in front, until tr_cont N', async () => {
    const token = await issue();
    const { body, pages } = await rqTr({
      url: '/stock/chart',
      trCode: 't8410',
      header: trHeader(token, 't8410'),
      body: { t8410InBlock: { shcode: '005930', gubun: '2', qrycnt: 500, sdate: ' ', edate: '20261201', cts_date: ' ', comp_yn: 'N', sujung: 'Y' } },
    });
    expect(pages).toBe(2);
    expect(body['rsp_cd']).toBe('00000');
    const dates = (body['t8410OutBlock1'] as { date: string }[]).map((c) => c.date);
    expect(dates).toEqual(['20261128', '20261129', '20261130', '20261201']); // oldest first across both pages
    expect(body['t8410OutBlock']).toMatchObject({ shcode: '005930' });
  });

  it('t1102, t1101 on /stock/market-data and CSPAQ12200, FOCCQ33600 on /stock/accno answer their OutBlocks in one page', async () => {
    const token = await issue();
    const t1102 = await rqTr({ url: '/stock/market-data', trCode: 't1102', header: trHeader(token, 't1102'), body: { t1102InBlock: { shcode: '005930', exchgubun: 'K' } } });
    expect([t1102.pages, t1102.body['rsp_cd']]).toEqual([1, '00000']);
    expect(t1102.body['t1102OutBlock']).toMatchObject({ shcode: '005930', price: expect.any(Number) });
    const t1101 = await rqTr({ url: '/stock/market-data', trCode: 't1101', header: trHeader(token, 't1101'), body: { t1101InBlock: { shcode: '005930' } } });
    expect(t1101.body['t1101OutBlock']).toMatchObject({ shcode: '005930', offerho1: expect.any(Number), bidho1: expect.any(Number) });
    const acct = await rqTr({ url: '/stock/accno', trCode: 'CSPAQ12200', header: trHeader(token, 'CSPAQ12200'), body: { CSPAQ12200InBlock1: { BalCreTp: '0' } } });
    expect(acct.body['rsp_cd']).toBe('00136');
    expect(Object.keys(acct.body)).toEqual(expect.arrayContaining(['CSPAQ12200OutBlock1', 'CSPAQ12200OutBlock2']));
    const ret = await rqTr({ url: '/stock/accno', trCode: 'FOCCQ33600', header: trHeader(token, 'FOCCQ33600'), body: { FOCCQ33600InBlock1: { QrySrtDt: '20261101', QryEndDt: '20261130', TermTp: '1' } } });
    expect(ret.body).toMatchObject({ rsp_cd: '00136', FOCCQ33600OutBlock1: { QrySrtDt: '20261101' }, FOCCQ33600OutBlock2: expect.any(Object) });
  });
});

describe('shinalok/finestock', () => {
  /** API.oauth: form body (requests' data=dict), then authorization = f"{token_type} {access_token}". */
  async function oauth(): Promise<Record<string, string>> {
    const res = await send(server.url, { path: '/oauth2/token', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: form({ grant_type: 'client_credentials', appkey: KEY, appsecretkey: SECRET, scope: 'oob' }) });
    expect(res.status).toBe(200);
    expect(Object.keys(res.json!)).toEqual(expect.arrayContaining(['access_token', 'token_type']));
    return { 'Content-Type': 'application/json', Accept: 'text/plain', charset: 'UTF-8', appkey: KEY, appsecret: SECRET, tr_cont: 'N', tr_cont_key: '', authorization: `${res.json!['token_type'] as string} ${res.json!['access_token'] as string}` };
  }
  const tr = async (headers: Record<string, string>, path: string, trCd: string, body: unknown): Promise<Record<string, unknown>> => (await send(server.url, { path, headers: { ...headers, tr_cd: trCd }, body: json(body) })).json!;

  it('get_ohlcv (t8410): rsp_cd "00000", then each t8410OutBlock1 row has date, close, open, high, low, jdiff_vol, value', async () => {
    const h = await oauth();
    const res = await tr(h, '/stock/chart', 't8410', { t8410InBlock: { shcode: '005930', gubun: '2', qrycnt: 500, sdate: '', edate: '', cts_date: '', comp_yn: 'N', sujung: 'Y' } });
    expect(res['rsp_cd']).toBe('00000');
    const rows = res['t8410OutBlock1'] as Record<string, unknown>[];
    expect(rows.length).toBeGreaterThan(0);
    for (const p of rows) for (const f of ['date', 'close', 'open', 'high', 'low', 'jdiff_vol', 'value']) expect(p).toHaveProperty(f);
  });

  it('get_orderbook (t1101): int() of offerho/offerrem/bidho/bidrem 1..10, then shcode, bid, offer', async () => {
    const h = await oauth();
    const res = await tr(h, '/stock/market-data', 't1101', { t1101InBlock: { shcode: '000660' } });
    expect(res['rsp_cd']).toBe('00000');
    const d = res['t1101OutBlock'] as Record<string, unknown>;
    for (let i = 1; i <= 10; i++) for (const f of ['offerho', 'offerrem', 'bidho', 'bidrem']) expect([`${f}${i}`, pyInt(d[`${f}${i}`])]).toEqual([`${f}${i}`, true]);
    expect(d['shcode']).toBe('000660');
    expect([pyInt(d['bid']), pyInt(d['offer'])]).toEqual([true, true]);
  });

  it('get_balance (CSPAQ12200): rsp_cd "00136", OutBlock1.AcntNo split into account and product, int() of Dps, D1Dps, D2Dps; then get_holds (t0424)', async () => {
    const h = await oauth();
    const res = await tr(h, '/stock/accno', 'CSPAQ12200', { CSPAQ12200InBlock1: { BalCreTp: '0' } });
    expect(res['rsp_cd']).toBe('00136');
    const acnt = (res['CSPAQ12200OutBlock1'] as Record<string, unknown>)['AcntNo'] as string;
    expect([acnt.slice(0, -2).length > 0, acnt.slice(-2)]).toEqual([true, '01']);
    const d2 = res['CSPAQ12200OutBlock2'] as Record<string, unknown>;
    expect(d2).toHaveProperty('MnyOrdAbleAmt');
    for (const f of ['Dps', 'D1Dps', 'D2Dps']) expect([f, pyInt(d2[f])]).toEqual([f, true]);
    // get_balance then calls get_holds (t0424): rsp_cd "00000", each t0424OutBlock1 row's expcode, hname, pamt, janqty, appamt.
    const holds = await tr(h, '/stock/accno', 't0424', { t0424InBlock: { prcgb: '', chegb: '', dangb: '', charge: '', cts_expcode: '' } });
    expect(holds['rsp_cd']).toBe('00000');
    const rows = holds['t0424OutBlock1'] as Record<string, unknown>[];
    expect(rows.length).toBeGreaterThan(0);
    for (const row of rows) for (const f of ['expcode', 'hname', 'pamt', 'janqty', 'appamt']) expect(row).toHaveProperty(f);
  });
});
