/**
 * The benchmark harness's pure helpers (bench/lib.ts, bench/stability.ts): how a row's spread is
 * computed, the judge-by-median rule, and the aggregation of `npm run bench -- --repeat N`.
 */
import { describe, expect, it } from '@jest/globals';
import { absoluteRow, judge, markdownTable, pairedRatios, ratioRow, spreadOf, type BenchRow, type Rule } from '../bench/lib.js';
import { aggregate, stabilityTable } from '../bench/stability.js';

const median3: Rule = { on: 'ratio', op: '<=', limit: 1.1, everyRun: false };

describe('spreadOf', () => {
  it('gives min, median and max of the runs, whatever their order', () => {
    expect(spreadOf('value', [5, 1, 3, 9])).toEqual({ of: 'value', min: 1, median: 4, max: 9, runs: 4 });
  });

  it('leaves out runs that measured nothing, and is absent when none did', () => {
    expect(spreadOf('ratio', [NaN, 2, 4])).toEqual({ of: 'ratio', min: 2, median: 3, max: 4, runs: 2 });
    expect(spreadOf('value', [NaN])).toBeUndefined();
  });
});

describe('pairedRatios', () => {
  it('divides each run by its own baseline run', () => {
    expect(pairedRatios([2, 6, 3], [1, 3, 3])).toEqual([2, 2, 1]);
  });

  it('divides a constant baseline into every run', () => {
    expect(pairedRatios([10, 20], 10)).toEqual([1, 2]);
  });

  it('refuses runs that cannot be paired', () => {
    expect(() => pairedRatios([1, 2, 3], [1, 2])).toThrow(/unpaired/);
  });
});

describe('judge', () => {
  it('judges a measurement on the median of its runs: one bad run does not flip it', () => {
    expect(judge(median3, [1.0, 1.05, 1.9])).toEqual({ figure: 1.05, pass: true });
    expect(judge(median3, [1.0, 1.2, 1.9])).toEqual({ figure: 1.2, pass: false });
  });

  it('judges a count on every run and shows the worst', () => {
    const once: Rule = { on: 'value', op: '==', limit: 1, everyRun: true };
    expect(judge(once, [1, 1, 1])).toEqual({ figure: 1, pass: true });
    expect(judge(once, [1, 3, 1, 0])).toEqual({ figure: 3, pass: false });
    const none: Rule = { on: 'value', op: '<=', limit: 2, everyRun: true };
    expect(judge(none, [0, 2, 1])).toEqual({ figure: 2, pass: true });
  });

  it('has no verdict for an informative row', () => {
    expect(judge(null, [3, 1, 2])).toEqual({ figure: 2, pass: null });
  });
});

describe('ratioRow', () => {
  it('is judged on the median of per-run ratios, not on the ratio of the medians', () => {
    // Medians 12 / 10 = 1.2 would fail; the runs, paired, are 1.0, 1.0 and 2.0.
    const row = ratioRow('b', 'm', [10, 12, 40], 'ns', { name: 'base', value: [10, 12, 20] }, 1.1);
    expect(row.value).toBe(12);
    expect(row.baseline).toEqual({ name: 'base', value: 12 });
    expect(row.ratio).toBe(1);
    expect(row.pass).toBe(true);
    expect(row.spread).toEqual({ of: 'ratio', min: 1, median: 1, max: 2, runs: 3 });
    expect(row.rule).toEqual(median3);
  });

  it('still takes single figures (one run)', () => {
    const row = ratioRow('b', 'm', 30, 'ms', { name: 'bound', value: 20 }, 1.25);
    expect(row.ratio).toBe(1.5);
    expect(row.pass).toBe(false);
    expect(row.spread?.runs).toBe(1);
  });
});

describe('absoluteRow', () => {
  it('takes the median of measured runs and shows their spread', () => {
    const row = absoluteRow('b', 'lateness', [4, 12, 5], 'ms', { op: '<=', limit: 10 });
    expect(row.value).toBe(5);
    expect(row.pass).toBe(true);
    expect(row.spread).toEqual({ of: 'value', min: 4, median: 5, max: 12, runs: 3 });
  });

  it('fails a count that one run missed', () => {
    const row = absoluteRow('b', 'requests', [1, 2, 1], '', { op: '==', limit: 1, everyRun: true });
    expect(row.value).toBe(2);
    expect(row.pass).toBe(false);
  });

  it('has no spread when skipped', () => {
    expect(absoluteRow('b', 'redis', NaN, '', null).spread).toBeUndefined();
  });
});

describe('markdownTable', () => {
  it('prints the spread column', () => {
    const table = markdownTable([ratioRow('b', 'm', [1, 2], 'ns', { name: 'base', value: [1, 1] }, 2)]);
    expect(table.split('\n')[0]).toContain('spread (min / median / max)');
    expect(table).toContain('1 / 1.5 / 2 x (2 runs)');
  });
});

describe('aggregate (npm run bench -- --repeat N)', () => {
  const run = (p99Ratio: number[], requests: number): BenchRow[] => [
    ratioRow('stampede', 'p99', p99Ratio.map((r) => r * 20), 'ms', { name: 'ideal', value: p99Ratio.map(() => 20) }, 1.05),
    absoluteRow('stampede', 'requests', requests, '', { op: '==', limit: 1, everyRun: true }),
    absoluteRow('shutdown', 'drain, sqlite', 100 * requests, 'ms', null),
  ];

  it('matches rows by bench + metric and gives value and ratio over the runs', () => {
    const rows = aggregate([run([1.0, 1.02], 1), run([1.1, 1.2], 1), run([1.03], 1)]);
    expect(rows.map((r) => `${r.bench}/${r.metric}`)).toEqual(['stampede/p99', 'stampede/requests', 'shutdown/drain, sqlite']);
    const p99 = rows[0]!;
    expect(p99.runs).toBe(3);
    expect(p99.ratio).toEqual({ of: 'ratio', min: 1.01, median: 1.03, max: 1.15, runs: 3 });
    expect(p99.value).toEqual({ of: 'value', min: 20.2, median: 20.6, max: 23, runs: 3 });
    expect(p99.met).toBe(2);
    // Judged on the median over the runs: the one run that missed does not fail it.
    expect(p99.figure).toBeCloseTo(1.03, 6);
    expect(p99.pass).toBe(true);
    expect(p99.perRun.map((r) => r.spread?.runs)).toEqual([2, 2, 1]);
  });

  it('fails a ratio row whose median over the runs misses', () => {
    const rows = aggregate([run([1.1], 1), run([1.2], 1), run([1.0], 1)]);
    expect(rows[0]!.met).toBe(1);
    expect(rows[0]!.pass).toBe(false);
  });

  it('fails a count row that any run missed, and leaves informative rows without a verdict', () => {
    const rows = aggregate([run([1], 1), run([1], 2), run([1], 1)]);
    expect(rows[1]!.met).toBe(2);
    expect(rows[1]!.figure).toBe(2);
    expect(rows[1]!.pass).toBe(false);
    expect(rows[2]!.met).toBeNull();
    expect(rows[2]!.pass).toBeNull();
    expect(rows[2]!.value).toEqual({ of: 'value', min: 100, median: 100, max: 200, runs: 3 });
  });

  it('counts the runs a row is missing from (a benchmark broke)', () => {
    const rows = aggregate([run([1], 1), [], run([1], 1)]);
    expect(rows[0]!.runs).toBe(2);
    expect(stabilityTable(rows, 3)).toContain('2/2 (1 missing)');
  });
});
