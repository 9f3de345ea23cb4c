/**
 * One deadline for the store steps of the issue path. An attempt to obtain a token makes several
 * store calls before the token request (adopt, lease, lock, re-read, budget) and a few after the
 * answer (record, lease); each is already bounded by `storeTimeoutMs`, but bounded one by one a
 * hung store would cost their sum. Here every phase (before the request; after the answer) shares
 * one bound of `storeTimeoutMs`, and once a step has timed out the rest of the flight goes on
 * without the store: its steps are skipped at once. The token is then held in memory only and the
 * heartbeat writes its record when the store answers again (see docs/guarantees.md).
 *
 * Wall time (`performance.now()`), not the lifecycle's clock: a pinned or simulated clock must not
 * stretch or shrink a real wait on a real store.
 */
import { ErrorCodes, LsTokenError } from '../core/errors.js';
import { markStoreTimeout } from '../store/store-call.js';

const skippedSteps = new WeakSet<object>();

/** A store step that was skipped or did not answer within its phase. */
function storeLate(op: string, ms: number, skipped: boolean): LsTokenError {
  const why = skipped ? 'skipped: the store did not answer an earlier step of this issuance' : `did not answer within ${Math.round(ms)} ms`;
  const err = new LsTokenError(ErrorCodes.STORE, `Token store ${op} ${why}`, { retryable: true });
  if (skipped) skippedSteps.add(err);
  else markStoreTimeout(err); // a timeout like any bounded store call's: health() counts it from the error event
  return err;
}

/** Whether `err` is a step {@link StoreDeadline} skipped (the step that timed out was reported already). */
export function isSkippedStep(err: unknown): boolean {
  return typeof err === 'object' && err !== null && skippedSteps.has(err);
}

/** A step waiting for the store: how to fail it when its phase runs out. */
interface PendingStep {
  readonly op: string;
  readonly reject: (err: unknown) => void;
}

/**
 * The store deadline of one flight; see the module notes. One timer per phase serves every step of
 * it (a timer per step cost the cold issue path a timer set and cleared, and three promises, per
 * store call): it is armed by the first step, re-armed when it fires early (a new phase moved the
 * bound), and left to lapse when it fires with no step waiting. It is unref'd.
 */
export class StoreDeadline {
  readonly #ms: number;
  readonly #onTimeout: (op: string) => void;
  #until: number;
  #gaveUp = false;
  readonly #pending = new Set<PendingStep>();
  #timer: NodeJS.Timeout | undefined;
  readonly #fire = (): void => {
    this.#timer = undefined;
    if (this.#pending.size === 0) return;
    const left = this.#until - performance.now();
    if (left > 0) {
      this.#arm(left); // a new phase moved the bound
      return;
    }
    this.#gaveUp = true;
    const steps = [...this.#pending];
    this.#pending.clear();
    for (const step of steps) {
      this.#onTimeout(step.op);
      step.reject(storeLate(step.op, this.#ms, false));
    }
  };

  /**
   * @param storeTimeoutMs the bound of one phase.
   * @param onTimeout told once per step that ran out of time (for the availability counters).
   */
  constructor(storeTimeoutMs: number, onTimeout: (op: string) => void = () => undefined) {
    this.#ms = storeTimeoutMs;
    this.#onTimeout = onTimeout;
    this.#until = performance.now() + storeTimeoutMs;
  }

  /** Starts a new phase (a new attempt, or the steps after the broker's answer): `storeTimeoutMs` from now. */
  phase(): void {
    this.#until = performance.now() + this.#ms;
  }

  /** Whether a step has timed out: the flight goes on without the store. */
  get gaveUp(): boolean {
    return this.#gaveUp;
  }

  /** Wall-clock ms left in this phase (0 once given up). */
  get leftMs(): number {
    return this.#gaveUp ? 0 : Math.max(0, this.#until - performance.now());
  }

  /**
   * Runs `call` within the time left in the phase. After a timeout in this flight the call is not
   * made (`always`: it is made, but not waited for) and this rejects with a skipped `ERR_STORE`.
   */
  run<T>(call: () => Promise<T>, op: string, always = false): Promise<T> {
    if (this.#gaveUp) {
      if (always) call().catch(() => undefined);
      return Promise.reject(storeLate(op, 0, true));
    }
    if (this.#until - performance.now() <= 0) {
      // The phase ran out between two steps: this step times out at once, as a timer of 0 ms would.
      return new Promise<T>((_, reject) => {
        this.#pending.add({ op, reject });
        this.#arm(0);
        call().catch(() => undefined); // made, as before; its answer is ignored
      });
    }
    return new Promise<T>((resolve, reject) => {
      const step: PendingStep = { op, reject };
      this.#pending.add(step);
      if (this.#timer === undefined) this.#arm(this.#until - performance.now());
      // An answer after the deadline is ignored, and so is its failure.
      call().then(
        (value) => {
          if (this.#pending.delete(step)) resolve(value);
        },
        (err: unknown) => {
          if (this.#pending.delete(step)) reject(err);
        },
      );
    });
  }

  #arm(ms: number): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = setTimeout(this.#fire, ms);
    this.#timer.unref(); // a caller waiting for a token holds the process (see caller-waits.ts), not this
  }
}
