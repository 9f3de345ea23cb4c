/**
 * The events of a {@link TokenLifecycle} (and of the {@link RevocationScheduler} inside it).
 * Payloads are plain readonly data that carry the token's fingerprint id, never the raw token,
 * so they can be logged or shipped as they are.
 */
import type { LsTokenError } from './errors.js';
import type { RevokeReason } from './token-record.js';

/** A secret-free summary of an error, as carried by events. */
export interface ErrorSummary {
  readonly code: string;
  readonly message: string;
  readonly lsCode?: string | undefined;
  readonly retryable: boolean;
}

/** A token was issued by LS (`source: 'issued'`) or taken over from the store (`'adopted'`). */
export interface IssuedEvent {
  readonly id: string;
  readonly appKeyId: string;
  readonly issuedAt: number;
  readonly expiresAt: number;
  readonly revokeAt: number;
  readonly source: 'issued' | 'adopted';
}

/** A revocation was scheduled for `revokeAt` (epoch ms). */
export interface ScheduledEvent {
  readonly id: string;
  readonly revokeAt: number;
  readonly reason: RevokeReason;
}

/** A token was revoked; `outcome: 'already-invalid'` means LS said it was already dead. */
export interface RevokedEvent {
  readonly id: string;
  readonly reason: RevokeReason;
  readonly outcome: 'revoked' | 'already-invalid';
  readonly attempts: number;
  readonly durationMs: number;
}

/** A revoke attempt failed and another follows after `delayMs`. */
export interface RetryingEvent {
  readonly id: string;
  readonly reason: RevokeReason;
  readonly attempt: number;
  readonly delayMs: number;
  readonly error: ErrorSummary;
}

/** Revocation gave up: the token may still be alive at LS until it expires. */
export interface RevokeFailedEvent {
  readonly id: string;
  readonly reason: RevokeReason;
  readonly attempts: number;
  readonly error: ErrorSummary;
}

/** A token passed its expiry before anyone revoked it; no request was sent. */
export interface ExpiredEvent {
  readonly id: string;
  readonly expiresAt: number;
}

/** Store or internal trouble. The lifecycle keeps running. */
export interface ErrorEvent {
  readonly error: LsTokenError;
  /** What was being done, e.g. `store.update`, `sweep`, `refresh`. */
  readonly op: string;
  /** The token concerned, if any. */
  readonly id?: string | undefined;
}

/** The event map: `lifecycle.on('revoked', (e) => ...)`. */
export interface LifecycleEvents {
  issued: (event: IssuedEvent) => void;
  scheduled: (event: ScheduledEvent) => void;
  revoked: (event: RevokedEvent) => void;
  retrying: (event: RetryingEvent) => void;
  revokeFailed: (event: RevokeFailedEvent) => void;
  expired: (event: ExpiredEvent) => void;
  error: (event: ErrorEvent) => void;
}

/** Builds the secret-free summary of an error carried by events. */
export function summarizeError(err: LsTokenError): ErrorSummary {
  return { code: err.code, message: err.message, lsCode: err.lsCode, retryable: err.retryable };
}
