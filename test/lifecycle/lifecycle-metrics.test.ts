/**
 * The `meter` option: OpenTelemetry instruments recorded by a lifecycle against the mock LS server
 * over HTTP, read back through the OpenTelemetry SDK's own reader (what an exporter sees).
 */
import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { MeterProvider, MetricReader, type MetricData, type DataPoint, type Histogram } from '@opentelemetry/sdk-metrics';
import { ErrorCodes } from '../../src/core/errors.js';
import { TokenLifecycle, type TokenLifecycleOptions } from '../../src/lifecycle/token-lifecycle.js';
import { startMockLsServer, type MockLsServer } from '../../src/testing/index.js';

const APP_KEY = 'PSd7orrAJnAfr202g4MpbzVxwqPBjjkvjLf2';
const SECRET = 'SENTINEL-SECRET-fedcba9876543210xy';

/** A pull reader: `collect()` is what a Prometheus scrape triggers. */
class TestReader extends MetricReader {
  protected override async onForceFlush(): Promise<void> {}
  protected override async onShutdown(): Promise<void> {}
}

type Points = Map<string, { data: MetricData; points: DataPoint<unknown>[] }>;

async function collect(reader: TestReader): Promise<Points> {
  const { resourceMetrics, errors } = await reader.collect();
  expect(errors).toEqual([]);
  const out: Points = new Map();
  for (const scope of resourceMetrics.scopeMetrics) for (const m of scope.metrics) out.set(m.descriptor.name, { data: m, points: m.dataPoints as DataPoint<unknown>[] });
  return out;
}

/** The value of `name` at the point whose attributes include `attrs` (`undefined`: no such point). */
function valueOf(points: Points, name: string, attrs: Record<string, string> = {}): unknown {
  const p = points.get(name)?.points.find((d) => Object.entries(attrs).every(([k, v]) => d.attributes[k] === v));
  return p?.value;
}

describe('metrics (the meter option)', () => {
  let mock: MockLsServer;
  let now: number;
  const clock = (): number => now;
  let reader: TestReader;
  let provider: MeterProvider;
  const lifecycles: TokenLifecycle[] = [];

  function make(extra: Partial<TokenLifecycleOptions> = {}): TokenLifecycle {
    const lc = new TokenLifecycle({ appKey: APP_KEY, appSecretKey: SECRET, baseUrl: mock.url, now: clock, sweepIntervalMs: 0, supersededGraceMs: 0, meter: provider.getMeter('ls-token-lifecycle'), ...extra });
    lifecycles.push(lc);
    return lc;
  }

  beforeEach(async () => {
    now = Date.parse('2026-12-07T01:00:00Z'); // 10:00 KST, far from the 07:00 cut-off
    mock = await startMockLsServer({ credentials: [{ appKey: APP_KEY, appSecretKey: SECRET }], now: clock });
    reader = new TestReader();
    provider = new MeterProvider({ readers: [reader] });
  });
  afterEach(async () => {
    await Promise.all(lifecycles.splice(0).map((lc) => lc.shutdown({ deadlineMs: 2_000 })));
    await provider.shutdown();
    await mock.close();
  });

  it('counts an issuance, times the request and the waiting caller, and reads the token gauges at collection', async () => {
    const lc = make();
    await lc.getAccessToken();
    const m = await collect(reader);
    const base = { provider: 'ls', app_key_id: lc.appKeyId };
    expect(valueOf(m, 'ls_token.tokens.obtained', { ...base, source: 'issued' })).toBe(1);
    expect(valueOf(m, 'ls_token.token_requests', { ...base, outcome: 'ok' })).toBe(1);
    expect((valueOf(m, 'ls_token.issuance.duration', { outcome: 'ok' }) as Histogram).count).toBe(1);
    expect((valueOf(m, 'ls_token.caller.wait.duration', { outcome: 'ok' }) as Histogram).count).toBe(1);
    const st = lc.status().current!;
    expect(valueOf(m, 'ls_token.current.revoke_in', base)).toBeCloseTo((st.revokeAt - now) / 1000, 3);
    expect(valueOf(m, 'ls_token.current.expires_in', base)).toBeCloseTo((st.expiresAt - now) / 1000, 3);
    expect(valueOf(m, 'ls_token.revocations.scheduled', base)).toBe(1);
    expect(valueOf(m, 'ls_token.fleet.holders', base)).toBe(1);
    expect(valueOf(m, 'ls_token.health.ok', base)).toBe(1);
    expect(m.get('ls_token.issuance.duration')?.data.descriptor.unit).toBe('s');
    // The app key never appears, only its fingerprint.
    expect(JSON.stringify([...m.values()].map((x) => x.points))).not.toContain(APP_KEY);
  });

  it('records nothing on the hot path: a held token handed out 1,000 times adds no wait', async () => {
    const lc = make();
    await lc.getAccessToken();
    const before = (valueOf(await collect(reader), 'ls_token.caller.wait.duration', { outcome: 'ok' }) as Histogram).count;
    for (let i = 0; i < 1_000; i++) await lc.getAccessToken();
    const after = (valueOf(await collect(reader), 'ls_token.caller.wait.duration', { outcome: 'ok' }) as Histogram).count;
    expect(after).toBe(before);
  });

  it('counts revocations by reason and outcome, with their duration, and drops the token gauges', async () => {
    const lc = make();
    await lc.getAccessToken();
    await lc.logout();
    const m = await collect(reader);
    expect(valueOf(m, 'ls_token.revocations', { reason: 'logout', outcome: 'revoked' })).toBe(1);
    expect((valueOf(m, 'ls_token.revocation.duration', { reason: 'logout', outcome: 'revoked' }) as Histogram).count).toBe(1);
    expect(valueOf(m, 'ls_token.current.revoke_in')).toBeUndefined();
  });

  it('counts failed token requests and failed callers by code, and a forced re-issue', async () => {
    mock.inject({ endpoint: 'token', kind: 'http500', count: 10 });
    const lc = make({ retry: { retries: 0 }, issueThrottle: { cooldownMs: 0 }, issueLockWaitMs: 0 }); // no wait: the 500 reaches the caller
    const err = await lc.getAccessToken().catch((e: unknown) => e);
    const code = (err as { code: string }).code;
    let m = await collect(reader);
    expect(Number(valueOf(m, 'ls_token.token_requests', { outcome: 'error' }))).toBeGreaterThanOrEqual(1);
    const failed = code === ErrorCodes.ISSUE_THROTTLED ? valueOf(m, 'ls_token.calls.throttled') : valueOf(m, 'ls_token.calls.failed', { code });
    expect(failed).toBe(1);
    mock.clearFaults();

    const token = await lc.getAccessToken();
    mock.model.killTokens(APP_KEY);
    await lc.invalidate(token);
    m = await collect(reader);
    expect(valueOf(m, 'ls_token.forced_reissues')).toBe(1);
  });

  it('counts sweeps and what they found, and store errors', async () => {
    const lc = make();
    await lc.getAccessToken();
    await lc.sweep();
    let m = await collect(reader);
    expect(Number(valueOf(m, 'ls_token.sweeps'))).toBeGreaterThanOrEqual(2); // start() sweeps once too
    expect(Number(valueOf(m, 'ls_token.sweep.findings', { action: 'leave' }))).toBeGreaterThanOrEqual(1);

    jest.spyOn(lc.store, 'list').mockRejectedValueOnce(Object.assign(new Error('connection lost'), { code: 'ECONNRESET' }));
    await lc.sweep();
    m = await collect(reader);
    expect(valueOf(m, 'ls_token.store.errors', { op: 'sweep', code: ErrorCodes.STORE })).toBe(1);
  });

  it('stops reading the lifecycle at shutdown, and refuses a meter that is not one', async () => {
    const lc = make();
    await lc.getAccessToken();
    await lc.shutdown({ deadlineMs: 2_000 });
    const m = await collect(reader);
    expect(valueOf(m, 'ls_token.health.ok')).toBeUndefined();
    expect(valueOf(m, 'ls_token.revocations', { reason: 'shutdown' })).toBe(1);
    expect(() => make({ meter: { createCounter() {} } as never })).toThrow(expect.objectContaining({ code: ErrorCodes.INVALID_OPTION, field: 'meter' }));
  });
});
