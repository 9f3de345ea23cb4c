/**
 * Admission control of revocations: how many run at once (concurrency), how fast requests start
 * (rate), and fairness to the host daemon (a burst never holds its event loop for long).
 */
import type { Clock } from '../core/clock.js';
import { sleep } from '../core/sleep.js';

/** Revocations that may start in one event-loop turn (see {@link Admission.run}). */
const START_BATCH = 32;

/** Concurrency, rate and fairness limits; see the module notes. */
export class Admission {
  readonly #concurrency: number;
  readonly #rateIntervalMs: number;
  readonly #now: Clock;
  #running = 0;
  readonly #waiting: Array<() => void> = [];
  #nextRequestAt = 0;
  #startedThisTurn = 0;
  #turnArmed = false;
  readonly #nextTurn: Array<() => void> = [];

  /**
   * @param concurrency revocations running at once
   * @param ratePerSec most requests started per second, `0` for no limit
   */
  constructor(concurrency: number, ratePerSec: number, now: Clock) {
    this.#concurrency = concurrency;
    this.#rateIntervalMs = ratePerSec > 0 ? 1000 / ratePerSec : 0;
    this.#now = now;
  }

  /** Revocations running now. */
  get running(): number {
    return this.#running;
  }

  /**
   * Runs `fn` once a slot is free. The hand-over stays cheap: the work starts on a later
   * microtask, and at most START_BATCH start per event-loop turn, so a burst of due tokens never
   * holds the loop (and the daemon's order path) for more than one batch.
   */
  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.#running >= this.#concurrency) await new Promise<void>((resolve) => this.#waiting.push(resolve));
    this.#running++;
    await this.#fairStart();
    try {
      return await fn();
    } finally {
      this.#running--;
      this.#waiting.shift()?.();
    }
  }

  /** Waits for the next request slot under the rate limit; rejects when `signal` aborts. */
  async rateSlot(signal: AbortSignal): Promise<void> {
    if (this.#rateIntervalMs === 0) return;
    const now = this.#now();
    const at = Math.max(now, this.#nextRequestAt);
    this.#nextRequestAt = at + this.#rateIntervalMs;
    if (at > now) await sleep(at - now, signal);
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
}
