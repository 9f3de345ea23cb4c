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

/** The store deadline of one flight; see the module notes. */
export class StoreDeadline {
  readonly #ms: number;
  readonly #onTimeout: (op: string) => void;
  #until: number;
  #gaveUp = false;

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
    const left = this.leftMs;
    const p = call();
    p.catch(() => undefined); // an answer after the deadline is ignored, and so is its failure
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        this.#gaveUp = true;
        this.#onTimeout(op);
        reject(storeLate(op, left, false));
      }, left);
      timer.unref(); // a caller waiting for a token holds the process (see caller-waits.ts), not this
    });
    return Promise.race([p, late]).finally(() => clearTimeout(timer));
  }
}
