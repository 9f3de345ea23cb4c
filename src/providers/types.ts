/**
 * The broker-neutral result types of the providers layer, shared by every provider, the generic
 * {@link OAuthClient} and the layers above: what an issuance and a revocation return, and a daily
 * cut-off. (The connection options of a client are in `client-options.ts`.)
 */

/** A successfully issued token, as returned by {@link LsOAuthClient.issueToken} (and every provider's client). */
export interface IssuedToken {
  /** The raw bearer token. Secret: never log it. */
  readonly accessToken: string;
  /** Token type from the broker, normally `Bearer`. */
  readonly tokenType: string;
  /** Scope from the broker (LS: `oob`; `''` when the broker sends none). */
  readonly scope: string;
  /** When the request was sent, epoch ms (a conservative start for the lifetime). */
  readonly issuedAt: number;
  /** Effective expiry, epoch ms: the earliest of issuedAt + expires_in, the JWT `exp` and the stated expiry. */
  readonly expiresAt: number;
  /** The lifetime the broker announced (`expires_in` or `expire_in`), ms (Kiwoom: from `expires_dt`, by this host's clock). */
  readonly lifetimeMs: number;
  /**
   * The expiry the broker stated by its own clock, epoch ms, when the answer holds one besides the
   * JWT `exp`: KIS `access_token_token_expired` and Kiwoom `expires_dt` (read as KST), the earlier
   * of that and the JWT `exp`. Absent on LS answers (their JWT `exp` says it).
   */
  readonly serverExpiresAt?: number;
}

/** Outcome of a revocation: `already-invalid` (LS IGW00121/00122/00123, KIS EGW0012x, Kiwoom 8005) counts as success. */
export interface RevokeResult {
  /** `revoked`: the broker confirmed; `already-invalid`: the broker said the token was already dead. */
  readonly outcome: 'revoked' | 'already-invalid';
}

/** A daily instant at which every token dies, e.g. 07:00 in UTC+9 for LS. */
export interface DailyCutoff {
  /** Hour, 0..23, local to `utcOffsetMinutes`. */
  readonly hour: number;
  /** Minute, 0..59. */
  readonly minute: number;
  /** The zone's offset from UTC in minutes (KST: 540). */
  readonly utcOffsetMinutes: number;
}
