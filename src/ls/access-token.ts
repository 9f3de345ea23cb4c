/**
 * Is this string an LS access token of this app key? A local check before a revoke request.
 *
 * Why it matters: LS answers `IGW00121` ("invalid token") to a revoke of anything it does not know,
 * and that answer means "already dead" for a real token. So a typo, a truncated paste or another
 * app key's token sent to `/oauth2/revoke` reads as a successful revocation while the real token
 * lives on. Refusing such input locally turns that silent success into an error.
 *
 * What an LS access token is (decoded from LS's own examples): a compact JWT (HS512), claims
 * `sub: "token"`, `iss` (`"unogw"`), `aud`, `grant_type: "Client"`, `nbf`, `iat` and `exp` (epoch
 * seconds) and `jti`, which equals the app key. The signature is made with a gateway secret the
 * client never sees, so it cannot be verified here: this is a shape check, not authentication.
 * `iss` is required but not pinned to `"unogw"`, so that a gateway rename does not stop
 * revocations; `sub` and `jti` are what tell an access token of this app key apart.
 *
 * Nothing here ever puts the token or a claim value (the `jti` is the app key) in a reason.
 */
import { ErrorCodes, LsTokenError } from '../core/errors.js';

/** The claims of an LS access token that {@link checkLsAccessToken} requires. */
export interface LsAccessTokenClaims {
  /** Always `"token"` on LS access tokens. */
  readonly sub: 'token';
  /** The issuing gateway (`"unogw"` on LS). */
  readonly iss: string;
  /** Expiry, epoch seconds. */
  readonly exp: number;
  /** Issued-at, epoch seconds. */
  readonly iat: number;
  /** The app key the token was issued to. Secret-adjacent: never log it. */
  readonly jti: string;
}

/** The result of {@link checkLsAccessToken}: the claims, or why the string is not such a token. */
export type LsAccessTokenCheck =
  | {
      /** It is an LS access token of this app key. */
      readonly ok: true;
      /** Its claims. */
      readonly claims: LsAccessTokenClaims;
    }
  | {
      /** It is not. */
      readonly ok: false;
      /** Why, in words (never quoting the token or a claim). */
      readonly reason: string;
    };

/**
 * Longest string looked at. LS documents access tokens of up to 1000 characters; anything far
 * longer is not one, and is not worth decoding.
 */
const MAX_TOKEN_LENGTH = 8_192;

/** Signature length of the HMAC JWT algorithms, bytes (LS uses HS512). */
const HMAC_SIGNATURE_BYTES: Readonly<Record<string, number>> = { HS256: 32, HS384: 48, HS512: 64 };

/** base64url characters only (the three parts of a compact JWT). */
const B64URL = /^[A-Za-z0-9_-]+$/;

function decodePart(part: string): Record<string, unknown> | undefined {
  if (!B64URL.test(part)) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}

const isSeconds = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v) && v > 0;

/**
 * Checks that `token` is an LS access token issued for `appKey` (see the module notes). Pure: no
 * I/O, no clock (an expired token still is an access token; whether to send a request for it is
 * the caller's business).
 *
 * @example
 * ```ts
 * const check = checkLsAccessToken(pasted, appKey);
 * if (!check.ok) throw new Error(`not an LS access token of this app key: ${check.reason}`);
 * ```
 */
export function checkLsAccessToken(token: string, appKey: string): LsAccessTokenCheck {
  if (typeof token !== 'string' || token === '') return { ok: false, reason: 'it is empty' };
  if (token.length > MAX_TOKEN_LENGTH) return { ok: false, reason: `it is longer than ${MAX_TOKEN_LENGTH} characters` };
  const parts = token.split('.');
  if (parts.length !== 3 || parts.some((p) => p === '')) return { ok: false, reason: 'it is not a JWT (three base64url parts joined by dots)' };
  const header = decodePart(parts[0]!);
  if (header === undefined || typeof header['alg'] !== 'string') return { ok: false, reason: 'its JWT header is not readable' };
  if (!B64URL.test(parts[2]!)) return { ok: false, reason: 'its JWT signature part is not base64url' };
  // LS signs with HS512: a signature of any other length is a truncated (or padded) paste.
  const sigBytes = HMAC_SIGNATURE_BYTES[header['alg']];
  const gotBytes = Buffer.from(parts[2]!, 'base64url').length;
  if (sigBytes !== undefined && gotBytes !== sigBytes) {
    return { ok: false, reason: `its ${header['alg']} signature has ${gotBytes} bytes instead of ${sigBytes} (truncated?)` };
  }
  const claims = decodePart(parts[1]!);
  if (claims === undefined) return { ok: false, reason: 'its JWT claims are not readable' };
  if (claims['sub'] !== 'token') return { ok: false, reason: 'its "sub" claim is not "token" (not an LS access token)' };
  if (typeof claims['iss'] !== 'string' || claims['iss'] === '') return { ok: false, reason: 'it has no "iss" claim (not an LS access token)' };
  if (!isSeconds(claims['iat'])) return { ok: false, reason: 'it has no valid "iat" claim (not an LS access token)' };
  if (!isSeconds(claims['exp'])) return { ok: false, reason: 'it has no valid "exp" claim (not an LS access token)' };
  if (typeof claims['jti'] !== 'string' || claims['jti'] === '') return { ok: false, reason: 'it has no "jti" claim (not an LS access token)' };
  if (claims['jti'] !== appKey) return { ok: false, reason: 'it was issued for another app key ("jti" is not this app key)' };
  return { ok: true, claims: { sub: 'token', iss: claims['iss'], exp: claims['exp'], iat: claims['iat'], jti: claims['jti'] } };
}

/**
 * {@link checkLsAccessToken} as an assertion.
 *
 * @param field the option or argument that held the token, named in the error.
 * @returns the claims.
 * @throws LsTokenError `ERR_INVALID_TOKEN` with `field`, saying why (never quoting the token).
 */
export function assertLsAccessToken(token: string, appKey: string, field = 'token'): LsAccessTokenClaims {
  const check = checkLsAccessToken(token, appKey);
  if (!check.ok) throw new LsTokenError(ErrorCodes.INVALID_TOKEN, `${field} is not an LS access token of this app key: ${check.reason}`, { field });
  return check.claims;
}
