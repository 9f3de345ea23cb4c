/**
 * The checks every token answer goes through once the broker has said "success", whichever broker:
 * the token's length and characters (RFC 6750 `b64token`, so it is sent exactly as received), the
 * token type, the lifetime and stated expiry within bounds, and a JWT not dead on arrival by its own
 * claims. From the moment a token is in hand, every refusal keeps it for `rejectedTokenOf`, so that
 * a token the broker may have made live can still be revoked.
 */
import type { LsTokenError } from '../core/errors.js';
import { readJwtClaims } from './ls/jwt-claims.js';
import type { IssuedToken } from './types.js';
import { B64TOKEN, MAX_ISSUED_TOKEN_LENGTH, badResponse, lifetimeSeconds, withRejectedToken } from './response-parts.js';

/** What a provider's parser read from a success answer. */
export interface TokenAnswer {
  /** The broker's name in messages. */
  readonly broker: string;
  /** HTTP status of the answer. */
  readonly status: number;
  /** The name of the token field (`access_token`, `token`). */
  readonly tokenField: string;
  /** The token field's value (checked here). */
  readonly token: string;
  /** The `token_type` field (absent means Bearer). */
  readonly tokenType: unknown;
  /** The scope to report (`''` when the broker sends none). */
  readonly scope: string;
  /** When the request was sent, epoch ms. */
  readonly issuedAt: number;
  /** The lifetime field and its raw value, when the broker sends one. */
  readonly lifetime?: { readonly field: string; readonly value: unknown };
  /** The stated expiry field and its raw value (a KST wall-clock time), with its reader. */
  readonly statedExpiry?: { readonly field: string; readonly value: unknown; readonly parse: (v: unknown) => number | undefined };
  /** Longest lifetime believed, s; a longer one is a broken or hostile answer. */
  readonly maxLifetimeS: number;
  /** Whether the token's JWT claims are read (`exp`, `iat`). */
  readonly jwt: boolean;
}

/**
 * Checks a success answer and builds the {@link IssuedToken}: its expiry is the earliest of
 * `issuedAt + lifetime`, the stated expiry and the JWT `exp`.
 *
 * @throws LsTokenError `ERR_BAD_RESPONSE` naming the field at fault.
 */
export function checkTokenAnswer(a: TokenAnswer): IssuedToken {
  const { broker, status, token, issuedAt, maxLifetimeS } = a;
  if (token.length === 0 || token.length > MAX_ISSUED_TOKEN_LENGTH) {
    throw badResponse(broker, 'token', status, a.tokenField, `is empty or longer than ${MAX_ISSUED_TOKEN_LENGTH} characters`);
  }
  const reject = (field: string, problem: string): LsTokenError => withRejectedToken(badResponse(broker, 'token', status, field, problem), token);
  if (!B64TOKEN.test(token)) throw reject(a.tokenField, 'holds characters outside the RFC 6750 b64token set (letters, digits, - . _ ~ + / and trailing =)');
  const tokenType = a.tokenType === undefined ? 'Bearer' : a.tokenType;
  if (typeof tokenType !== 'string' || tokenType.toLowerCase() !== 'bearer') throw reject('token_type', 'is not "Bearer"');
  const maxMs = maxLifetimeS * 1000;
  let lifetimeS: number | undefined;
  if (a.lifetime !== undefined) {
    lifetimeS = lifetimeSeconds(a.lifetime.value);
    if (!Number.isFinite(lifetimeS) || lifetimeS <= 0) throw reject(a.lifetime.field, 'is missing or not a positive number of seconds');
    if (lifetimeS > maxLifetimeS) throw reject(a.lifetime.field, `is more than ${maxLifetimeS} s; ${broker} tokens do not live that long`);
  }
  let stated: number | undefined;
  if (a.statedExpiry !== undefined) {
    stated = a.statedExpiry.parse(a.statedExpiry.value);
    if (stated === undefined) throw reject(a.statedExpiry.field, 'is not the documented KST time');
    if (stated - issuedAt > maxMs) throw reject(a.statedExpiry.field, `is more than ${maxLifetimeS} s after issuance; ${broker} tokens do not live that long`);
  }
  const claims = a.jwt ? readJwtClaims(token) : undefined;
  const exp = claims?.exp;
  if (exp !== undefined && exp * 1000 - issuedAt > maxMs) throw reject('exp', `of the JWT is more than ${maxLifetimeS} s after issuance; ${broker} tokens do not live that long`);
  // Dead on arrival by the token's own claims, whatever the clocks say (see LS's parser).
  const bornAt = claims?.iat ?? claims?.nbf;
  if (exp !== undefined && bornAt !== undefined && exp <= bornAt) throw reject('exp', 'of the JWT is not after its iat/nbf: the token is dead on arrival');
  const expMs = exp === undefined ? undefined : exp * 1000;
  const serverExpiresAt = stated === undefined ? undefined : Math.min(stated, expMs ?? Infinity);
  const byLifetime = lifetimeS === undefined ? Infinity : issuedAt + lifetimeS * 1000;
  const expiresAt = Math.min(byLifetime, serverExpiresAt ?? expMs ?? Infinity);
  if (!Number.isFinite(expiresAt)) throw reject(a.lifetime?.field ?? 'expires_in', 'is missing: the answer says nothing of when the token expires');
  return {
    accessToken: token,
    tokenType,
    scope: a.scope,
    issuedAt,
    expiresAt,
    lifetimeMs: lifetimeS === undefined ? expiresAt - issuedAt : lifetimeS * 1000,
    ...(serverExpiresAt === undefined ? {} : { serverExpiresAt }),
  };
}
