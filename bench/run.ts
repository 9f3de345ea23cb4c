/**
 * `npm run bench`: runs every benchmark in its own process (with `--expose-gc`, so retained heap
 * can be measured and runs do not disturb each other), then prints one combined table. Each
 * benchmark writes `bench/results/<name>-<timestamp>.json`; this runner also writes
 * `bench/results/all-<timestamp>.json` with every row.
 *
 * `npm run bench -- hot-path shutdown` runs only those. Exit code 1 when a target is missed.
 * Redis rows use $REDIS_URL (default redis://127.0.0.1:6379) and are skipped when it is down.
 */
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RESULT_MARKER, markdownTable, writeResult, type BenchResult, type BenchRow } from './lib.js';

const BENCHES = ['hot-path', 'stampede', 'shutdown', 'scheduler-scale', 'store-overhead', 'shared-store', 'sim-day', 'sim-availability'] as const;
const here = dirname(fileURLToPath(import.meta.url));
const only = process.argv.slice(2);
const selected = only.length === 0 ? [...BENCHES] : BENCHES.filter((b) => only.includes(b));
if (selected.length === 0) {
  console.error(`unknown benchmark(s) ${only.join(', ')}; known: ${BENCHES.join(', ')}`);
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

const startedAt = new Date();
const rows: BenchRow[] = [];
const timings: Record<string, number> = {};
let broken = 0;
for (const name of selected) {
  console.log(`\n=== ${name}`);
  const { result, code, ms } = await runOne(name);
  timings[name] = Math.round(ms);
  if (result === undefined || code !== 0) {
    broken++;
    console.error(`${name}: exited with ${code} and no result`);
    continue;
  }
  rows.push(...result.rows);
}
const all: BenchResult = { name: 'all', rows, details: { wallMsPerBenchmark: timings } };
const file = writeResult(all, startedAt);
console.log(`\n=== all benchmarks (${((Date.now() - startedAt.getTime()) / 1000).toFixed(0)} s)\n${markdownTable(rows)}`);
const missed = rows.filter((r) => r.pass === false);
console.log(`\n${rows.filter((r) => r.pass === true).length} targets met, ${missed.length} missed${broken > 0 ? `, ${broken} benchmark(s) broken` : ''} -> ${file}`);
process.exit(missed.length > 0 || broken > 0 ? 1 : 0);
