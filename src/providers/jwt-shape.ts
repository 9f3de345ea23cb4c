/**
 * The shape of a compact JWT, checked without its signing key (brokers sign with a gateway secret
 * the client never sees): three base64url parts, a readable header naming its algorithm, an HMAC
 * signature of the length that algorithm gives (a shorter one is a truncated paste), and readable
 * claims. What the claims must say is the caller's business.
 */

/** Longest string looked at: brokers document access tokens of up to 1000 characters. */
export const MAX_JWT_LENGTH = 8_192;

/** Signature length of the HMAC JWT algorithms, bytes (LS and KIS use HS512). */
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

/** The claims of a well-shaped JWT, or why `token` is not one (never quoting it). */
export function checkJwtShape(token: string): { readonly ok: true; readonly claims: Record<string, unknown> } | { readonly ok: false; readonly reason: string } {
  if (typeof token !== 'string' || token === '') return { ok: false, reason: 'it is empty' };
  if (token.length > MAX_JWT_LENGTH) return { ok: false, reason: `it is longer than ${MAX_JWT_LENGTH} characters` };
  const parts = token.split('.');
  if (parts.length !== 3 || parts.some((p) => p === '')) return { ok: false, reason: 'it is not a JWT (three base64url parts joined by dots)' };
  const header = decodePart(parts[0]!);
  if (header === undefined || typeof header['alg'] !== 'string') return { ok: false, reason: 'its JWT header is not readable' };
  if (!B64URL.test(parts[2]!)) return { ok: false, reason: 'its JWT signature part is not base64url' };
  const sigBytes = HMAC_SIGNATURE_BYTES[header['alg']];
  const gotBytes = Buffer.from(parts[2]!, 'base64url').length;
  if (sigBytes !== undefined && gotBytes !== sigBytes) {
    return { ok: false, reason: `its ${header['alg']} signature has ${gotBytes} bytes instead of ${sigBytes} (truncated?)` };
  }
  const claims = decodePart(parts[1]!);
  if (claims === undefined) return { ok: false, reason: 'its JWT claims are not readable' };
  return { ok: true, claims };
}

/** A positive finite number of epoch seconds. */
export const isSeconds = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v) && v > 0;
