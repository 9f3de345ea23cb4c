/**
 * `npm run bench -- --repeat N`: the rows of N full runs of the runner, matched by bench + metric,
 * reduced to how much each row moves between runs and how often it meets its target. A row is
 * judged over the N runs by the rule it is judged by within one run ({@link judge} in lib.ts): a
 * ratio or a measurement on the median of the N runs, a count or invariant on every run.
 */
import { fmt, fmtSpread, judge, meets, round, spreadOf, table, verdict, type BenchRow, type Rule, type Spread } from './lib.js';

/** One row over the N runs of `--repeat`. */
export interface StabilityRow {
  readonly bench: string;
  readonly metric: string;
  readonly unit: string;
  readonly target: string | null;
  readonly rule: Rule | null;
  /** How many of the runs produced this row (fewer than N when a benchmark broke in a run). */
  readonly runs: number;
  /** The row's value over the runs. */
  readonly value: Spread | undefined;
  /** The row's ratio over the runs (`undefined` without a baseline). */
  readonly ratio: Spread | undefined;
  /** How many runs met the target (`null` when informative). */
  readonly met: number | null;
  /** The figure judged over the runs (median, or the worst run for an every-run rule). */
  readonly figure: number;
  readonly pass: boolean | null;
  /** Each run's row as reported: its value, ratio, verdict and its own per-run spread. */
  readonly perRun: ReadonlyArray<Pick<BenchRow, 'value' | 'ratio' | 'pass' | 'spread'>>;
}

/** Aggregates the rows of N runs (`repeats[i]` = every row of run i), in the order rows first appear. */
export function aggregate(repeats: ReadonlyArray<readonly BenchRow[]>): StabilityRow[] {
  const groups = new Map<string, BenchRow[]>();
  for (const rows of repeats) {
    // The k-th row with the same bench + metric in a run matches the k-th of the other runs.
    const seen = new Map<string, number>();
    for (const r of rows) {
      const base = `${r.bench}\u0000${r.metric}`;
      const k = seen.get(base) ?? 0;
      seen.set(base, k + 1);
      const key = `${base}\u0000${k}`;
      const g = groups.get(key);
      if (g === undefined) groups.set(key, [r]);
      else g.push(r);
    }
  }
  return [...groups.values()].map((rows) => {
    const first = rows[0]!;
    // Rows from before `rule` existed carry no rule: informative.
    const rule = first.rule ?? null;
    const values = rows.map((r) => r.value);
    const ratios = rows.flatMap((r) => (r.ratio === null ? [] : [r.ratio]));
    const judged = rule === null ? null : rule.on === 'ratio' ? rows.map((r) => r.ratio ?? NaN) : values;
    const { figure, pass } = judge(rule, judged ?? values);
    return {
      bench: first.bench,
      metric: first.metric,
      unit: first.unit,
      target: first.target,
      rule,
      runs: rows.length,
      value: spreadOf('value', values),
      ratio: spreadOf('ratio', ratios),
      met: rule === null || judged === null ? null : judged.filter((x) => meets(rule, x)).length,
      figure: round(figure, 3),
      pass,
      perRun: rows.map((r) => ({ value: r.value, ratio: r.ratio, pass: r.pass, ...(r.spread === undefined ? {} : { spread: r.spread }) })),
    };
  });
}

/** The stability table: per row, its value and ratio over the N runs, runs that met the target, verdict. */
export function stabilityTable(rows: readonly StabilityRow[], n: number): string {
  const head = ['bench', 'metric', 'value (min / median / max)', 'ratio (min / median / max)', 'target', `met (of ${n})`, 'judged', 'result'];
  const lines = rows.map((r) => [
    r.bench,
    r.metric,
    fmtSpread(r.value, r.unit),
    fmtSpread(r.ratio, r.unit),
    r.target ?? '-',
    r.met === null ? '-' : `${r.met}/${r.runs}${r.runs < n ? ` (${n - r.runs} missing)` : ''}`,
    r.rule === null ? '-' : `${r.rule.everyRun ? 'every run' : 'median'}: ${fmt(r.figure)}`,
    verdict(r.pass),
  ]);
  return table(head, lines);
}
