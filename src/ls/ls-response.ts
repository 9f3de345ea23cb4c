/**
 * Pure parsing and classification of LS OAuth responses (`../shared/ls-openapi-oauth.md`).
 *
 * Following oauth4webapi's discipline, every field is checked before it is believed, and errors are
 * classified by the LS code in the body, never by HTTP status alone: the gateway sends the same code
 * with 200, 400, 401, 403 or 500 depending on the path.
 */
import { ErrorCodes, LsTokenError, scrubTokens, type ErrorCode } from '../core/errors.js';
import { effectiveExpiry } from './jwt-claims.js';

/** LS codes meaning the token is invalid, unknown or expired: on revoke, the goal is reached. */
export const DEAD_TOKEN_CODES: ReadonlySet<string> = new Set(['IGW00121', 'IGW00122', 'IGW00123']);
const CREDENTIAL_CODES: ReadonlySet<string> = new Set(['IGW00102', 'IGW00103', 'IGW00104', 'IGW00105']);
const RATE_LIMIT_CODES: ReadonlySet<string> = new Set(['IGW00201']);

/** A successfully issued token, as returned by {@link LsOAuthClient.issueToken}. */
export interface IssuedToken {
  /** The raw bearer token. Secret: never log it. */
  readonly accessToken: string;
  /** Token type from LS, normally `Bearer`. */
  readonly tokenType: string;
  /** Scope from LS, normally `oob`. */
  readonly scope: string;
  /** When the request was sent, epoch ms (a conservative start for the lifetime). */
  readonly issuedAt: number;
  /** Effective expiry, epoch ms: the earlier of issuedAt + expires_in and the JWT `exp`. */
  readonly expiresAt: number;
  /** The lifetime LS announced (`expires_in` or `expire_in`), ms. */
  readonly lifetimeMs: number;
}

/** Outcome of a revocation: `already-invalid` (IGW00121/00122/00123) counts as success. */
export interface RevokeResult {
  /** `revoked`: LS confirmed; `already-invalid`: LS said the token was already dead. */
  readonly outcome: 'revoked' | 'already-invalid';
}

/** What the transport hands to the parsers. */
export interface RawResponse {
  readonly status: number;
  readonly body: string;
  readonly retryAfter?: string | undefined;
}

type Json = Record<string, unknown>;

function parseJsonObject(body: string): Json | undefined {
  try {
    const v: unknown = JSON.parse(body);
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Json) : undefined;
  } catch {
    return undefined;
  }
}

function str(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  return undefined;
}

/** Server text is quoted in messages only after scrubbing token-like strings and cutting it short. */
function safeServerText(v: unknown): string {
  const s = typeof v === 'string' ? v : '';
  return scrubTokens(s).replace(/[\r\n]+/g, ' ').slice(0, 120);
}

/** Reads an LS business code from any of the body shapes the gateway uses. */
export function extractLsCode(body: Json): { code?: string; message: string } {
  const code = str(body.error_code) ?? str(body.rsp_cd) ?? str(body.code);
  const message = safeServerText(body.error_description ?? body.rsp_msg ?? body.message);
  return code === undefined ? { message } : { code, message };
}

/** Parses a Retry-After header (seconds or an HTTP date) into ms, capped at 5 minutes. */
export function parseRetryAfter(value: string | undefined, now: number): number | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  const secs = Number(value);
  let ms: number;
  if (Number.isFinite(secs)) ms = secs * 1000;
  else {
    const at = Date.parse(value);
    if (Number.isNaN(at)) return undefined;
    ms = at - now;
  }
  return Math.min(Math.max(0, ms), 300_000);
}

/** Maps an LS business code to an error code and whether retrying can help. */
export function classifyLsCode(lsCode: string, httpStatus: number): { code: ErrorCode; retryable: boolean } {
  if (DEAD_TOKEN_CODES.has(lsCode)) return { code: ErrorCodes.INVALID_TOKEN, retryable: false };
  if (CREDENTIAL_CODES.has(lsCode)) return { code: ErrorCodes.INVALID_CREDENTIALS, retryable: false };
  if (RATE_LIMIT_CODES.has(lsCode)) return { code: ErrorCodes.RATE_LIMITED, retryable: true };
  // Unknown codes: a server-side failure is worth retrying, a rejected request is not.
  return { code: ErrorCodes.LS_REJECTED, retryable: httpStatus >= 500 };
}

/** Builds the error for a response that is not a success. */
export function errorFromResponse(endpoint: string, res: RawResponse, now: number): LsTokenError {
  const json = parseJsonObject(res.body);
  const retryAfterMs = parseRetryAfter(res.retryAfter, now);
  const base = { httpStatus: res.status, ...(retryAfterMs === undefined ? {} : { retryAfterMs }) };
  if (json !== undefined) {
    const { code: lsCode, message } = extractLsCode(json);
    if (lsCode !== undefined && lsCode !== '200') {
      const { code, retryable } = classifyLsCode(lsCode, res.status);
      return new LsTokenError(code, `LS ${endpoint} failed with ${lsCode} (HTTP ${res.status})${message ? `: ${message}` : ''}`, {
        ...base,
        lsCode,
        retryable,
      });
    }
  }
  if (res.status >= 200 && res.status < 300) {
    return new LsTokenError(ErrorCodes.BAD_RESPONSE, `LS ${endpoint} answered HTTP ${res.status} with a body that is not the documented JSON`, {
      ...base,
      retryable: true,
    });
  }
  const retryable = res.status >= 500 || res.status === 429 || res.status === 408;
  const code = res.status === 429 ? ErrorCodes.RATE_LIMITED : ErrorCodes.HTTP;
  return new LsTokenError(code, `LS ${endpoint} answered HTTP ${res.status} without an LS code`, { ...base, retryable });
}

function badResponse(endpoint: string, status: number, field: string, problem: string): LsTokenError {
  return new LsTokenError(ErrorCodes.BAD_RESPONSE, `LS ${endpoint} response field "${field}" ${problem}`, {
    httpStatus: status,
    field,
    retryable: true,
  });
}

/** Longest token accepted from the token endpoint (LS documents up to 1000 characters; leave room). */
const MAX_TOKEN_LENGTH = 8192;

/**
 * Parses a `POST /oauth2/token` response (reference: "Issue a token"). Accepts the lifetime as
 * `expires_in` or `expire_in`, number or numeric string; the expiry is then cut to the JWT `exp`.
 */
export function parseTokenResponse(res: RawResponse, issuedAt: number): IssuedToken {
  const json = parseJsonObject(res.body);
  if (res.status !== 200 || json === undefined || typeof json.access_token !== 'string') {
    if (json !== undefined && res.status === 200 && extractLsCode(json).code === undefined) {
      throw badResponse('token', res.status, 'access_token', 'is missing or not a string');
    }
    throw errorFromResponse('token', res, issuedAt);
  }
  const accessToken = json.access_token;
  if (accessToken.length === 0 || accessToken.length > MAX_TOKEN_LENGTH || /\s/.test(accessToken)) {
    throw badResponse('token', res.status, 'access_token', 'is empty, too long or contains white space');
  }
  const tokenType = json.token_type === undefined ? 'Bearer' : json.token_type;
  if (typeof tokenType !== 'string' || tokenType.toLowerCase() !== 'bearer') {
    throw badResponse('token', res.status, 'token_type', 'is not "Bearer"');
  }
  const scope = json.scope === undefined ? 'oob' : json.scope;
  if (typeof scope !== 'string') throw badResponse('token', res.status, 'scope', 'is not a string');
  const rawLifetime = json.expires_in ?? json.expire_in;
  const lifetimeS = typeof rawLifetime === 'number' ? rawLifetime : typeof rawLifetime === 'string' && /^\s*\d+(\.\d+)?\s*$/.test(rawLifetime) ? Number(rawLifetime) : NaN;
  if (!Number.isFinite(lifetimeS) || lifetimeS <= 0) {
    throw badResponse('token', res.status, json.expires_in !== undefined ? 'expires_in' : 'expire_in', 'is missing or not a positive number of seconds');
  }
  return { accessToken, tokenType, scope, issuedAt, expiresAt: effectiveExpiry(issuedAt, lifetimeS, accessToken), lifetimeMs: lifetimeS * 1000 };
}

/**
 * Parses a `POST /oauth2/revoke` response (reference: "Revoke a token"). Success is `code` 200 or
 * "200"; IGW00121/00122/00123 mean the token is already dead, which is what revocation wanted.
 */
export function parseRevokeResponse(res: RawResponse, now: number): RevokeResult {
  const json = parseJsonObject(res.body);
  if (json !== undefined) {
    const { code } = extractLsCode(json);
    if (code === '200' && res.status >= 200 && res.status < 300) return { outcome: 'revoked' };
    if (code !== undefined && DEAD_TOKEN_CODES.has(code)) return { outcome: 'already-invalid' };
    if (code === undefined && res.status >= 200 && res.status < 300) {
      throw badResponse('revoke', res.status, 'code', 'is missing');
    }
  }
  throw errorFromResponse('revoke', res, now);
}
