/**
 * A daemon whose tokens are tracked in a SQLite file: persistence without running a server.
 *
 * Run (the file defaults to <tmpdir>/ls-token-example.sqlite; override with --db or with
 * LS_TOKEN_STORE=sqlite://<path>):
 *
 * ```sh
 * npx tsx examples/sqlite-daemon.ts --duration 5
 * ```
 *
 * Inspect the file with the operator CLI (after `npm run build`); run the example twice and kill
 * the first one with `kill -9` to see the second one adopt its token, or `sweep` revoke it:
 *
 * ```sh
 * LS_APPKEY=demo-app-key node dist/cli/main.js list --store sqlite://$TMPDIR/ls-token-example.sqlite
 * ```
 *
 * SQLite suits one host. Several processes may share the file (busyTimeout), but the issuance
 * lock is then per process: for a fleet that starts at once, use Redis (see fleet.ts).
 *
 * The file holds live tokens (in clear without `encryptionKey`), so it is created private (mode
 * 0600, whatever the umask) before SQLite opens it, exactly as `ls-token --store sqlite://…` does.
 */
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import axios from 'axios';
import { Keyv } from 'keyv';
import KeyvSqlite from '@keyv/sqlite';
import { TokenLifecycle, ensurePrivateFile } from '../src/index.js'; // in your code: from 'ls-token-lifecycle'
import { every, sampleTrCall, setUp, short } from './_support.js';

const ex = await setUp('sqlite-daemon', { extra: { db: { type: 'string' } } });
const fromEnv = process.env['LS_TOKEN_STORE']?.startsWith('sqlite://') ? process.env['LS_TOKEN_STORE'].slice('sqlite://'.length) : undefined;
const file = (ex.values['db'] as string | undefined) ?? fromEnv ?? join(tmpdir(), 'ls-token-example.sqlite');

// Mode 0600 before SQLite creates it with 0644; an existing file that others can read is reported.
const storeFile = await ensurePrivateFile(file);
if (storeFile.warning !== undefined) ex.log(`warning: ${storeFile.warning}`);

// The same construction `ls-token --store sqlite://<file>` uses (keyv's default namespace).
const keyv = new Keyv({ store: new KeyvSqlite({ uri: `sqlite://${file}`, busyTimeout: 5_000 }), throwOnErrors: true });

const lifecycle = new TokenLifecycle({
  appKey: ex.appKey,
  appSecretKey: ex.appSecretKey,
  baseUrl: ex.baseUrl,
  store: keyv,
  retainMs: 60 * 60 * 1000,
});
lifecycle.on('issued', (e) => ex.log(`token ${short(e.id)} ${e.source}, tracked in ${file}`));
lifecycle.on('revoked', (e) => ex.log(`token ${short(e.id)} revoked (${e.reason}, ${e.outcome})`));
lifecycle.on('revokeFailed', (e) => ex.log(`token ${short(e.id)} NOT revoked: ${e.error.code} ${e.error.message}`));
lifecycle.on('error', (e) => ex.log(`${e.op}: ${e.error.code} ${e.error.message}`));
lifecycle.installExitHooks();

const ls = axios.create({ baseURL: ex.baseUrl, timeout: 10_000 });
lifecycle.attach(ls);

await every(1_000, async () => ex.log(`t1102 -> ${await sampleTrCall(ls)}`), {
  durationMs: ex.durationMs,
  stop: () => lifecycle.status().closed,
  onError: (err) => ex.log(`TR call failed: ${err instanceof Error ? err.message : String(err)}`),
});

const summary = await lifecycle.shutdown();
ex.log(`shutdown: ${summary.revoked} revoked, ${summary.pending} pending`);
const records = await lifecycle.list();
ex.log(`records in the file for this app key: ${records.map((r) => `${short(r.id)}=${r.state}`).join(', ')}`);
await keyv.disconnect();
await ex.close();
