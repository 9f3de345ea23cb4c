/**
 * `npm run bench`: runs every benchmark in its own process (with `--expose-gc`, so retained heap
 * can be measured and runs do not disturb each other), then prints one combined table. Each
 * benchmark writes `bench/results/<name>-<timestamp>.json`; this runner also writes
 * `bench/results/all-<timestamp>.json` with every row.
 *
 * `npm run bench -- hot-path shutdown` runs only those. Exit code 1 when a target is missed.
 * `npm run bench -- --repeat 5 [names]` runs the selection 5 full times and prints (and writes to
 * `bench/results/stability-<timestamp>.json`) how each row moves between the runs; the exit code
 * then judges each row over the runs (bench/stability.ts).
 * Redis rows use $REDIS_URL (default redis://127.0.0.1:6379) and are skipped when it is down.
 */
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RESULT_MARKER, markdownTable, writeJson, writeResult, type BenchResult, type BenchRow } from './lib.js';
import { aggregate, stabilityTable } from './stability.js';

const BENCHES = ['hot-path', 'stampede', 'shutdown', 'scheduler-scale', 'store-overhead', 'shared-store', 'sim-day', 'sim-availability'] as const;
const here = dirname(fileURLToPath(import.meta.url));

function parseArgs(argv: readonly string[]): { repeat: number | null; names: string[] } {
  const names: string[] = [];
  let repeat: number | null = null;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const m = /^--repeat(?:=(.*))?$/.exec(a);
    if (m === null) {
      names.push(a);
      continue;
    }
    const text = m[1] ?? argv[++i];
    repeat = Number(text);
    if (!Number.isInteger(repeat) || repeat < 1) {
      console.error(`--repeat needs a whole number >= 1, got ${text ?? 'nothing'}`);
      process.exit(2);
    }
  }
  return { repeat, names };
}

const { repeat, names: only } = parseArgs(process.argv.slice(2));
const selected = only.length === 0 ? [...BENCHES] : BENCHES.filter((b) => only.includes(b));
const unknown = only.filter((n) => !(BENCHES as readonly string[]).includes(n));
if (selected.length === 0 || unknown.length > 0) {
  console.error(`unknown benchmark(s) ${unknown.join(', ')}; known: ${BENCHES.join(', ')}`);
  process.exit(2);
}

function runOne(name: string): Promise<{ result?: BenchResult; code: number | null; ms: number }> {
  const t0 = performance.now();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--expose-gc', '--import', 'tsx', join(here, `${name}.ts`)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      const text = d.toString();
      out += text;
      process.stdout.write(text.split('\n').filter((l) => !l.startsWith(RESULT_MARKER)).join('\n'));
    });
    // Bounded: no benchmark may take more than 3 minutes.
    const timer = setTimeout(() => child.kill('SIGKILL'), 180_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      const line = out.split('\n').find((l) => l.startsWith(RESULT_MARKER));
      resolve({ ...(line === undefined ? {} : { result: JSON.parse(line.slice(RESULT_MARKER.length)) as BenchResult }), code, ms: performance.now() - t0 });
    });
  });
}

/** One full run of the selection: every row, wall time per benchmark, the benchmarks that broke. */
async function runAll(): Promise<{ rows: BenchRow[]; timings: Record<string, number>; broken: string[] }> {
  const rows: BenchRow[] = [];
  const timings: Record<string, number> = {};
  const broken: string[] = [];
  for (const name of selected) {
    console.log(`\n=== ${name}`);
    const { result, code, ms } = await runOne(name);
    timings[name] = Math.round(ms);
    if (result === undefined || code !== 0) {
      broken.push(name);
      console.error(`${name}: exited with ${code}${result === undefined ? ' and no result' : ''}`);
      continue;
    }
    rows.push(...result.rows);
  }
  return { rows, timings, broken };
}

const startedAt = new Date();
const seconds = (): string => ((Date.now() - startedAt.getTime()) / 1000).toFixed(0);

if (repeat === null) {
  const { rows, timings, broken } = await runAll();
  const all: BenchResult = { name: 'all', rows, details: { wallMsPerBenchmark: timings, broken } };
  const file = writeResult(all, startedAt);
  console.log(`\n=== all benchmarks (${seconds()} s)\n${markdownTable(rows)}`);
  const missed = rows.filter((r) => r.pass === false);
  console.log(`\n${rows.filter((r) => r.pass === true).length} targets met, ${missed.length} missed${broken.length > 0 ? `, ${broken.length} benchmark(s) broken` : ''} -> ${file}`);
  process.exit(missed.length > 0 || broken.length > 0 ? 1 : 0);
}

const n = repeat;
const runs: Array<Awaited<ReturnType<typeof runAll>>> = [];
for (let i = 0; i < n; i++) {
  console.log(`\n##### run ${i + 1} of ${n} (${seconds()} s so far)`);
  const run = await runAll();
  runs.push(run);
  console.log(`\n=== run ${i + 1} of ${n}\n${markdownTable(run.rows)}`);
}
const stability = aggregate(runs.map((r) => r.rows));
const broken = runs.flatMap((r, i) => r.broken.map((b) => `${b} (run ${i + 1})`));
const file = writeJson('stability', { repeat: n, benches: selected, rows: stability, runs: runs.map((r) => ({ rows: r.rows, wallMsPerBenchmark: r.timings, broken: r.broken })) }, startedAt);
console.log(`\n=== stability over ${n} full runs (${seconds()} s)\n${stabilityTable(stability, n)}`);
const missed = stability.filter((r) => r.pass === false);
console.log(
  `\n${stability.filter((r) => r.pass === true).length} targets met over ${n} runs, ${missed.length} missed${broken.length > 0 ? `; broken: ${broken.join(', ')}` : ''} -> ${file}`,
);
process.exit(missed.length > 0 || broken.length > 0 ? 1 : 0);
