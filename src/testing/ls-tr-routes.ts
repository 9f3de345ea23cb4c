/**
 * The TR route table of the LS mock: which TRs answer with a body of their own, and how to add
 * one (see {@link MockTrRoute}; the built-in routes are in `ls-tr-table`, {@link LS_DEFAULT_TR_ROUTES}).
 *
 * @module
 */
import { LS_TR_STAND_IN, trHeaders } from './ls-dialect.js';
import { buildRouteTable, isRouteLike } from './route-table.js';
import { jsonResponse, type MockResponse } from './wire.js';

/** A TR call with a live token, as a route sees it. */
export interface MockTrCall {
  /** The request path, e.g. `/stock/accno`. */
  readonly path: string;
  /** The `tr_cd` request header, if sent. */
  readonly trCode: string | undefined;
  /** The `tr_cont` request header: `Y` asks for the page after `trContKey`. Default `N`. */
  readonly trCont: string;
  /** The `tr_cont_key` request header. Default `''`. */
  readonly trContKey: string;
  /** The request body parsed as JSON, or `null` when it is empty or not JSON. */
  readonly body: unknown;
  /** The app key the token was issued to. */
  readonly appKey: string;
  /** Whether that app key is a paper-trading key (its credential has `paper: true`). */
  readonly paper: boolean;
  /** The model's clock, epoch ms. */
  readonly nowMs: number;
}

/** What a route answers; the mock adds the LS headers and serialises it. */
export interface MockTrAnswer {
  /** `rsp_cd`, e.g. `'00000'`. */
  readonly rspCd: string;
  /** `rsp_msg`. */
  readonly rspMsg: string;
  /** The TR's blocks (`<TR>OutBlock...`), merged into the JSON body next to `rsp_cd`/`rsp_msg`. */
  readonly blocks?: Readonly<Record<string, unknown>>;
  /** The `tr_cont` answer header: `'Y'` when another page follows. Default `'N'`. */
  readonly trCont?: 'Y' | 'N';
  /** The `tr_cont_key` answer header: the key the client sends back for the next page. Default `''`. */
  readonly trContKey?: string;
  /** HTTP status. Default `200` (LS answers TR business errors with 200 too). */
  readonly status?: number;
}

/**
 * One entry of the mock's TR route table: the TR `trCode` on `path`. Pass extra routes with the
 * `trRoutes` option; they add to {@link LS_DEFAULT_TR_ROUTES} (a route with the same path and TR
 * code replaces the built-in one).
 *
 * A TR call is any `POST` path other than the two OAuth paths (and `/__mock/...`); LS names the
 * TR in the `tr_cd` request header and pages with the `tr_cont`/`tr_cont_key` headers, request and
 * answer. The mock checks the bearer token of every TR call first: a missing, unknown, revoked or
 * superseded token answers `IGW00121`, an expired one `IGW00123`, both with HTTP 200 and
 * `rsp_cd`/`rsp_msg`, as LS does. A live token then goes to the route whose `path` and `trCode`
 * match; a TR without a route gets the stand-in answer
 * `{ "rsp_cd": "00000", "rsp_msg": "...", "echo": <the request body> }`. Every TR answer carries
 * the `tr_cd`, `tr_cont` and `tr_cont_key` headers (`N` and `''` unless the route says otherwise).
 *
 * @example A TR with two pages
 * ```ts
 * const t8407: MockTrRoute = {
 *   path: '/stock/market-data',
 *   trCode: 't8407',
 *   answer: (call) =>
 *     call.trCont === 'Y' && call.trContKey === 'p2'
 *       ? { rspCd: '00000', rspMsg: '조회완료', blocks: { t8407OutBlock1: [{ shcode: '000660' }] } }
 *       : { rspCd: '00000', rspMsg: '조회완료', blocks: { t8407OutBlock1: [{ shcode: '005930' }] }, trCont: 'Y', trContKey: 'p2' },
 * };
 * const server = await startMockLsServer({ trRoutes: [t8407] });
 * ```
 */
export interface MockTrRoute {
  /** The path, e.g. `/stock/accno`. */
  readonly path: string;
  /** The `tr_cd`, e.g. `FOCCQ33600`. */
  readonly trCode: string;
  /** Builds the answer; must not throw (a throw answers a 500). */
  answer(call: MockTrCall): MockTrAnswer;
}

/** Routes by `"<path> <trCode>"`. */
export type TrRouteTable = ReadonlyMap<string, MockTrRoute>;

function routeKey(path: string, trCode: string): string {
  return `${path} ${trCode}`;
}

function isLsRoute(r: unknown): r is MockTrRoute {
  const trCode: unknown = isRouteLike(r) ? (r as { trCode?: unknown }).trCode : undefined;
  return typeof trCode === 'string' && trCode !== '';
}

/**
 * `builtIns` plus `extra`, checked (a route of `extra` with the same path and TR code replaces the built-in one).
 *
 * @throws LsTokenError `ERR_INVALID_OPTION` (field `trRoutes`) for a malformed route.
 */
export function buildTrRouteTable(builtIns: readonly MockTrRoute[], extra: readonly MockTrRoute[] = []): TrRouteTable {
  return buildRouteTable(builtIns, extra, isLsRoute, (r) => routeKey(r.path, r.trCode), '{ path starting with "/", non-empty trCode, answer function }');
}

/** The route for a call, if the table has one. */
export function findTrRoute(table: TrRouteTable, path: string, trCode: string | undefined): MockTrRoute | undefined {
  return trCode === undefined ? undefined : table.get(routeKey(path, trCode));
}

/** A route's answer on the wire: JSON body `{ rsp_cd, rsp_msg, ...blocks }` and the TR headers. */
export function trAnswerResponse(call: MockTrCall, answer: MockTrAnswer): MockResponse {
  return jsonResponse(
    answer.status ?? 200,
    { rsp_cd: answer.rspCd, rsp_msg: answer.rspMsg, ...answer.blocks },
    trHeaders(call.trCode, answer.trCont ?? 'N', answer.trContKey ?? ''),
  );
}

/** The stand-in answer for a TR without a route: `00000` and the request body echoed. */
export function trStandInResponse(call: MockTrCall): MockResponse {
  return jsonResponse(200, { ...LS_TR_STAND_IN, echo: call.body }, trHeaders(call.trCode, 'N', ''));
}
