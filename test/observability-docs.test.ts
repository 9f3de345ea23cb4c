/**
 * docs/observability.md and what it ships: the alert rules and the Grafana dashboard name only
 * metrics the library emits (read off the instruments the code creates, not a list kept by hand),
 * the rules pass `promtool check rules` where promtool is installed, and the docs' instrument
 * table is the code's.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { parse } from 'yaml';
import { storePrometheusText } from '../src/cli/prometheus-text.js';
import { LifecycleMetrics, type MetricsMeter } from '../src/lifecycle/lifecycle-metrics.js';
import { TOKEN_STATES, type TokenState } from '../src/store/token-record.js';
import { ROOT } from './cli/harness.js';

const DOCS = join(ROOT, 'docs');

/** The instruments the code creates, by OpenTelemetry name, with their kind and unit. */
function instruments(): Map<string, { kind: 'counter' | 'histogram' | 'gauge'; unit: string | undefined }> {
  const out = new Map<string, { kind: 'counter' | 'histogram' | 'gauge'; unit: string | undefined }>();
  const meter: MetricsMeter = {
    createCounter: (name, o) => (out.set(name, { kind: 'counter', unit: o?.unit }), { add() {} }),
    createHistogram: (name, o) => (out.set(name, { kind: 'histogram', unit: o?.unit }), { record() {} }),
    createObservableGauge: (name, o) => (out.set(name, { kind: 'gauge', unit: o?.unit }), {}),
    addBatchObservableCallback() {},
    removeBatchObservableCallback() {},
  };
  const source = { status: () => ({ clockSkew: null, scheduled: 0 }), holders: async () => 0, healthy: async () => true, now: () => 0 };
  new LifecycleMetrics(meter, { provider: 'ls', appKeyId: 'x' }, source);
  return out;
}

/** Every series name Prometheus sees: the exporter's names for the instruments, and the CLI's store gauges. */
function emittedSeries(): Set<string> {
  const names = new Set<string>();
  for (const [name, { kind }] of instruments()) {
    const base = name.replace(/\./g, '_');
    if (kind === 'counter') names.add(`${base}_total`);
    else if (kind === 'histogram') for (const s of ['_bucket', '_sum', '_count']) names.add(base + s);
    else names.add(base);
  }
  const text = storePrometheusText({ provider: 'ls', appKeyId: 'x', counts: Object.fromEntries(TOKEN_STATES.map((st) => [st, 0])) as Record<TokenState, number>, holders: new Map(), alive: new Set(), trouble: { failed: [], owed: [], overdue: [], live: [] }, healthy: true });
  for (const m of text.matchAll(/^# TYPE (\w+) /gm)) names.add(m[1]!);
  return names;
}

/** The `ls_token_*` series an expression names. */
function seriesIn(expr: string): string[] {
  return [...expr.matchAll(/\bls_token_\w+/g)].map((m) => m[0]);
}

interface Rule {
  alert: string;
  expr: string;
  for?: string;
  labels: { severity: string };
  annotations: { summary: string };
}

describe('docs/observability', () => {
  const emitted = emittedSeries();
  const rules = (parse(readFileSync(join(DOCS, 'observability', 'alerts.yml'), 'utf8')) as { groups: Array<{ rules: Rule[] }> }).groups.flatMap((g) => g.rules);

  it('the alert rules cover what an operator must be paged for, and name only emitted metrics', () => {
    const exprs = rules.map((r) => r.expr).join('\n');
    for (const needed of ['ls_token_revocations_given_up_total', 'ls_token_current_expires_in', 'ls_token_clock_skew', 'ls_token_store_errors_total', 'ls_token_lock_errors_total', 'ls_token_calls_failed_total', 'ls_token_calls_throttled_total']) {
      expect(exprs).toContain(needed);
    }
    for (const r of rules) {
      expect(r).toEqual(expect.objectContaining({ alert: expect.stringMatching(/^LsToken\w+$/), labels: expect.objectContaining({ severity: expect.stringMatching(/^(page|warning)$/) }) }));
      expect(r.annotations.summary.length).toBeGreaterThan(10);
      for (const s of seriesIn(r.expr)) expect({ alert: r.alert, series: s, emitted: emitted.has(s) }).toEqual({ alert: r.alert, series: s, emitted: true });
    }
  });

  const promtool = spawnSync('promtool', ['--version'], { encoding: 'utf8' });
  (promtool.status === 0 ? it : it.skip)('promtool check rules accepts the rule file (skipped where promtool is not installed)', () => {
    const out = execFileSync('promtool', ['check', 'rules', join(DOCS, 'observability', 'alerts.yml')], { encoding: 'utf8' });
    expect(out).toContain(`SUCCESS: ${rules.length} rules found`);
  });

  it('the Grafana dashboard is valid JSON with the promised panels, and names only emitted metrics', () => {
    const dash = JSON.parse(readFileSync(join(DOCS, 'observability', 'grafana-dashboard.json'), 'utf8')) as { title: string; panels: Array<{ title: string; targets: Array<{ expr: string }> }> };
    expect(dash.title).toBe('ls-token-lifecycle');
    const titles = dash.panels.map((p) => p.title).join('\n');
    for (const t of [/token timeline/i, /revocations by outcome/i, /wait/i, /clock skew/i]) expect(titles).toMatch(t);
    const used = new Set(dash.panels.flatMap((p) => p.targets.flatMap((t) => seriesIn(t.expr))));
    expect(used.size).toBeGreaterThan(10);
    for (const s of used) expect({ series: s, emitted: emitted.has(s) }).toEqual({ series: s, emitted: true });
  });

  it("docs/observability.md's instrument table is the code's: every instrument with its kind and unit, nothing else", () => {
    const md = readFileSync(join(DOCS, 'observability.md'), 'utf8');
    const rows = [...md.matchAll(/^\| `(ls_token\.[\w.]+)` \| `(\w+)` \| (\w+) \| `([^`]+)` \|/gm)].map((m) => ({ name: m[1]!, prom: m[2]!, kind: m[3]!, unit: m[4]! }));
    const code = instruments();
    expect(rows.map((r) => r.name).sort()).toEqual([...code.keys()].sort());
    for (const r of rows) {
      expect({ name: r.name, kind: r.kind, unit: r.unit }).toEqual({ name: r.name, kind: code.get(r.name)!.kind, unit: code.get(r.name)!.unit });
      expect(emitted.has(r.prom) || emitted.has(`${r.prom}_count`)).toBe(true);
    }
    for (const r of rules) expect(md).toContain(`\`${r.alert}\``);
  });
});
