/**
 * The TR route table of the KIS mock: the TR calls (`/uapi/...`) that answer with a body of their
 * own, in the shape of KIS's API pages, and how to add one (see {@link KisTrRoute} and
 * {@link KIS_DEFAULT_TR_ROUTES}).
 *
 * KIS facts used here (KIS's portal pages and official samples, and the public clients that read
 * these answers):
 * - an answer is `{ rt_cd: "0", msg_cd, msg1, ... }` with the TR's data under `output` (one
 *   record) or `output1`/`output2` (lists), all values strings;
 * - every TR answer carries the headers `tr_id` (the request's), `tr_cont` and `gt_uid` (a global
 *   transaction id); `tr_cont` `F` or `M` means another page follows, `D` or `E` that this is the
 *   last one. The client asks for the next page with the request header `tr_cont: N` and the
 *   cursor from the body (`ctx_area_fk100`/`ctx_area_nk100`) as query parameters;
 * - `/uapi/hashkey` takes the app key and secret as headers (no token) and answers
 *   `{ BODY: <the request body>, HASH: <hex digest> }`.
 *
 * @module
 */
import { createHash } from 'node:crypto';
import { buildRouteTable, isRouteLike, kstHms } from './route-table.js';

/** A TR call as a {@link KisTrRoute} sees it. */
export interface KisTrCall {
  /** `GET` (queries) or `POST` (orders). */
  readonly method: string;
  /** The request path, e.g. `/uapi/domestic-stock/v1/quotations/inquire-price`. */
  readonly path: string;
  /** The `tr_id` request header, if sent (e.g. `FHKST01010100`; paper-trading ids start with `V`). */
  readonly trId: string | undefined;
  /** The `tr_cont` request header: `N` asks for the next page, `''` (default) the first. */
  readonly trCont: string;
  /** The query parameters, names as sent (KIS documents upper case; some clients send lower case). */
  readonly query: Readonly<Record<string, string>>;
  /** The request body parsed as JSON, or `null` when it is empty or not JSON. */
  readonly body: unknown;
  /** The app key: the token's, or the `appkey` header for a route that needs no token. */
  readonly appKey: string;
  /** The model's clock, epoch ms. */
  readonly nowMs: number;
  /** The number of this TR call in the model, from 1 (order numbers, ids). */
  readonly seq: number;
}

/** What a {@link KisTrRoute} answers; the mock adds the envelope and the KIS headers. */
export interface KisTrAnswer {
  /** `rt_cd`: `'0'` success (default), `'1'` failure. */
  readonly rtCd?: string;
  /** `msg_cd`. Default `'MCA00000'`. */
  readonly msgCd?: string;
  /** `msg1`. Default `'정상처리 되었습니다.'`. */
  readonly msg1?: string;
  /** The TR's data (`output`, `output1`, `output2`, `ctx_area_fk100`, ...), merged into the JSON body after the envelope. */
  readonly fields?: Readonly<Record<string, unknown>>;
  /** The `tr_cont` answer header: `'M'` (or `'F'`) when another page follows, `'D'` (default, or `'E'`) on the last. */
  readonly trCont?: 'F' | 'M' | 'D' | 'E';
  /** HTTP status. Default `200`. */
  readonly status?: number;
}

/**
 * One entry of the KIS mock's TR route table, matched by path (KIS's paths name the TR; the
 * `tr_id` varies between live and paper trading, buy and sell, and reaches the route as
 * {@link KisTrCall.trId}). Pass extra routes with the `trRoutes` option of `createKisModel` /
 * `startMockKisServer`; they add to {@link KIS_DEFAULT_TR_ROUTES} (same path: replaces it).
 *
 * The mock checks the bearer token first (unless `needsToken` is `false`): a dead token answers
 * `EGW00121`/`EGW00123` in KIS's TR error shape. A path under `/uapi/` without a route answers the
 * stand-in `{ rt_cd: "0", msg_cd, msg1, output: {}, echo: <the request body> }`. Every TR answer,
 * errors included, carries `tr_id`, `tr_cont` and `gt_uid`.
 *
 * @example
 * ```ts
 * const psbl: KisTrRoute = {
 *   path: '/uapi/domestic-stock/v1/trading/inquire-psbl-order',
 *   answer: () => ({ fields: { output: { ord_psbl_cash: '1000000', max_buy_qty: '14' } } }),
 * };
 * const server = await startMockKisServer({ trRoutes: [psbl] });
 * ```
 */
export interface KisTrRoute {
  /** The path, under `/uapi/` (KIS's TR paths; others answer 404), e.g. `/uapi/domestic-stock/v1/trading/inquire-psbl-order`. */
  readonly path: string;
  /** Whether the call needs a live bearer token. Default `true` (`false` for `/uapi/hashkey`). */
  readonly needsToken?: boolean;
  /** Builds the answer; must not throw (a throw answers a 500). */
  answer(call: KisTrCall): KisTrAnswer;
}

/** A query parameter or body field, name matched without regard to case (clients differ). */
export function kisInput(call: KisTrCall, name: string): string | undefined {
  const lower = name.toLowerCase();
  for (const [k, v] of Object.entries(call.query)) if (k.toLowerCase() === lower) return v;
  if (typeof call.body === 'object' && call.body !== null) {
    for (const [k, v] of Object.entries(call.body as Record<string, unknown>)) if (k.toLowerCase() === lower && typeof v === 'string') return v;
  }
  return undefined;
}

const PRICE = 71_000;
const s = (n: number): string => String(n);

/** `FHKST01010100` 주식현재가 시세: `output`, the fields KIS documents (strings). */
const INQUIRE_PRICE: KisTrRoute = {
  path: '/uapi/domestic-stock/v1/quotations/inquire-price',
  answer(call) {
    const iscd = kisInput(call, 'FID_INPUT_ISCD') || '005930';
    return {
      fields: {
        output: {
          iscd_stat_cls_code: '55',
          marg_rate: '20.00',
          rprs_mrkt_kor_name: 'KOSPI200',
          bstp_kor_isnm: '전기.전자',
          temp_stop_yn: 'N',
          oprc_rang_cont_yn: 'N',
          clpr_rang_cont_yn: 'N',
          crdt_able_yn: 'Y',
          grmn_rate_cls_code: '40',
          elw_pblc_yn: 'Y',
          stck_prpr: s(PRICE),
          prdy_vrss: '500',
          prdy_vrss_sign: '2',
          prdy_ctrt: '0.71',
          acml_tr_pbmn: '876543210000',
          acml_vol: '12345678',
          prdy_vrss_vol_rate: '112.23',
          stck_oprc: s(PRICE - 300),
          stck_hgpr: s(PRICE + 400),
          stck_lwpr: s(PRICE - 700),
          stck_mxpr: '91600',
          stck_llam: '49400',
          stck_sdpr: s(PRICE - 500),
          wghn_avrg_stck_prc: s(PRICE - 100),
          hts_frgn_ehrt: '53.51',
          frgn_ntby_qty: '0',
          pgtr_ntby_qty: '0',
          aspr_unit: '100',
          hts_avls: '4238546',
          per: '14.20',
          pbr: '1.31',
          eps: '5000.00',
          bps: '54200.00',
          w52_hgpr: '88800',
          w52_hgpr_date: '20240711',
          w52_lwpr: '53000',
          w52_lwpr_date: '20241114',
          stck_shrn_iscd: iscd,
          mrkt_warn_cls_code: '00',
          short_over_yn: 'N',
          sltr_yn: 'N',
          vi_cls_code: 'N',
        },
      },
    };
  },
};

function holding(pdno: string, name: string, qty: number): Record<string, string> {
  const avg = PRICE - 1_000;
  return {
    pdno,
    prdt_name: name,
    trad_dvsn_name: '현금',
    bfdy_buy_qty: '0',
    bfdy_sll_qty: '0',
    thdt_buyqty: '0',
    thdt_sll_qty: '0',
    hldg_qty: s(qty),
    ord_psbl_qty: s(qty),
    pchs_avg_pric: `${avg}.0000`,
    pchs_amt: s(avg * qty),
    prpr: s(PRICE),
    evlu_amt: s(PRICE * qty),
    evlu_pfls_amt: s((PRICE - avg) * qty),
    evlu_pfls_rt: '1.43',
    evlu_erng_rt: '0.00000000',
    fltt_rt: '0.71',
    bfdy_cprs_icdc: '500',
  };
}

/**
 * `TTTC8434R`/`VTTC8434R` 주식잔고조회: `output1` (holdings) and `output2` (one account summary)
 * lists, in two pages: the first answers `tr_cont: M` with a cursor in `ctx_area_fk100`/`ctx_area_nk100`,
 * a request carrying that cursor (`CTX_AREA_NK100`) gets the second holding and `tr_cont: D`.
 */
const INQUIRE_BALANCE: KisTrRoute = {
  path: '/uapi/domestic-stock/v1/trading/inquire-balance',
  answer(call) {
    const cano = kisInput(call, 'CANO') ?? '';
    const second = (kisInput(call, 'CTX_AREA_NK100') ?? '').trim() !== '';
    const cash = 10_000_000;
    const stocks = [holding('005930', '삼성전자', 10), holding('000660', 'SK하이닉스', 2)];
    const cursor = second ? '' : `${cano}^MOCKPAGE2`;
    return {
      fields: {
        ctx_area_fk100: second ? '' : `${cano}^`,
        ctx_area_nk100: cursor,
        output1: [second ? stocks[1] : stocks[0]],
        output2: [
          {
            dnca_tot_amt: s(cash),
            nxdy_excc_amt: s(cash),
            prvs_rcdl_excc_amt: s(cash),
            cma_evlu_amt: '0',
            bfdy_buy_amt: '0',
            thdt_buy_amt: '0',
            nxdy_auto_rdpt_amt: '0',
            bfdy_sll_amt: '0',
            thdt_sll_amt: '0',
            d2_auto_rdpt_amt: '0',
            bfdy_tlex_amt: '0',
            thdt_tlex_amt: '0',
            tot_loan_amt: '0',
            scts_evlu_amt: s(PRICE * 12),
            tot_evlu_amt: s(cash + PRICE * 12),
            nass_amt: s(cash + PRICE * 12),
            fncg_gld_auto_rdpt_yn: 'N',
            pchs_amt_smtl_amt: s((PRICE - 1_000) * 12),
            evlu_amt_smtl_amt: s(PRICE * 12),
            evlu_pfls_smtl_amt: s(1_000 * 12),
            tot_stln_slng_chgs: '0',
            bfdy_tot_asst_evlu_amt: s(cash + PRICE * 12),
            asst_icdc_amt: '0',
            asst_icdc_erng_rt: '0.00000000',
          },
        ],
      },
      trCont: second ? 'D' : 'M',
    };
  },
};

/** `TTTC0012U`/`TTTC0011U` (and `V...` paper ids) 주식주문(현금): `output` with `KRX_FWDG_ORD_ORGNO`, `ODNO`, `ORD_TMD`. */
const ORDER_CASH: KisTrRoute = {
  path: '/uapi/domestic-stock/v1/trading/order-cash',
  answer(call) {
    return {
      msgCd: 'APBK0013',
      msg1: '주문 전송 완료 되었습니다.',
      fields: { output: { KRX_FWDG_ORD_ORGNO: '91252', ODNO: String(call.seq).padStart(10, '0'), ORD_TMD: kstHms(call.nowMs) } },
    };
  },
};

/** `/uapi/hashkey`: `{ BODY, HASH }`, no token needed. */
const HASHKEY: KisTrRoute = {
  path: '/uapi/hashkey',
  needsToken: false,
  answer(call) {
    const body = call.body ?? {};
    return { fields: { BODY: body, HASH: createHash('sha256').update(JSON.stringify(body)).digest('hex') } };
  },
};

/**
 * The TRs every KIS mock knows; the `trRoutes` option adds to them (see {@link KisTrRoute}).
 *
 * - `inquire-price` (주식현재가 시세, `FHKST01010100`): `output` for `FID_INPUT_ISCD`.
 * - `inquire-balance` (주식잔고조회, `TTTC8434R`/`VTTC8434R`): `output1` + `output2` lists, in two
 *   pages (`tr_cont` `M`, then `D` for the request carrying the cursor).
 * - `order-cash` (주식주문(현금)): `output` with `KRX_FWDG_ORD_ORGNO`, `ODNO` and `ORD_TMD`.
 * - `/uapi/hashkey`: `{ BODY, HASH }`, without a token.
 */
export const KIS_DEFAULT_TR_ROUTES: readonly KisTrRoute[] = [INQUIRE_PRICE, INQUIRE_BALANCE, ORDER_CASH, HASHKEY];

/** KIS routes by path. */
export type KisTrRouteTable = ReadonlyMap<string, KisTrRoute>;

/**
 * The built-in routes plus `extra`, checked.
 *
 * @throws LsTokenError `ERR_INVALID_OPTION` (field `trRoutes`) for a malformed route.
 */
export function buildKisTrRouteTable(extra?: readonly KisTrRoute[]): KisTrRouteTable {
  const isKisRoute = (r: unknown): r is KisTrRoute =>
    isRouteLike(r) && r.path.startsWith('/uapi/') && ((r as KisTrRoute).needsToken === undefined || typeof (r as KisTrRoute).needsToken === 'boolean');
  return buildRouteTable(KIS_DEFAULT_TR_ROUTES, extra, isKisRoute, (r) => r.path, '{ path under "/uapi/", answer function, needsToken?: boolean }');
}
