/**
 * Revokes tracked tokens at the right moment: when due (one timer for the earliest due token),
 * on demand (logout, manual, superseded) and in a bounded drain at shutdown. This file keeps the
 * queue, the timer, de-duplication and the drain; one token's revocation (intent, token, request
 * with backoff, outcome) is in `revocation-attempt.ts`, and concurrency, rate and fairness in
 * `admission.ts`. Every outcome goes to an event sink.
 */
import { setMaxListeners } from 'node:events';
import { EventEmitter } from 'eventemitter3';
import { type Clock, systemClock } from '../core/clock.js';
import { ErrorCodes, LsTokenError } from '../core/errors.js';
import type { LifecycleEvents, RevokeReason } from '../core/events.js';
import { SecretRedactor } from '../core/redact.js';
import { optionalDuration, optionalInteger, optionalNumber, requireObject } from '../core/validate.js';
import type { RevokeResult } from '../providers/types.js';
import type { TokenRecord } from '../store/token-record.js';
import type { TokenStore } from '../store/token-store.js';
import { Admission } from './admission.js';
import { DueQueue } from './due-queue.js';
import { type EventSink, type RetryPolicy, type RevocationResult, type HeldTokens, runRevocation } from './revocation-attempt.js';

export type { EventSink, RetryPolicy, RevocationResult, HeldTokens } from './revocation-attempt.js';

/** Options of {@link RevocationScheduler}. Durations are ms, at most 2^31 - 1. */
export interface RevocationSchedulerOptions {
  /** Where tokens and their state live. Required. */
  store: TokenStore;
  /** Sends one revoke request; normally `(token, signal) => client.revokeToken(token, 'access_token', { signal })`. Required. */
  revoke: (token: string, signal: AbortSignal) => Promise<RevokeResult>;
  /** Raw tokens held in memory, tried before the store (so revocation works while the store is down). */
  vault?: HeldTokens;
  /**
   * Where outcomes go. Default: the scheduler's own emitter, `scheduler.events`. A lifecycle passes
   * its own sink, so its bookkeeping never depends on the listeners of a public emitter.
   */
  sink?: EventSink;
  /**
   * Scrubs secrets out of every message the scheduler builds or passes on (events, stored
   * `lastError`). A lifecycle passes its own, which knows its app secret and held tokens.
   * Default: a private {@link SecretRedactor} (JWT-shaped text is scrubbed in any case).
   */
  redactor?: SecretRedactor;
  /** Backoff policy. */
  retry?: RetryPolicy;
  /** Revocations in flight at once. Default `8`. */
  concurrency?: number;
  /** Most revoke requests started per second; `0` = no limit. Default `0`. */
  revokeRatePerSec?: number;
  /**
   * A token this long past its expiry is marked `expired` without a request, and a revocation
   * scheduled at or after a token's expiry ("let it die") is moved to then. Default `60_000`.
   */
  clockSkewMs?: number;
  /** The single timer is re-armed at least this often, so long delays and clock jumps are handled. Default `60_000`. */
  maxTimerDelayMs?: number;
  /** Pause before retrying a revocation that could not read its token from the store. Default `5_000`. */
  storeRetryDelayMs?: number;
  /**
   * Longest wait for one store operation of a revocation (the intent write, the token read, the
   * outcome write), ms. A store that does not answer in time counts as down: the revoke request
   * goes out anyway with the token held in memory, and the record is reconciled by a later sweep.
   * During a drain the bound is also at most half the time left. Default `5_000`.
   */
  storeTimeoutMs?: number;
  /** Clock. Default `Date.now`. */
  now?: Clock;
  /** Random source for jitter, in [0, 1). Default `Math.random`. */
  random?: () => number;
}

/** Summary of {@link RevocationScheduler.drain}. */
export interface DrainSummary {
  /** Tokens revoked (including already-invalid). */
  readonly revoked: number;
  /** Revocations that gave up. */
  readonly failed: number;
  /** Tokens found expired (no request sent). */
  readonly expired: number;
  /** Tokens already ended or unknown (no request sent). */
  readonly skipped: number;
  /** Still owed (recorded as `revoking` in the store): cut short by the deadline, deferred, or refused credentials. */
  readonly pending: number;
  /** True when the deadline cut the drain short. */
  readonly timedOut: boolean;
  /** How long the drain took, ms. */
  readonly durationMs: number;
  /** One result per token drained. */
  readonly results: readonly RevocationResult[];
}

/** Options of {@link RevocationScheduler.drain}. */
export interface DrainOptions {
  /** Hard deadline, ms: the promise resolves by then whatever the server does. Default `10_000`. */
  deadlineMs?: number;
  /** Reason recorded for the revocations. Default `'shutdown'`. */
  reason?: RevokeReason;
  /** Which scheduled tokens to revoke; the others stay scheduled. Default: all. */
  filter?: (id: string) => boolean;
  /** Extra ids to revoke that are not scheduled (e.g. found in the store). */
  extraIds?: readonly string[];
}

interface Scheduled {
  readonly reason: RevokeReason;
  readonly expiresAt: number;
}

/**
 * Schedules and performs revocations. One `unref()`ed timer for the earliest due token (a heap,
 * not a timer per token); concurrency- and rate-limited; deduplicated (revoking one token twice
 * sends one request).
 */
export class RevocationScheduler {
  /** The scheduler's own emitter: events go here unless a `sink` was given. */
  readonly events: EventEmitter<LifecycleEvents>;
  readonly #sink: EventSink;
  readonly #attempt: Parameters<typeof runRevocation>[0];
  readonly #admission: Admission;
  readonly #concurrency: number;
  readonly #clockSkewMs: number;
  readonly #maxTimerDelayMs: number;
  readonly #storeRetryDelayMs: number;
  readonly #storeTimeoutMs: number;
  readonly #now: Clock;

  readonly #queue = new DueQueue<Scheduled>();
  readonly #inflight = new Map<string, Promise<RevocationResult>>();
  #timer: NodeJS.Timeout | undefined;
  #timerAt = Infinity;
  #abort: AbortController;
  #closed = false;
  /** End of the drain in progress, if any (bounds store waits). */
  #drainDeadlineAt: number | undefined;

  constructor(options: RevocationSchedulerOptions) {
    const o = requireObject('options', options) as Partial<RevocationSchedulerOptions>;
    if (o.store === undefined || typeof o.store.update !== 'function') {
      throw new LsTokenError(ErrorCodes.INVALID_OPTION, 'Invalid option "store": a TokenStore is required', { field: 'store' });
    }
    if (typeof o.revoke !== 'function') {
      throw new LsTokenError(ErrorCodes.INVALID_OPTION, 'Invalid option "revoke": a function is required', { field: 'revoke' });
    }
    if (o.vault !== undefined && typeof o.vault?.get !== 'function') throw new LsTokenError(ErrorCodes.INVALID_OPTION, 'Invalid option "vault": must have get(id)', { field: 'vault' });
    if (o.redactor !== undefined && !(o.redactor instanceof SecretRedactor)) throw new LsTokenError(ErrorCodes.INVALID_OPTION, 'Invalid option "redactor": must be a SecretRedactor', { field: 'redactor' });
    if (o.sink !== undefined && typeof o.sink !== 'function') throw new LsTokenError(ErrorCodes.INVALID_OPTION, 'Invalid option "sink": must be a function', { field: 'sink' });
    this.events = new EventEmitter<LifecycleEvents>();
    this.#sink = o.sink ?? ((name, event) => void (this.events.emit as (n: string, e: unknown) => boolean)(name, event));
    const r = requireObject('retry', o.retry) as RetryPolicy;
    const retry = Object.freeze({
      retries: optionalInteger('retry.retries', r.retries, 5, 0, 100),
      minDelayMs: optionalDuration('retry.minDelayMs', r.minDelayMs, 500),
      maxDelayMs: optionalDuration('retry.maxDelayMs', r.maxDelayMs, 30_000),
      factor: optionalNumber('retry.factor', r.factor, 2, 1, 10),
      maxRetryTimeMs: optionalDuration('retry.maxRetryTimeMs', r.maxRetryTimeMs, 120_000),
      rateLimitDelayMs: optionalDuration('retry.rateLimitDelayMs', r.rateLimitDelayMs, 5_000),
    });
    this.#concurrency = optionalInteger('concurrency', o.concurrency, 8, 1, 1024);
    const rate = optionalNumber('revokeRatePerSec', o.revokeRatePerSec, 0, 0, 100_000);
    this.#clockSkewMs = optionalDuration('clockSkewMs', o.clockSkewMs, 60_000);
    this.#maxTimerDelayMs = optionalDuration('maxTimerDelayMs', o.maxTimerDelayMs, 60_000, 1);
    this.#storeRetryDelayMs = optionalDuration('storeRetryDelayMs', o.storeRetryDelayMs, 5_000);
    this.#storeTimeoutMs = optionalDuration('storeTimeoutMs', o.storeTimeoutMs, 5_000, 1);
    if (o.now !== undefined && typeof o.now !== 'function') throw new LsTokenError(ErrorCodes.INVALID_OPTION, 'Invalid option "now": must be a function', { field: 'now' });
    if (o.random !== undefined && typeof o.random !== 'function') throw new LsTokenError(ErrorCodes.INVALID_OPTION, 'Invalid option "random": must be a function', { field: 'random' });
    this.#now = o.now ?? systemClock;
    this.#admission = new Admission(this.#concurrency, rate, this.#now);
    const vault = o.vault ?? { get: () => undefined };
    this.#attempt = {
      store: o.store,
      send: o.revoke,
      vault,
      sink: this.#sink,
      scrubber: o.redactor ?? new SecretRedactor(),
      retry,
      clockSkewMs: this.#clockSkewMs,
      storeRetryDelayMs: this.#storeRetryDelayMs,
      now: this.#now,
      random: o.random ?? Math.random,
      storeBoundMs: () => this.#storeBoundMs(),
      rateSlot: (signal) => this.#admission.rateSlot(signal),
      retryLater: (id, expiresAt, reason) => {
        if (!this.#closed) this.schedule({ id, revokeAt: this.#now(), expiresAt }, reason, this.#now() + this.#storeRetryDelayMs);
      },
    };
    this.#abort = this.#newAbortController();
  }

  /**
   * Every job in flight listens on the drain signal (p-retry, the backoff and rate-limit sleeps),
   * so a drain at concurrency 16 crossed Node's default of 10 listeners and printed a
   * "MaxListenersExceededWarning: possible EventTarget memory leak" at every shutdown. The count
   * is bounded by the concurrency (listeners are removed when a job ends), so say so.
   */
  #newAbortController(): AbortController {
    const c = new AbortController();
    setMaxListeners(4 * this.#concurrency + 10, c.signal);
    return c;
  }

  /** Number of scheduled (not yet due) revocations. */
  get size(): number {
    return this.#queue.size;
  }

  /** Number of revocations in flight. */
  get inflight(): number {
    return this.#inflight.size;
  }

  /** How long a token may be past its expiry and still be revoked with a request, ms. */
  get clockSkewMs(): number {
    return this.#clockSkewMs;
  }

  /** True when a revocation of `id` is in flight (started, not finished). */
  isRevoking(id: string): boolean {
    return this.#inflight.has(id);
  }

  /** True when a revocation of `id` is scheduled. */
  isScheduled(id: string): boolean {
    return this.#queue.has(id);
  }

  /** Ids of the scheduled revocations. */
  scheduledIds(): string[] {
    return [...this.#queue.ids()];
  }

  /** When the next scheduled revocation is due, if any. */
  nextDueAt(): number | undefined {
    return this.#queue.peek()?.at;
  }

  /** When the revocation of `id` is due, if scheduled. */
  dueAt(id: string): number | undefined {
    return this.#queue.get(id)?.at;
  }

  /** True when a timer is armed (there is at most one). */
  get timerArmed(): boolean {
    return this.#timer !== undefined;
  }

  /**
   * Schedules (or reschedules) the revocation of a token at `at` (default `record.revokeAt`).
   * A revocation due at or after the token's expiry means "let it die": it is moved to
   * `expiresAt + clockSkewMs`, when the token is surely dead, and then recorded `expired` with no
   * request (a drain before that still revokes it). Emits `scheduled`.
   */
  schedule(record: Pick<TokenRecord, 'id' | 'revokeAt' | 'expiresAt'>, reason: RevokeReason = 'expiry', at: number = record.revokeAt): void {
    if (this.#closed) throw new LsTokenError(ErrorCodes.CLOSED, 'The revocation scheduler is closed');
    const due = at >= record.expiresAt ? record.expiresAt + this.#clockSkewMs : at;
    this.#queue.set(record.id, due, { reason, expiresAt: record.expiresAt });
    this.#sink('scheduled', { id: record.id, revokeAt: due, reason });
    if (due < this.#timerAt) this.#arm();
  }

  /** Cancels a scheduled revocation (not one in flight). */
  unschedule(id: string): boolean {
    const had = this.#queue.delete(id);
    if (had && this.#queue.size === 0) this.#disarm();
    return had;
  }

  /**
   * Revokes `id` now (queued behind the concurrency limit). A second call while the first is in
   * flight returns the same promise; a call for an ended token sends nothing (`skipped`).
   * Never rejects: failures are in the result (and in events).
   */
  revoke(id: string, reason: RevokeReason, expiresAt?: number): Promise<RevocationResult> {
    const running = this.#inflight.get(id);
    if (running !== undefined) return running;
    const scheduled = this.#queue.get(id);
    this.#queue.delete(id);
    // Captured now: a drain deadline must also cut short the jobs still waiting for a slot.
    const signal = this.#abort.signal;
    const p = this.#admission.run(() => runRevocation(this.#attempt, id, reason, expiresAt ?? scheduled?.data.expiresAt, signal)).finally(() => {
      this.#inflight.delete(id);
    });
    this.#inflight.set(id, p);
    return p;
  }

  /**
   * Revokes every scheduled token (or those passing `filter`, plus `extraIds`) and waits for those
   * in flight, resolving by `deadlineMs` at the latest whatever the server does. Work still running
   * at the deadline is aborted; its records stay `revoking` so crash recovery finishes them.
   */
  async drain(options: DrainOptions = {}): Promise<DrainSummary> {
    const deadlineMs = optionalDuration('deadlineMs', options.deadlineMs, 10_000);
    const reason = options.reason ?? 'shutdown';
    const started = this.#now();
    this.#drainDeadlineAt = started + deadlineMs;
    const ids = new Set<string>(options.extraIds ?? []);
    for (const e of this.#queue.popAll()) {
      if (options.filter === undefined || options.filter(e.id)) ids.add(e.id);
      else this.#queue.set(e.id, e.at, e.data);
    }
    this.#disarm();
    this.#arm();
    for (const id of this.#inflight.keys()) ids.add(id);
    const jobs = [...ids].map((id) => this.revoke(id, reason));
    const settled = new Map<string, RevocationResult>();
    const all = Promise.all(jobs.map((p) => p.then((r) => void settled.set(r.id, r))));
    let timedOut = false;
    let deadline: NodeJS.Timeout | undefined;
    await Promise.race([
      all,
      new Promise<void>((resolve) => {
        deadline = setTimeout(() => {
          timedOut = true;
          resolve();
        }, deadlineMs);
      }),
    ]);
    clearTimeout(deadline);
    this.#drainDeadlineAt = undefined;
    if (timedOut) {
      // Cut everything short, then give the aborted jobs a moment to record their outcome.
      this.#abort.abort(new LsTokenError(ErrorCodes.ABORTED, 'drain deadline passed'));
      this.#abort = this.#newAbortController();
      // (Bounded: 20 ms.) Without this the process usually exits before the aborted jobs emit
      // their `error` events, and the log never says which revocations are still owed.
      let grace: NodeJS.Timeout | undefined;
      await Promise.race([all, new Promise<void>((resolve) => (grace = setTimeout(resolve, 20)))]);
      clearTimeout(grace);
    }
    const results = [...ids].map((id) => settled.get(id) ?? { id, reason, outcome: 'aborted' as const, attempts: 0, durationMs: this.#now() - started });
    const count = (...o: RevocationResult['outcome'][]): number => results.filter((r) => o.includes(r.outcome)).length;
    return {
      revoked: count('revoked', 'already-invalid'),
      failed: count('failed'),
      expired: count('expired'),
      skipped: count('skipped'),
      pending: count('aborted', 'deferred', 'owed'),
      timedOut,
      durationMs: this.#now() - started,
      results,
    };
  }

  /** Stops the timer and refuses new schedules. In-flight revocations continue. */
  close(): void {
    this.#closed = true;
    this.#disarm();
  }

  #disarm(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#timerAt = Infinity;
  }

  // One timer for the earliest entry, at most maxTimerDelayMs ahead: setTimeout cannot wait more
  // than 2^31-1 ms, and re-checking the wall clock each chunk copes with clock jumps.
  #arm(): void {
    if (this.#closed) return;
    const top = this.#queue.peek();
    if (top === undefined) return this.#disarm();
    if (this.#timer !== undefined && top.at >= this.#timerAt) return;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    const now = this.#now();
    const delay = Math.min(Math.max(0, top.at - now), this.#maxTimerDelayMs);
    this.#timerAt = top.at;
    this.#timer = setTimeout(() => this.#onTimer(), delay);
    this.#timer.unref();
  }

  #onTimer(): void {
    this.#timer = undefined;
    this.#timerAt = Infinity;
    for (const e of this.#queue.popDue(this.#now())) {
      void this.revoke(e.id, e.data.reason, e.data.expiresAt);
    }
    this.#arm();
  }

  /** How long one store operation may take now (see `storeTimeoutMs`). */
  #storeBoundMs(): number {
    const drainLeft = this.#drainDeadlineAt === undefined ? Infinity : (this.#drainDeadlineAt - this.#now()) / 2;
    return Math.max(10, Math.min(this.#storeTimeoutMs, drainLeft));
  }
}
