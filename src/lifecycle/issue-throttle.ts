/**
 * Local brakes on token issuance. LS issuance is costly and, per app key, kills the previous
 * token, so a client must cool down after a failed issuance and cap forced re-issues (reference:
 * "cool down after a failed issuance and cap forced re-issues (e.g. 3 per 10 minutes)").
 *
 * The cool-down is a pause between attempts, not a verdict: callers with no token wait through it
 * (up to `issueLockWaitMs`) while the issuance is tried again. It honours the broker's
 * `Retry-After`. The fault that started it is kept, so that a caller whose wait ends first gets the
 * broker's own error, not a local throttle.
 */
import type { Clock } from '../core/clock.js';
import { ErrorCodes, LsTokenError, isLsTokenError } from '../core/errors.js';

/** Options of the issuance throttle (the `issueThrottle` option of `TokenLifecycle`). */
export interface IssueThrottleOptions {
  /** First cool-down after a failed issuance, ms; doubles per consecutive failure. Default `1_000`. */
  cooldownMs?: number;
  /** Longest cool-down, ms. Default `60_000`. */
  maxCooldownMs?: number;
  /** Forced re-issues (replacing a token LS called invalid) allowed per window. Default `3`. */
  maxForcedReissues?: number;
  /** The window of `maxForcedReissues`, ms. Default `600_000` (10 minutes). */
  forcedReissueWindowMs?: number;
}

const NOT_RETRIED: ReadonlySet<string> = new Set([ErrorCodes.CLOSED, ErrorCodes.ABORTED, ErrorCodes.ISSUE_THROTTLED]);

/**
 * Whether trying the issuance again may help: the broker's error says so (credentials,
 * configuration and permission errors say no). Local refusals (shut down, the forced re-issue cap)
 * are not faults to retry.
 */
export function retryHelps(err: unknown): boolean {
  return isLsTokenError(err) && err.retryable && !NOT_RETRIED.has(err.code);
}

export class IssueThrottle {
  readonly #cooldownMs: number;
  readonly #maxCooldownMs: number;
  readonly #maxForced: number;
  readonly #windowMs: number;
  readonly #now: Clock;
  #failures = 0;
  #blockedUntil = 0;
  #forced: number[] = [];
  #lastFault: unknown;

  constructor(options: Required<IssueThrottleOptions>, now: Clock) {
    this.#cooldownMs = options.cooldownMs;
    this.#maxCooldownMs = options.maxCooldownMs;
    this.#maxForced = options.maxForcedReissues;
    this.#windowMs = options.forcedReissueWindowMs;
    this.#now = now;
  }

  /** When the cool-down after a failure ends, or `undefined` when there is none. */
  blockedUntil(): number | undefined {
    return this.#blockedUntil > this.#now() ? this.#blockedUntil : undefined;
  }

  /** The broker's error that started the cool-down in force (`undefined` when none is). */
  get lastFault(): unknown {
    return this.blockedUntil() === undefined ? undefined : this.#lastFault;
  }

  /** Records a forced re-issue, or throws `ERR_ISSUE_THROTTLED` when the cap is reached. */
  takeForced(): void {
    const now = this.#now();
    this.#forced = this.#forced.filter((t) => now - t < this.#windowMs);
    if (this.#forced.length >= this.#maxForced) {
      const wait = this.#forced[0]! + this.#windowMs - now;
      throw new LsTokenError(ErrorCodes.ISSUE_THROTTLED, `Forced token re-issue cap reached (${this.#maxForced} per ${this.#windowMs} ms); next in ${wait} ms`, {
        retryable: true,
        retryAfterMs: wait,
      });
    }
    this.#forced.push(now);
  }

  /** An issuance failed with `fault`: cool down, doubling per consecutive failure, and at least as long as the broker's `Retry-After`. */
  failed(fault?: unknown): void {
    this.#failures++;
    const delay = Math.min(this.#maxCooldownMs, this.#cooldownMs * 2 ** (this.#failures - 1));
    const asked = isLsTokenError(fault) && fault.retryAfterMs !== undefined ? fault.retryAfterMs : 0;
    this.#blockedUntil = this.#now() + Math.max(delay, asked);
    this.#lastFault = fault;
  }

  succeeded(): void {
    this.#failures = 0;
    this.#blockedUntil = 0;
    this.#lastFault = undefined;
  }
}
