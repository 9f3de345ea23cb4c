/**
 * A daemon whose tokens are tracked in Redis, sealed at rest, and revoked by exit hooks.
 *
 * Run (needs Redis; LS_TOKEN_STORE defaults to redis://127.0.0.1:6379):
 *
 * ```sh
 * npx tsx examples/redis-daemon.ts --duration 5      # or without --duration: until Ctrl-C
 * ```
 *
 * While it runs, look at it from another terminal with the operator CLI (after `npm run build`):
 *
 * ```sh
 * LS_APPKEY=demo-app-key node dist/cli/main.js list --store redis://127.0.0.1:6379 --namespace ls-token-example
 * ```
 *
 * What Redis buys over memory: a crashed process leaves a record, so the next start (or
 * `ls-token sweep`) revokes or adopts its token instead of forgetting it; a restart adopts the
 * stored token instead of issuing one (an issuance kills the previous token of the app key).
 */
import { randomBytes } from 'node:crypto';
import axios from 'axios';
import { createKeyv } from '@keyv/redis';
import { TokenLifecycle } from '../src/index.js'; // in your code: from 'ls-token-lifecycle'
import { every, sampleTrCall, setUp, short } from './_support.js';

const ex = await setUp('redis-daemon');
const redisUrl = process.env['LS_TOKEN_STORE'] || 'redis://127.0.0.1:6379';

// Fail fast while Redis is down (a connect timeout, no endless reconnect loop), and let errors
// surface (throwOnErrors) instead of keyv swallowing them. This is also how `ls-token` opens
// redis:// stores, so the CLI sees exactly these keys.
const keyv = createKeyv({ url: redisUrl, socket: { connectTimeout: 2_000, reconnectStrategy: false } }, { throwOnErrors: true });

// 32 bytes, 64 hex digits: raw tokens are stored AES-256-GCM sealed. Keep it in your secret
// manager; every process of the fleet (and `ls-token` with --encryption-key) needs the same one.
const encryptionKey = process.env['LS_TOKEN_ENCRYPTION_KEY'] || randomBytes(32).toString('hex');
if (!process.env['LS_TOKEN_ENCRYPTION_KEY']) ex.log('LS_TOKEN_ENCRYPTION_KEY not set: sealing tokens with a key made up for this run');

const lifecycle = new TokenLifecycle({
  appKey: ex.appKey,
  appSecretKey: ex.appSecretKey,
  baseUrl: ex.baseUrl,
  store: keyv,
  namespace: 'ls-token-example',
  encryptionKey,
  retainMs: 60 * 60 * 1000, // keep ended records one hour for `ls-token list` (default 7 days)
});
lifecycle.on('issued', (e) => ex.log(`token ${short(e.id)} ${e.source} (revoke at ${new Date(e.revokeAt).toISOString()})`));
lifecycle.on('revoked', (e) => ex.log(`token ${short(e.id)} revoked (${e.reason}, ${e.outcome}, ${e.attempts} attempt(s))`));
lifecycle.on('retrying', (e) => ex.log(`revoke of ${short(e.id)} failed (${e.error.code}); retry ${e.attempt} in ${e.delayMs} ms`));
lifecycle.on('revokeFailed', (e) => ex.log(`token ${short(e.id)} NOT revoked: ${e.error.code} ${e.error.message}`));
lifecycle.on('error', (e) => ex.log(`${e.op}: ${e.error.code} ${e.error.message}`));

// SIGINT/SIGTERM/SIGHUP, beforeExit and uncaught exceptions: shut down within 10 s, then die the
// way the process would have (re-raising the signal, so a supervisor sees the usual status).
lifecycle.installExitHooks({ deadlineMs: 10_000 });

try {
  await lifecycle.start(); // sweeps Redis: revokes what dead processes owed, adopts a live token
} catch (err) {
  ex.log(`cannot start: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
}
const ls = axios.create({ baseURL: ex.baseUrl, timeout: 10_000 });
lifecycle.attach(ls);

let failures = 0;
await every(1_000, async () => ex.log(`t1102 -> ${await sampleTrCall(ls)}`), {
  durationMs: ex.durationMs,
  stop: () => lifecycle.status().closed,
  onError: (err) => {
    failures++;
    ex.log(`TR call failed: ${err instanceof Error ? err.message : String(err)}`);
  },
});

const summary = await lifecycle.shutdown();
ex.log(`shutdown: ${summary.revoked} revoked, ${summary.keptForOthers} kept for other processes, ${summary.pending} pending`);
await keyv.disconnect(); // the Redis connection would keep the process alive (or: closeStoreOnShutdown: true)
await ex.close();
process.exitCode = failures > 0 && summary.revoked === 0 ? 1 : 0;
