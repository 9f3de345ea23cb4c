/**
 * Everything the LS mock says that is LS's own: paths, form fields, business codes and messages,
 * and the body shape of each endpoint's answers. The model decides *what* happens; this file
 * decides how LS would *say* it. A KIS or Kiwoom mock brings its own dialect file and reuses the
 * model machinery, the faults, the server, the adapter and the control endpoint.
 *
 * LS facts used here (from LS's API pages and what was measured on the live service):
 * - the token endpoint answers errors as `{ "error_code": "IGW00105", "error_description": "..." }`
 *   (a wrong secret was measured as HTTP 403 with this body);
 * - revoke and TR calls answer business errors as `{ "rsp_cd": "IGW00121", "rsp_msg": "..." }`,
 *   with HTTP 200 on TR calls and 4xx/5xx on the others;
 * - revoke success is `{ "code": 200, "message": "접근토큰 폐기에 성공하였습니다." }` (the page's
 *   field table types `code` as a 3-character string);
 * - every TR answer carries the headers `tr_cd`, `tr_cont` (`Y`: more pages, `N`: last page) and
 *   `tr_cont_key` (the key to send back for the next page).
 *
 * @module
 */
import type { MockEndpoint, MockFault } from './faults.js';
import { JSON_CONTENT_TYPE, jsonResponse, textResponse, type MockResponse } from './wire.js';

export { bearerToken } from './wire.js';

/** LS's OAuth paths. Any other `POST` path is a TR call. */
export const LS_PATHS = { token: '/oauth2/token', revoke: '/oauth2/revoke' } as const;

/** The gateway codes the mock answers, with LS's messages. */
export const LS_MESSAGES = {
  IGW00002: '서버 에러가 발생했습니다.',
  IGW00102: 'appkey가 누락되었습니다.',
  IGW00103: '유효하지 않은 AppKey입니다.',
  IGW00104: 'appsecretkey가 누락되었습니다.',
  IGW00105: '유효하지 않은 AppSecret입니다.',
  IGW00109: 'scope가 누락되었습니다.',
  IGW00110: '유효하지 않은 scope입니다.',
  IGW00115: 'grant_type이 누락되었습니다.',
  IGW00116: '지원하지 않는 grant_type입니다.',
  IGW00117: '지원하지 않는 token_type_hint입니다.',
  IGW00121: '유효하지 않은 토큰입니다.',
  IGW00123: '만료된 토큰입니다.',
  IGW00132: 'Content-Type이 유효하지 않습니다.',
  IGW00201: '초당 거래건수를 초과하였습니다.',
} as const;

/** A gateway code the mock knows. */
export type LsCode = keyof typeof LS_MESSAGES;

/** The longest app key and secret LS accepts (field tables of the token page). */
export const LS_MAX_CREDENTIAL_LENGTH = 36;

/** The revoke success message from LS's revoke page. */
export const LS_REVOKE_OK_MESSAGE = '접근토큰 폐기에 성공하였습니다.';

/** The answer of the TR stand-in for a TR the route table does not know. */
export const LS_TR_STAND_IN = { rsp_cd: '00000', rsp_msg: '정상적으로 조회가 완료되었습니다.' } as const;

const TRUNCATED_BODY: Readonly<Record<MockEndpoint, string>> = {
  token: '{"access_tok',
  revoke: '{"code":20',
  tr: '{"rsp_cd":"000',
};

/** The logical endpoint of a request, or `undefined` when LS would not serve it (not a POST). */
export function lsEndpointOf(method: string, path: string): MockEndpoint | undefined {
  if (method !== 'POST') return undefined;
  if (path === LS_PATHS.token) return 'token';
  if (path === LS_PATHS.revoke) return 'revoke';
  return 'tr';
}

/** Whether the request body is a form, as both OAuth endpoints require (else IGW00132). */
export function isFormRequest(headers: Readonly<Record<string, string | undefined>>): boolean {
  return (headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase() === 'application/x-www-form-urlencoded';
}

/** The form fields of LS's token endpoint. */
export const LS_TOKEN_FIELDS = ['grant_type', 'appkey', 'appsecretkey', 'scope'] as const;
/** The form fields of LS's revoke endpoint. */
export const LS_REVOKE_FIELDS = ['appkey', 'appsecretkey', 'token_type_hint', 'token'] as const;

/**
 * The form of an OAuth request: the body's when it carries any of `fields`, else the query
 * string's. Some public LS clients send the form in the query string with an empty (or `null`)
 * body (`requests.post(url, params=...)`), and the author of one marks it as working against LS;
 * when both carry fields, the body wins.
 */
export function lsForm(body: string, query: string | undefined, fields: readonly string[]): URLSearchParams {
  const fromBody = new URLSearchParams(body);
  if (fields.some((f) => fromBody.has(f)) || query === undefined || query === '') return fromBody;
  return new URLSearchParams(query);
}

/** A form field, or `undefined` when absent or empty. */
export function formField(form: URLSearchParams, name: string): string | undefined {
  const v = form.get(name);
  return v === null || v === '' ? undefined : v;
}

/** The headers every TR answer carries: `tr_cd` (echoed), `tr_cont` and `tr_cont_key`. */
export function trHeaders(trCode: string | undefined, trCont: string, trContKey: string): Record<string, string> {
  return { tr_cd: trCode ?? '', tr_cont: trCont, tr_cont_key: trContKey };
}

/** Headers of a TR answer that ends the conversation (errors, faults): no further page. */
function lastPageHeaders(endpoint: MockEndpoint, trCode: string | undefined): Record<string, string> {
  return endpoint === 'tr' ? trHeaders(trCode, 'N', '') : {};
}

/**
 * A business error in the shape LS uses on `endpoint`: `error_code`/`error_description` on the
 * token endpoint, `rsp_cd`/`rsp_msg` elsewhere (with the TR headers on TR calls).
 */
export function lsError(endpoint: MockEndpoint, status: number, code: LsCode, extraHeaders: Record<string, string> = {}, trCode?: string): MockResponse {
  const body = endpoint === 'token' ? { error_code: code, error_description: LS_MESSAGES[code] } : { rsp_cd: code, rsp_msg: LS_MESSAGES[code] };
  return jsonResponse(status, body, { ...lastPageHeaders(endpoint, trCode), ...extraHeaders });
}

/**
 * The token endpoint's success body. `lifetimeField` `'expires_in'` sends a number (LS's example);
 * `'expire_in'` a numeric string (the name and type of LS's field table).
 */
export function tokenIssued(token: string, lifetimeS: number, lifetimeField: 'expires_in' | 'expire_in'): MockResponse {
  return jsonResponse(200, {
    access_token: token,
    scope: 'oob',
    token_type: 'Bearer',
    ...(lifetimeField === 'expire_in' ? { expire_in: String(lifetimeS) } : { expires_in: lifetimeS }),
  });
}

/** The revoke endpoint's success body, `code` as the number 200 or the string "200". */
export function tokenRevoked(revokeCode: 'number' | 'string'): MockResponse {
  return jsonResponse(200, { code: revokeCode === 'string' ? '200' : 200, message: LS_REVOKE_OK_MESSAGE });
}

/** The answer an injected fault gives on `endpoint` (not for `hang` and `reset`, which have none of their own). */
export function lsFaultResponse(fault: MockFault, endpoint: MockEndpoint, trCode: string | undefined): MockResponse {
  switch (fault.kind) {
    case 'http500':
      return lsError(endpoint, fault.status ?? 500, 'IGW00002', {}, trCode);
    case 'http500-text':
      return textResponse(fault.status ?? 500, 'Internal Server Error');
    case 'rate-limit':
      return lsError(endpoint, 403, 'IGW00201', fault.retryAfterS === undefined ? {} : { 'retry-after': String(fault.retryAfterS) }, trCode);
    case 'invalid-token':
      return lsError(endpoint, 401, 'IGW00121', {}, trCode);
    case 'malformed':
      return { status: 200, headers: { 'content-type': JSON_CONTENT_TYPE, ...lastPageHeaders(endpoint, trCode) }, body: TRUNCATED_BODY[endpoint] };
    default:
      throw new Error(`fault kind ${fault.kind} has no answer of its own`);
  }
}
