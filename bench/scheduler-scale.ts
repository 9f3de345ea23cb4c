/**
 * Scheduler scale: 100,000 scheduled revocations in one {@link RevocationScheduler}.
 *
 * 1. Scale: time to schedule all, retained heap per scheduled token (`--expose-gc`: heap after a
 *    full GC, minus before, over N; the token ids are created inside the window and only the
 *    scheduler keeps them, so their bytes count), and the number of armed timers (active `Timeout`
 *    handles of the process, before and after). Baseline: the naive design, one `setTimeout` per
 *    token kept in a Map, measured the same way in the same run.
 * 2. Lateness: the same 100,000 tokens, stored as records in an in-memory {@link TokenStore},
 *    falling due in 100 bursts of 1,000 (same `revokeAt` within a burst), concurrency 1,024 and a
 *    revoke function that resolves at once. Two lateness figures, `Date.now() - revokeAt`:
 *    - at dispatch: when the scheduler's timer hands the token to `revoke()` (seen by a subclass
 *      overriding `revoke`, which the timer calls);
 *    - at the revoke call: when the revoke function itself is invoked, i.e. after the intent
 *      (`state: 'revoking'`) is written to the store, which a crash-safe revocation must do first.
 *    Baseline: plain `setTimeout`s at the same burst times, each calling an async function 1,000
 *    times (what dispatching a burst costs without the library).
 *
 * Both parts run several times after a discarded warm-up; each row is judged on the median of its
 * runs (the timer count on every run), with the spread printed.
 */
import { createHook } from 'node:async_hooks';
import { randomBytes } from 'node:crypto';
import { RevocationScheduler, type RevocationResult } from '../src/schedule/revocation-scheduler.js';
import type { RevokeReason } from '../src/core/events.js';
import { TokenStore } from '../src/store/token-store.js';
import { absoluteRow, gc, percentile, ratioRow, report, type BenchRow } from './lib.js';

const N = Number(process.env['BENCH_SCALE_TOKENS'] ?? 100_000);
const BURST = 1_000;
/** Bursts that fall due during the lateness run; the other scheduled tokens stay due later. */
const BURSTS = Number(process.env['BENCH_SCALE_BURSTS'] ?? 20);
/**
 * Bursts are spaced wider than it takes to revoke one (about 100-200 us of CPU per token on the
 * in-memory store, so 100-200 ms per burst on this shared 2-core box): closer bursts measure a saturated CPU, not the timer.
 */
const BURST_GAP_MS = Number(process.env['BENCH_SCALE_GAP_MS'] ?? 400);
/** Scale measurements (each well under a second). */
const SCALE_RUNS = Number(process.env['BENCH_SCALE_RUNS'] ?? 3);
/** Lateness runs, each a baseline then the scheduler (about 2 x BURSTS x BURST_GAP_MS). One run's max over bursts was one figure: three give a median. */
const LATE_RUNS = Number(process.env['BENCH_SCALE_LATE_RUNS'] ?? 3);
const APP = 'c'.repeat(24);
const startedAt = new Date();

/** Live `Timeout` objects (armed, ref'd or not), seen through async_hooks. */
const liveTimeouts = new Set<number>();
const timeoutHook = createHook({
  init(id, type) {
    if (type === 'Timeout') liveTimeouts.add(id);
  },
  destroy(id) {
    liveTimeouts.delete(id);
  },
}).enable();
const activeTimeouts = (): number => liveTimeouts.size;
const ok = async (): Promise<{ outcome: 'revoked' }> => ({ outcome: 'revoked' });

// ---- 1. Scale ----------------------------------------------------------------------------------
function measureScheduler(): { scheduleMs: number; bytesPerToken: number; timers: number; armed: boolean; size: number } {
  gc();
  const timers0 = activeTimeouts();
  const heap0 = process.memoryUsage().heapUsed;
  const scheduler = new RevocationScheduler({ store: new TokenStore(), revoke: ok });
  const now = Date.now();
  let ids: string[] | undefined = Array.from({ length: N }, () => randomBytes(32).toString('hex'));
  const t0 = performance.now();
  for (let i = 0; i < N; i++) scheduler.schedule({ id: ids[i]!, revokeAt: now + 3_600_000 + i, expiresAt: now + 7_200_000 + i }, 'expiry');
  const scheduleMs = performance.now() - t0;
  ids = undefined;
  gc();
  const heap1 = process.memoryUsage().heapUsed;
  const out = { scheduleMs, bytesPerToken: (heap1 - heap0) / N, timers: activeTimeouts() - timers0, armed: scheduler.timerArmed, size: scheduler.size };
  scheduler.close();
  return out;
}

function measureNaive(): { scheduleMs: number; bytesPerToken: number; timers: number } {
  gc();
  const timers0 = activeTimeouts();
  const heap0 = process.memoryUsage().heapUsed;
  const timers = new Map<string, NodeJS.Timeout>();
  let ids: string[] | undefined = Array.from({ length: N }, () => randomBytes(32).toString('hex'));
  const t0 = performance.now();
  for (let i = 0; i < N; i++) {
    const id = ids[i]!;
    timers.set(id, setTimeout(() => void ok(), 3_600_000 + i));
  }
  const scheduleMs = performance.now() - t0;
  ids = undefined;
  gc();
  const heap1 = process.memoryUsage().heapUsed;
  const out = { scheduleMs, bytesPerToken: (heap1 - heap0) / N, timers: activeTimeouts() - timers0 };
  for (const t of timers.values()) clearTimeout(t);
  return out;
}

measureScheduler(); // warm-up
measureNaive();
const scales: Array<ReturnType<typeof measureScheduler>> = [];
const naives: Array<ReturnType<typeof measureNaive>> = [];
for (let r = 0; r < SCALE_RUNS; r++) {
  scales.push(measureScheduler());
  naives.push(measureNaive());
}
timeoutHook.disable(); // async_hooks slow every promise down: off before the timing runs

// ---- 2. Lateness -------------------------------------------------------------------------------
class DispatchProbe extends RevocationScheduler {
  dispatched: number[] = [];
  /** Lateness of the first token of each burst: when the timer fired. */
  fired: number[] = [];
  dueAtOf = new Map<string, number>();
  #lastAt = -1;
  override revoke(id: string, reason: RevokeReason, expiresAt?: number): Promise<RevocationResult> {
    const at = this.dueAtOf.get(id);
    if (at !== undefined) {
      const late = Date.now() - at;
      this.dispatched.push(late);
      if (at !== this.#lastAt) this.fired.push(late);
      this.#lastAt = at;
    }
    return super.revoke(id, reason, expiresAt);
  }
}

/** One lateness run: `bursts` bursts fall due, and the rest of the N scheduled tokens (when `fill`) stay due later. */
async function measureLateness(bursts: number, fill: boolean): Promise<{ fired: number[]; dispatch: number[]; invoke: number[]; revoked: number; wallMs: number; scheduledAtStart: number }> {
  const store = new TokenStore();
  const now = Date.now();
  const due = bursts * BURST;
  const tokens: string[] = [];
  const records = [];
  for (let i = 0; i < due; i++) {
    const token = `eyJ0eXAiOiJKV1QiLCJhbGciOiJIUzUxMiJ9.${randomBytes(90).toString('base64url')}.${randomBytes(64).toString('base64url')}`;
    tokens.push(token);
    records.push(await store.put({ appKeyId: APP, tokenType: 'Bearer', issuedAt: now, expiresAt: now + 86_400_000, revokeAt: now + 3_600_000 }, token));
  }
  const byToken = new Map<string, number>();
  const invoke: number[] = [];
  let revoked = 0;
  let resolveDone!: () => void;
  const done = new Promise<void>((r) => (resolveDone = r));
  const scheduler = new DispatchProbe({
    store,
    concurrency: 1024,
    revoke: async (token) => {
      invoke.push(Date.now() - byToken.get(token)!);
      return { outcome: 'revoked' };
    },
  });
  scheduler.events.on('revoked', () => {
    if (++revoked === due) resolveDone();
  });
  // The rest of the 100,000: scheduled, due after the run (no records needed, they never fire).
  if (fill) for (let i = due; i < N; i++) scheduler.schedule({ id: randomBytes(32).toString('hex'), revokeAt: now + 3_600_000 + i, expiresAt: now + 7_200_000 + i });
  const first = Date.now() + 500;
  for (let i = 0; i < due; i++) {
    const at = first + Math.floor(i / BURST) * BURST_GAP_MS;
    byToken.set(tokens[i]!, at);
    scheduler.dueAtOf.set(records[i]!.id, at);
    scheduler.schedule({ id: records[i]!.id, revokeAt: at, expiresAt: records[i]!.expiresAt });
  }
  const scheduledAtStart = scheduler.size;
  gc();
  const t0 = Date.now();
  // The scheduler's timer is unref()ed (it never keeps a daemon alive); this guard keeps the
  // benchmark alive and bounds it.
  let guard: NodeJS.Timeout | undefined;
  await Promise.race([
    done,
    new Promise<void>((_, reject) => {
      guard = setTimeout(() => reject(new Error(`lateness run did not finish in 120 s (${revoked} revoked)`)), 120_000);
    }),
  ]);
  clearTimeout(guard);
  const wallMs = Date.now() - t0;
  scheduler.close();
  return { fired: scheduler.fired, dispatch: scheduler.dispatched, invoke, revoked, wallMs, scheduledAtStart };
}

async function measureBaselineLateness(bursts: number): Promise<number[]> {
  gc();
  const late: number[] = [];
  const first = Date.now() + 200;
  await new Promise<void>((resolve) => {
    let fired = 0;
    for (let b = 0; b < bursts; b++) {
      const at = first + b * BURST_GAP_MS;
      setTimeout(() => {
        for (let k = 0; k < BURST; k++) {
          late.push(Date.now() - at);
          void ok();
        }
        if (++fired === bursts) resolve();
      }, at - Date.now());
    }
  });
  return late;
}

// Warm-up (JIT of the store, the dispatch and the revoke path): two bursts, discarded.
await measureBaselineLateness(2);
await measureLateness(2, false);
const p99 = (xs: number[]): number => percentile(xs, 99);
const baseP99: number[] = [];
const lates: Array<Awaited<ReturnType<typeof measureLateness>>> = [];
for (let r = 0; r < LATE_RUNS; r++) {
  baseP99.push(p99(await measureBaselineLateness(BURSTS)));
  lates.push(await measureLateness(BURSTS, true));
}
const firedMax = lates.map((l) => Math.max(...l.fired));
const dispatchP99 = lates.map((l) => p99(l.dispatch));
const invokeP99 = lates.map((l) => p99(l.invoke));
const perRun = (xs: number[]): string => xs.join(', ');
const last = lates[lates.length - 1]!;
const baseline = { name: 'plain setTimeout + 1,000 async calls per burst', value: baseP99 };
const rows: BenchRow[] = [
  ratioRow('scheduler', `schedule ${N.toLocaleString('en-US')} revocations`, scales.map((x) => x.scheduleMs), 'ms', { name: 'one setTimeout per token', value: naives.map((x) => x.scheduleMs) }, null),
  absoluteRow(
    'scheduler',
    'retained heap per scheduled token',
    scales.map((x) => x.bytesPerToken),
    'bytes',
    { op: '<=', limit: 300 },
    { name: 'one setTimeout per token', value: naives.map((x) => x.bytesPerToken) },
    'includes the 64-char id string, which only the scheduler keeps',
  ),
  absoluteRow(
    'scheduler',
    `armed timers for ${N.toLocaleString('en-US')} scheduled`,
    scales.map((x) => x.timers),
    '',
    { op: '==', limit: 1, everyRun: true },
    { name: 'one setTimeout per token', value: naives.map((x) => x.timers) },
    `timerArmed=${scales.map((x) => x.armed).join('/')}, size=${scales.map((x) => x.size).join('/')}`,
  ),
  absoluteRow(
    'scheduler',
    'timer firing lateness, max over bursts (first token of each)',
    firedMax,
    'ms',
    { op: '<=', limit: 10 },
    baseline,
    `max per run: ${perRun(firedMax)} ms; per burst in the last run: ${last.fired.join(', ')} ms`,
  ),
  absoluteRow(
    'scheduler',
    'firing lateness p99 at dispatch, bursts of 1,000',
    dispatchP99,
    'ms',
    { op: '<=', limit: 10 },
    baseline,
    `${last.scheduledAtStart.toLocaleString('en-US')} scheduled; ${last.dispatch.length.toLocaleString('en-US')} fell due in ${BURSTS} bursts of ${BURST} ${BURST_GAP_MS} ms apart; p99 per run ${perRun(dispatchP99)} ms; last run p50 ${percentile(last.dispatch, 50)} ms, max ${percentile(last.dispatch, 100)} ms`,
  ),
  absoluteRow(
    'scheduler',
    'lateness p99 at the revoke call (after the intent write), bursts of 1,000',
    invokeP99,
    'ms',
    null,
    baseline,
    `p99 per run ${perRun(invokeP99)} ms; last run p50 ${percentile(last.invoke, 50)} ms, max ${percentile(last.invoke, 100)} ms; ${last.revoked.toLocaleString('en-US')} revoked, all ${(BURSTS * BURST).toLocaleString('en-US')} in ${last.wallMs} ms. Each token's 'revoking' record is written before its request: 1,000 store writes per burst come first`,
  ),
];
report(
  {
    name: 'scheduler-scale',
    rows,
    details: {
      tokens: N,
      burst: BURST,
      bursts: BURSTS,
      burstGapMs: BURST_GAP_MS,
      scale: scales,
      naive: naives,
      baselineP99: baseP99,
      late: lates.map((l) => ({ fired: l.fired, dispatchP50: percentile(l.dispatch, 50), dispatchP99: p99(l.dispatch), invokeP50: percentile(l.invoke, 50), invokeP99: p99(l.invoke), wallMs: l.wallMs })),
    },
  },
  startedAt,
);
