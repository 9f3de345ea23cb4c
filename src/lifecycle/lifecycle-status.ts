/**
 * What a lifecycle tells about itself: {@link LifecycleStatus} (a synchronous snapshot) and
 * {@link LifecycleHealth} (for probes: is it doing its job?), and the small book of outcomes
 * health is judged from. Secret-free: token fingerprints only.
 */
import type { Clock } from '../core/clock.js';
import type { LifecycleEvents } from '../core/events.js';
import { isLsTokenError, ErrorCodes } from '../core/errors.js';
import { boundedStoreCall, isStoreTimeout } from '../store/store-call.js';
import type { TokenStore } from '../store/token-store.js';
import type { AvailabilityCounts } from './availability.js';
import type { ClockSkewEstimate } from './clock-skew.js';
import { CLOCK_SAMPLE_MAX_AGE_MS } from './clock-watch.js';
import type { TokenTimes } from './token-policy.js';

/** What {@link TokenLifecycle.status} reports. */
export interface LifecycleStatus {
  /** This process's id in the fleet. */
  readonly instanceId: string;
  /** Hash of the app key. */
  readonly appKeyId: string;
  /** Whether `start()` has completed. */
  readonly started: boolean;
  /** Whether `shutdown()` has been called. */
  readonly closed: boolean;
  /** The current token, if any (fingerprint id, never the raw token); times are epoch ms. */
  readonly current?: {
    /** The token's id (hex SHA-256 of the raw token). */
    readonly id: string;
    /** When it was issued (request sent). */
    readonly issuedAt: number;
    /** When it may be dead at LS, at the earliest (by LS's clock, in host time). */
    readonly expiresAt: number;
    /** Handed out until then; revoked then, unless it ends at LS's cut-off (then it is left to die). */
    readonly revokeAt: number;
    /** When the next token is fetched in the background (`Infinity`: never). */
    readonly refreshAt: number;
  };
  /** The estimated offset of LS's clock from this host's, or `null` before LS has answered once. */
  readonly clockSkew: ClockSkewEstimate | null;
  /** Revocations scheduled. */
  readonly scheduled: number;
  /** Revocations in flight. */
  readonly inflight: number;
  /** Callers waiting for a token now (`getAccessToken()` with no usable token, `invalidate()`). */
  readonly waiting: number;
  /** Failed and throttled calls, store and lock trouble on the issue path; see {@link AvailabilityCounts}. */
  readonly availability: AvailabilityCounts;
}

/**
 * Why a lifecycle is not healthy, as a stable code (see {@link LifecycleHealth.problems}):
 * - `not-started`, `shut-down`: `start()` has not completed, or `shutdown()` was called;
 * - `store-unreachable`: the store did not answer health's own read within `storeTimeoutMs`;
 * - `revocations-owed`: a token this process tried to revoke may still be alive;
 * - `clock-skew`: the broker's clock is more than `maxClockSkewMs` from this host's;
 * - `clock-unsampled`: no broker answer has read the broker's clock for 2 h (since the start, before any);
 * - `issue-lock-failing`: a call of the issuance lock failed within the last `sweepIntervalMs`;
 * - `store-timeouts`: a store call did not answer within `storeTimeoutMs`, within the last `sweepIntervalMs`;
 * - `callers-failing`: a caller of `getAccessToken()` or `invalidate()` was refused or failed within the last minute.
 */
export type HealthProblem =
  | 'not-started'
  | 'shut-down'
  | 'store-unreachable'
  | 'revocations-owed'
  | 'clock-skew'
  | 'clock-unsampled'
  | 'issue-lock-failing'
  | 'store-timeouts'
  | 'callers-failing';

/** What {@link TokenLifecycle.health} reports; see `ok` for what "healthy" means. */
export interface LifecycleHealth {
  /** No problem holds (see {@link HealthProblem} for each one). */
  readonly ok: boolean;
  /** Why `ok` is false, as stable codes (empty when healthy); see {@link HealthProblem}. */
  readonly problems: readonly HealthProblem[];
  /** Each problem in words (secret-free), by code. */
  readonly details: Readonly<Partial<Record<HealthProblem, string>>>;
  /** A bounded read of the store (`storeTimeoutMs`). */
  readonly store: {
    /** Whether it answered in time. */
    readonly reachable: boolean;
    /** How long it took, ms (`null` when it did not answer). */
    readonly latencyMs: number | null;
  };
  /** The token handed out now, if any. */
  readonly current: {
    /** The token's id. */
    readonly id: string;
    /** When it may be dead at LS, epoch ms. */
    readonly expiresAt: number;
    /** Handed out until then, epoch ms. */
    readonly revokeAt: number;
  } | null;
  /** When the next scheduled revocation is due, epoch ms. */
  readonly nextRevocationAt: number | null;
  /** Tokens whose revocation failed or was refused (credentials) and that may still be alive. */
  readonly failedRevocations: number;
  /** The last error reported by an `error` event, secret-free. */
  readonly lastError: {
    /** Its stable code. */
    readonly code: string;
    /** Its secret-free message. */
    readonly message: string;
    /** What was being done. */
    readonly op: string;
    /** When, epoch ms. */
    readonly at: number;
  } | null;
  /** When the last sweep of the store finished, epoch ms. */
  readonly lastSweepAt: number | null;
  /** The estimated offset of LS's clock from this host's, ms, or `null` before LS has answered. */
  readonly clockSkewMs: number | null;
  /** When the newest reading of the broker's clock was taken (a `Date` header, a JWT `iat`), epoch ms, or `null`. */
  readonly clockSampledAt: number | null;
  /** Recent trouble the lifecycle survived, counted over the windows `problems` judges by. */
  readonly recent: {
    /** Callers refused or failed in the last minute. */
    readonly callerFailures: number;
    /** Store calls that did not answer within `storeTimeoutMs`, in the last `sweepIntervalMs`. */
    readonly storeTimeouts: number;
    /** Failed calls of the issuance lock, in the last `sweepIntervalMs`. */
    readonly lockFailures: number;
  };
}

/** The window of `callers-failing`, ms. */
export const CALLER_FAILURE_WINDOW_MS = 60_000;
/** The most instants one kind of trouble keeps (older ones fall out of every window anyway). */
const MAX_KEPT = 1_000;

/** Instants of one kind of trouble, newest last. */
class Instants {
  readonly #at: number[] = [];
  add(t: number): void {
    this.#at.push(t);
    if (this.#at.length > MAX_KEPT) this.#at.splice(0, this.#at.length - MAX_KEPT);
  }
  since(t: number): number {
    let n = 0;
    for (let i = this.#at.length - 1; i >= 0 && this.#at[i]! > t; i--) n++;
    return n;
  }
}

/** The outcomes health is judged from, kept from the lifecycle's own events. */
export class HealthBook {
  readonly #unrevoked = new Set<string>();
  #lastError: LifecycleHealth['lastError'] = null;
  #lastSweepAt: number | null = null;
  readonly #now: Clock;
  readonly #callerFailures = new Instants();
  readonly #storeTimeouts = new Instants();
  readonly #lockFailures = new Instants();

  constructor(now: Clock) {
    this.#now = now;
  }

  /** Records one event. */
  note<K extends keyof LifecycleEvents>(name: K, event: Parameters<LifecycleEvents[K]>[0]): void {
    const e = event as { id?: string };
    if (name === 'revokeFailed' && e.id !== undefined) this.#unrevoked.add(e.id);
    if ((name === 'revoked' || name === 'expired') && e.id !== undefined) this.#unrevoked.delete(e.id);
    if (name === 'error') {
      const { error, op, id } = event as Parameters<LifecycleEvents['error']>[0];
      this.#lastError = { code: error.code, message: error.message, op, at: this.#now() };
      if (op === 'revoke' && id !== undefined) this.#unrevoked.add(id); // refused credentials: still owed
      if (isStoreTimeout(error)) this.storeTimedOut();
      if (op.startsWith('issueLock.')) this.lockFailed();
    }
  }

  /** A store call did not answer within `storeTimeoutMs` (reported `error` events are counted by {@link note}). */
  storeTimedOut(): void {
    this.#storeTimeouts.add(this.#now());
  }

  /** A call of the issuance lock failed (reported `error` events with op `issueLock.*` are counted by {@link note}). */
  lockFailed(): void {
    this.#lockFailures.add(this.#now());
  }

  /** A caller waiting for a token was refused or failed with `err` (shutdown's `ERR_CLOSED` is not a failure). */
  callerFailed(err: unknown): void {
    if (!isLsTokenError(err, ErrorCodes.CLOSED)) this.#callerFailures.add(this.#now());
  }

  /** Trouble since `windowMs` ago (callers: the last minute). */
  recent(windowMs: number): LifecycleHealth['recent'] {
    const now = this.#now();
    return { callerFailures: this.#callerFailures.since(now - CALLER_FAILURE_WINDOW_MS), storeTimeouts: this.#storeTimeouts.since(now - windowMs), lockFailures: this.#lockFailures.since(now - windowMs) };
  }

  /** A sweep finished. */
  swept(): void {
    this.#lastSweepAt = this.#now();
  }

  /** The numbers, for {@link LifecycleHealth}. */
  get failedRevocations(): number {
    return this.#unrevoked.size;
  }
  get lastError(): LifecycleHealth['lastError'] {
    return this.#lastError;
  }
  get lastSweepAt(): number | null {
    return this.#lastSweepAt;
  }
}

/** Reads one key from the store within `timeoutMs`: is it reachable, and how fast. Never rejects. */
export async function probeStore(store: TokenStore, timeoutMs: number): Promise<LifecycleHealth['store']> {
  const t0 = performance.now();
  try {
    await boundedStoreCall(store.getMeta('health:probe'), timeoutMs, 'health');
    return { reachable: true, latencyMs: Math.round((performance.now() - t0) * 10) / 10 };
  } catch {
    return { reachable: false, latencyMs: null };
  }
}

/** What {@link buildHealth} looks at. */
export interface HealthInputs {
  readonly started: boolean;
  readonly closed: boolean;
  readonly store: TokenStore;
  readonly storeTimeoutMs: number;
  readonly current: { readonly id: string; readonly times: TokenTimes } | undefined;
  readonly nextRevocationAt: number | undefined;
  readonly book: HealthBook;
  readonly clockSkew: ClockSkewEstimate | null;
  /** The clock readings: the newest, and when the lifecycle began reading (`undefined` before `start()`). */
  readonly clock: { readonly lastSampleAt: number | undefined; readonly startedAt: number | undefined };
  /** `maxClockSkewMs`. */
  readonly maxClockSkewMs: number;
  /** The window of store timeouts and lock failures (`sweepIntervalMs`; 60 s when the sweep is off). */
  readonly windowMs: number;
  readonly now: number;
}

/** Probes the store and judges the lifecycle's health; see {@link LifecycleHealth}. Never rejects. */
export async function buildHealth(h: HealthInputs): Promise<LifecycleHealth> {
  const store = await probeStore(h.store, h.storeTimeoutMs);
  const failed = h.book.failedRevocations;
  const recent = h.book.recent(h.windowMs);
  const skew = h.clockSkew?.offsetMs;
  const sampledSince = h.clock.lastSampleAt ?? h.clock.startedAt;
  const details: Partial<Record<HealthProblem, string>> = {};
  const problem = (code: HealthProblem, holds: boolean, words: () => string): void => {
    if (holds) details[code] = words();
  };
  problem('not-started', !h.started, () => 'not started');
  problem('shut-down', h.closed, () => 'shut down');
  problem('store-unreachable', !store.reachable, () => 'the store did not answer');
  problem('revocations-owed', failed > 0, () => `${failed} token(s) could not be revoked and may be alive`);
  problem('clock-skew', skew !== undefined && Math.abs(skew) > h.maxClockSkewMs, () => `the broker's clock is ${Math.round((skew ?? 0) / 1000)} s from this host's (more than maxClockSkewMs ${h.maxClockSkewMs} ms): check NTP`);
  problem('clock-unsampled', !h.closed && sampledSince !== undefined && h.now - sampledSince > CLOCK_SAMPLE_MAX_AGE_MS, () => `no answer of the broker has read its clock for ${Math.round((h.now - (sampledSince ?? h.now)) / 60_000)} min`);
  problem('issue-lock-failing', recent.lockFailures > 0, () => `${recent.lockFailures} issuance-lock call(s) failed in the last ${h.windowMs} ms`);
  problem('store-timeouts', recent.storeTimeouts > 0, () => `${recent.storeTimeouts} store call(s) did not answer within storeTimeoutMs in the last ${h.windowMs} ms`);
  problem('callers-failing', recent.callerFailures > 0, () => `${recent.callerFailures} caller(s) were refused or failed in the last minute`);
  const problems = Object.keys(details) as HealthProblem[];
  const cur = h.current;
  return {
    ok: problems.length === 0,
    problems,
    details,
    store,
    current: cur === undefined ? null : { id: cur.id, expiresAt: cur.times.expiresAt, revokeAt: cur.times.revokeAt },
    nextRevocationAt: h.nextRevocationAt ?? null,
    failedRevocations: failed,
    lastError: h.book.lastError,
    lastSweepAt: h.book.lastSweepAt,
    clockSkewMs: skew ?? null,
    clockSampledAt: h.clock.lastSampleAt ?? null,
    recent,
  };
}
