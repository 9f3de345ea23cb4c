/**
 * JWTs shaped like LS access tokens, and the KST cut-off arithmetic, for the mock LS server.
 *
 * LS tokens are compact HS512 JWTs (header `{"typ":"JWT","alg":"HS512"}`) whose claims, decoded
 * from LS's own examples, are `sub: "token"`, `aud` (a UUID), `nbf`, `grant_type: "Client"`,
 * `iss: "unogw"`, `exp`, `iat` (epoch seconds) and `jti` (the app key).
 *
 * @module
 */
import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import { mockOptionError } from './faults.js';


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
 * @throws LsTokenError `ERR_INVALID_OPTION` if the text is not a valid `HH:MM` time.
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
 * @throws LsTokenError `ERR_INVALID_OPTION` if `hhmm` is not a valid `HH:MM` time.
 */
export function nextCutoffMs(issuedAtMs: number, hhmm: string): number {
  return nextKstMinuteAfter(issuedAtMs, parseHhMm(hhmm));
}

/**
 * {@link nextCutoffMs} with the time already parsed into minutes after midnight (see
 * {@link parseHhMm}): the next such KST wall-clock time strictly after `afterMs`. Cheap enough to
 * call on every issuance of a simulated day.
 */
export function nextKstMinuteAfter(afterMs: number, minutes: number): number {
  const kstDayStart = Math.floor((afterMs + KST_OFFSET_MS) / DAY_MS) * DAY_MS - KST_OFFSET_MS;
  const cutoff = kstDayStart + minutes * 60_000;
  return cutoff > afterMs ? cutoff : cutoff + DAY_MS;
}

/**
 * A UUID-v4-shaped `aud` claim derived from `secret` and a counter: unique per token of one model,
 * and the same on every run when the model's JWT secret is fixed (so a seeded simulation replays
 * byte for byte).
 */
export function mockAud(secret: Buffer, n: number): string {
  const b = createHmac('sha256', secret).update(`aud:${n}`).digest().subarray(0, 16);
  b[6] = (b[6]! & 0x0f) | 0x40;
  b[8] = (b[8]! & 0x3f) | 0x80;
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}
