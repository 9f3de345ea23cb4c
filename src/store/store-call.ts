/**
 * One time bound for every store call the lifecycle and the scheduler make. A store that hangs
 * (a frozen Redis, a client queueing commands while it reconnects) must never hold up the order
 * path, an issuance or a shutdown: past the bound the call counts as failed (`ERR_STORE`), and the
 * caller carries on from memory. The late answer, if it ever comes, is ignored.
 */
import { ErrorCodes, LsTokenError } from '../core/errors.js';

/** The errors {@link boundedStoreCall} made for a call that did not answer in time. */
const timeouts = new WeakSet<object>();

/** Whether `err` is a store call that did not answer within its bound (for `health()`). */
export function isStoreTimeout(err: unknown): boolean {
  return typeof err === 'object' && err !== null && timeouts.has(err);
}

/** Marks `err` as a store call that did not answer in time (for the bounds kept elsewhere, e.g. the issue path's one deadline). */
export function markStoreTimeout<E extends object>(err: E): E {
  timeouts.add(err);
  return err;
}

/**
 * `call`, or an `ERR_STORE` rejection (retryable) when it has not settled within `ms`. The timer
 * is unref'd: a pending store call never keeps the process alive on its own.
 */
export function boundedStoreCall<T>(call: Promise<T>, ms: number, op: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const err = new LsTokenError(ErrorCodes.STORE, `Token store did not answer ${op} within ${Math.round(ms)} ms`, { retryable: true });
      timeouts.add(err);
      reject(err);
    }, ms);
    timer.unref();
  });
  call.catch(() => undefined); // a failure after the timeout is not an unhandled rejection
  return Promise.race([call, timeout]).finally(() => clearTimeout(timer));
}
