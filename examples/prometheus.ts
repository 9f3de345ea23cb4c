/**
 * Metrics through OpenTelemetry, served to Prometheus: the lifecycle's `meter` option takes any
 * OpenTelemetry `Meter`; here the OpenTelemetry SDK's `MeterProvider` with the Prometheus exporter
 * serves `/metrics`. Neither package is a dependency of ls-token-lifecycle (`@opentelemetry/api` is
 * an optional peer): install `@opentelemetry/api @opentelemetry/sdk-metrics
 * @opentelemetry/exporter-prometheus` in your daemon.
 *
 * Run (tokens live 8 s on the example's mock, so a refresh and a revocation happen while you watch):
 *
 * ```sh
 * npx tsx examples/prometheus.ts --duration 12 --metrics-port 9464   # then: curl 127.0.0.1:9464/metrics
 * ```
 *
 * docs/observability.md lists every metric, the alert rules and the Grafana dashboard built on them.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import axios from 'axios';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { TokenLifecycle } from '../src/index.js'; // in your code: from 'ls-token-lifecycle'
import { every, sampleTrCall, setUp, short } from './_support.js';

const ex = await setUp('prometheus', { mock: { tokenLifetimeS: 8 }, extra: { 'metrics-port': { type: 'string' } } });

// The exporter is a pull reader: each scrape collects every instrument (the gauges read the
// lifecycle then). Its own server is not started: /metrics is mounted on a server of ours, which
// also lets `--metrics-port 0` pick a free port.
const exporter = new PrometheusExporter({ preventServerStart: true });
const meterProvider = new MeterProvider({ readers: [exporter] });

const lifecycle = new TokenLifecycle({
  appKey: ex.appKey,
  appSecretKey: ex.appSecretKey,
  baseUrl: ex.baseUrl,
  meter: meterProvider.getMeter('ls-token-lifecycle'),
  // Scaled down to the mock's 8 s tokens; the defaults suit LS's day-long tokens.
  ...(ex.mock === undefined ? {} : { refreshMarginMs: 3_000, revokeMarginMs: 1_000, supersededGraceMs: 500, minIssueIntervalMs: 2_000 }),
});
lifecycle.installExitHooks();
lifecycle.on('issued', (e) => console.log(`issued ${short(e.id)} (${e.source})`));
lifecycle.on('revoked', (e) => console.log(`revoked ${short(e.id)} (${e.reason}, ${e.outcome})`));

const server = createServer((req, res) => {
  if (req.url !== '/metrics') return void res.writeHead(404).end();
  exporter.getMetricsRequestHandler(req, res);
});
await new Promise<void>((resolve) => server.listen(Number(ex.values['metrics-port'] ?? 9464), '127.0.0.1', resolve));
console.log(`metrics at http://127.0.0.1:${(server.address() as AddressInfo).port}/metrics`);

const ls = axios.create({ baseURL: ex.baseUrl, timeout: 10_000 });
lifecycle.attach(ls);
await every(500, async () => void (await sampleTrCall(ls)), {
  durationMs: ex.durationMs,
  stop: () => lifecycle.status().closed,
  onError: (err) => ex.log(`TR call failed: ${err instanceof Error ? err.message : String(err)}`),
});

const summary = await lifecycle.shutdown();
console.log(`shutdown: ${summary.revoked} revoked, ${summary.notRevoked.length} not revoked`);
server.close();
await meterProvider.shutdown();
await ex.close();
