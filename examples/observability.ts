/**
 * Observability without lock-in: structured logs through the lifecycle's `logger` option (any
 * pino-compatible logger), and Prometheus metrics from its events with prom-client. Neither
 * package is a dependency of ls-token-lifecycle: copy {@link observeLifecycle} into your daemon
 * (or adapt it to your metrics library: it is a page of event handlers).
 *
 * Run (tokens live 8 s on the example's mock, so refreshes and revocations happen while you watch):
 *
 * ```sh
 * npx tsx examples/observability.ts --duration 12              # or until Ctrl-C
 * npx tsx examples/observability.ts --metrics-port 9464        # then: curl 127.0.0.1:9464/metrics
 * ```
 *
 * Logs are JSON lines on stdout; the metrics are printed once more at the end.
 *
 * Logs: the `logger` option logs every event once, secret-free (token fingerprints, errors as their
 * `toJSON()`): `issued`, `revoked` and `expired` at info, `scheduled` at debug, `retrying` at warn,
 * `revokeFailed` and `error` at error. Each line carries `event` and the lifecycle's `instanceId`.
 *
 * Metrics:
 * - `ls_token_issued_total{source}`: tokens issued by LS (`issued`) or adopted from the store (`adopted`).
 * - `ls_token_revocations_total{reason,outcome}`: every revocation that ended: outcome `revoked`,
 *   `already-invalid`, `failed` (gave up: the token may be alive until it expires) or `expired`.
 * - `ls_token_revoke_duration_seconds{outcome}`: latency of successful revocations, retries included.
 * - `ls_token_revoke_retries_total{code}`: revoke attempts that failed and were retried.
 * - `ls_token_errors_total{op,code}`: store and internal trouble the lifecycle survived.
 * - `ls_token_live_tokens`: tokens of this app key that are `active` in the store, read at scrape
 *   time, so it is the fleet's view, not this process's.
 *
 * Alert on `increase(ls_token_revocations_total{outcome="failed"}[1h]) > 0` and on
 * `ls_token_live_tokens > 1` for longer than the superseded grace (LS keeps one live token per app key).
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import axios from 'axios';
import { pino } from 'pino';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { TokenLifecycle } from '../src/index.js'; // in your code: from 'ls-token-lifecycle'
import type {
  ErrorEvent,
  ExpiredEvent,
  IssuedEvent,
  RetryingEvent,
  RevokedEvent,
  RevokeFailedEvent,
  RevokeReason,
  ScheduledEvent,
} from '../src/index.js';
import { every, sampleTrCall, setUp } from './_support.js';

const METRIC_NAMES = [
  'ls_token_issued_total',
  'ls_token_revocations_total',
  'ls_token_revoke_duration_seconds',
  'ls_token_revoke_retries_total',
  'ls_token_errors_total',
  'ls_token_live_tokens',
] as const;

/**
 * Subscribes prom-client metrics to a lifecycle's events (logging is the `logger` option's job).
 * Returns a function that unsubscribes and removes the metrics.
 */
function observeLifecycle(lifecycle: TokenLifecycle, registry: Registry): () => void {
  const issued = new Counter({ name: 'ls_token_issued_total', help: 'Tokens issued or adopted', labelNames: ['source'], registers: [registry] });
  const revocations = new Counter({
    name: 'ls_token_revocations_total',
    help: 'Revocations that ended, by reason and outcome',
    labelNames: ['reason', 'outcome'],
    registers: [registry],
  });
  const latency = new Histogram({
    name: 'ls_token_revoke_duration_seconds',
    help: 'Time from the start of a revocation to its end, retries included',
    labelNames: ['outcome'],
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
    registers: [registry],
  });
  const retries = new Counter({ name: 'ls_token_revoke_retries_total', help: 'Revoke attempts retried', labelNames: ['code'], registers: [registry] });
  const errors = new Counter({ name: 'ls_token_errors_total', help: 'Store and internal errors survived', labelNames: ['op', 'code'], registers: [registry] });
  new Gauge({
    name: 'ls_token_live_tokens',
    help: 'Tokens of this app key in state active in the store (fleet-wide), at scrape time',
    registers: [registry],
    async collect() {
      try {
        const now = Date.now();
        this.set((await lifecycle.list()).filter((r) => r.state === 'active' && r.expiresAt > now).length);
      } catch {
        // Store down: keep the last value; ls_token_errors_total says why.
      }
    },
  });

  // `expired` carries no reason: remember the reason each token was scheduled with.
  const reasons = new Map<string, RevokeReason>();
  const onIssued = (e: IssuedEvent): void => void issued.inc({ source: e.source });
  const onScheduled = (e: ScheduledEvent): void => void reasons.set(e.id, e.reason);
  const onRevoked = (e: RevokedEvent): void => {
    reasons.delete(e.id);
    revocations.inc({ reason: e.reason, outcome: e.outcome });
    latency.observe({ outcome: e.outcome }, e.durationMs / 1000);
  };
  const onRetrying = (e: RetryingEvent): void => void retries.inc({ code: e.error.code });
  const onRevokeFailed = (e: RevokeFailedEvent): void => {
    reasons.delete(e.id);
    revocations.inc({ reason: e.reason, outcome: 'failed' });
  };
  const onExpired = (e: ExpiredEvent): void => {
    revocations.inc({ reason: reasons.get(e.id) ?? 'expiry', outcome: 'expired' });
    reasons.delete(e.id);
  };
  const onError = (e: ErrorEvent): void => void errors.inc({ op: e.op, code: e.error.code });
  lifecycle.on('issued', onIssued).on('scheduled', onScheduled).on('revoked', onRevoked).on('retrying', onRetrying);
  lifecycle.on('revokeFailed', onRevokeFailed).on('expired', onExpired).on('error', onError);
  return () => {
    lifecycle.off('issued', onIssued).off('scheduled', onScheduled).off('revoked', onRevoked).off('retrying', onRetrying);
    lifecycle.off('revokeFailed', onRevokeFailed).off('expired', onExpired).off('error', onError);
    for (const name of METRIC_NAMES) registry.removeSingleMetric(name);
  };
}

// ------------------------------------------------------------------------------------------------
// The runnable part: a daemon with short-lived tokens, observed.

const ex = await setUp('observability', { mock: { tokenLifetimeS: 8 }, extra: { 'metrics-port': { type: 'string' } } });

const logger = pino({
  level: 'info',
  base: { service: 'trading-daemon' },
  // Belt and braces: nothing the lifecycle emits holds these, but your own log calls might.
  redact: { paths: ['token', '*.token', 'access_token', 'appSecretKey', '*.appSecretKey', 'headers.authorization'], censor: '[redacted]' },
});
const registry = new Registry();

const lifecycle = new TokenLifecycle({
  appKey: ex.appKey,
  appSecretKey: ex.appSecretKey,
  baseUrl: ex.baseUrl,
  // Every event, logged once at its level; secret-free.
  logger: logger.child({ component: 'ls-token' }),
  // Scaled down to the mock's 8 s tokens; the defaults (5 min, 1 min, 30 s, one issuance a minute)
  // suit LS's day-long tokens.
  ...(ex.mock === undefined ? {} : { refreshMarginMs: 3_000, revokeMarginMs: 1_000, supersededGraceMs: 500, minIssueIntervalMs: 2_000 }),
});
observeLifecycle(lifecycle, registry);
lifecycle.installExitHooks();

const port = ex.values['metrics-port'] === undefined ? undefined : Number(ex.values['metrics-port']);
const metricsServer =
  port === undefined
    ? undefined
    : createServer((req, res) => {
        if (req.url !== '/metrics') return void res.writeHead(404).end();
        registry.metrics().then(
          (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text),
          (err: unknown) => res.writeHead(500).end(String(err)),
        );
      }).listen(port, '127.0.0.1', function (this: ReturnType<typeof createServer>) {
        ex.log(`metrics at http://127.0.0.1:${(this.address() as AddressInfo).port}/metrics`);
      });
metricsServer?.unref();

const ls = axios.create({ baseURL: ex.baseUrl, timeout: 10_000 });
lifecycle.attach(ls);
await every(1_000, async () => void logger.info({ event: 'tr', tr: 't1102', rsp_cd: await sampleTrCall(ls) }, 'TR call'), {
  durationMs: ex.durationMs,
  stop: () => lifecycle.status().closed,
  onError: (err) => logger.error({ event: 'tr', err: err instanceof Error ? err.message : String(err) }, 'TR call failed'),
});

await lifecycle.shutdown();
const lines = (await registry.metrics()).split('\n').filter((l) => l.startsWith('ls_token') && !l.includes('_bucket{'));
process.stdout.write(`\n# metrics at exit (histogram buckets left out)\n${lines.join('\n')}\n`);
metricsServer?.close();
await ex.close();
