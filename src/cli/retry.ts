/**
 * Retrying one CLI operation that the library does not retry itself (token issuance: a daemon
 * simply asks again on its next `getAccessToken()`, a one-shot command has no "next time").
 * Retries only errors the library marks `retryable` (5xx, timeouts, network, rate limits), with
 * exponential backoff, honouring a server's `Retry-After`, within a total deadline.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { ErrorCodes, isLsTokenError, type LsTokenError } from '../core/errors.js';

/** Options of {@link retryRetryable}. */
export interface RetryOptions {
  /** Give up (rethrow the last error) when the next attempt would start after this long, ms. */
  readonly deadlineMs: number;
  /** Delay before the first retry, ms; doubles per retry. Default `500`. */
  readonly baseDelayMs?: number;
  /** Longest delay, ms. Default `8_000`. */
  readonly maxDelayMs?: number;
  /** Least delay after a rate-limit answer (IGW00201), ms. Default `5_000`. */
  readonly rateLimitDelayMs?: number;
  /** Called before each retry with the error, the attempt that failed (1-based) and the delay. */
  readonly onRetry?: (error: LsTokenError, attempt: number, delayMs: number) => void;
  /** Clock. */
  readonly now: () => number;
}

/** The result of `fn` and how many attempts it took. */
export interface Retried<T> {
  /** What `fn` resolved with. */
  readonly value: T;
  /** Attempts made, the successful one included. */
  readonly attempts: number;
}

/**
 * Runs `fn` until it resolves, a non-retryable error, or the deadline.
 * @throws the last error of `fn`.
 */
export async function retryRetryable<T>(fn: () => Promise<T>, options: RetryOptions): Promise<Retried<T>> {
  const { deadlineMs, baseDelayMs = 500, maxDelayMs = 8_000, rateLimitDelayMs = 5_000, onRetry, now } = options;
  const started = now();
  for (let attempt = 1; ; attempt++) {
    try {
      return { value: await fn(), attempts: attempt };
    } catch (err) {
      if (!isLsTokenError(err) || !err.retryable) throw err;
      let delay = Math.min(maxDelayMs, baseDelayMs * 2 ** (attempt - 1));
      if (err.code === ErrorCodes.RATE_LIMITED) delay = Math.max(delay, rateLimitDelayMs);
      if (err.retryAfterMs !== undefined) delay = Math.max(delay, err.retryAfterMs);
      if (now() - started + delay > deadlineMs) throw err;
      onRetry?.(err, attempt, delay);
      await sleep(delay);
    }
  }
}
