/**
 * examples/prometheus.ts: the OpenTelemetry SDK with the Prometheus exporter serving the
 * lifecycle's metrics. The example runs as a process against its own mock LS (8-second tokens);
 * /metrics is scraped once a refresh has installed a second token and once the first one is
 * revoked, and the names, types and values are checked as Prometheus reads them.
 */
import { afterAll, describe, expect, it } from '@jest/globals';
import { killAllChildren, spawnFixture } from './fixtures/harness.js';

/** Every sample line of `name` (labels and value), from Prometheus' text format. */
function samples(text: string, name: string): Array<{ labels: string; value: number }> {
  const out: Array<{ labels: string; value: number }> = [];
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)/.exec(line);
    if (m !== null && m[1] === name) out.push({ labels: m[2] ?? '', value: Number(m[3]) });
  }
  return out;
}

function typeOf(text: string, name: string): string | undefined {
  return new RegExp(`^# TYPE ${name} (\\w+)$`, 'm').exec(text)?.[1];
}

async function scrape(url: string): Promise<string> {
  const res = await fetch(url);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
  return res.text();
}

describe('examples/prometheus.ts', () => {
  afterAll(async () => killAllChildren());

  it('serves the lifecycle metrics to Prometheus during a refresh and a revocation', async () => {
    const ex = spawnFixture('../../examples/prometheus.ts', { LS_BASE_URL: undefined }, ['--duration', '9', '--metrics-port', '0']);
    const url = /metrics at (\S+)/.exec(await ex.waitForLine((l) => l.startsWith('metrics at '), 30_000))![1]!;

    // The refresh: a second token issued while the first is still handed out.
    await ex.waitForLine((l) => ex.lines.filter((x) => x.startsWith('issued ')).length >= 2 && l.startsWith('issued '), 20_000);
    const during = await scrape(url);
    expect(typeOf(during, 'ls_token_tokens_obtained_total')).toBe('counter');
    expect(samples(during, 'ls_token_tokens_obtained_total').find((s) => s.labels.includes('source="issued"'))?.value).toBeGreaterThanOrEqual(2);
    expect(samples(during, 'ls_token_token_requests_total').find((s) => s.labels.includes('outcome="ok"'))?.value).toBeGreaterThanOrEqual(2);
    expect(typeOf(during, 'ls_token_current_revoke_in')).toBe('gauge');
    const revokeIn = samples(during, 'ls_token_current_revoke_in')[0]!.value;
    expect(revokeIn).toBeGreaterThan(0);
    expect(revokeIn).toBeLessThanOrEqual(8);
    expect(samples(during, 'ls_token_health_ok')[0]?.value).toBe(1);
    expect(samples(during, 'ls_token_revocations_scheduled')[0]?.value).toBeGreaterThanOrEqual(1);
    expect(typeOf(during, 'ls_token_issuance_duration')).toBe('histogram');
    // Every series names the provider and the app key's fingerprint, never the key.
    for (const s of samples(during, 'ls_token_tokens_obtained_total')) expect(s.labels).toMatch(/provider="ls".*app_key_id="[0-9a-f]{16,}"/);
    expect(during).not.toContain('demo-app-key');

    // The revocation of the replaced token.
    await ex.waitForLine((l) => /^revoked \S+ \(superseded/.test(l), 20_000);
    const after = await scrape(url);
    expect(typeOf(after, 'ls_token_revocations_total')).toBe('counter');
    expect(samples(after, 'ls_token_revocations_total').filter((s) => s.labels.includes('reason="superseded"')).reduce((n, s) => n + s.value, 0)).toBeGreaterThanOrEqual(1);
    expect(typeOf(after, 'ls_token_revocation_duration')).toBe('histogram');
    expect(samples(after, 'ls_token_revocation_duration_count').filter((s) => s.labels.includes('reason="superseded"')).length).toBeGreaterThanOrEqual(1);

    const exit = await ex.exited;
    expect(exit.code).toBe(0);
    expect(ex.lines.join('\n')).toMatch(/shutdown: 1 revoked, 0 not revoked/);
  }, 60_000);
});
