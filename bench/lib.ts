/**
 * Shared helpers of the benchmark scripts: statistics, the result row format, the table printer
 * and the JSON writer. Every benchmark measures its figure and its baseline in the same process
 * and the same run, so the ratio does not depend on the machine.
 *
 * How a row is judged (so that noise cannot flip it):
 * - A ratio row is judged on the **median of its per-run ratios**: each run measures the figure
 *   and its baseline back to back, so drift between runs (thermal, other load) cancels within a
 *   pair. The value and baseline columns show the median of each side; the spread is that of the
 *   per-run ratios. A constant baseline (a computed bound) is divided into every run.
 * - A measured absolute row (a latency, a size) is judged on the median of its runs.
 * - A count or invariant row (requests sent, tokens handed out, failed calls) must hold in every
 *   run: a count is not noise. Its value is the worst run.
 * The same rule judges the median over `npm run bench -- --repeat N` (bench/stability.ts).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** A figure per run, or one figure when the bench measures it once. */
export type Runs = number | readonly number[];

/** Min / median / max of a row's per-run figures: its ratios for a ratio row, its values otherwise. */
export interface Spread {
  readonly of: 'ratio' | 'value';
  readonly min: number;
  readonly median: number;
  readonly max: number;
  readonly runs: number;
}

/** A row's target in a form a program can apply again (to the runs of `--repeat`). */
export interface Rule {
  readonly on: 'ratio' | 'value';
  readonly op: '<=' | '==';
  readonly limit: number;
  /** Counts and invariants: every run must meet it. Otherwise the median of the runs is judged. */
  readonly everyRun: boolean;
}

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
  /** The target as data (`null` when informative). */
  readonly rule?: Rule | null;
  /** The per-run figures the row was judged on (absent when the row was skipped). */
  readonly spread?: Spread;
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

function asRuns(x: Runs): readonly number[] {
  return typeof x === 'number' ? [x] : x;
}

/** Min / median / max of per-run figures (`undefined` when there is no finite one: a skipped row). */
export function spreadOf(of: Spread['of'], xs: readonly number[]): Spread | undefined {
  const f = xs.filter(Number.isFinite);
  if (f.length === 0) return undefined;
  return { of, min: round(Math.min(...f), 3), median: round(median(f), 3), max: round(Math.max(...f), 3), runs: f.length };
}

/**
 * Per-run ratios `value[i] / baseline[i]` of paired runs; a single figure on either side (a
 * computed bound, a one-off measurement) is divided into / by every run of the other.
 */
export function pairedRatios(value: Runs, baseline: Runs): number[] {
  const v = asRuns(value);
  const b = asRuns(baseline);
  if (v.length !== b.length && v.length !== 1 && b.length !== 1) throw new Error(`unpaired runs: ${v.length} values, ${b.length} baselines`);
  const n = Math.max(v.length, b.length);
  return Array.from({ length: n }, (_, i) => v[v.length === 1 ? 0 : i]! / b[b.length === 1 ? 0 : i]!);
}

export function meets(rule: Rule, x: number): boolean {
  return rule.op === '<=' ? x <= rule.limit : x === rule.limit;
}

/**
 * The figure a row is judged on, from its runs, and whether it meets the rule: the median of the
 * runs, or for an every-run rule the worst run (all must meet it).
 */
export function judge(rule: Rule | null, runs: readonly number[]): { figure: number; pass: boolean | null } {
  if (rule === null || !rule.everyRun) {
    const figure = median(runs);
    return { figure, pass: rule === null ? null : meets(rule, figure) };
  }
  // Worst: the largest for `<=`, the farthest from the limit for `==`; a NaN run (broken) wins.
  const badness = (x: number): number => (Number.isNaN(x) ? Infinity : rule.op === '<=' ? x : Math.abs(x - rule.limit));
  const worst = runs.reduce((w, x) => (badness(x) > badness(w) ? x : w), runs[0] ?? NaN);
  return { figure: worst, pass: runs.length > 0 && runs.every((x) => meets(rule, x)) };
}

/**
 * A row comparing `value` with a baseline (ratio = value / baseline, lower is better), judged on
 * the median of the per-run ratios. Pass per-run arrays of equal length when the bench pairs its
 * runs; a single number for a side measured or computed once.
 */
export function ratioRow(
  bench: string,
  metric: string,
  value: Runs,
  unit: string,
  baseline: { name: string; value: Runs },
  maxRatio: number | null,
  note?: string,
): BenchRow {
  const ratios = pairedRatios(value, baseline.value);
  const rule: Rule | null = maxRatio === null ? null : { on: 'ratio', op: '<=', limit: maxRatio, everyRun: false };
  const { figure, pass } = judge(rule, ratios);
  const spread = spreadOf('ratio', ratios);
  return {
    bench,
    metric,
    value: round(median(asRuns(value)), 3),
    unit,
    baseline: { name: baseline.name, value: round(median(asRuns(baseline.value)), 3) },
    ratio: round(figure, 3),
    target: maxRatio === null ? null : `ratio <= ${maxRatio}`,
    pass,
    rule,
    ...(spread === undefined ? {} : { spread }),
    ...(note === undefined ? {} : { note }),
  };
}

/**
 * A row with an absolute target (`value <op> limit`), optionally with an informative baseline.
 * With per-run values it is judged on their median, or with `everyRun` (counts, invariants) on
 * every run, showing the worst.
 */
export function absoluteRow(
  bench: string,
  metric: string,
  value: Runs,
  unit: string,
  target: { op: '<=' | '=='; limit: number; everyRun?: boolean } | null,
  baseline: { name: string; value: Runs } | null = null,
  note?: string,
): BenchRow {
  const runs = asRuns(value);
  const rule: Rule | null = target === null ? null : { on: 'value', op: target.op, limit: target.limit, everyRun: target.everyRun ?? false };
  const { figure, pass } = judge(rule, runs);
  const baseRuns = baseline === null ? null : asRuns(baseline.value);
  // The ratio is informative here; it follows the ratio rows' rule (median of per-run ratios).
  const ratio = baseRuns === null || baseRuns.some((b) => b === 0) ? null : median(pairedRatios(runs, baseRuns));
  const spread = spreadOf('value', runs);
  return {
    bench,
    metric,
    value: round(figure, 3),
    unit,
    baseline: baseline === null || baseRuns === null ? null : { name: baseline.name, value: round(median(baseRuns), 3) },
    ratio: ratio === null ? null : round(ratio, 3),
    target: target === null ? null : `${target.op === '==' ? '=' : '<='} ${target.limit}${unit === '' ? '' : ` ${unit}`}`,
    pass,
    rule,
    ...(spread === undefined ? {} : { spread }),
    ...(note === undefined ? {} : { note }),
  };
}

export function fmt(x: number | null | undefined): string {
  if (x === null || x === undefined) return '-';
  if (!Number.isFinite(x)) return String(x);
  const a = Math.abs(x);
  if (a >= 100_000) return Math.round(x).toLocaleString('en-US');
  if (a >= 100) return (Math.round(x * 10) / 10).toString();
  return (Math.round(x * 1000) / 1000).toString();
}

/** `min / median / max` of a spread, with the unit (`x` for ratios) and the number of runs. */
export function fmtSpread(s: Spread | null | undefined, unit: string): string {
  if (s === null || s === undefined) return '-';
  const u = s.of === 'ratio' ? 'x' : unit;
  return `${fmt(s.min)} / ${fmt(s.median)} / ${fmt(s.max)}${u === '' ? '' : ` ${u}`} (${s.runs} run${s.runs === 1 ? '' : 's'})`;
}

/** Cells as a Markdown table (also readable in a terminal). */
export function table(head: readonly string[], lines: ReadonlyArray<readonly string[]>): string {
  const widths = head.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  const row = (cells: readonly string[]): string => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  return [row(head), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...lines.map(row)].join('\n');
}

export function verdict(pass: boolean | null): string {
  return pass === null ? 'info' : pass ? 'PASS' : 'FAIL';
}

/** The rows as a Markdown table. */
export function markdownTable(rows: readonly BenchRow[]): string {
  const head = ['bench', 'metric', 'value', 'baseline (same run)', 'ratio', 'spread (min / median / max)', 'target', 'result'];
  const lines = rows.map((r) => [
    r.bench,
    r.metric,
    `${fmt(r.value)} ${r.unit}`.trim(),
    r.baseline === null ? '-' : `${fmt(r.baseline.value)} ${r.unit} (${r.baseline.name})`,
    fmt(r.ratio),
    fmtSpread(r.spread, r.unit),
    r.target ?? '-',
    verdict(r.pass),
  ]);
  return table(head, lines);
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

/** Writes `bench/results/<name>-<timestamp>.json` (with the start time and the machine) and returns its path. */
export function writeJson(name: string, payload: object, startedAt: Date): string {
  mkdirSync(RESULTS_DIR, { recursive: true });
  const stamp = startedAt.toISOString().replace(/[:.]/g, '-');
  const file = join(RESULTS_DIR, `${name}-${stamp}.json`);
  writeFileSync(file, `${JSON.stringify({ name, ...payload, startedAt: startedAt.toISOString(), environment: environment() }, null, 2)}\n`);
  return file;
}

/** Writes `bench/results/<name>-<timestamp>.json` and returns its path. */
export function writeResult(result: BenchResult, startedAt: Date): string {
  return writeJson(result.name, result, startedAt);
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
