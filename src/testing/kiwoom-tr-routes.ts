/**
 * The TR route table of the Kiwoom mock: the TRs (api-ids) that answer with a body of their own,
 * in the shape of Kiwoom's API guide, and how to add one (see {@link KiwoomTrRoute} and
 * {@link KIWOOM_DEFAULT_TR_ROUTES}).
 *
 * Kiwoom facts used here (Kiwoom's API guide, and the public clients that read these answers):
 * - a TR is a `POST` to a group path (`/api/dostk/stkinfo`, `/api/dostk/acnt`, ...) naming the TR
 *   in the `api-id` header, with a JSON body; the answer is the TR's fields at the top level (a
 *   list under a TR-specific name) plus `return_code` and `return_msg`, values as strings;
 * - every TR answer carries the headers `api-id`, `cont-yn` (`Y`: another page follows) and
 *   `next-key` (the key to send back); the client asks for the next page with the request headers
 *   `cont-yn: Y` and `next-key`.
 *
 * @module
 */
import { buildRouteTable, isRouteLike } from './route-table.js';

/** A TR call as a {@link KiwoomTrRoute} sees it. */
export interface KiwoomTrCall {
  /** The request path, e.g. `/api/dostk/acnt`. */
  readonly path: string;
  /** The `api-id` request header, if sent (e.g. `kt00018`). */
  readonly apiId: string | undefined;
  /** The `cont-yn` request header: `Y` asks for the page after `nextKey`. Default `N`. */
  readonly contYn: string;
  /** The `next-key` request header. Default `''`. */
  readonly nextKey: string;
  /** The request body parsed as JSON, or `null` when it is empty or not JSON. */
  readonly body: unknown;
  /** The app key the token was issued to. */
  readonly appKey: string;
  /** The model's clock, epoch ms. */
  readonly nowMs: number;
}

/** What a {@link KiwoomTrRoute} answers; the mock adds `return_code`/`return_msg` and the Kiwoom headers. */
export interface KiwoomTrAnswer {
  /** The TR's fields, at the top level of the JSON body. */
  readonly fields?: Readonly<Record<string, unknown>>;
  /** `return_code`. Default `0`. */
  readonly returnCode?: number;
  /** `return_msg`. Default Kiwoom's success message. */
  readonly returnMsg?: string;
  /** The `cont-yn` answer header: `'Y'` when another page follows. Default `'N'`. */
  readonly contYn?: 'Y' | 'N';
  /** The `next-key` answer header. Default `''`. */
  readonly nextKey?: string;
  /** HTTP status. Default `200`. */
  readonly status?: number;
}

/**
 * One entry of the Kiwoom mock's TR route table: the TR `apiId` on `path`. Pass extra routes with
 * the `trRoutes` option of `createKiwoomModel` / `startMockKiwoomServer`; they add to
 * {@link KIWOOM_DEFAULT_TR_ROUTES} (same path and api-id: replaces it).
 *
 * The mock checks the bearer token first (a dead one answers `8005` in Kiwoom's envelope). A TR
 * without a route answers `{ return_code: 0, return_msg, echo: <the request body> }`. Every TR
 * answer, errors included, carries `api-id`, `cont-yn` and `next-key`.
 *
 * @example
 * ```ts
 * const ka10004: KiwoomTrRoute = {
 *   path: '/api/dostk/mrkcond',
 *   apiId: 'ka10004',
 *   answer: () => ({ fields: { bid_req_base_tm: '153000', sel_fpr_bid: '71100', buy_fpr_bid: '71000' } }),
 * };
 * const server = await startMockKiwoomServer({ trRoutes: [ka10004] });
 * ```
 */
export interface KiwoomTrRoute {
  /** The path, e.g. `/api/dostk/mrkcond`. */
  readonly path: string;
  /** The `api-id`, e.g. `ka10004`. */
  readonly apiId: string;
  /** Builds the answer; must not throw (a throw answers a 500). */
  answer(call: KiwoomTrCall): KiwoomTrAnswer;
}

const PRICE = 71_000;
const s = (n: number): string => String(n);

function field(body: unknown, name: string): string | undefined {
  const v = typeof body === 'object' && body !== null ? (body as Record<string, unknown>)[name] : undefined;
  return typeof v === 'string' && v !== '' ? v : undefined;
}

/** `ka10001` 주식기본정보요청 on `/api/dostk/stkinfo`: the stock's fields, flat. */
const KA10001: KiwoomTrRoute = {
  path: '/api/dostk/stkinfo',
  apiId: 'ka10001',
  answer(call) {
    return {
      fields: {
        stk_cd: field(call.body, 'stk_cd') ?? '005930',
        stk_nm: '삼성전자',
        setl_mm: '12',
        fav: '100',
        cap: '7780',
        flo_stk: '5969783',
        crd_rt: '+0.10',
        oyr_hgst: '+88800',
        oyr_lwst: '-53000',
        mac: '4238546',
        mac_wght: '',
        for_exh_rt: '53.51',
        repl_pric: '56800',
        per: '14.20',
        eps: '5000',
        roe: '9.0',
        pbr: '1.31',
        ev: '4.20',
        bps: '54200',
        sale_amt: '3008709',
        bus_pro: '327260',
        cup_nga: '344513',
        '250hgst': '+88800',
        '250lwst': '-53000',
        high_pric: s(PRICE + 400),
        open_pric: s(PRICE - 300),
        low_pric: s(PRICE - 700),
        upl_pric: '+91600',
        lst_pric: '-49400',
        base_pric: s(PRICE - 500),
        exp_cntr_pric: '0',
        exp_cntr_qty: '0',
        '250hgst_pric_dt': '20240711',
        '250hgst_pric_pre_rt': '-20.05',
        '250lwst_pric_dt': '20241114',
        '250lwst_pric_pre_rt': '+33.96',
        cur_prc: `+${PRICE}`,
        pre_sig: '2',
        pred_pre: '+500',
        flu_rt: '+0.71',
        trde_qty: '12345678',
        trde_pre: '+12.23',
        fav_unit: '원',
        dstr_stk: '5969783',
        dstr_rt: '100.00',
      },
    };
  },
};

function remnant(stkCd: string, name: string, qty: number): Record<string, string> {
  const avg = PRICE - 1_000;
  return {
    stk_cd: `A${stkCd}`,
    stk_nm: name,
    evltv_prft: s((PRICE - avg) * qty),
    prft_rt: '1.43',
    pur_pric: s(avg),
    pred_close_pric: s(PRICE - 500),
    rmnd_qty: s(qty),
    trde_able_qty: s(qty),
    cur_prc: s(PRICE),
    pred_buyq: '0',
    pred_sellq: '0',
    tdy_buyq: '0',
    tdy_sellq: '0',
    pur_amt: s(avg * qty),
    pur_cmsn: '0',
    evlt_amt: s(PRICE * qty),
    sell_cmsn: '0',
    tax: '0',
    sum_cmsn: '0',
    poss_rt: '50.00',
    crd_tp: '00',
    crd_tp_nm: '',
    crd_loan_dt: '',
  };
}

/**
 * `kt00018` 계좌평가잔고내역요청 on `/api/dostk/acnt`: the account totals and the
 * `acnt_evlt_remn_indv_tot` list, in two pages (`cont-yn: Y` with a `next-key` on the first; a
 * request with `cont-yn: Y` and that key gets the second holding and `cont-yn: N`).
 */
const KT00018: KiwoomTrRoute = {
  path: '/api/dostk/acnt',
  apiId: 'kt00018',
  answer(call) {
    const second = call.contYn === 'Y' && call.nextKey !== '';
    return {
      fields: {
        tot_pur_amt: s((PRICE - 1_000) * 12),
        tot_evlt_amt: s(PRICE * 12),
        tot_evlt_pl: s(1_000 * 12),
        tot_prft_rt: '1.43',
        prsm_dpst_aset_amt: s(10_000_000 + PRICE * 12),
        tot_loan_amt: '0',
        tot_crd_loan_amt: '0',
        tot_crd_ls_amt: '0',
        acnt_evlt_remn_indv_tot: [second ? remnant('000660', 'SK하이닉스', 2) : remnant('005930', '삼성전자', 10)],
      },
      contYn: second ? 'N' : 'Y',
      nextKey: second ? '' : 'MOCKPAGE2',
    };
  },
};

/**
 * The TRs every Kiwoom mock knows; the `trRoutes` option adds to them (see {@link KiwoomTrRoute}).
 *
 * - `ka10001` (주식기본정보요청) on `/api/dostk/stkinfo`: the stock's fields for `stk_cd`.
 * - `kt00018` (계좌평가잔고내역요청) on `/api/dostk/acnt`: totals and `acnt_evlt_remn_indv_tot`,
 *   in two pages (`cont-yn`/`next-key`).
 */
export const KIWOOM_DEFAULT_TR_ROUTES: readonly KiwoomTrRoute[] = [KA10001, KT00018];

/** Kiwoom routes by `"<path> <apiId>"`. */
export type KiwoomTrRouteTable = ReadonlyMap<string, KiwoomTrRoute>;

const keyOf = (path: string, apiId: string): string => `${path} ${apiId}`;

/**
 * The built-in routes plus `extra`, checked.
 *
 * @throws LsTokenError `ERR_INVALID_OPTION` (field `trRoutes`) for a malformed route.
 */
export function buildKiwoomTrRouteTable(extra?: readonly KiwoomTrRoute[]): KiwoomTrRouteTable {
  const isKiwoomRoute = (r: unknown): r is KiwoomTrRoute => {
    const apiId: unknown = isRouteLike(r) ? (r as { apiId?: unknown }).apiId : undefined;
    return typeof apiId === 'string' && apiId !== '';
  };
  return buildRouteTable(KIWOOM_DEFAULT_TR_ROUTES, extra, isKiwoomRoute, (r) => keyOf(r.path, r.apiId), '{ path starting with "/", non-empty apiId, answer function }');
}

/** The route for a call, if the table has one. */
export function findKiwoomTrRoute(table: KiwoomTrRouteTable, path: string, apiId: string | undefined): KiwoomTrRoute | undefined {
  return apiId === undefined ? undefined : table.get(keyOf(path, apiId));
}
