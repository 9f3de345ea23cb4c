/**
 * Resolves after `ms`, or rejects with `signal.reason` as soon as `signal` aborts. The timer is
 * unref'd: a library wait never keeps the process alive on its own (a CLI that must finish its
 * work keeps its own handle open).
 */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const onAbort = (): void => {
      clearTimeout(t);
      reject(signal.reason);
    };
    const t = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, Math.max(0, ms));
    t.unref();
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
