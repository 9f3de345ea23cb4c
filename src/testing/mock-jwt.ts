/**
 * JWTs shaped like LS access tokens, and the KST cut-off arithmetic, for the mock LS server.
 *
 * LS tokens are compact HS512 JWTs (header `{"typ":"JWT","alg":"HS512"}`) whose claims, decoded
 * from LS's own examples, are `sub: "token"`, `aud` (a UUID), `nbf`, `grant_type: "Client"`,
 * `iss: "unogw"`, `exp`, `iat` (epoch seconds) and `jti` (the app key). See
 * `../shared/ls-openapi-oauth.md` (the project's API reference), "Issue a token".
 *
 * @module
 */
import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import { ErrorCodes, LsTokenError } from '../core/errors.js';

/** Mock options are checked like the library's: a typed LsTokenError naming the field. */
function mockOptionError(field: string, message: string): LsTokenError {
  return new LsTokenError(ErrorCodes.INVALID_OPTION, `Invalid mock option "${field}": ${message}`, { field });
}

/** The claims of a mock LS access token, in the order LS writes them. */
export interface MockJwtClaims {
  /** Always `"token"`. */
  readonly sub: 'token';
  /** A random UUID: it is what makes every token unique. */
  readonly aud: string;
  /** Not-before, epoch seconds (equals `iat`). */
  readonly nbf: number;
  /** Always `"Client"`. */
  readonly grant_type: 'Client';
  /** Always `"unogw"`. */
  readonly iss: 'unogw';
  /** Expiry, epoch seconds. */
  readonly exp: number;
  /** Issued-at, epoch seconds. */
  readonly iat: number;
  /** The app key the token was issued to. */
  readonly jti: string;
}

/** What {@link mintMockJwt} needs. */
export interface MintMockJwtInput {
  /** The app key; becomes the `jti` claim. */
  readonly appKey: string;
  /** Issued-at, epoch seconds (integer). */
  readonly iatS: number;
  /** Expiry, epoch seconds (integer). */
  readonly expS: number;
  /** HMAC-SHA512 key; see {@link createMockJwtSecret}. */
  readonly secret: Buffer;
  /** The `aud` claim. Default: a fresh random UUID. */
  readonly aud?: string;
}

/** The JOSE header LS tokens carry, key order included (base64url `eyJ0eXAiOiJKV1QiLCJhbGciOiJIUzUxMiJ9`). */
const HEADER_B64 = Buffer.from(JSON.stringify({ typ: 'JWT', alg: 'HS512' }), 'utf8').toString('base64url');

/** A fresh random 64-byte HMAC key (one per mock server). */
export function createMockJwtSecret(): Buffer {
  return randomBytes(64);
}

/**
 * Mints a compact HS512 JWT with LS's claim set.
 *
 * @example
 * ```ts
 * const token = mintMockJwt({ appKey: 'PSd7...', iatS: 1700000000, expS: 1700086400, secret });
 * ```
 */
export function mintMockJwt(input: MintMockJwtInput): string {
  const claims: MockJwtClaims = {
    sub: 'token',
    aud: input.aud ?? randomUUID(),
    nbf: input.iatS,
    grant_type: 'Client',
    iss: 'unogw',
    exp: input.expS,
    iat: input.iatS,
    jti: input.appKey,
  };
  const payload = Buffer.from(JSON.stringify(claims), 'utf8').toString('base64url');
  const signingInput = `${HEADER_B64}.${payload}`;
  const signature = createHmac('sha512', input.secret).update(signingInput).digest('base64url');
  return `${signingInput}.${signature}`;
}

/**
 * Checks the signature of a token minted by {@link mintMockJwt} with `secret` and returns its
 * claims, or `undefined` if it is not such a token.
 */
export function verifyMockJwt(token: string, secret: Buffer): MockJwtClaims | undefined {
  const parts = token.split('.');
  if (parts.length !== 3) return undefined;
  const [header, payload, signature] = parts as [string, string, string];
  const expected = createHmac('sha512', secret).update(`${header}.${payload}`).digest('base64url');
  if (expected !== signature) return undefined;
  try {
    const claims: unknown = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
    if (typeof claims !== 'object' || claims === null) return undefined;
    return claims as MockJwtClaims;
  } catch {
    return undefined;
  }
}

/** KST is UTC+9 all year (Korea has no daylight saving time). */
export const KST_OFFSET_MS = 9 * 60 * 60 * 1000;
const DAY_MS = 24 * 60 * 60 * 1000;
const HHMM = /^([01]\d|2[0-3]):([0-5]\d)$/;

/**
 * Parses `'HH:MM'` (24-hour, two digits each, e.g. `'07:00'`) into minutes after midnight.
 *
 * @throws RangeError if the text is not a valid `HH:MM` time.
 */
export function parseHhMm(hhmm: string): number {
  const m = HHMM.exec(hhmm);
  if (m === null) throw mockOptionError('cutoffKst', `expected a time as HH:MM (00:00..23:59), got ${JSON.stringify(hhmm)}`);
  return Number(m[1]) * 60 + Number(m[2]);
}

/**
 * The next occurrence of the wall-clock time `hhmm` in KST (UTC+9, no DST) strictly after
 * `issuedAtMs`, in epoch ms.
 *
 * @example
 * ```ts
 * // 12:53:21 KST -> 07:00 KST the next day, 65,199 s later
 * nextCutoffMs(Date.UTC(2024, 0, 1, 3, 53, 21), '07:00') === Date.UTC(2024, 0, 1, 22, 0, 0);
 * ```
 * @throws RangeError if `hhmm` is not a valid `HH:MM` time.
 */
export function nextCutoffMs(issuedAtMs: number, hhmm: string): number {
  const minutes = parseHhMm(hhmm);
  const kstDayStart = Math.floor((issuedAtMs + KST_OFFSET_MS) / DAY_MS) * DAY_MS - KST_OFFSET_MS;
  let cutoff = kstDayStart + minutes * 60_000;
  while (cutoff <= issuedAtMs) cutoff += DAY_MS;
  return cutoff;
}
