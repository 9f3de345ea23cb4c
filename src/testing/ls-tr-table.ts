/**
 * The TRs the LS mock answers with bodies of their own: the calls a trading daemon makes first,
 * in the block shape of LS's TR pages (`<TR>OutBlock` for a single record, `<TR>OutBlock1` as an
 * array of records, the account TRs' `OutBlock1` echoing the query and `OutBlock2` the result).
 * Values are plausible figures, not market data. Public LS clients read these blocks by name
 * right after a success code (`00000` for the `t` TRs, `00136` for the account TRs), so a block
 * left out fails them after the success test passed.
 *
 * @module
 */
import type { MockTrCall, MockTrRoute } from './ls-tr-routes.js';
import { kstYmd } from './route-table.js';

const OK_T = { rspCd: '00000', rspMsg: '정상적으로 조회가 완료되었습니다.' } as const;
const OK_ACCOUNT = { rspCd: '00136', rspMsg: '조회가 완료되었습니다.' } as const;

/** The mock's account number (11 digits: 9 of the account, 2 of the product), as LS's account TRs write it. */
export const LS_MOCK_ACCOUNT_NO = '55501234501';

function inBlock(body: unknown, name: string): Record<string, unknown> {
  const block = typeof body === 'object' && body !== null ? (body as Record<string, unknown>)[name] : undefined;
  return typeof block === 'object' && block !== null ? (block as Record<string, unknown>) : {};
}

function text(v: unknown, fallback: string): string {
  return typeof v === 'string' && v.trim() !== '' ? v : fallback;
}

/** The stock a market-data TR asks about (`shcode` of its InBlock), default Samsung Electronics. */
function shcodeOf(call: MockTrCall, block: string): string {
  return text(inBlock(call.body, block)['shcode'], '005930');
}

const PRICE = 71_000;

/** `t1102` 주식현재가(시세)조회 on `/stock/market-data`: `t1102OutBlock`. */
const T1102: MockTrRoute = {
  path: '/stock/market-data',
  trCode: 't1102',
  answer(call) {
    const shcode = shcodeOf(call, 't1102InBlock');
    return {
      ...OK_T,
      blocks: {
        t1102OutBlock: {
          hname: 'MOCK',
          price: PRICE,
          sign: '2',
          change: 500,
          diff: '0.71',
          volume: 12_345_678,
          recprice: PRICE - 500,
          avg: PRICE - 100,
          uplmtprice: 91_600,
          dnlmtprice: 49_400,
          jnilvolume: 11_000_000,
          open: PRICE - 300,
          high: PRICE + 400,
          low: PRICE - 700,
          high52w: 88_800,
          high52wdate: kstYmd(call.nowMs, 120),
          low52w: 53_000,
          low52wdate: kstYmd(call.nowMs, 240),
          per: '14.20',
          pbrx: '1.31',
          listing: 5_969_783,
          shcode,
        },
      },
    };
  },
};

/** `t1101` 주식현재가호가조회 on `/stock/market-data`: `t1101OutBlock` with ten levels each side. */
const T1101: MockTrRoute = {
  path: '/stock/market-data',
  trCode: 't1101',
  answer(call) {
    const book: Record<string, unknown> = {};
    let offer = 0;
    let bid = 0;
    for (let i = 1; i <= 10; i++) {
      book[`offerho${i}`] = PRICE + 100 * i;
      book[`bidho${i}`] = PRICE - 100 * (i - 1);
      book[`offerrem${i}`] = 1_000 * i;
      book[`bidrem${i}`] = 1_100 * i;
      book[`preoffercha${i}`] = 0;
      book[`prebidcha${i}`] = 0;
      offer += 1_000 * i;
      bid += 1_100 * i;
    }
    return {
      ...OK_T,
      blocks: {
        t1101OutBlock: {
          hname: 'MOCK',
          price: PRICE,
          sign: '2',
          change: 500,
          diff: '0.71',
          volume: 12_345_678,
          jnilclose: PRICE - 500,
          ...book,
          offer,
          bid,
          preoffercha: 0,
          prebidcha: 0,
          hotime: '153000',
          uplmtprice: 91_600,
          dnlmtprice: 49_400,
          open: PRICE - 300,
          high: PRICE + 400,
          low: PRICE - 700,
          shcode: shcodeOf(call, 't1101InBlock'),
        },
      },
    };
  },
};

function candle(date: string, i: number): Record<string, unknown> {
  const close = PRICE - 200 * i;
  return { date, open: close - 100, high: close + 300, low: close - 400, close, jdiff_vol: 10_000_000 + 1_000 * i, value: 700_000 + i, jongchk: 0, rate: 0, pricechk: 0, ratevalue: 0, sign: '2' };
}

/**
 * `t8410` API전용주식챠트(일주월년) on `/stock/chart`: `t8410OutBlock` (summary, with the
 * continuation date `cts_date`) and `t8410OutBlock1` (candles, oldest first), in two pages: the
 * first answers `tr_cont: Y` with `tr_cont_key` and `cts_date` set, a request with `tr_cont: Y`
 * gets the two older candles and `tr_cont: N`.
 */
const T8410: MockTrRoute = {
  path: '/stock/chart',
  trCode: 't8410',
  answer(call) {
    const shcode = shcodeOf(call, 't8410InBlock');
    const second = call.trCont === 'Y';
    // Page 1: yesterday and today; page 2: the two days before (LS continues backwards from cts_date).
    const days = second ? [3, 2] : [1, 0];
    const ctsDate = second ? '' : kstYmd(call.nowMs, 2);
    return {
      ...OK_T,
      blocks: {
        t8410OutBlock: {
          shcode,
          jisiga: PRICE - 800,
          jihigh: PRICE - 100,
          jilow: PRICE - 1_200,
          jiclose: PRICE - 500,
          jivolume: 11_000_000,
          disiga: PRICE - 300,
          dihigh: PRICE + 400,
          dilow: PRICE - 700,
          diclose: PRICE,
          highend: 91_600,
          lowend: 49_400,
          cts_date: ctsDate,
          s_time: '090000',
          e_time: '153000',
          dshmin: '10',
          rec_count: 2,
        },
        t8410OutBlock1: days.map((d) => candle(kstYmd(call.nowMs, d), d)),
      },
      trCont: second ? 'N' : 'Y',
      trContKey: ctsDate,
    };
  },
};

/**
 * `CSPAQ12200` 현물계좌예수금 주문가능금액 총평가 조회 on `/stock/accno`: `00136`,
 * `CSPAQ12200OutBlock1` (the query: account number, `BalCreTp`) and `CSPAQ12200OutBlock2` (cash,
 * orderable amounts, deposits D+0..D+2).
 */
const CSPAQ12200: MockTrRoute = {
  path: '/stock/accno',
  trCode: 'CSPAQ12200',
  answer(call) {
    const q = inBlock(call.body, 'CSPAQ12200InBlock1');
    const cash = 10_000_000;
    return {
      ...OK_ACCOUNT,
      blocks: {
        CSPAQ12200OutBlock1: { RecCnt: 1, MgmtBrnNo: '', AcntNo: LS_MOCK_ACCOUNT_NO, Pwd: '', BalCreTp: text(q['BalCreTp'], '0') },
        CSPAQ12200OutBlock2: {
          RecCnt: 1,
          BrnNm: 'MOCK',
          AcntNm: 'MOCK',
          MnyOrdAbleAmt: cash,
          MnyoutAbleAmt: cash,
          SeOrdAbleAmt: cash,
          KdqOrdAbleAmt: cash,
          BalEvalAmt: 0,
          RcvblAmt: 0,
          DpsastTotamt: cash,
          PnlRat: 0,
          InvstOrgAmt: cash,
          InvstPlAmt: 0,
          CrdtPldgOrdAmt: 0,
          Dps: cash,
          D1Dps: cash,
          D2Dps: cash,
          OrdDt: kstYmd(call.nowMs),
          MgnMny: 0,
          SubstMny: 0,
        },
      },
    };
  },
};

function holding(expcode: string, hname: string, janqty: number): Record<string, unknown> {
  const pamt = PRICE - 1_000;
  return { expcode, hname, jangb: '현금', janqty, mdposqt: janqty, pamt, mamt: pamt * janqty, appamt: PRICE * janqty, price: PRICE, dtsunik: (PRICE - pamt) * janqty, sunikrt: '1.43', fee: 0, tax: 0 };
}

/**
 * `t0424` 주식잔고2 on `/stock/accno`: `t0424OutBlock` (totals, continuation key `cts_expcode`)
 * and the holdings in `t0424OutBlock1`, one page.
 */
const T0424: MockTrRoute = {
  path: '/stock/accno',
  trCode: 't0424',
  answer() {
    const rows = [holding('005930', '삼성전자', 10), holding('000660', 'SK하이닉스', 2)];
    const sum = (k: string): number => rows.reduce((a, r) => a + (r[k] as number), 0);
    return {
      ...OK_T,
      blocks: {
        t0424OutBlock: { sunamt: 10_000_000 + sum('appamt'), dtsunik: sum('dtsunik'), mamt: sum('mamt'), sunamt1: 10_000_000, cts_expcode: '', tappamt: sum('appamt'), tdtsunik: sum('dtsunik') },
        t0424OutBlock1: rows,
      },
    };
  },
};

/** `FOCCQ33600` on `/stock/accno`: see {@link LS_DEFAULT_TR_ROUTES}. */
const FOCCQ33600: MockTrRoute = {
  path: '/stock/accno',
  trCode: 'FOCCQ33600',
  answer(call) {
    if (call.paper) return { rspCd: '01900', rspMsg: '모의투자에서는 해당업무가 제공되지 않습니다.' };
    const q = inBlock(call.body, 'FOCCQ33600InBlock1');
    return {
      ...OK_ACCOUNT,
      blocks: {
        FOCCQ33600OutBlock1: {
          RecCnt: 1,
          AcntNo: '',
          Pwd: '',
          QrySrtDt: text(q['QrySrtDt'], ''),
          QryEndDt: text(q['QryEndDt'], ''),
          TermTp: text(q['TermTp'], '1'),
        },
        FOCCQ33600OutBlock2: { RecCnt: 1, AcntNm: 'MOCK', BnsctrAmt: 0, MnyinAmt: 0, MnyoutAmt: 0, InvstAvrbalPramt: 0, InvstPlAmt: 0, InvstErnrat: 0 },
        FOCCQ33600OutBlock3: [],
      },
    };
  },
};

/**
 * The TRs every LS mock knows; the `trRoutes` option adds to them (see {@link MockTrRoute}).
 *
 * - `t1102` (현재가) and `t1101` (호가) on `/stock/market-data`: `t1102OutBlock` / `t1101OutBlock`
 *   for the `shcode` of the InBlock (default `005930`).
 * - `t8410` (일봉 차트) on `/stock/chart`: `t8410OutBlock` and a `t8410OutBlock1` array, in two pages
 *   (`tr_cont: Y` plus `tr_cont_key` and `cts_date` on the first).
 * - `CSPAQ12200` (예수금/주문가능금액) on `/stock/accno`: `00136` with `CSPAQ12200OutBlock1` and `OutBlock2`.
 * - `t0424` (주식잔고2) on `/stock/accno`: totals in `t0424OutBlock`, holdings in `t0424OutBlock1`.
 * - `FOCCQ33600` (기간별수익률) on `/stock/accno`: the account TR LS clients call right after login,
 *   reading `rsp_msg` to tell a paper-trading (모의투자) app key from a live one. For a live key it
 *   answers `00136` "조회가 완료되었습니다." with minimal `FOCCQ33600OutBlock1..3` (OutBlock1 echoes
 *   the query dates); for a paper key (a credential with `paper: true`) it answers `01900`
 *   "모의투자에서는 해당업무가 제공되지 않습니다.", which public client code for this API reports
 *   from LS's paper service.
 *
 * Dates are the model's clock's KST days, so a rehearsal on a pinned clock gets the same answers.
 */
export const LS_DEFAULT_TR_ROUTES: readonly MockTrRoute[] = [T1102, T1101, T8410, CSPAQ12200, T0424, FOCCQ33600];
