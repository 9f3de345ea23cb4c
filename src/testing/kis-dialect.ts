/**
 * Everything the KIS (한국투자증권) mock says that is KIS's own: paths, JSON fields, gateway codes
 * and messages, and the body shape of each endpoint's answers. The model (`kis-model`) decides what
 * happens; this file decides how KIS would say it.
 *
 * KIS facts used here (KIS's portal pages 접근토큰발급(P) and 접근토큰폐기(P), its official samples,
 * and what third-party clients report from the live service):
 * - `POST /oauth2/tokenP` and `POST /oauth2/revokeP` take JSON (`appkey`, `appsecret`, and
 *   `grant_type` or `token`); the token answer is `{ access_token, access_token_token_expired:
 *   "YYYY-MM-DD HH:MM:SS", token_type: "Bearer", expires_in }`, the expiry written in KST;
 * - the OAuth endpoints answer errors as `{ "error_code": "EGW00133", "error_description": "..." }`,
 *   reported with HTTP 403 (issuance more than once a minute: EGW00133; bad app key: EGW00103);
 * - revoke success is `{ "code": 200, "message": "접근토큰 폐기에 성공하였습니다" }` (`code` typed String
 *   in the field table, a number in the example);
 * - TR calls (`/uapi/...`) answer `{ "rt_cd": "1", "msg_cd": "EGW00123", "msg1": "..." }`, reported
 *   with HTTP 500 for token errors;
 * - every TR answer carries the headers `tr_id`, `tr_cont` and `gt_uid`, in lower case (see
 *   `kis-tr-routes` for the TRs and paging).
 *
 * Messages the reference does not quote are the mock's own wording. KIS publishes no code for its
 * 5xx answers: the mock's `http500` fault sends `EGW00002`, its own choice.
 *
 * @module
 */
import type { MockEndpoint, MockFault } from './faults.js';
import { KST_OFFSET_MS } from './mock-jwt.js';
import { JSON_CONTENT_TYPE, jsonResponse, textResponse, type MockResponse } from './wire.js';

/** KIS's OAuth paths. TR calls live under `/uapi/`. */
export const KIS_PATHS = { token: '/oauth2/tokenP', revoke: '/oauth2/revokeP', trPrefix: '/uapi/' } as const;

/** The gateway codes the KIS mock answers. */
export const KIS_MESSAGES = {
  EGW00002: '서버 에러가 발생했습니다.',
  EGW00102: 'AppKey는 필수입니다.',
  EGW00103: '유효하지 않은 AppKey입니다.',
  EGW00104: 'AppSecret은 필수입니다.',
  EGW00105: '유효하지 않은 AppSecret입니다.',
  EGW00115: 'grant_type은 필수입니다.',
  EGW00116: '지원하지 않는 grant_type입니다.',
  EGW00121: '유효하지 않은 token 입니다.',
  EGW00123: '기간이 만료된 token 입니다.',
  EGW00132: '유효하지 않은 Content-Type입니다.',
  EGW00133: '접근토큰 발급 잠시 후 다시 시도하세요(1분당 1회)',
  EGW00201: '초당 거래건수를 초과하였습니다.',
} as const;

/** A gateway code the KIS mock knows. */
export type KisCode = keyof typeof KIS_MESSAGES;

/** The longest app key and secret KIS's field tables allow (`appkey` String 36, `appsecret` String 180). */
export const KIS_MAX_APPKEY_LENGTH = 36;
/** See {@link KIS_MAX_APPKEY_LENGTH}. */
export const KIS_MAX_APPSECRET_LENGTH = 180;

/** The revoke success message of KIS's revoke page. */
export const KIS_REVOKE_OK_MESSAGE = '접근토큰 폐기에 성공하였습니다';

const TRUNCATED_BODY: Readonly<Record<MockEndpoint, string>> = { token: '{"access_tok', revoke: '{"code":20', tr: '{"rt_cd":"' };

/** The logical endpoint of a request, or `undefined` when KIS would not serve it. */
export function kisEndpointOf(method: string, path: string): MockEndpoint | undefined {
  if (path === KIS_PATHS.token) return method === 'POST' ? 'token' : undefined;
  if (path === KIS_PATHS.revoke) return method === 'POST' ? 'revoke' : undefined;
  return path.startsWith(KIS_PATHS.trPrefix) && (method === 'GET' || method === 'POST') ? 'tr' : undefined;
}

/** `"YYYY-MM-DD HH:MM:SS"` of `ms` in KST, as in `access_token_token_expired`. */
export function kstDateTime(ms: number): string {
  return new Date(ms + KST_OFFSET_MS).toISOString().slice(0, 19).replace('T', ' ');
}

/** An error on an OAuth endpoint: `{ error_code, error_description }`. */
export function kisOAuthError(status: number, code: KisCode, extraHeaders: Record<string, string> = {}): MockResponse {
  return jsonResponse(status, { error_code: code, error_description: KIS_MESSAGES[code] }, extraHeaders);
}

/** An error on a TR call: `{ rt_cd: "1", msg_cd, msg1 }`. */
export function kisTrError(status: number, code: KisCode, extraHeaders: Record<string, string> = {}): MockResponse {
  return jsonResponse(status, { rt_cd: '1', msg_cd: code, msg1: KIS_MESSAGES[code] }, extraHeaders);
}

/** An error in the shape `endpoint` uses. */
export function kisError(endpoint: MockEndpoint, status: number, code: KisCode, extraHeaders: Record<string, string> = {}): MockResponse {
  return endpoint === 'tr' ? kisTrError(status, code, extraHeaders) : kisOAuthError(status, code, extraHeaders);
}

/** The token endpoint's success body. */
export function kisTokenIssued(token: string, expiresAtMs: number, expiresInS: number): MockResponse {
  return jsonResponse(200, { access_token: token, access_token_token_expired: kstDateTime(expiresAtMs), token_type: 'Bearer', expires_in: expiresInS });
}

/** The revoke endpoint's success body, `code` as the number 200 or the string "200". */
export function kisTokenRevoked(revokeCode: 'number' | 'string'): MockResponse {
  return jsonResponse(200, { code: revokeCode === 'string' ? '200' : 200, message: KIS_REVOKE_OK_MESSAGE });
}

/** KIS's success `msg_cd` and `msg1` (the mock's wording for TRs whose page quotes none). */
export const KIS_TR_OK = { msg_cd: 'MCA00000', msg1: '정상처리 되었습니다.' } as const;

/**
 * The headers of every KIS TR answer: `tr_id` (the request's), `tr_cont` (`F`/`M`: another page
 * follows; `D`/`E`: the last) and `gt_uid` (a global transaction id), named as KIS writes them.
 */
export function kisTrHeaders(trId: string | undefined, trCont: string, gtUid: string): Record<string, string> {
  return { tr_id: trId ?? '', tr_cont: trCont, gt_uid: gtUid };
}

/** A TR answer for a live token on a path without a route: `rt_cd` "0" and the request echoed. */
export function kisTrOk(echo: unknown, headers: Record<string, string> = {}): MockResponse {
  return jsonResponse(200, { rt_cd: '0', ...KIS_TR_OK, output: {}, echo }, headers);
}

/**
 * The answer an injected fault gives on `endpoint` (not for `hang` and `reset`). `trHeaders` go on
 * a TR answer in KIS's shape (not on `http500-text`, which a proxy in front of KIS would send).
 */
export function kisFaultResponse(fault: MockFault, endpoint: MockEndpoint, trHeaders: Record<string, string> = {}): MockResponse {
  const own = endpoint === 'tr' ? trHeaders : {};
  switch (fault.kind) {
    case 'http500':
      return kisError(endpoint, fault.status ?? 500, 'EGW00002', own);
    case 'http500-text':
      return textResponse(fault.status ?? 500, 'Internal Server Error');
    case 'rate-limit': {
      const headers: Record<string, string> = fault.retryAfterS === undefined ? { ...own } : { ...own, 'retry-after': String(fault.retryAfterS) };
      // The token endpoint's limit is the once-a-minute issuance rule; elsewhere the per-second TR limit.
      return endpoint === 'token' ? kisOAuthError(403, 'EGW00133', headers) : kisError(endpoint, endpoint === 'tr' ? 500 : 403, 'EGW00201', headers);
    }
    case 'invalid-token':
      return kisError(endpoint, endpoint === 'tr' ? 500 : 403, 'EGW00121', own);
    case 'malformed':
      return { status: 200, headers: { 'content-type': JSON_CONTENT_TYPE, ...own }, body: TRUNCATED_BODY[endpoint] };
    default:
      throw new Error(`fault kind ${fault.kind} has no answer of its own`);
  }
}
