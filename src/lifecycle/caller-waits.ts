/**
 * The callers waiting for a token. Each waits at most its own `issueLockWaitMs` (by the lifecycle's
 * clock): the flight they share tells, before each pause, which callers' waits end before it tries
 * again, and those are let go with the error they would meet. The flight goes on as long as the
 * latest caller may wait.
 *
 * While anyone waits, one ref'd handle keeps the process alive (the waits themselves, on library
 * timers, are unref'd): a daemon whose only work is a caller waiting for LS's cut-off must not
 * exit under it. The handle is dropped the moment nobody waits.
 *
 * Callers arriving in one synchronous burst (a stampede: every order of a tick asking at once)
 * share one wait: one clock read, one promise, one entry, whose deadline is the first caller's.
 * A later caller of the burst so waits a little less than its bound (by the length of the burst,
 * which runs without yielding), never more; it costs each of them a counter instead of a clock
 * read, a promise and a set entry, which is what the stampede's latency was made of.
 */
import type { Clock } from '../core/clock.js';

/*
 * For the stampede's sake, the callers' path reads only objects whose hidden class lives as long
 * as the process: a class's instances share one, but it is collected with the last of them (as
 * an object literal's is), and the optimized code that relied on it is thrown away with it. A
 * stampede after a full collection then ran every caller unoptimized (3-5x slower). NO_BURST, a
 * settled burst that stands for "none", keeps one instance of each alive.
 */

/** One wait: a caller, or the callers of one burst. */
class Waiter {
  /** How many callers share this wait (a burst). */
  count = 1;
  /** Settled: nobody may join it any more. */
  done = false;
  readonly deadline: number;
  resolve: (token: string) => void = noop;
  reject: (err: unknown) => void = noop;

  constructor(deadline: number) {
    this.deadline = deadline;
  }
}

/** The wait the callers of one synchronous burst share. */
class Burst {
  constructor(
    readonly group: WaitGroup,
    readonly waiter: Waiter,
    readonly waitMs: number,
    readonly promise: Promise<string>,
  ) {}
}

function noop(): void {}


/** The callers of one flight. */
export class WaitGroup {
  readonly #waiters = new Set<Waiter>();
  readonly #done: (count: number, err?: unknown) => void;

  /** @param done told how many callers were settled, and with which error (none: with a token). */
  constructor(done: (count: number, err?: unknown) => void) {
    this.#done = done;
  }

  add(w: Waiter): void {
    this.#waiters.add(w);
  }

  /** The latest time a caller of this flight still waits until (`-Infinity` when none does). */
  latest(): number {
    let at = -Infinity;
    for (const w of this.#waiters) at = Math.max(at, w.deadline);
    return at;
  }

  /** Lets go, with `error()`, the callers whose wait ends before `at`. */
  expireBefore(at: number, error: () => unknown): void {
    let err: unknown;
    for (const w of this.#waiters) {
      if (w.deadline >= at) continue;
      err ??= error();
      this.#waiters.delete(w);
      w.done = true;
      w.reject(err);
      this.#done(w.count, err);
    }
  }

  /** Settles every caller still waiting. */
  settle(outcome: { token: string } | { error: unknown }): void {
    let n = 0;
    for (const w of this.#waiters) {
      n += w.count;
      w.done = true;
      if ('token' in outcome) w.resolve(outcome.token);
      else w.reject(outcome.error);
    }
    this.#waiters.clear();
    if (n > 0) this.#done(n, 'error' in outcome ? outcome.error : undefined);
  }
}

/** "No burst": settled, so nobody joins it. */
const NO_BURST: Burst = (() => {
  const waiter = new Waiter(-Infinity);
  waiter.done = true;
  return new Burst(new WaitGroup(noop), waiter, -1, Promise.resolve(''));
})();

/** The waiting callers of one lifecycle; see the module notes. */
export class CallerWaits {
  readonly #now: Clock;
  readonly #onFailed: (err: unknown) => void;
  #group: WaitGroup | undefined;
  #count = 0;
  #hold: NodeJS.Timeout | undefined;
  /** The wait the callers of the current synchronous burst share; see the module notes. */
  #burst: Burst = NO_BURST;
  readonly #endBurst = (): void => {
    this.#burst = NO_BURST;
  };

  /**
   * @param now the lifecycle's clock.
   * @param onFailed told once per caller that got an error.
   */
  constructor(now: Clock, onFailed: (err: unknown) => void) {
    this.#now = now;
    this.#onFailed = onFailed;
  }

  /** How many callers wait now. */
  get waiting(): number {
    return this.#count;
  }

  /** The wait of the current burst, joined (counted), if a caller waiting at most `waitMs` may share it; else `undefined`. */
  joinBurst(waitMs: number): Promise<string> | undefined {
    const b = this.#burst;
    if (b.waiter.done || b.group !== this.#group || b.waitMs !== waitMs) return undefined;
    b.waiter.count++;
    this.#count++;
    return b.promise;
  }

  /** Waits at most `waitMs` for the flight in progress, or for one `start` begins (given the callers' group and `arg`). */
  wait<A>(waitMs: number, start: (group: WaitGroup, arg: A) => Promise<string>, arg: A): Promise<string> {
    const joined = this.joinBurst(waitMs);
    if (joined !== undefined) return joined;
    let group = this.#group;
    const fresh = group === undefined;
    if (group === undefined) {
      const g = new WaitGroup((n, err) => this.#left(n, err));
      this.#group = group = g;
    }
    const g = group;
    const waiter = new Waiter(this.#now() + waitMs);
    const mine = new Promise<string>((resolve, reject) => {
      waiter.resolve = resolve;
      waiter.reject = reject;
    });
    g.add(waiter);
    // The burst ends when the caller's code yields: the next microtask.
    if (this.#burst === NO_BURST) queueMicrotask(this.#endBurst);
    this.#burst = new Burst(g, waiter, waitMs, mine);
    if (this.#count++ === 0) this.#hold = setInterval(() => undefined, 1 << 30); // ref'd: see the module notes
    if (fresh) {
      // The group is closed before its callers are told, so that a caller arriving then starts anew.
      const close = (): void => {
        if (this.#group === g) this.#group = undefined;
      };
      start(g, arg).then(
        (token) => (close(), g.settle({ token })),
        (error: unknown) => (close(), g.settle({ error })),
      );
    }
    return mine;
  }

  #left(n: number, err: unknown): void {
    if (err !== undefined) for (let i = 0; i < n; i++) this.#onFailed(err);
    this.#count -= n;
    if (this.#count === 0) {
      clearInterval(this.#hold);
      this.#hold = undefined;
    }
  }
}
