/**
 * A minimal trading daemon: one lifecycle, its token on every LS request through axios, and the
 * token revoked when the process stops.
 *
 * Run (against its own LS mock server; set LS_BASE_URL, LS_APPKEY, LS_APPSECRETKEY for real LS):
 *
 * ```sh
 * npx tsx examples/minimal-daemon.ts --duration 5   # or without --duration: until Ctrl-C
 * ```
 *
 * The store is the default in-memory one: fine for one process that always exits through its
 * hooks, but a crash (kill -9, OOM) then leaves the token alive until it expires. Use Redis or
 * SQLite (the other examples) in production.
 */
import axios from 'axios';
import { TokenLifecycle } from '../src/index.js'; // in your code: from 'ls-token-lifecycle'
import { every, sampleTrCall, setUp, short } from './_support.js';

const ex = await setUp('minimal-daemon');

const lifecycle = new TokenLifecycle({ appKey: ex.appKey, appSecretKey: ex.appSecretKey, baseUrl: ex.baseUrl });
lifecycle.on('issued', (e) => ex.log(`token ${short(e.id)} ${e.source}, expires ${new Date(e.expiresAt).toISOString()}`));
lifecycle.on('revoked', (e) => ex.log(`token ${short(e.id)} revoked (${e.reason}, ${e.outcome})`));
lifecycle.on('revokeFailed', (e) => ex.log(`token ${short(e.id)} NOT revoked: ${e.error.code} ${e.error.message}`));
lifecycle.on('error', (e) => ex.log(`${e.op}: ${e.error.code} ${e.error.message}`));

// Ctrl-C, SIGTERM, an uncaught exception or an empty event loop: revoke (bounded), then exit.
lifecycle.installExitHooks();

// Every request of this instance gets `authorization: Bearer <token>`; when LS answers that the
// token is dead (IGW00121/22/23 in the body) it gets a fresh token once and repeats the request once.
const ls = axios.create({ baseURL: ex.baseUrl, timeout: 10_000 });
lifecycle.attach(ls);

await every(1_000, async () => ex.log(`t1102 -> ${await sampleTrCall(ls)}`), {
  durationMs: ex.durationMs,
  stop: () => lifecycle.status().closed, // the exit hooks shut it down
  onError: (err) => ex.log(`TR call failed: ${err instanceof Error ? err.message : String(err)}`),
});

// --duration elapsed: stop like the hooks would, then let the process end.
const summary = await lifecycle.shutdown();
ex.log(`shutdown: ${summary.revoked} revoked, ${summary.failed} failed, ${summary.pending} pending`);
await ex.close();
