/**
 * OpenTelemetry metrics of a lifecycle (the `meter` option). Nothing here imports
 * `@opentelemetry/api`: the option is typed structurally ({@link MetricsMeter}), so the package's
 * runtime dependencies stay four and a daemon without OpenTelemetry pays nothing; without a meter
 * no {@link LifecycleMetrics} exists and no call site does any work. The hot path (a held token
 * handed out from memory) records nothing: only flights, store trouble, revocations and sweeps do.
 *
 * Names, units and attributes follow OpenTelemetry's conventions (dotted names under `ls_token.`,
 * UCUM units: `s` for durations, `{token}`-style annotations for counts); the Prometheus exporter
 * turns `ls_token.tokens.obtained` into `ls_token_tokens_obtained_total`. Every instrument carries
 * `provider` and `app_key_id` (the app key's fingerprint, never the key). docs/observability.md
 * lists them with the alert rules and the dashboard built on them.
 */
import type { LifecycleEvents } from '../core/events.js';

/** Attribute values as OpenTelemetry takes them. */
export type MetricAttributes = Record<string, string | number | boolean>;

/** A monotonic counter (OpenTelemetry `Counter`). */
export interface MetricsCounter {
  /** Adds `value` (>= 0). */
  add(value: number, attributes?: MetricAttributes): void;
}

/** A histogram (OpenTelemetry `Histogram`). */
export interface MetricsHistogram {
  /** Records one measurement. */
  record(value: number, attributes?: MetricAttributes): void;
}

/** What a batch observable callback reports into (OpenTelemetry `BatchObservableResult`). */
export interface MetricsBatchResult {
  /** Reports `value` for `observable`. */
  observe(observable: object, value: number, attributes?: MetricAttributes): void;
}

/** A batch observable callback; may be async (the SDK awaits it at collection). */
export type MetricsBatchCallback = (result: MetricsBatchResult) => void | Promise<void>;

/** Options of an instrument, as OpenTelemetry takes them. */
export interface MetricsInstrumentOptions {
  /** What it measures. */
  description?: string;
  /** Its UCUM unit (`s`, `{token}`). */
  unit?: string;
}

/**
 * The part of an OpenTelemetry `Meter` (`@opentelemetry/api` 1.x) the lifecycle uses; pass
 * `metrics.getMeter('ls-token-lifecycle')` or a `MeterProvider`'s meter as it is.
 */
export interface MetricsMeter {
  /** Creates a counter. */
  createCounter(name: string, options?: MetricsInstrumentOptions): MetricsCounter;
  /** Creates a histogram. */
  createHistogram(name: string, options?: MetricsInstrumentOptions): MetricsHistogram;
  /** Creates an observable gauge, reported through {@link MetricsMeter.addBatchObservableCallback}. */
  createObservableGauge(name: string, options?: MetricsInstrumentOptions): object;
  /** Registers one callback for several observables. */
  addBatchObservableCallback(callback: MetricsBatchCallback, observables: object[]): void;
  /** Removes it (at shutdown: the lifecycle can then be collected). */
  removeBatchObservableCallback(callback: MetricsBatchCallback, observables: object[]): void;
}

/** True for a value that has every method of {@link MetricsMeter} (how the `meter` option is checked). */
export function isMetricsMeter(value: unknown): value is MetricsMeter {
  if (typeof value !== 'object' || value === null) return false;
  const m = value as Record<string, unknown>;
  return ['createCounter', 'createHistogram', 'createObservableGauge', 'addBatchObservableCallback', 'removeBatchObservableCallback'].every((k) => typeof m[k] === 'function');
}

/** What the gauges read at collection time. */
export interface MetricsGaugeSource {
  /** The lifecycle's `status()` (the parts the gauges read). */
  status(): {
    readonly current?: { readonly id: string; readonly expiresAt: number; readonly revokeAt: number } | undefined;
    readonly clockSkew: { readonly offsetMs: number } | null;
    readonly scheduled: number;
  };
  /** Processes holding token `id` (this one included), read from the store (bounded); `undefined` when unknown. */
  holders(id: string): Promise<number | undefined>;
  /** Whether the lifecycle is healthy (its `health().ok`). */
  healthy(): Promise<boolean>;
  /** Epoch ms now, by the lifecycle's clock. */
  now(): number;
}

const S = 1_000;

/** The instruments of one lifecycle; see the module notes. */
export class LifecycleMetrics {
  readonly #base: MetricAttributes;
  readonly #c: Record<'obtained' | 'requests' | 'revocations' | 'givenUp' | 'expired' | 'forced' | 'throttled' | 'failed' | 'storeErrors' | 'lockErrors' | 'sweeps' | 'findings', MetricsCounter>;
  readonly #h: Record<'issuance' | 'revocation' | 'wait', MetricsHistogram>;
  readonly #meter: MetricsMeter;
  readonly #gauges: object[];
  readonly #callback: MetricsBatchCallback;

  constructor(meter: MetricsMeter, base: { readonly provider: string; readonly appKeyId: string }, source: MetricsGaugeSource) {
    this.#meter = meter;
    this.#base = { provider: base.provider, app_key_id: base.appKeyId };
    const counter = (name: string, unit: string, description: string): MetricsCounter => meter.createCounter(`ls_token.${name}`, { unit, description });
    const histogram = (name: string, description: string): MetricsHistogram => meter.createHistogram(`ls_token.${name}`, { unit: 's', description });
    this.#c = {
      obtained: counter('tokens.obtained', '{token}', 'Tokens that became current: issued by the broker to this process (source=issued) or taken over from the store (source=adopted)'),
      requests: counter('token_requests', '{request}', 'Token requests sent to the broker, by outcome (ok, error) and error code'),
      revocations: counter('revocations', '{revocation}', 'Revocations that ended, by reason and outcome (revoked, already-invalid)'),
      givenUp: counter('revocations.given_up', '{revocation}', 'Revocations that gave up: the token may be alive until it expires'),
      expired: counter('tokens.expired_unrevoked', '{token}', 'Tokens that passed their expiry before anyone revoked them (no request sent)'),
      forced: counter('forced_reissues', '{token}', 'Tokens issued past the budget because the broker reported the current one dead'),
      throttled: counter('calls.throttled', '{call}', 'getAccessToken() calls refused with ERR_ISSUE_THROTTLED'),
      failed: counter('calls.failed', '{call}', 'getAccessToken() calls that failed with any other error, by code'),
      storeErrors: counter('store.errors', '{error}', 'Store trouble the lifecycle survived, by operation and code'),
      lockErrors: counter('lock.errors', '{error}', 'Issuance-lock calls that failed, by operation and code'),
      sweeps: counter('sweeps', '{sweep}', 'Sweeps of the store that ran to a plan'),
      findings: counter('sweep.findings', '{record}', 'What sweeps found, by the action taken (revoke, claim, schedule, leave)'),
    };
    this.#h = {
      issuance: histogram('issuance.duration', 'Time from sending a token request to its answer, by outcome'),
      revocation: histogram('revocation.duration', 'Time from the start of a revocation to its end, retries included, by reason and outcome'),
      wait: histogram('caller.wait.duration', 'How long a getAccessToken() caller with no usable token waited, by outcome (ok, throttled, failed)'),
    };
    const gauge = (name: string, unit: string, description: string): object => meter.createObservableGauge(`ls_token.${name}`, { unit, description });
    const g = {
      revokeIn: gauge('current.revoke_in', 's', 'Seconds until the current token is revoked (its revokeAt); absent with no token'),
      expiresIn: gauge('current.expires_in', 's', 'Seconds until the current token may be dead at the broker; absent with no token'),
      skew: gauge('clock.skew', 's', "The broker clock's estimated offset from this host's (positive: the broker is ahead)"),
      scheduled: gauge('revocations.scheduled', '{revocation}', 'Revocations scheduled in this process'),
      holders: gauge('fleet.holders', '{process}', 'Processes (this one included) holding the current token, by their leases'),
      healthy: gauge('health.ok', '1', '1 while health().ok, else 0'),
    };
    this.#gauges = Object.values(g);
    const attrs = this.#base;
    this.#callback = async (result) => {
      const st = source.status();
      const cur = st.current;
      const now = source.now();
      if (cur !== undefined) {
        result.observe(g.revokeIn, (cur.revokeAt - now) / S, attrs);
        result.observe(g.expiresIn, (cur.expiresAt - now) / S, attrs);
      }
      if (st.clockSkew !== null) result.observe(g.skew, st.clockSkew.offsetMs / S, attrs);
      result.observe(g.scheduled, st.scheduled, attrs);
      const [holders, healthy] = await Promise.all([cur === undefined ? Promise.resolve(0) : source.holders(cur.id), source.healthy()]);
      if (holders !== undefined) result.observe(g.holders, holders, attrs);
      result.observe(g.healthy, healthy ? 1 : 0, attrs);
    };
    meter.addBatchObservableCallback(this.#callback, this.#gauges);
  }

  /** Counts what a public event tells (issued, revoked, revokeFailed, expired, error). */
  note<K extends keyof LifecycleEvents>(name: K, event: Parameters<LifecycleEvents[K]>[0]): void {
    const e = event as unknown as Record<string, unknown>;
    switch (name) {
      case 'issued':
        this.#c.obtained.add(1, this.#with({ source: String(e['source']) }));
        break;
      case 'revoked': {
        const a = this.#with({ reason: String(e['reason']), outcome: String(e['outcome']) });
        this.#c.revocations.add(1, a);
        this.#h.revocation.record(Number(e['durationMs']) / S, a);
        break;
      }
      case 'revokeFailed':
        this.#c.givenUp.add(1, this.#with({ reason: String(e['reason']), code: (e['error'] as { code: string }).code }));
        break;
      case 'expired':
        this.#c.expired.add(1, this.#base);
        break;
      case 'error': {
        const { error, op } = event as Parameters<LifecycleEvents['error']>[0];
        // The lock's calls are reported as `issueLock.acquire` / `issueLock.release`.
        const counter = op.startsWith('issueLock') ? this.#c.lockErrors : error.code === 'ERR_STORE' || op.startsWith('store') ? this.#c.storeErrors : undefined;
        counter?.add(1, this.#with({ op, code: error.code }));
        break;
      }
      default:
        break;
    }
  }

  /** Times one token request. */
  async timeRequest<T>(request: () => Promise<T>): Promise<T> {
    const t0 = performance.now();
    try {
      const out = await request();
      this.#requestEnded(t0, 'ok');
      return out;
    } catch (err) {
      this.#requestEnded(t0, 'error', codeOf(err));
      throw err;
    }
  }

  /** Times the wait of a caller with no usable token (never the hot path: a held token is not waited for). */
  timeCall(wait: Promise<string>): void {
    const t0 = performance.now();
    wait.then(
      () => this.callEnded(performance.now() - t0),
      (err: unknown) => this.callEnded(performance.now() - t0, err),
    );
  }

  /** A caller with no usable token waited `ms` and got a token or `err`. */
  callEnded(ms: number, err?: unknown): void {
    const code = err === undefined ? undefined : codeOf(err);
    const outcome = code === undefined ? 'ok' : code === 'ERR_ISSUE_THROTTLED' ? 'throttled' : 'failed';
    this.#h.wait.record(ms / S, this.#with({ outcome }));
    if (outcome === 'throttled') this.#c.throttled.add(1, this.#base);
    else if (outcome === 'failed') this.#c.failed.add(1, this.#with({ code: code ?? 'unknown' }));
  }

  /** A forced re-issue brought a new token. */
  forcedReissue(): void {
    this.#c.forced.add(1, this.#base);
  }

  /** A sweep planned `plan` (its actions, by kind; typed structurally: the sweep's options import this module's). */
  swept(plan: ReadonlyArray<{ readonly kind: string }>): void {
    this.#c.sweeps.add(1, this.#base);
    const byKind = new Map<string, number>();
    for (const a of plan) byKind.set(a.kind, (byKind.get(a.kind) ?? 0) + 1);
    for (const [action, n] of byKind) this.#c.findings.add(n, this.#with({ action }));
  }

  /** Stops the gauges (at shutdown), so the meter no longer reads this lifecycle. */
  close(): void {
    this.#meter.removeBatchObservableCallback(this.#callback, this.#gauges);
  }

  #requestEnded(t0: number, outcome: 'ok' | 'error', code?: string): void {
    const a = this.#with(code === undefined ? { outcome } : { outcome, code });
    this.#c.requests.add(1, a);
    this.#h.issuance.record((performance.now() - t0) / S, a);
  }

  #with(extra: MetricAttributes): MetricAttributes {
    return { ...this.#base, ...extra };
  }
}

function codeOf(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : 'unknown';
}
