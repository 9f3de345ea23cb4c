/**
 * Local brakes on token issuance. LS issuance is costly and, per app key, kills the previous
 * token, so a client must cool down after a failed issuance and cap forced re-issues (reference:
 * "cool down after a failed issuance and cap forced re-issues (e.g. 3 per 10 minutes)").
 */
import type { Clock } from '../core/clock.js';
import { ErrorCodes, LsTokenError } from '../core/errors.js';

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

export class IssueThrottle {
  readonly #cooldownMs: number;
  readonly #maxCooldownMs: number;
  readonly #maxForced: number;
  readonly #windowMs: number;
  readonly #now: Clock;
  #failures = 0;
  #blockedUntil = 0;
  #forced: number[] = [];

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

  /** Throws `ERR_ISSUE_THROTTLED` while cooling down after a failure. */
  check(): void {
    const wait = this.#blockedUntil - this.#now();
    if (wait > 0) {
      throw new LsTokenError(ErrorCodes.ISSUE_THROTTLED, `Token issuance is cooling down after a failure; next try in ${wait} ms`, {
        retryable: true,
        retryAfterMs: wait,
      });
    }
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

  failed(): void {
    this.#failures++;
    const delay = Math.min(this.#maxCooldownMs, this.#cooldownMs * 2 ** (this.#failures - 1));
    this.#blockedUntil = this.#now() + delay;
  }

  succeeded(): void {
    this.#failures = 0;
    this.#blockedUntil = 0;
  }
}
