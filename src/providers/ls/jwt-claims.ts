/**
 * Reading (not verifying) the claims of an LS access token.
 *
 * LS tokens are HS512 JWTs signed with a gateway secret the client never sees, so the signature
 * cannot be checked here; the claims are only used to learn the real expiry (`exp`), which can be
 * earlier than `issuedAt + expires_in` because of the 07:00 KST cut-off (see the API reference).
 */
export interface LsTokenClaims {
  /** Expiry, epoch seconds. */
  readonly exp?: number;
  /** Issued-at, epoch seconds. */
  readonly iat?: number;
  /** Not-before, epoch seconds. */
  readonly nbf?: number;
  /** Equals the app key on LS tokens. Treat as secret-adjacent: never log it. */
  readonly jti?: string;
}

/** Decodes the payload of a compact JWT. Returns `undefined` for anything that is not a readable JWT. */
export function readJwtClaims(token: string): LsTokenClaims | undefined {
  const parts = token.split('.');
  if (parts.length !== 3 || parts[1] === undefined || parts[1].length === 0) return undefined;
  let payload: unknown;
  try {
    payload = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) return undefined;
  const p = payload as Record<string, unknown>;
  const out: { exp?: number; iat?: number; nbf?: number; jti?: string } = {};
  for (const k of ['exp', 'iat', 'nbf'] as const) {
    const v = p[k];
    if (typeof v === 'number' && Number.isFinite(v) && v > 0) out[k] = v;
  }
  if (typeof p.jti === 'string') out.jti = p.jti;
  return out;
}

/**
 * The effective expiry of a freshly issued token, epoch ms: the earlier of
 * `issuedAt + lifetimeS` and the JWT `exp` claim when the token carries one.
 */
export function effectiveExpiry(issuedAtMs: number, lifetimeS: number, token: string): number {
  const byLifetime = issuedAtMs + lifetimeS * 1000;
  const exp = readJwtClaims(token)?.exp;
  return exp !== undefined && exp * 1000 < byLifetime ? exp * 1000 : byLifetime;
}
