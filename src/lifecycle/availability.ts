/**
 * The availability counters of one lifecycle: calls that waited for a token and got an error, and
 * store or issuance-lock calls on the issue path that failed or ran out of time. Reported in
 * `status().availability`; health checks judge recent trouble by the `last...At` times.
 */
import type { Clock } from '../core/clock.js';
import { ErrorCodes, isLsTokenError } from '../core/errors.js';

/** What {@link TokenLifecycle.status} reports under `availability`. Counts since the lifecycle was built. */
export interface AvailabilityCounts {
  /** Calls (`getAccessToken()`, `invalidate()`) that waited for a token and got an error instead (`ERR_CLOSED` not counted). */
  readonly failedCalls: number;
  /** Of `failedCalls`, those that got `ERR_ISSUE_THROTTLED` (the budget, the cut-off or another process's issuance outlasted their wait). */
  readonly throttledCalls: number;
  /** Store steps on the issue path that did not answer within their bound (`storeTimeoutMs`). */
  readonly storeTimeouts: number;
  /** Calls of the issuance lock that failed or did not answer in time. */
  readonly lockFailures: number;
  /** When the last failed call was, epoch ms (lifecycle clock), or `null`. */
  readonly lastFailedCallAt: number | null;
  /** When the last throttled call was, epoch ms, or `null`. */
  readonly lastThrottledCallAt: number | null;
  /** When the last store timeout on the issue path was, epoch ms, or `null`. */
  readonly lastStoreTimeoutAt: number | null;
  /** When the last lock failure was, epoch ms, or `null`. */
  readonly lastLockFailureAt: number | null;
}

/** Counts what {@link AvailabilityCounts} reports. */
export class AvailabilityCounters {
  readonly #now: Clock;
  #c: { -readonly [K in keyof AvailabilityCounts]: AvailabilityCounts[K] } = {
    failedCalls: 0,
    throttledCalls: 0,
    storeTimeouts: 0,
    lockFailures: 0,
    lastFailedCallAt: null,
    lastThrottledCallAt: null,
    lastStoreTimeoutAt: null,
    lastLockFailureAt: null,
  };

  constructor(now: Clock) {
    this.#now = now;
  }

  /** A waiting caller got `err`. */
  callFailed(err: unknown): void {
    if (isLsTokenError(err, ErrorCodes.CLOSED)) return;
    const at = this.#now();
    this.#c.failedCalls++;
    this.#c.lastFailedCallAt = at;
    if (isLsTokenError(err, ErrorCodes.ISSUE_THROTTLED)) {
      this.#c.throttledCalls++;
      this.#c.lastThrottledCallAt = at;
    }
  }

  /** A store step on the issue path ran out of time (`op` names it). */
  storeTimedOut(op: string): void {
    if (op.startsWith('issueLock.')) return; // counted as a lock failure by the error it raises
    this.#c.storeTimeouts++;
    this.#c.lastStoreTimeoutAt = this.#now();
  }

  /** An error was reported for `op`: lock calls are counted. */
  reported(op: string): void {
    if (!op.startsWith('issueLock.')) return;
    this.#c.lockFailures++;
    this.#c.lastLockFailureAt = this.#now();
  }

  /** A copy of the counts. */
  snapshot(): AvailabilityCounts {
    return { ...this.#c };
  }
}
