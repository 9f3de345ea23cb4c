/**
 * What a lifecycle tells about itself: {@link LifecycleStatus} (a synchronous snapshot) and
 * {@link LifecycleHealth} (for probes: is it doing its job?), and the small book of outcomes
 * health is judged from. Secret-free: token fingerprints only.
 */
import type { Clock } from '../core/clock.js';
import type { LifecycleEvents } from '../core/events.js';
import { boundedStoreCall } from '../store/store-call.js';
import type { TokenStore } from '../store/token-store.js';
import type { AvailabilityCounts } from './availability.js';
import type { ClockSkewEstimate } from './clock-skew.js';
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

/** What {@link TokenLifecycle.health} reports; see `ok` for what "healthy" means. */
export interface LifecycleHealth {
  /**
   * Started, not shut down, the store answered the probe, and no token this process tried to
   * revoke is still owed (a failed or refused revocation; it clears once a retry succeeds).
   */
  readonly ok: boolean;
  /** Why `ok` is false, in words (empty when healthy). */
  readonly problems: readonly string[];
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
}

/** The outcomes health is judged from, kept from the lifecycle's own events. */
export class HealthBook {
  readonly #unrevoked = new Set<string>();
  #lastError: LifecycleHealth['lastError'] = null;
  #lastSweepAt: number | null = null;
  readonly #now: Clock;

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
    }
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
}

/** Probes the store and judges the lifecycle's health; see {@link LifecycleHealth}. Never rejects. */
export async function buildHealth(h: HealthInputs): Promise<LifecycleHealth> {
  const store = await probeStore(h.store, h.storeTimeoutMs);
  const failed = h.book.failedRevocations;
  const problems = [
    ...(h.started ? [] : ['not started']),
    ...(h.closed ? ['shut down'] : []),
    ...(store.reachable ? [] : ['the store did not answer']),
    ...(failed > 0 ? [`${failed} token(s) could not be revoked and may be alive`] : []),
  ];
  const cur = h.current;
  return {
    ok: problems.length === 0,
    problems,
    store,
    current: cur === undefined ? null : { id: cur.id, expiresAt: cur.times.expiresAt, revokeAt: cur.times.revokeAt },
    nextRevocationAt: h.nextRevocationAt ?? null,
    failedRevocations: failed,
    lastError: h.book.lastError,
    lastSweepAt: h.book.lastSweepAt,
    clockSkewMs: h.clockSkew?.offsetMs ?? null,
  };
}
