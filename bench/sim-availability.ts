/**
 * Failed calls per simulated LS week, faults included: the simulated trading week
 * (test/sim/engine.ts) with every fault it knows (restarts, crashes, token-endpoint 5xx and rate
 * limits, store freezes of 5-60 s and emptyings, a slow broker, failed clock probes). The value is
 * the failed calls the availability invariant does not allow: a call may fail only when the fault
 * it met outlasted `issueLockWaitMs`, cannot be retried, or its process was stopped under it. The
 * target is 0; the note lists every failed call by cause, the allowed ones included.
 *
 * One seeded run; `--repeat` judges it on every run (a count, not noise). No warm-up or gc: the
 * figure is counted in simulated time, which neither the JIT nor the collector can change.
 */
import { runSimulation } from '../test/sim/engine.js';
import { absoluteRow, report, type BenchRow } from './lib.js';

const startedAt = new Date();
const SEED = 20261129;
/** Simulated LS days (7 = the week the row is about; fewer only for a quick look). */
const DAYS = Number(process.env['BENCH_SIM_DAYS'] ?? 7);
const r = await runSimulation({ seed: SEED, days: DAYS, fleet: 3 });
const causes: Record<string, number> = {};
for (const d of r.byDay) for (const [cause, n] of Object.entries(d.failedByCause)) causes[cause] = (causes[cause] ?? 0) + n;
const rows: BenchRow[] = [
  absoluteRow(
    'sim-availability',
    'failed calls per simulated LS week, faults included (beyond those the invariant allows)',
    r.availabilityFailures,
    '',
    { op: '<=', limit: 0, everyRun: true },
    null,
    `seed ${SEED}: ${r.calls} calls, ${r.failedCalls} failed (${r.allowedFailures} allowed), ${r.faults} token-endpoint faults, ${r.infraFaults} store/slow-broker/probe faults, ` +
      `${r.restarts} restarts, ${r.crashes} crashes; by cause ${JSON.stringify(causes)}; longest getAccessToken wait ${Math.max(...r.byDay.map((d) => d.waitMaxMs))} ms`,
  ),
];
if (r.violations.length > 0) console.error(r.violations.join('\n'));
report({ name: 'sim-availability', rows, details: { run: r } }, startedAt);
