/**
 * Pure parsing and classification of LS OAuth responses (`POST /oauth2/token`, `POST /oauth2/revoke`).
 *
 * Following oauth4webapi's discipline, every field is checked before it is believed, and errors are
 * classified by the LS code in the body, never by HTTP status alone: the gateway sends the same code
 * with 200, 400, 401, 403 or 500 depending on the path. Server text is quoted in messages only after
 * it went through the caller's scrubber (the client's `SecretRedactor`), so a gateway that echoes the
 * app secret or a token cannot get it into an error.
 */
import { ErrorCodes, LsTokenError, scrubTokens, type ErrorCode, type TextScrubber } from '../core/errors.js';
import { effectiveExpiry, readJwtClaims } from './jwt-claims.js';

const JWT_ONLY: TextScrubber = { scrub: (text) => scrubTokens(text) };

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

/**
 * Server text is quoted in messages only after scrubbing secrets (by value and by shape), then cut
 * short; control characters become spaces so that a gateway cannot forge log lines or send
 * terminal escapes.
 */
function safeServerText(v: unknown, scrubber: TextScrubber): string {
  const s = typeof v === 'string' ? v : '';
  // eslint-disable-next-line no-control-regex
  return scrubTokens(scrubber.scrub(s)).replace(/[\x00-\x1f\x7f-\x9f\u2028\u2029]+/g, ' ').slice(0, 120);
}

/** LS codes look like `IGW00121` or `200`; anything else from the server is not believed. */
const LS_CODE = /^[A-Za-z0-9_.-]{1,40}$/;

/**
 * Reads an LS business code from any of the body shapes the gateway uses. A code that is not a
 * short identifier, or that holds a secret the scrubber knows, is ignored (it would be quoted).
 */
export function extractLsCode(body: Json, scrubber: TextScrubber = JWT_ONLY): { code?: string; message: string } {
  const raw = str(body.error_code) ?? str(body.rsp_cd) ?? str(body.code);
  const code = raw !== undefined && LS_CODE.test(raw) && scrubber.scrub(raw) === raw ? raw : undefined;
  const message = safeServerText(body.error_description ?? body.rsp_msg ?? body.message, scrubber);
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

/** Builds the error for a response that is not a success; server text goes through `scrubber`. */
export function errorFromResponse(endpoint: string, res: RawResponse, now: number, scrubber: TextScrubber = JWT_ONLY): LsTokenError {
  const json = parseJsonObject(res.body);
  const retryAfterMs = parseRetryAfter(res.retryAfter, now);
  const base = { httpStatus: res.status, ...(retryAfterMs === undefined ? {} : { retryAfterMs }) };
  if (json !== undefined) {
    const { code: lsCode, message } = extractLsCode(json, scrubber);
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
 * Longest lifetime believed: 31 days. LS tokens live at most 24 h (they die at 07:00 KST); a
 * longer one is a broken or hostile answer, and 1e308 s would even make the expiry infinite.
 */
export const MAX_TOKEN_LIFETIME_S = 31 * 24 * 60 * 60;

/** RFC 6750 `b64token`: what a Bearer token may hold, so that it is sent exactly as received. */
const B64TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/;

/** Raw tokens of rejected responses, keyed by their error: invisible to every printer and serialiser. */
const rejectedTokens = new WeakMap<LsTokenError, string>();

/**
 * The raw token of a token response that {@link LsOAuthClient.issueToken} rejected as
 * `ERR_BAD_RESPONSE` after LS had handed it out (bad characters, a lifetime out of bounds, or a
 * JWT `exp` not after its `iat`), or `undefined` for any other error.
 *
 * LS may have made that token live (and issuing it killed the previous token of the app key), so
 * revoke it: `client.revokeToken(rejectedTokenOf(err))`. The token is a secret: it is kept outside
 * the error object (no property holds it), so it never appears in `message`, `JSON.stringify`,
 * `util.inspect` or a logger's error serializer; do not log what this returns.
 */
export function rejectedTokenOf(err: unknown): string | undefined {
  return err instanceof LsTokenError ? rejectedTokens.get(err) : undefined;
}

function withRejectedToken(err: LsTokenError, token: string): LsTokenError {
  rejectedTokens.set(err, token);
  return err;
}

/** Reads the lifetime in seconds: a number or a numeric string; `NaN` when it is neither. */
function lifetimeSeconds(raw: unknown): number {
  if (typeof raw === 'number') return raw;
  return typeof raw === 'string' && /^\s*\d+(\.\d+)?\s*$/.test(raw) ? Number(raw) : Number.NaN;
}

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
  if (accessToken.length === 0 || accessToken.length > MAX_TOKEN_LENGTH) {
    throw badResponse('token', res.status, 'access_token', `is empty or longer than ${MAX_TOKEN_LENGTH} characters`);
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
