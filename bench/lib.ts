/**
 * Shared helpers of the benchmark scripts: statistics, the result row format, the table printer
 * and the JSON writer. Every benchmark measures its figure and its baseline in the same process
 * and the same run, so the ratio does not depend on the machine.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** One line of a benchmark table. */
export interface BenchRow {
  /** Which benchmark (hot-path, stampede, ...). */
  readonly bench: string;
  /** What is measured, e.g. `getAccessToken() ns/call`. */
  readonly metric: string;
  /** The figure. */
  readonly value: number;
  readonly unit: string;
  /** What the figure is compared with (measured in the same run), or `null` for an absolute target. */
  readonly baseline: { readonly name: string; readonly value: number } | null;
  /** value / baseline (for throughputs: baseline / value, so that higher is always worse). */
  readonly ratio: number | null;
  /** The target, as text (e.g. `ratio <= 2`), or `null` when the row is informative only. */
  readonly target: string | null;
  /** Whether the target is met (`null` when there is none). */
  readonly pass: boolean | null;
  /** Anything a reader needs to interpret the row. */
  readonly note?: string;
}

/** What a benchmark script reports. */
export interface BenchResult {
  readonly name: string;
  readonly rows: BenchRow[];
  /** Raw measurements (per-run values), for whoever compares runs. */
  readonly details: Record<string, unknown>;
}

/** Marker line a benchmark script prints its result on, for `bench/run.ts`. */
export const RESULT_MARKER = '@@BENCH-RESULT ';

export const RESULTS_DIR = join(dirname(fileURLToPath(import.meta.url)), 'results');

export function median(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Nearest-rank percentile, p in [0, 100]. */
export function percentile(xs: readonly number[] | Float64Array, p: number): number {
  if (xs.length === 0) return NaN;
  const s = Float64Array.from(xs).sort();
  const rank = Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1));
  return s[rank]!;
}

export function round(x: number, digits = 2): number {
  if (!Number.isFinite(x)) return x;
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

/** A row comparing `value` with a baseline (`ratio = value / baseline`, lower is better). */
export function ratioRow(
  bench: string,
  metric: string,
  value: number,
  unit: string,
  baseline: { name: string; value: number },
  maxRatio: number | null,
  note?: string,
): BenchRow {
  const ratio = value / baseline.value;
  return {
    bench,
    metric,
    value: round(value, 3),
    unit,
    baseline: { name: baseline.name, value: round(baseline.value, 3) },
    ratio: round(ratio, 3),
    target: maxRatio === null ? null : `ratio <= ${maxRatio}`,
    pass: maxRatio === null ? null : ratio <= maxRatio,
    ...(note === undefined ? {} : { note }),
  };
}

/** A row with an absolute target (`value <op> limit`), optionally with an informative baseline. */
export function absoluteRow(
  bench: string,
  metric: string,
  value: number,
  unit: string,
  target: { op: '<=' | '=='; limit: number } | null,
  baseline: { name: string; value: number } | null = null,
  note?: string,
): BenchRow {
  const pass = target === null ? null : target.op === '<=' ? value <= target.limit : value === target.limit;
  return {
    bench,
    metric,
    value: round(value, 3),
    unit,
    baseline: baseline === null ? null : { name: baseline.name, value: round(baseline.value, 3) },
    ratio: baseline === null || baseline.value === 0 ? null : round(value / baseline.value, 3),
    target: target === null ? null : `${target.op === '==' ? '=' : '<='} ${target.limit}${unit === '' ? '' : ` ${unit}`}`,
    pass,
    ...(note === undefined ? {} : { note }),
  };
}

function fmt(x: number | null | undefined): string {
  if (x === null || x === undefined) return '-';
  if (!Number.isFinite(x)) return String(x);
  const a = Math.abs(x);
  if (a >= 100_000) return Math.round(x).toLocaleString('en-US');
  if (a >= 100) return (Math.round(x * 10) / 10).toString();
  return (Math.round(x * 1000) / 1000).toString();
}

/** The rows as a Markdown table (also readable in a terminal). */
export function markdownTable(rows: readonly BenchRow[]): string {
  const head = ['bench', 'metric', 'value', 'baseline (same run)', 'ratio', 'target', 'result'];
  const lines = rows.map((r) => [
    r.bench,
    r.metric,
    `${fmt(r.value)} ${r.unit}`.trim(),
    r.baseline === null ? '-' : `${fmt(r.baseline.value)} ${r.unit} (${r.baseline.name})`,
    fmt(r.ratio),
    r.target ?? '-',
    r.pass === null ? 'info' : r.pass ? 'PASS' : 'FAIL',
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  const row = (cells: string[]): string => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  return [row(head), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...lines.map(row)].join('\n');
}

export function environment(): Record<string, unknown> {
  const c = cpus();
  return {
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    cpu: c[0]?.model ?? 'unknown',
    cores: c.length,
    memGiB: Math.round(totalmem() / 2 ** 30),
  };
}

/** Writes `bench/results/<name>-<timestamp>.json` and returns its path. */
export function writeResult(result: BenchResult, startedAt: Date): string {
  mkdirSync(RESULTS_DIR, { recursive: true });
  const stamp = startedAt.toISOString().replace(/[:.]/g, '-');
  const file = join(RESULTS_DIR, `${result.name}-${stamp}.json`);
  writeFileSync(file, `${JSON.stringify({ ...result, startedAt: startedAt.toISOString(), environment: environment() }, null, 2)}\n`);
  return file;
}

/**
 * Ends a benchmark script: prints its table, writes its JSON file, and prints the result on one
 * marker line for `bench/run.ts`. Exit code 0 even when a target is missed (the table says so).
 */
export function report(result: BenchResult, startedAt: Date): void {
  console.log(`\n${result.name}\n${markdownTable(result.rows)}`);
  for (const r of result.rows) if (r.note !== undefined) console.log(`  note (${r.metric}): ${r.note}`);
  const file = writeResult(result, startedAt);
  console.log(`  -> ${file}`);
  console.log(`${RESULT_MARKER}${JSON.stringify(result)}`);
}

/** Forces a full GC (needs `node --expose-gc`). */
export function gc(): void {
  const g = (globalThis as { gc?: () => void }).gc;
  if (g === undefined) throw new Error('run with node --expose-gc (bench/run.ts does)');
  g();
  g();
}

/** Resolves on the next macrotask (lets I/O callbacks and timers run). Not a timed sleep. */
export function tick(): Promise<void> {
  return new Promise((r) => setImmediate(r));
}
