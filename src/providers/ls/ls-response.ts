/**
 * Pure parsing and classification of LS OAuth responses (`POST /oauth2/token`, `POST /oauth2/revoke`).
 *
 * Following oauth4webapi's discipline, every field is checked before it is believed, and errors are
 * classified by the LS code in the body, never by HTTP status alone: the gateway sends the same code
 * with 200, 400, 401, 403 or 500 depending on the path. Server text is quoted in messages only after
 * it went through the caller's scrubber (the client's `SecretRedactor`), so a gateway that echoes the
 * app secret or a token cannot get it into an error.
 */
import { type ErrorCode, type LsTokenError, type TextScrubber } from '../../core/errors.js';
import {
  B64TOKEN,
  JWT_ONLY,
  MAX_ISSUED_TOKEN_LENGTH,
  badResponse as brokerBadResponse,
  errorCodeOfClass,
  errorFromBody,
  lifetimeSeconds,
  parseJsonObject,
  codeAndMessage,
  str,
  withRejectedToken,
  type CodeClass,
  type CodeReader,
  type Json,
  type RawResponse,
} from '../response-parts.js';
import type { IssuedToken, RevokeResult } from '../types.js';
import { effectiveExpiry, readJwtClaims } from './jwt-claims.js';

export { parseRetryAfter, rejectedTokenOf } from '../response-parts.js';
export type { RawResponse } from '../response-parts.js';

/** LS codes meaning the token is invalid, unknown or expired: on revoke, the goal is reached. */
export const DEAD_TOKEN_CODES: ReadonlySet<string> = new Set(['IGW00121', 'IGW00122', 'IGW00123']);
const CREDENTIAL_CODES: ReadonlySet<string> = new Set(['IGW00102', 'IGW00103', 'IGW00104', 'IGW00105']);
const RATE_LIMIT_CODES: ReadonlySet<string> = new Set(['IGW00201']);

/**
 * Reads an LS business code from any of the body shapes the gateway uses. A code that is not a
 * short identifier, or that holds a secret the scrubber knows, is ignored (it would be quoted).
 */
export function extractLsCode(body: Json, scrubber: TextScrubber = JWT_ONLY): { code?: string; message: string } {
  return codeAndMessage(str(body.error_code) ?? str(body.rsp_cd) ?? str(body.code), body.error_description ?? body.rsp_msg ?? body.message, LS_CODE_PATTERN, scrubber);
}

/** LS's codes: the gateway's `IGW` and five digits, or a numeric `rsp_cd` (`00000`, `200`); anything else is server text. */
export const LS_CODE_PATTERN = /^(?:IGW\d{5}|\d{1,8})$/;

/** The class of an LS code (see {@link CodeClass}); `undefined` for one LS does not document. */
export function lsCodeClass(lsCode: string): CodeClass | undefined {
  if (DEAD_TOKEN_CODES.has(lsCode)) return 'dead-token';
  if (CREDENTIAL_CODES.has(lsCode)) return 'bad-credentials';
  if (RATE_LIMIT_CODES.has(lsCode)) return 'rate-limit';
  if (lsCode === 'IGW40342') return 'fatal-config'; // no permission for this API: fix the app's setup at LS
  return undefined;
}

/** How LS's error bodies are read. */
export const LS_CODE_READER: CodeReader = { broker: 'LS', extract: extractLsCode, classify: lsCodeClass, okCode: '200' };

/** Maps an LS business code to an error code and whether retrying can help. */
export function classifyLsCode(lsCode: string, httpStatus: number): { code: ErrorCode; retryable: boolean } {
  return errorCodeOfClass(lsCodeClass(lsCode), httpStatus);
}

/** Builds the error for a response that is not a success; server text goes through `scrubber`. */
export function errorFromResponse(endpoint: string, res: RawResponse, now: number, scrubber: TextScrubber = JWT_ONLY): LsTokenError {
  return errorFromBody(LS_CODE_READER, endpoint, res, now, scrubber);
}

function badResponse(endpoint: string, status: number, field: string, problem: string): LsTokenError {
  return brokerBadResponse('LS', endpoint, status, field, problem);
}

/**
 * Longest lifetime believed: 31 days. LS tokens live at most 24 h (they die at 07:00 KST); a
 * longer one is a broken or hostile answer, and 1e308 s would even make the expiry infinite.
 */
export const MAX_TOKEN_LIFETIME_S = 31 * 24 * 60 * 60;

/**
 * Parses a `POST /oauth2/token` response (reference: "Issue a token"). Accepts the lifetime as
 * `expires_in` or `expire_in`, number or numeric string; the expiry is then cut to the JWT `exp`.
 * Rejects as `ERR_BAD_RESPONSE` a token outside the `b64token` characters, a lifetime above
 * {@link MAX_TOKEN_LIFETIME_S} (or not finite), a JWT `exp` more than that after `issuedAt`, and a
 * token dead on arrival by its own claims (`exp` not after `iat`, or `nbf` without `iat`); the raw
 * token of such a rejected answer is kept for {@link rejectedTokenOf}. `expiresAt` may still be at
 * or before `issuedAt` when this host's clock is ahead of LS's: judge that with a clock-skew
 * estimate (the lifecycle does), not with the host clock alone.
 *
 * @param scrubber removes known secrets from server text quoted in error messages.
 */
export function parseTokenResponse(res: RawResponse, issuedAt: number, scrubber: TextScrubber = JWT_ONLY): IssuedToken {
  const json = parseJsonObject(res.body);
  if (res.status !== 200 || json === undefined || typeof json.access_token !== 'string') {
    if (json !== undefined && res.status === 200 && extractLsCode(json, scrubber).code === undefined) {
      throw badResponse('token', res.status, 'access_token', 'is missing or not a string');
    }
    throw errorFromResponse('token', res, issuedAt, scrubber);
  }
  const accessToken = json.access_token;
  if (accessToken.length === 0 || accessToken.length > MAX_ISSUED_TOKEN_LENGTH) {
    throw badResponse('token', res.status, 'access_token', `is empty or longer than ${MAX_ISSUED_TOKEN_LENGTH} characters`);
  }
  // From here on LS has handed out a token: every rejection keeps it so that it can be revoked.
  const reject = (field: string, problem: string): LsTokenError => withRejectedToken(badResponse('token', res.status, field, problem), accessToken);
  if (!B64TOKEN.test(accessToken)) {
    throw reject('access_token', 'holds characters outside the RFC 6750 b64token set (letters, digits, - . _ ~ + / and trailing =)');
  }
  const tokenType = json.token_type === undefined ? 'Bearer' : json.token_type;
  if (typeof tokenType !== 'string' || tokenType.toLowerCase() !== 'bearer') throw reject('token_type', 'is not "Bearer"');
  const scope = json.scope === undefined ? 'oob' : json.scope;
  if (typeof scope !== 'string') throw reject('scope', 'is not a string');
  const lifetimeField = json.expires_in !== undefined ? 'expires_in' : 'expire_in';
  const lifetimeS = lifetimeSeconds(json[lifetimeField]);
  if (!Number.isFinite(lifetimeS) || lifetimeS <= 0) throw reject(lifetimeField, 'is missing or not a positive number of seconds');
  if (lifetimeS > MAX_TOKEN_LIFETIME_S) throw reject(lifetimeField, `is more than 31 days (${MAX_TOKEN_LIFETIME_S} s); LS tokens live at most 24 h`);
  const claims = readJwtClaims(accessToken);
  const exp = claims?.exp;
  if (exp !== undefined && exp * 1000 - issuedAt > MAX_TOKEN_LIFETIME_S * 1000) {
    throw reject('exp', 'of the JWT is more than 31 days after issuance; LS tokens live at most 24 h');
  }
  // Dead on arrival by the token's own claims, whatever the clocks say. Whether a token is dead by
  // the host clock is left to the caller: a host clock ahead of LS's (a token issued at 06:59 KST
  // lives a minute) would otherwise throw away a good token.
  const bornAt = claims?.iat ?? claims?.nbf;
  if (exp !== undefined && bornAt !== undefined && exp <= bornAt) {
    throw reject('exp', 'of the JWT is not after its iat/nbf: the token is dead on arrival');
  }
  const expiresAt = effectiveExpiry(issuedAt, lifetimeS, accessToken);
  return { accessToken, tokenType, scope, issuedAt, expiresAt, lifetimeMs: lifetimeS * 1000 };
}

/**
 * Parses a `POST /oauth2/revoke` response (reference: "Revoke a token"). Success is `code` 200 or
 * "200"; IGW00121/00122/00123 mean the token is already dead, which is what revocation wanted.
 *
 * @param scrubber removes known secrets from server text quoted in error messages.
 */
export function parseRevokeResponse(res: RawResponse, now: number, scrubber: TextScrubber = JWT_ONLY): RevokeResult {
  const json = parseJsonObject(res.body);
  if (json !== undefined) {
    const { code } = extractLsCode(json, scrubber);
    if (code === '200' && res.status >= 200 && res.status < 300) return { outcome: 'revoked' };
    if (code !== undefined && DEAD_TOKEN_CODES.has(code)) return { outcome: 'already-invalid' };
    if (code === undefined && res.status >= 200 && res.status < 300) {
      throw badResponse('revoke', res.status, 'code', 'is missing');
    }
  }
  throw errorFromResponse('revoke', res, now, scrubber);
}
