/**
 * One token's revocation, start to end: write the intent, find the raw token, send the request
 * with backoff, record the outcome, report it. The steps and why they are in this order:
 *
 * 0. The raw token comes from memory first (the vault), then from the store, read before anything is
 *    written: a token the store cannot open (`ERR_DECRYPT`: no or the wrong `encryptionKey`) is a
 *    configuration error, reported as `failed` with the record left untouched for a process that
 *    has the right key (a record marked `failed` would never be revoked by anyone). A plaintext
 *    record in a sealed store is not a key problem (planted, or from before encryption): `failed`.
 * 1. The intent (`revoking`) is written before any request, so a crash from then on leaves a record
 *    that says what is owed. A store that fails or hangs does not stop a token held in memory.
 * 2. A token no longer in the store (ended meanwhile) sends nothing.
 * 3. p-retry runs the attempts and owns the only time budget (`maxRetryTimeMs`); the delay between
 *    attempts is ours, so that it honours LS's rate limit and `Retry-After` and is reported in a
 *    `retrying` event.
 * 4. "Already invalid" (IGW00121/22/23) counts as revoked. A credentials error (IGW00103/IGW00105)
 *    is not the token's fault: the token stays owed (`revoking`) for the next sweep or start, with
 *    the error reported; only other final errors end the record as `failed`.
 */
import pRetry from 'p-retry';
import type { Clock } from '../core/clock.js';
import { ErrorCodes, LsTokenError, type TextScrubber, isLsTokenError, toLsTokenError } from '../core/errors.js';
import { type ErrorSummary, type LifecycleEvents, summarizeError, type RevokeReason } from '../core/events.js';
import { shortId } from '../core/fingerprint.js';
import { sleep } from '../core/sleep.js';
import type { RevokeResult } from '../providers/types.js';
import { boundedStoreCall } from '../store/store-call.js';
import type { TokenRecord, TokenRecordPatch } from '../store/token-record.js';
import type { TokenStore } from '../store/token-store.js';

/** Backoff policy of revocations. */
export interface RetryPolicy {
  /** Retries after the first attempt (`5` means up to 6 attempts). Default `5`. */
  retries?: number;
  /** Delay before the first retry, ms. Default `500`. */
  minDelayMs?: number;
  /** Cap of one delay, ms. Default `30_000`. */
  maxDelayMs?: number;
  /** Exponential factor. Default `2`. */
  factor?: number;
  /** Total time budget of one revocation including its retries, ms. Default `120_000`. */
  maxRetryTimeMs?: number;
  /** Minimum pause after a rate-limit answer (IGW00201, HTTP 429) or the server's Retry-After. Default `5_000`. */
  rateLimitDelayMs?: number;
}

/** Result of one revocation. */
export interface RevocationResult {
  /** The token's id. */
  readonly id: string;
  /** Why it was revoked. */
  readonly reason: RevokeReason;
  /**
   * `revoked`/`already-invalid`: done. `failed`: gave up after retries. `expired`: it died on its own.
   * `skipped`: already ended (or unknown), no request sent. `aborted`: a drain deadline cut it short
   * (the store still says `revoking`, so recovery will finish it). `deferred`: the token could not be
   * read from the store; rescheduled. `owed`: LS refused the app key or secret (IGW00103/IGW00105),
   * which is not the token's fault: it stays owed in the store and the next sweep or start tries again.
   */
  readonly outcome: 'revoked' | 'already-invalid' | 'failed' | 'expired' | 'skipped' | 'aborted' | 'deferred' | 'owed';
  /** Requests sent, retries included. */
  readonly attempts: number;
  /** Time the revocation took, ms. */
  readonly durationMs: number;
  /** The last error, when it did not succeed. */
  readonly error?: ErrorSummary;
}

/** Where the scheduler's events go: a function called once per event, with a typed payload. */
export type EventSink = <K extends keyof LifecycleEvents>(name: K, event: Parameters<LifecycleEvents[K]>[0]) => void;

/** Raw tokens held in memory, read before the store (so revocation works while the store is down). */
export interface HeldTokens {
  /** The raw token of `id`, if held. */
  get(id: string): string | undefined;
}

/** What one revocation works with (the scheduler's settings and services). */
export interface AttemptDeps {
  readonly store: TokenStore;
  readonly send: (token: string, signal: AbortSignal) => Promise<RevokeResult>;
  readonly vault: HeldTokens;
  readonly sink: EventSink;
  /** Scrubs secrets (the app secret, held tokens) out of every message it builds or passes on. */
  readonly scrubber: TextScrubber;
  readonly retry: Readonly<Required<RetryPolicy>>;
  readonly clockSkewMs: number;
  readonly storeRetryDelayMs: number;
  readonly now: Clock;
  readonly random: () => number;
  /** How long one store call may take now. */
  storeBoundMs(): number;
  /** Waits for a request slot under the rate limit. */
  rateSlot(signal: AbortSignal): Promise<void>;
  /** Puts the revocation back in the queue (the token could not be read from the store). */
  retryLater(id: string, expiresAt: number, reason: RevokeReason): void;
}

const REVOCABLE_STATES = ['active', 'revoking', 'failed'] as const;
const CREDENTIAL_ERRORS: ReadonlySet<string> = new Set([ErrorCodes.INVALID_CREDENTIALS]);

/** The pause before retry `attemptNumber + 1`: exponential with "equal jitter", at least the rate-limit pause after one. */
export function retryDelay(policy: Readonly<Required<RetryPolicy>>, err: LsTokenError, attemptNumber: number, random: () => number): number {
  const { minDelayMs, maxDelayMs, factor, rateLimitDelayMs } = policy;
  const base = Math.min(maxDelayMs, minDelayMs * factor ** (attemptNumber - 1));
  // Half fixed, half random: retries of a storm spread out but never hit 0.
  let delay = base / 2 + (random() * base) / 2;
  if (err.code === ErrorCodes.RATE_LIMITED || err.retryAfterMs !== undefined) delay = Math.max(delay, rateLimitDelayMs, err.retryAfterMs ?? 0);
  return Math.round(delay);
}

/** Revokes token `id`; never rejects (the outcome is in the result and in events). */
export async function runRevocation(d: AttemptDeps, id: string, reason: RevokeReason, knownExpiresAt: number | undefined, signal: AbortSignal): Promise<RevocationResult> {
  const started = d.now();
  const result = (outcome: RevocationResult['outcome'], attempts: number, error?: LsTokenError): RevocationResult => ({
    id,
    reason,
    outcome,
    attempts,
    durationMs: d.now() - started,
    ...(error === undefined ? {} : { error: summarizeError(error, d.scrubber) }),
  });
  const storeCall = <T>(p: Promise<T>, op: string): Promise<T> => boundedStoreCall(p, d.storeBoundMs(), op);
  const report = (err: unknown, op: string): LsTokenError => {
    const error = toLsTokenError(err, ErrorCodes.STORE, `${op} failed`, true, d.scrubber);
    d.sink('error', { error, op, id });
    return error;
  };
  const note = async (patch: TokenRecordPatch): Promise<void> => {
    await storeCall(d.store.update(id, patch), 'update').catch((err: unknown) => void report(err, 'store.update'));
  };

  if (signal.aborted) return result('aborted', 0);

  // 0. A token this process does not hold is opened from the store before anything is written: a
  // store this process cannot open (no or the wrong encryptionKey) is a configuration error, and
  // the record stays exactly as it was for a process that has the key.
  let token = d.vault.get(id);
  if (token === undefined) {
    try {
      token = await storeCall(d.store.getToken(id), 'getToken');
    } catch (err) {
      const e = toLsTokenError(err, ErrorCodes.STORE, 'store.getToken failed', true, d.scrubber);
      if (e.code !== ErrorCodes.DECRYPT) {
        report(e, 'store.getToken');
        if (!signal.aborted && knownExpiresAt !== undefined) d.retryLater(id, knownExpiresAt, reason);
        return result('deferred', 0, e);
      }
      const found = await storeCall(d.store.get(id), 'get').catch(() => undefined);
      if (found === undefined || !(REVOCABLE_STATES as readonly string[]).includes(found.state)) return result('skipped', 0);
      if (d.now() < found.expiresAt + d.clockSkewMs) {
        report(e, 'store.getToken');
        // A plaintext record in a sealed store (field token.alg) was planted or predates encryption:
        // never trusted, it is ended for audit as before. Only a key that does not fit leaves it be.
        if (e.field === 'token.alg') await note({ state: 'failed', reason, lastError: { code: e.code, message: e.message } });
        d.sink('revokeFailed', { id, reason, attempts: 0, error: summarizeError(e, d.scrubber) });
        return result('failed', 0, e);
      }
      // Past its expiry: nothing to send, so the token need not be opened (step 1 records it expired).
    }
  }

  // 1. The intent.
  let record: TokenRecord | undefined;
  let storeOk = true;
  try {
    record = await storeCall(d.store.update(id, { state: 'revoking', reason }, { expectStates: REVOCABLE_STATES }), 'update');
    if (record === undefined) {
      const current = await storeCall(d.store.get(id), 'get');
      if (current !== undefined || d.vault.get(id) === undefined) return result('skipped', 0);
    }
  } catch (err) {
    storeOk = false; // revoke anyway if the token is in memory; a later sweep reconciles the record
    report(err, 'store.update');
  }

  const expiresAt = record?.expiresAt ?? knownExpiresAt;
  if (expiresAt !== undefined && d.now() >= expiresAt + d.clockSkewMs) {
    if (storeOk) await note({ state: 'expired' });
    d.sink('expired', { id, expiresAt });
    return result('expired', 0);
  }

  // 2. The raw token (read in step 0 unless it went away since).
  if (token === undefined) return result('skipped', 0);

  // 3. The request, with backoff.
  let attempts = 0;
  const raw = token;
  try {
    const res = await pRetry(
      async () => {
        attempts++;
        await d.rateSlot(signal);
        try {
          return await d.send(raw, signal);
        } catch (err) {
          if (signal.aborted) throw err;
          throw isLsTokenError(err) ? err : toLsTokenError(err, ErrorCodes.NETWORK, `revoke of token ${shortId(id)} failed`, true, d.scrubber);
        }
      },
      {
        retries: d.retry.retries,
        minTimeout: 0, // the delay is ours (onFailedAttempt); p-retry keeps the budget
        maxRetryTime: d.retry.maxRetryTimeMs,
        signal,
        shouldRetry: ({ error }) => isLsTokenError(error) && error.retryable,
        onFailedAttempt: async ({ error, attemptNumber, retriesLeft }) => {
          if (!isLsTokenError(error) || !error.retryable || retriesLeft <= 0 || signal.aborted) return;
          const delayMs = retryDelay(d.retry, error, attemptNumber, d.random);
          d.sink('retrying', { id, reason, attempt: attemptNumber, delayMs, error: summarizeError(error, d.scrubber) });
          await sleep(delayMs, signal);
        },
      },
    );
    if (storeOk) await note({ state: 'revoked', attempts, lastError: null });
    d.sink('revoked', { id, reason, outcome: res.outcome, attempts, durationMs: d.now() - started });
    return result(res.outcome, attempts);
  } catch (err) {
    if (signal.aborted) {
      const e = new LsTokenError(ErrorCodes.ABORTED, `revocation of token ${shortId(id)} did not finish before the deadline; it stays owed in the store`);
      d.sink('error', { error: e, op: 'drain', id });
      return result('aborted', attempts, e);
    }
    const e = toLsTokenError(err, ErrorCodes.NETWORK, `revoke of token ${shortId(id)} failed`, true, d.scrubber);
    if (CREDENTIAL_ERRORS.has(e.code)) {
      // Not the token's fault: keep it owed, so that the next sweep or start (with the right secret) revokes it.
      if (storeOk) await note({ state: 'revoking', attempts, lastError: { code: e.code, message: e.message } });
      d.sink('error', { error: e, op: 'revoke', id });
      return result('owed', attempts, e);
    }
    if (storeOk) await note({ state: 'failed', attempts, lastError: { code: e.code, message: e.message } });
    d.sink('revokeFailed', { id, reason, attempts, error: summarizeError(e, d.scrubber) });
    return result('failed', attempts, e);
  }
}
