/**
 * Everything the Kiwoom (키움증권) REST mock says that is Kiwoom's own: paths, JSON fields, the
 * `return_code`/`return_msg` envelope, the 4-digit codes and their messages. The model
 * (`kiwoom-model`) decides what happens; this file decides how Kiwoom would say it.
 *
 * Kiwoom facts used here (Kiwoom's API guide and spec file for au10001/au10002, its official
 * client, and what users report from the live service):
 * - `POST /oauth2/token` takes JSON `{ grant_type, appkey, secretkey }` and answers
 *   `{ expires_dt: "YYYYMMDDHHMMSS", token_type: "bearer", token, return_code: 0, return_msg }`,
 *   `expires_dt` being a KST wall-clock time;
 * - `POST /oauth2/revoke` takes `{ appkey, secretkey, token }` and answers `{ return_code: 0, ... }`;
 * - errors usually come with HTTP 200: `return_code` is a small category (3 authentication,
 *   5 rate limit, 2 input, 7 service) and the documented 4-digit code sits in brackets inside
 *   `return_msg`, e.g. `인증에 실패했습니다[8005:Token이 유효하지 않습니다]`; a few reports show the
 *   4-digit code as `return_code` itself (the `codePlacement` option of the model);
 * - every TR answer carries the headers `api-id` (the request's), `cont-yn` and `next-key`, in
 *   lower case (see `kiwoom-tr-routes` for the TRs and paging).
 *
 * Messages the reference does not quote are the mock's own wording. Kiwoom publishes nothing for
 * its 5xx answers: the `http500` fault sends `return_code` 7 without a bracketed code.
 *
 * @module
 */
import type { MockEndpoint, MockFault } from './faults.js';
import { KST_OFFSET_MS } from './mock-jwt.js';
import { JSON_CONTENT_TYPE, jsonResponse, textResponse, type MockResponse } from './wire.js';

/** Kiwoom's OAuth paths. Any other `POST` path is a TR call. */
export const KIWOOM_PATHS = { token: '/oauth2/token', revoke: '/oauth2/revoke' } as const;

/** The success message of every Kiwoom answer. */
export const KIWOOM_OK_MESSAGE = '정상적으로 처리되었습니다';

/** The documented codes the Kiwoom mock answers, with their category (`return_code`) and text. */
export const KIWOOM_CODES = {
  1700: { category: 5, text: '허용된 API 요청 개수를 초과하였습니다. 유량=au10001' },
  8001: { category: 3, text: 'App Key와 Secret Key 검증에 실패했습니다' },
  8002: { category: 3, text: 'App Key와 Secret Key 검증에 실패했습니다' },
  8005: { category: 3, text: 'Token이 유효하지 않습니다' },
  8011: { category: 2, text: 'grant_type이 입력되지 않았습니다' },
  8012: { category: 2, text: 'grant_type이 올바르지 않습니다' },
  8016: { category: 2, text: '폐기할 Token이 입력되지 않았습니다' },
  8020: { category: 2, text: 'appkey 또는 secretkey가 입력되지 않았습니다' },
} as const;

/** A documented code the Kiwoom mock knows. */
export type KiwoomCode = keyof typeof KIWOOM_CODES;

const CATEGORY_TEXT: Readonly<Record<number, string>> = { 2: '입력값 오류입니다', 3: '인증에 실패했습니다', 5: '요청 제한을 초과하였습니다', 7: '서비스 오류가 발생했습니다' };

const TRUNCATED_BODY: Readonly<Record<MockEndpoint, string>> = { token: '{"expires_dt":"2', revoke: '{"return_co', tr: '{"return_co' };

/** Where a Kiwoom error's 4-digit code goes: in brackets inside `return_msg` (live reports), or as `return_code` itself. */
export type KiwoomCodePlacement = 'message' | 'top-level';

/** The logical endpoint of a request, or `undefined` when Kiwoom would not serve it (not a POST). */
export function kiwoomEndpointOf(method: string, path: string): MockEndpoint | undefined {
  if (method !== 'POST') return undefined;
  if (path === KIWOOM_PATHS.token) return 'token';
  if (path === KIWOOM_PATHS.revoke) return 'revoke';
  return 'tr';
}

/** `"YYYYMMDDHHMMSS"` of `ms` in KST, as in `expires_dt`. */
export function kstCompact(ms: number): string {
  return new Date(ms + KST_OFFSET_MS).toISOString().slice(0, 19).replace(/[-T:]/g, '');
}

/** An error in Kiwoom's envelope: HTTP `status` (200 as Kiwoom does), the code placed per `placement`. */
export function kiwoomError(code: KiwoomCode, placement: KiwoomCodePlacement, status = 200, extraHeaders: Record<string, string> = {}): MockResponse {
  const { category, text } = KIWOOM_CODES[code];
  const returnCode = placement === 'top-level' ? code : category;
  return jsonResponse(status, { return_code: returnCode, return_msg: `${CATEGORY_TEXT[category]}[${code}:${text}]` }, extraHeaders);
}

/** The headers of every Kiwoom TR answer: `api-id` (the request's), `cont-yn` (`Y`: another page follows) and `next-key`. */
export function kiwoomTrHeaders(apiId: string | undefined, contYn: string, nextKey: string): Record<string, string> {
  return { 'api-id': apiId ?? '', 'cont-yn': contYn, 'next-key': nextKey };
}

/** The token endpoint's success body. */
export function kiwoomTokenIssued(token: string, expiresAtMs: number): MockResponse {
  return jsonResponse(200, { expires_dt: kstCompact(expiresAtMs), token_type: 'bearer', token, return_code: 0, return_msg: KIWOOM_OK_MESSAGE });
}

/** The revoke endpoint's (and a TR's) plain success body. */
export function kiwoomOk(extra: Record<string, unknown> = {}, headers: Record<string, string> = {}): MockResponse {
  return jsonResponse(200, { return_code: 0, return_msg: KIWOOM_OK_MESSAGE, ...extra }, headers);
}

/** A service error without a documented code (`return_code` 7). */
export function kiwoomServiceError(status: number, headers: Record<string, string> = {}): MockResponse {
  return jsonResponse(status, { return_code: 7, return_msg: CATEGORY_TEXT[7] }, headers);
}

/**
 * The answer an injected fault gives on `endpoint` (not for `hang` and `reset`). `trHeaders` go on
 * a TR answer in Kiwoom's shape (not on `http500-text`, which a proxy in front of Kiwoom would send).
 */
export function kiwoomFaultResponse(fault: MockFault, endpoint: MockEndpoint, placement: KiwoomCodePlacement, rateLimitStatus: number, trHeaders: Record<string, string> = {}): MockResponse {
  const own = endpoint === 'tr' ? trHeaders : {};
  switch (fault.kind) {
    case 'http500':
      return kiwoomServiceError(fault.status ?? 500, own);
    case 'http500-text':
      return textResponse(fault.status ?? 500, 'Internal Server Error');
    case 'rate-limit':
      return kiwoomError(1700, placement, rateLimitStatus, fault.retryAfterS === undefined ? own : { ...own, 'retry-after': String(fault.retryAfterS) });
    case 'invalid-token':
      return kiwoomError(8005, placement, 200, own);
    case 'malformed':
      return { status: 200, headers: { 'content-type': JSON_CONTENT_TYPE, ...own }, body: TRUNCATED_BODY[endpoint] };
    default:
      throw new Error(`fault kind ${fault.kind} has no answer of its own`);
  }
}
