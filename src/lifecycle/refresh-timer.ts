/**
 * The one timer a lifecycle keeps for its next refresh. A due time further away than a node timer
 * can wait (2^31 - 1 ms) is reached in chunks, re-checked against the clock each time (which also
 * copes with clock jumps). Unref'd: it never keeps the process alive.
 */
import type { Clock } from '../core/clock.js';

const MAX_TIMER_MS = 2_147_483_647;

/** A re-armable single timer; see the module notes. */
export class RefreshTimer {
  #at = Infinity;
  #timer: NodeJS.Timeout | undefined;
  readonly #now: Clock;
  readonly #fire: () => void;

  /** @param fire called once the clock reaches the armed time */
  constructor(now: Clock, fire: () => void) {
    this.#now = now;
    this.#fire = fire;
  }

  /** The armed time (`Infinity` when none). */
  get at(): number {
    return this.#at;
  }

  /** Arms the timer for `at` (epoch ms by the clock), replacing the previous one; `Infinity` disarms. */
  arm(at: number): void {
    this.#at = at;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    if (at === Infinity) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      if (this.#now() < this.#at) this.arm(this.#at);
      else this.#fire();
    }, Math.min(Math.max(0, at - this.#now()), MAX_TIMER_MS)).unref();
  }

  /** Disarms it for good (the lifecycle closed). */
  clear(): void {
    this.arm(Infinity);
  }
}
