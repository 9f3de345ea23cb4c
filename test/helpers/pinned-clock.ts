/**
 * A pinned clock for tests that share one time between the mock broker and the lifecycle, and
 * let it run at wall-clock speed only while a call waits (for LS's cut-off, the budget).
 */

/**
 * Awaits `p`; if it has not settled within 250 ms of wall time, `advance(ms)` moves the pinned
 * clock forward at wall-clock speed (every 5 ms) until it does.
 */
export async function whileTimeRuns<T>(p: Promise<T>, advance: (ms: number) => void): Promise<T> {
  let last = 0;
  let ticker: NodeJS.Timeout | undefined;
  const start = setTimeout(() => {
    last = performance.now();
    ticker = setInterval(() => {
      const t = performance.now();
      advance(Math.round(t - last));
      last = t;
    }, 5);
  }, 250);
  try {
    return await p;
  } finally {
    clearTimeout(start);
    clearInterval(ticker);
  }
}
