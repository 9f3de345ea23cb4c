/**
 * Observability without lock-in: the lifecycle only emits events; this file turns them into
 * structured logs with pino and Prometheus metrics with prom-client. Neither package is a
 * dependency of ls-token-lifecycle: copy {@link observeLifecycle} into your daemon (or adapt it
 * to your logger and metrics library: it is a page of event handlers).
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
import { pino, type Logger } from 'pino';
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
 * Subscribes a pino logger and prom-client metrics to a lifecycle's events. Event payloads carry
 * token fingerprints (`id`), never raw tokens or credentials, so they are logged as they are.
 * Returns a function that unsubscribes.
 */
function observeLifecycle(lifecycle: TokenLifecycle, opts: { logger: Logger; registry: Registry }): () => void {
  const { logger, registry } = opts;
  const log = logger.child({ component: 'ls-token', instanceId: lifecycle.instanceId });

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
  const onIssued = (e: IssuedEvent): void => {
    issued.inc({ source: e.source });
    log.info({ event: 'issued', ...e }, `token ${e.source}`);
  };
  const onScheduled = (e: ScheduledEvent): void => {
    reasons.set(e.id, e.reason);
    log.debug({ event: 'scheduled', ...e }, 'revocation scheduled');
  };
  const onRevoked = (e: RevokedEvent): void => {
    reasons.delete(e.id);
    revocations.inc({ reason: e.reason, outcome: e.outcome });
    latency.observe({ outcome: e.outcome }, e.durationMs / 1000);
    log.info({ event: 'revoked', ...e }, 'token revoked');
  };
  const onRetrying = (e: RetryingEvent): void => {
    retries.inc({ code: e.error.code });
    log.warn({ event: 'retrying', ...e }, 'revoke failed, retrying');
  };
  const onRevokeFailed = (e: RevokeFailedEvent): void => {
    reasons.delete(e.id);
    revocations.inc({ reason: e.reason, outcome: 'failed' });
    log.error({ event: 'revokeFailed', ...e }, 'token NOT revoked: it may stay valid until it expires');
  };
  const onExpired = (e: ExpiredEvent): void => {
    revocations.inc({ reason: reasons.get(e.id) ?? 'expiry', outcome: 'expired' });
    reasons.delete(e.id);
    log.warn({ event: 'expired', ...e }, 'token expired before it was revoked');
  };
  const onError = (e: ErrorEvent): void => {
    errors.inc({ op: e.op, code: e.error.code });
    // toJSON() is the error's secret-free form (no `cause`, which may hold request data).
    log.error({ event: 'error', op: e.op, id: e.id, error: e.error.toJSON() }, 'lifecycle error');
  };
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
  // Scaled down to the mock's 8 s tokens; the defaults (5 min, 1 min, 30 s) suit LS's day-long tokens.
  ...(ex.mock === undefined ? {} : { refreshMarginMs: 3_000, revokeMarginMs: 1_000, supersededGraceMs: 500 }),
});
observeLifecycle(lifecycle, { logger, registry });
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
