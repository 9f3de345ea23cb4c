/**
 * Revokes tracked tokens at the right moment: when due (one timer for the earliest due token),
 * on demand (logout, manual, superseded) and in a bounded drain at shutdown. Every attempt goes
 * through p-retry with exponential backoff and jitter; every outcome is an event.
 */
import { setMaxListeners } from 'node:events';
import { EventEmitter } from 'eventemitter3';
import pRetry from 'p-retry';
import { type Clock, systemClock } from '../core/clock.js';
import { DueQueue } from './due-queue.js';
import { ErrorCodes, LsTokenError, isLsTokenError, toLsTokenError } from '../core/errors.js';
import { type ErrorSummary, type LifecycleEvents, summarizeError } from '../core/events.js';
import { shortId } from '../core/fingerprint.js';
import type { RevokeResult } from '../ls/ls-response.js';
import type { RevokeReason, TokenRecord } from '../store/token-record.js';
import type { TokenStore } from '../store/token-store.js';
import { optionalInteger, optionalNumber, requireObject } from '../core/validate.js';

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

/** Options of {@link RevocationScheduler}. */
export interface RevocationSchedulerOptions {
  /** Where tokens and their state live. Required. */
  store: TokenStore;
  /** Sends one revoke request; normally `(token, signal) => client.revokeToken(token, 'access_token', { signal })`. Required. */
  revoke: (token: string, signal: AbortSignal) => Promise<RevokeResult>;
  /** Raw tokens held in memory, tried before the store (so shutdown works while the store is down). */
  tokenFor?: (id: string) => string | undefined;
  /** Where events go. Default: a new emitter, exposed as `scheduler.events`. */
  events?: EventEmitter<LifecycleEvents>;
  /** Backoff policy. */
  retry?: RetryPolicy;
  /** Revocations in flight at once. Default `8`. */
  concurrency?: number;
  /** Most revoke requests started per second; `0` = no limit. Default `0`. */
  revokeRatePerSec?: number;
  /** A token this long past its expiry is marked `expired` without a request. Default `60_000`. */
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
   * read from the store; rescheduled.
   */
  readonly outcome: 'revoked' | 'already-invalid' | 'failed' | 'expired' | 'skipped' | 'aborted' | 'deferred';
  /** Requests sent, retries included. */
  readonly attempts: number;
  /** Time the revocation took, ms. */
  readonly durationMs: number;
  /** The last error, when it did not succeed. */
  readonly error?: ErrorSummary;
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
  /** Not finished when the deadline passed (still owed; recorded as `revoking` in the store). */
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

const REVOCABLE_STATES = ['active', 'revoking', 'failed'] as const;

/** Revocations that may start in one event-loop turn (see `#fairStart`). */
const START_BATCH = 32;

/** Resolves after `ms`, or rejects when `signal` aborts. The timer does not hold the process open. */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const onAbort = (): void => {
      clearTimeout(t);
      reject(signal.reason);
    };
    const t = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    t.unref();
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * Schedules and performs revocations. One `unref()`ed timer for the earliest due token (a heap,
 * not a timer per token); concurrency- and rate-limited; deduplicated (revoking one token twice
 * sends one request).
 */
export class RevocationScheduler {
  /** The emitter events go to. */
  readonly events: EventEmitter<LifecycleEvents>;
  readonly #store: TokenStore;
  readonly #revoke: RevocationSchedulerOptions['revoke'];
  readonly #tokenFor: (id: string) => string | undefined;
  readonly #retry: Required<RetryPolicy>;
  readonly #concurrency: number;
  readonly #rateIntervalMs: number;
  readonly #clockSkewMs: number;
  readonly #maxTimerDelayMs: number;
  readonly #storeRetryDelayMs: number;
  readonly #storeTimeoutMs: number;
  readonly #now: Clock;
  readonly #random: () => number;

  readonly #queue = new DueQueue<Scheduled>();
  readonly #inflight = new Map<string, Promise<RevocationResult>>();
  #timer: NodeJS.Timeout | undefined;
  #timerAt = Infinity;
  #running = 0;
  readonly #waiting: Array<() => void> = [];
  #nextRequestAt = 0;
  /** Revocations started in the current event-loop turn, and those waiting for a later turn. */
  #startedThisTurn = 0;
  #turnArmed = false;
  readonly #nextTurn: Array<() => void> = [];
  #abort: AbortController;
  #closed = false;
  /** End of the drain in progress, if any (bounds store waits). */
  #drainDeadlineAt: number | undefined;

  constructor(options: RevocationSchedulerOptions) {
    const o = requireObject('options', options);
    if (o.store === undefined || typeof (o.store as TokenStore).update !== 'function') {
      throw new LsTokenError(ErrorCodes.INVALID_OPTION, 'Invalid option "store": a TokenStore is required', { field: 'store' });
    }
    if (typeof o.revoke !== 'function') {
      throw new LsTokenError(ErrorCodes.INVALID_OPTION, 'Invalid option "revoke": a function is required', { field: 'revoke' });
    }
    this.#store = o.store as TokenStore;
    this.#revoke = o.revoke as RevocationSchedulerOptions['revoke'];
    this.#tokenFor = (o.tokenFor as ((id: string) => string | undefined) | undefined) ?? (() => undefined);
    this.events = (o.events as EventEmitter<LifecycleEvents> | undefined) ?? new EventEmitter<LifecycleEvents>();
    const r = requireObject('retry', o.retry);
    this.#retry = {
      retries: optionalInteger('retry.retries', r.retries, 5, 0, 100),
      minDelayMs: optionalNumber('retry.minDelayMs', r.minDelayMs, 500, 0),
      maxDelayMs: optionalNumber('retry.maxDelayMs', r.maxDelayMs, 30_000, 0),
      factor: optionalNumber('retry.factor', r.factor, 2, 1, 10),
      maxRetryTimeMs: optionalNumber('retry.maxRetryTimeMs', r.maxRetryTimeMs, 120_000, 0),
      rateLimitDelayMs: optionalNumber('retry.rateLimitDelayMs', r.rateLimitDelayMs, 5_000, 0),
    };
    this.#concurrency = optionalInteger('concurrency', o.concurrency, 8, 1, 1024);
    const rate = optionalNumber('revokeRatePerSec', o.revokeRatePerSec, 0, 0, 100_000);
    this.#rateIntervalMs = rate > 0 ? 1000 / rate : 0;
    this.#clockSkewMs = optionalNumber('clockSkewMs', o.clockSkewMs, 60_000, 0);
    this.#maxTimerDelayMs = optionalInteger('maxTimerDelayMs', o.maxTimerDelayMs, 60_000, 1, 2_147_483_647);
    this.#storeRetryDelayMs = optionalNumber('storeRetryDelayMs', o.storeRetryDelayMs, 5_000, 0);
    this.#storeTimeoutMs = optionalNumber('storeTimeoutMs', o.storeTimeoutMs, 5_000, 1);
    this.#now = (o.now as Clock | undefined) ?? systemClock;
    this.#random = (o.random as (() => number) | undefined) ?? Math.random;
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
   * Emits `scheduled`.
   */
  schedule(record: Pick<TokenRecord, 'id' | 'revokeAt' | 'expiresAt'>, reason: RevokeReason = 'expiry', at: number = record.revokeAt): void {
    if (this.#closed) throw new LsTokenError(ErrorCodes.CLOSED, 'The revocation scheduler is closed');
    this.#queue.set(record.id, at, { reason, expiresAt: record.expiresAt });
    this.events.emit('scheduled', { id: record.id, revokeAt: at, reason });
    if (at < this.#timerAt) this.#arm();
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
    const p = this.#withSlot(() => this.#execute(id, reason, expiresAt ?? scheduled?.data.expiresAt, signal)).finally(() => {
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
    const deadlineMs = optionalNumber('deadlineMs', options.deadlineMs, 10_000, 0);
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
      pending: count('aborted', 'deferred'),
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

  async #withSlot<T>(fn: () => Promise<T>): Promise<T> {
    if (this.#running >= this.#concurrency) await new Promise<void>((resolve) => this.#waiting.push(resolve));
    this.#running++;
    // Hand-over stays cheap: the work of a revocation (reading the record, the intent write)
    // starts on a later microtask, and at most START_BATCH start per event-loop turn, so a burst
    // of due tokens never holds the loop (and the daemon's order path) for more than one batch.
    await this.#fairStart();
    try {
      return await fn();
    } finally {
      this.#running--;
      this.#waiting.shift()?.();
    }
  }

  #fairStart(): Promise<void> {
    // The count is only reset by the turn callback, which is armed only on overflow: a quiet
    // scheduler keeps no immediate pending, and the rare 33rd start after a calm spell waits one turn.
    if (this.#nextTurn.length === 0 && this.#startedThisTurn < START_BATCH) {
      this.#startedThisTurn++;
      return Promise.resolve();
    }
    return new Promise<void>((resolve) => {
      this.#nextTurn.push(resolve);
      this.#armTurn();
    });
  }

  #armTurn(): void {
    if (this.#turnArmed) return;
    this.#turnArmed = true;
    setImmediate(() => {
      this.#turnArmed = false;
      const batch = this.#nextTurn.splice(0, START_BATCH);
      this.#startedThisTurn = batch.length;
      for (const start of batch) start();
      if (this.#nextTurn.length > 0) this.#armTurn();
    }); // not unref'd: an unref'd immediate lets the loop block in poll, so it runs only at the next I/O
  }

  async #rateSlot(signal: AbortSignal): Promise<void> {
    if (this.#rateIntervalMs === 0) return;
    const now = this.#now();
    const at = Math.max(now, this.#nextRequestAt);
    this.#nextRequestAt = at + this.#rateIntervalMs;
    if (at > now) await sleep(at - now, signal);
  }

  #emitError(err: unknown, op: string, id?: string): void {
    const error = toLsTokenError(err, ErrorCodes.STORE, `${op} failed`, true);
    this.events.emit('error', { error, op, id });
  }

  /** How long one store operation may take now (see `storeTimeoutMs`). */
  #storeBoundMs(): number {
    const drainLeft = this.#drainDeadlineAt === undefined ? Infinity : (this.#drainDeadlineAt - this.#now()) / 2;
    return Math.max(10, Math.min(this.#storeTimeoutMs, drainLeft));
  }

  /** `p`, or an `ERR_STORE` rejection when the store has not answered within `ms`. */
  #bounded<T>(p: Promise<T>, ms: number): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new LsTokenError(ErrorCodes.STORE, `Token store did not answer within ${Math.round(ms)} ms`, { retryable: true })),
        ms,
      );
      timer.unref();
    });
    p.catch(() => undefined); // a late failure after the timeout is not unhandled
    return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
  }

  async #bestEffortUpdate(id: string, patch: Parameters<TokenStore['update']>[1], op: string): Promise<void> {
    try {
      await this.#bounded(this.#store.update(id, patch), this.#storeBoundMs());
    } catch (err) {
      this.#emitError(err, op, id);
    }
  }

  #delayFor(err: LsTokenError, attemptNumber: number): number {
    const { minDelayMs, maxDelayMs, factor, rateLimitDelayMs } = this.#retry;
    const base = Math.min(maxDelayMs, minDelayMs * factor ** (attemptNumber - 1));
    // "Equal jitter": half fixed, half random, so retries of a storm spread out but never hit 0.
    let delay = base / 2 + (this.#random() * base) / 2;
    if (err.code === ErrorCodes.RATE_LIMITED || err.retryAfterMs !== undefined) {
      delay = Math.max(delay, rateLimitDelayMs, err.retryAfterMs ?? 0);
    }
    return Math.round(delay);
  }

  async #execute(id: string, reason: RevokeReason, knownExpiresAt: number | undefined, signal: AbortSignal): Promise<RevocationResult> {
    const started = this.#now();
    const result = (outcome: RevocationResult['outcome'], attempts: number, error?: LsTokenError): RevocationResult => ({
      id,
      reason,
      outcome,
      attempts,
      durationMs: this.#now() - started,
      ...(error === undefined ? {} : { error: summarizeError(error) }),
    });

    if (signal.aborted) return result('aborted', 0);

    // 1. Write the intent before any request, so a crash from here on leaves a record saying what is owed.
    let record: TokenRecord | undefined;
    let storeOk = true;
    try {
      record = await this.#bounded(this.#store.update(id, { state: 'revoking', reason }, { expectStates: REVOCABLE_STATES }), this.#storeBoundMs());
      if (record === undefined) {
        const current = await this.#bounded(this.#store.get(id), this.#storeBoundMs());
        if (current !== undefined || this.#tokenFor(id) === undefined) return result('skipped', 0);
      }
    } catch (err) {
      storeOk = false; // Store down: revoke anyway if the token is in memory; recovery will reconcile the record.
      this.#emitError(err, 'store.update', id);
    }

    const expiresAt = record?.expiresAt ?? knownExpiresAt;
    if (expiresAt !== undefined && this.#now() >= expiresAt + this.#clockSkewMs) {
      if (storeOk) await this.#bestEffortUpdate(id, { state: 'expired' }, 'store.update');
      this.events.emit('expired', { id, expiresAt });
      return result('expired', 0);
    }

    // 2. The raw token: memory first, then the store.
    let token = this.#tokenFor(id);
    if (token === undefined) {
      try {
        token = await this.#bounded(this.#store.getToken(id), this.#storeBoundMs());
      } catch (err) {
        const e = toLsTokenError(err, ErrorCodes.STORE, 'store.getToken failed', true);
        this.events.emit('error', { error: e, op: 'store.getToken', id });
        if (e.code === ErrorCodes.DECRYPT) {
          await this.#bestEffortUpdate(id, { state: 'failed', lastError: { code: e.code, message: e.message } }, 'store.update');
          this.events.emit('revokeFailed', { id, reason, attempts: 0, error: summarizeError(e) });
          return result('failed', 0, e);
        }
        if (!this.#closed && !signal.aborted && expiresAt !== undefined) {
          this.schedule({ id, revokeAt: started, expiresAt }, reason, this.#now() + this.#storeRetryDelayMs);
        }
        return result('deferred', 0, e);
      }
      if (token === undefined) return result('skipped', 0);
    }

    // 3. The request, with backoff. p-retry runs the loop and its budget; the delay is ours (in
    //    onFailedAttempt) so that it can honour rate limits and be reported in `retrying` events.
    let attempts = 0;
    const t0 = performance.now();
    const raw = token;
    try {
      const res = await pRetry(
        async () => {
          attempts++;
          await this.#rateSlot(signal);
          try {
            return await this.#revoke(raw, signal);
          } catch (err) {
            if (signal.aborted) throw err;
            throw isLsTokenError(err) ? err : toLsTokenError(err, ErrorCodes.NETWORK, `revoke of token ${shortId(id)} failed`, true);
          }
        },
        {
          retries: this.#retry.retries,
          minTimeout: 0,
          maxRetryTime: this.#retry.maxRetryTimeMs,
          signal,
          shouldRetry: ({ error }) => isLsTokenError(error) && error.retryable,
          onFailedAttempt: async ({ error, attemptNumber, retriesLeft }) => {
            if (!isLsTokenError(error) || !error.retryable || retriesLeft <= 0 || signal.aborted) return;
            const remaining = this.#retry.maxRetryTimeMs - (performance.now() - t0);
            if (remaining <= 0) return;
            const delayMs = Math.min(this.#delayFor(error, attemptNumber), remaining);
            this.events.emit('retrying', { id, reason, attempt: attemptNumber, delayMs, error: summarizeError(error) });
            await sleep(delayMs, signal);
          },
        },
      );
      if (storeOk) await this.#bestEffortUpdate(id, { state: 'revoked', attempts, lastError: null }, 'store.update');
      this.events.emit('revoked', { id, reason, outcome: res.outcome, attempts, durationMs: this.#now() - started });
      return result(res.outcome, attempts);
    } catch (err) {
      if (signal.aborted) {
        const e = new LsTokenError(ErrorCodes.ABORTED, `revocation of token ${shortId(id)} did not finish before the deadline; it stays owed in the store`);
        this.events.emit('error', { error: e, op: 'drain', id });
        return result('aborted', attempts, e);
      }
      const e = toLsTokenError(err, ErrorCodes.NETWORK, `revoke of token ${shortId(id)} failed`, true);
      if (storeOk) await this.#bestEffortUpdate(id, { state: 'failed', attempts, lastError: { code: e.code, message: e.message } }, 'store.update');
      this.events.emit('revokeFailed', { id, reason, attempts, error: summarizeError(e) });
      return result('failed', attempts, e);
    }
  }
}
