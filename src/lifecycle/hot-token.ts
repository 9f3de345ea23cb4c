/**
 * The hot path's answer without a clock read. Reading the host clock (`Date.now()`) costs more
 * than the rest of `getAccessToken()` together (tens of ns, against about 40 ns for a bare cached
 * async return), so while the held token cannot have reached its refresh time the answer is
 * served from here, and a timer takes it away in time.
 *
 * Timers run on the monotonic clock, tokens die by the wall clock: the timer re-reads the wall
 * clock at least every {@link HOT_SLICE_MS}, so a host clock stepped forward (NTP, a paused VM, a
 * suspended host) is noticed within that slice. Refresh time is minutes before revocation time,
 * so an answer served a slice late is still a token the lifecycle would hand out itself. Used
 * only with the host clock: a custom `now` (a test's pinned clock) may jump at any call, so the
 * lifecycle reads it on every call instead.
 */
import type { Clock } from '../core/clock.js';

/** Longest time the hot answer is served without reading the wall clock, ms. */
export const HOT_SLICE_MS = 1_000;

/** Holds the cached answer and the timer that ends it; see the module notes. */
export class HotToken {
  #value: Promise<string> | undefined;
  #held: Promise<string> | undefined;
  #until = -Infinity;
  #timer: NodeJS.Timeout | undefined;
  readonly #now: Clock;

  constructor(now: Clock) {
    this.#now = now;
  }

  /** The answer to hand out without a clock read, or `undefined` (then the caller reads the clock). */
  get value(): Promise<string> | undefined {
    return this.#value;
  }

  /** Serves `value` until the wall clock reaches `until` (epoch ms). */
  hold(value: Promise<string>, until: number): void {
    clearTimeout(this.#timer);
    this.#held = value;
    this.#until = until;
    this.#check();
  }

  /** Stops serving (the token was replaced, dropped, or the lifecycle closed). */
  drop(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#value = undefined;
    this.#held = undefined;
  }

  readonly #check = (): void => {
    this.#timer = undefined;
    const left = this.#until - this.#now();
    if (!(left > 0)) {
      this.#value = undefined;
      return;
    }
    this.#value = this.#held;
    this.#timer = setTimeout(this.#check, Math.min(left, HOT_SLICE_MS)).unref();
  };
}
