/**
 * A `/healthz` endpoint for a supervisor's probe (Kubernetes liveness/readiness, a load balancer,
 * a monitoring check), with `node:http` and `lifecycle.health()`.
 *
 * Run (against its own LS mock server; set LS_BASE_URL, LS_APPKEY, LS_APPSECRETKEY for real LS):
 *
 * ```sh
 * npx tsx examples/healthz.ts --duration 5             # or without --duration: until Ctrl-C
 * npx tsx examples/healthz.ts --port 8081              # then: curl -i 127.0.0.1:8081/healthz
 * ```
 *
 * `health()` makes one store read bounded by `storeTimeoutMs` and never rejects. It is not ok
 * before `start()` completes, after `shutdown()`, while the store does not answer, while a token
 * this process tried to revoke may still be alive, while LS's clock is far off the host's, and
 * after recent trouble (store timeouts, issuance-lock failures, callers refused); the `problems`
 * field says which, as stable codes (`details` in words). The answer holds token fingerprints
 * and times only, never a raw token, so it may be served as it is.
 *
 * A probe should not restart the daemon for a store hiccup: the lifecycle keeps trading on the
 * token it holds and revokes from memory. Use `ok` for readiness and alerting, and give liveness
 * a failure threshold longer than a Redis failover.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import axios from 'axios';
import { TokenLifecycle } from '../src/index.js'; // in your code: from 'ls-token-lifecycle'
import { every, sampleTrCall, setUp } from './_support.js';

const ex = await setUp('healthz', { extra: { port: { type: 'string' } } });

const lifecycle = new TokenLifecycle({ appKey: ex.appKey, appSecretKey: ex.appSecretKey, baseUrl: ex.baseUrl });
lifecycle.installExitHooks();

// 200 with the health as JSON when ok, 503 otherwise.
const server = createServer((req, res) => {
  if (req.method !== 'GET' || req.url !== '/healthz') return void res.writeHead(404).end();
  void lifecycle.health().then((h) => {
    res.writeHead(h.ok ? 200 : 503, { 'content-type': 'application/json' }).end(JSON.stringify(h));
  });
});
const port = ex.values['port'] === undefined ? 0 : Number(ex.values['port']);
await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/healthz`;
ex.log(`health at ${url}`);

/** What a probe would see: the status line and the problems, if any. */
async function probe(): Promise<void> {
  const res = await fetch(url);
  const h = (await res.json()) as { ok: boolean; problems: string[]; store: { latencyMs: number | null } };
  ex.log(`GET /healthz -> ${res.status} ok=${h.ok}${h.problems.length > 0 ? ` problems: ${h.problems.join('; ')}` : ` store ${h.store.latencyMs} ms`}`);
}

await probe(); // not started yet: 503 "not started"
await lifecycle.start();

const ls = axios.create({ baseURL: ex.baseUrl, timeout: 10_000 });
lifecycle.attach(ls);
await every(1_000, async () => {
  ex.log(`t1102 -> ${await sampleTrCall(ls)}`);
  await probe();
}, {
  durationMs: ex.durationMs,
  stop: () => lifecycle.status().closed, // the exit hooks shut it down
  onError: (err) => ex.log(`failed: ${err instanceof Error ? err.message : String(err)}`),
});

const summary = await lifecycle.shutdown();
ex.log(`shutdown: ${summary.revoked} revoked, ${summary.notRevoked.length} not revoked`);
await probe(); // shut down: 503
server.close();
await ex.close();
