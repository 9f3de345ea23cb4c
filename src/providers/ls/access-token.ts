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
import { ErrorCodes, LsTokenError } from '../../core/errors.js';
import { checkJwtShape, isSeconds } from '../jwt-shape.js';


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
  const shape = checkJwtShape(token);
  if (!shape.ok) return shape;
  const claims = shape.claims;
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
