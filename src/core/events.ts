/**
 * The events of a {@link TokenLifecycle} (and of the {@link RevocationScheduler} inside it).
 * Payloads are plain readonly data that carry the token's fingerprint id, never the raw token,
 * so they can be logged or shipped as they are.
 */
import { scrubTokens, type LsTokenError, type TextScrubber } from './errors.js';

/** Why a token is being (or was) revoked. */
export type RevokeReason = 'expiry' | 'logout' | 'shutdown' | 'manual' | 'superseded' | 'recovery';

/** A secret-free summary of an error, as carried by events. */
export interface ErrorSummary {
  /** Stable error code, one of `ErrorCodes` (e.g. `ERR_NETWORK`). */
  readonly code: string;
  /** The secret-free message. */
  readonly message: string;
  /** The LS gateway code from the response body (e.g. `IGW00201`), if any. */
  readonly lsCode?: string | undefined;
  /** Whether trying again may succeed. */
  readonly retryable: boolean;
}

/** A token was issued by LS (`source: 'issued'`) or taken over from the store (`'adopted'`). */
export interface IssuedEvent {
  /** The token's id (hex SHA-256 of the raw token). */
  readonly id: string;
  /** Hash of the app key the token belongs to. */
  readonly appKeyId: string;
  /** When it was issued, epoch ms. */
  readonly issuedAt: number;
  /** When it expires, epoch ms. */
  readonly expiresAt: number;
  /** When it is planned to be revoked, epoch ms. */
  readonly revokeAt: number;
  /** `issued`: LS issued it to this process; `adopted`: taken over from the store. */
  readonly source: 'issued' | 'adopted';
}

/** A revocation was scheduled for `revokeAt` (epoch ms). */
export interface ScheduledEvent {
  /** The token's id. */
  readonly id: string;
  /** When the revocation is due, epoch ms. */
  readonly revokeAt: number;
  /** Why it will be revoked. */
  readonly reason: RevokeReason;
}

/** A token was revoked; `outcome: 'already-invalid'` means LS said it was already dead. */
export interface RevokedEvent {
  /** The token's id. */
  readonly id: string;
  /** Why it was revoked. */
  readonly reason: RevokeReason;
  /** `revoked`: LS confirmed; `already-invalid`: LS said it was already dead (IGW00121/22/23). */
  readonly outcome: 'revoked' | 'already-invalid';
  /** Requests sent, retries included. */
  readonly attempts: number;
  /** Time from the start of the revocation to its end, retries included, ms. */
  readonly durationMs: number;
}

/** A revoke attempt failed and another follows after `delayMs`. */
export interface RetryingEvent {
  /** The token's id. */
  readonly id: string;
  /** Why it is being revoked. */
  readonly reason: RevokeReason;
  /** The attempt that failed (1 for the first). */
  readonly attempt: number;
  /** Pause before the next attempt, ms. */
  readonly delayMs: number;
  /** Why the attempt failed. */
  readonly error: ErrorSummary;
}

/** Revocation gave up: the token may still be alive at LS until it expires. */
export interface RevokeFailedEvent {
  /** The token's id. */
  readonly id: string;
  /** Why it was being revoked. */
  readonly reason: RevokeReason;
  /** Requests sent. */
  readonly attempts: number;
  /** The last error. */
  readonly error: ErrorSummary;
}

/** A token passed its expiry before anyone revoked it; no request was sent. */
export interface ExpiredEvent {
  /** The token's id. */
  readonly id: string;
  /** When it expired, epoch ms. */
  readonly expiresAt: number;
}

/** Store or internal trouble. The lifecycle keeps running. */
export interface ErrorEvent {
  /** What went wrong (secret-free; `toJSON()` gives a loggable form). */
  readonly error: LsTokenError;
  /** What was being done, e.g. `store.update`, `sweep`, `refresh`. */
  readonly op: string;
  /** The token concerned, if any. */
  readonly id?: string | undefined;
}

/** The event map: `lifecycle.on('revoked', (e) => ...)`. */
export interface LifecycleEvents {
  /** A token was issued or adopted and is now current. */
  issued: (event: IssuedEvent) => void;
  /** A revocation was scheduled (or rescheduled). */
  scheduled: (event: ScheduledEvent) => void;
  /** A token was revoked, or LS said it was already dead. */
  revoked: (event: RevokedEvent) => void;
  /** A revoke attempt failed; another follows. */
  retrying: (event: RetryingEvent) => void;
  /** A revocation gave up: the token may live until it expires. */
  revokeFailed: (event: RevokeFailedEvent) => void;
  /** A token expired before it was revoked; no request was sent. */
  expired: (event: ExpiredEvent) => void;
  /** Store or internal trouble the lifecycle survived. */
  error: (event: ErrorEvent) => void;
}

/**
 * Builds the secret-free summary of an error carried by events. The message is scrubbed once more
 * (JWT-shaped text always; known secrets by value when `scrubber`, e.g. the shared
 * `SecretRedactor`, is given), in case the error was built by code that did not scrub it.
 */
export function summarizeError(err: LsTokenError, scrubber?: TextScrubber): ErrorSummary {
  const message = scrubTokens(scrubber === undefined ? err.message : scrubber.scrub(err.message));
  return { code: err.code, message, lsCode: err.lsCode, retryable: err.retryable };
}
