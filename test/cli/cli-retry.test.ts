/**
 * Every command keeps its process alive until its work has settled, retries included, and ends
 * with a line and a documented exit code. The library's backoff timers are unref'd (they must not
 * hold a daemon open); before the CLI held its own handle, `echo <token> | ls-token revoke -`
 * against an LS answering HTTP 500 twice exited 13 ("unsettled top-level await") with no output.
 *
 * The retry tests run without a Redis connection (the memory store, or a SQLite file), since an
 * open socket would keep the process alive by itself and hide the bug.
 *
 * And a revocation that does not happen (a wrong secret: IGW00105) never reads as done: exit 1,
 * and the last line ends with "N tokens still alive".
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import KeyvSqlite from '@keyv/sqlite';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { Keyv } from 'keyv';
import { TokenStore } from '../../src/store/token-store.js';
import { shortId, tokenId } from '../../src/core/fingerprint.js';
import { HOUR, lastLine, seedToken, useCliHarness } from './harness.js';

const h = useCliHarness();
/** No store: the in-memory one, which holds no handle open. */
const NO_STORE = { LS_TOKEN_STORE: undefined };

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'ls-token-cli-retry-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** A SQLite store file as the CLI opens `sqlite://<file>` (keyv's default namespace), with this test's prefix. */
async function sqliteStore(): Promise<{ url: string; store: TokenStore; close: () => Promise<void> }> {
  const file = join(dir, 'tokens.sqlite');
  const keyv = new Keyv({ store: new KeyvSqlite({ uri: `sqlite://${file}`, busyTimeout: 5_000 }), throwOnErrors: true });
  return { url: `sqlite://${file}`, store: new TokenStore({ keyv, prefix: h.ns }), close: () => keyv.disconnect() };
}

/** A TCP port nothing listens on. */
function closedPort(): Promise<number> {
  return new Promise((resolve) => {
    const srv = createServer().listen(0, '127.0.0.1', () => {
      const p = (srv.address() as { port: number }).port;
      srv.close(() => resolve(p));
    });
  });
}

describe('an LS answering HTTP 500 twice, then succeeding', () => {
  it('issue retries and ends with the token it issued, exit 0', async () => {
    h.mock.inject({ endpoint: 'token', kind: 'http500', count: 2 });
    const r = await h.run(['issue'], { env: NO_STORE });
    expect(r.code).toBe(0);
    const token = h.mock.activeTokens()[0]!;
    expect(r.stdout.split('\n')[0]).toBe(`issued new token ${shortId(tokenId(token))} (3 attempts)`);
    expect(lastLine(r.stdout)).toMatch(/^ {2}revokeAt {3}\d{4}-\d\d-\d\d \d\d:\d\d:\d\d KST \(in /);
    // LS answers a 5xx with a JSON body and a code (the mock's http500 fault does too): ERR_LS_REJECTED, retryable.
    expect(r.stderr.match(/ls-token: note: attempt \d failed \(ERR_LS_REJECTED: .*\); retrying in \d+(ms|s)/g)).toHaveLength(2);
    expect(r.stderr).toMatch(/^ls-token: note: no store: /);
    expect(h.mock.stats()).toMatchObject({ tokenRequests: 3, issued: 1 });
  });

  it('echo <token> | ls-token revoke - retries and ends with "revoked", exit 0', async () => {
    const { store } = h.openStore();
    const { token, record } = await seedToken(h.mock, store);
    h.mock.inject({ endpoint: 'revoke', kind: 'http500', count: 2 });
    const r = await h.run(['revoke', '-'], { stdin: `${token}\n`, env: NO_STORE });
    expect({ code: r.code, signal: r.signal }).toEqual({ code: 0, signal: null });
    expect(lastLine(r.stdout)).toMatch(new RegExp(`^revoked ${shortId(record.id)} \\(LS confirmed, 3 attempts, \\d+ ms\\)$`));
    expect(h.mock.isActive(token)).toBe(false);
  });

  it('sweep (on a SQLite file) retries and ends with its summary, exit 0', async () => {
    const sqlite = await sqliteStore();
    const due = await seedToken(h.mock, sqlite.store, { issuedAt: Date.now() - HOUR, revokeAt: Date.now() - 1_000 });
    await sqlite.close();
    h.mock.inject({ endpoint: 'revoke', kind: 'http500', count: 2 });
    const r = await h.run(['sweep'], { env: { LS_TOKEN_STORE: sqlite.url } });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^revoked +${shortId(due.record.id)} +reason=recovery +attempts=3 +\\d+ms\\n`));
    expect(lastLine(r.stdout)).toMatch(/^sweep: 1 revoked, 0 already invalid, 0 expired, 0 left to their holders or not due \(\d+(ms|s)\)$/);
    expect(h.mock.isActive(due.token)).toBe(false);
  });

  it('list and status never call LS: they end with their last line, exit 0, whatever LS answers', async () => {
    const sqlite = await sqliteStore();
    const { record } = await seedToken(h.mock, sqlite.store);
    await sqlite.close();
    h.mock.resetStats();
    h.mock.inject({ endpoint: 'any', kind: 'http500', count: 2 });
    const env = { LS_TOKEN_STORE: sqlite.url };
    const [list, status] = await Promise.all([h.run(['list'], { env }), h.run(['status'], { env })]);
    expect(list.code).toBe(0);
    expect(lastLine(list.stdout)).toBe(`1 token in ${sqlite.url} for ls ${h.mock.url}; times KST (UTC+9)`);
    expect(status.code).toBe(0);
    expect(lastLine(status.stdout)).toBe('health     ok');
    expect(status.stdout).toContain(`would adopt ${shortId(record.id)}`);
    expect(h.mock.stats()).toMatchObject({ tokenRequests: 0, revokeRequests: 0, trRequests: 0, faultsInjected: 0 });
  });
});

describe('an LS that cannot be reached', () => {
  it('revoke keeps retrying until its deadline, then exits 1 with a line (not 13, not silent)', async () => {
    const { store } = h.openStore();
    const { token, record } = await seedToken(h.mock, store);
    const r = await h.run(['revoke', '--deadline-ms', '1500'], { stdin: token, env: { ...NO_STORE, LS_BASE_URL: `http://127.0.0.1:${await closedPort()}` } });
    expect(r.code).toBe(1);
    expect(r.ms).toBeGreaterThan(500); // it did wait for its retries
    expect(lastLine(r.stderr)).toMatch(new RegExp(`^ls-token: revoke of ${shortId(record.id)} failed: ERR_NETWORK: .*ECONNREFUSED.*; 1 token still alive$`));
  });

  it('issue retries until its deadline, then exits 1 with the error line', async () => {
    const r = await h.run(['issue', '--deadline-ms', '1200'], { env: { ...NO_STORE, LS_BASE_URL: `http://127.0.0.1:${await closedPort()}` } });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/ls-token: note: attempt 1 failed \(ERR_NETWORK/);
    expect(lastLine(r.stderr)).toMatch(/^ls-token: ERR_NETWORK: .*ECONNREFUSED/);
  });
});

describe('a wrong app secret during a revocation', () => {
  // The library ends such a revocation as `owed`; the CLI counts every outcome that is not
  // revoked, already-invalid, expired or skipped as alive.
  it('sweep exits 1 and ends with "1 token still alive"; the token is alive at LS', async () => {
    const { store } = h.openStore();
    const due = await seedToken(h.mock, store, { issuedAt: Date.now() - HOUR, revokeAt: Date.now() - 1_000 });
    const wrong = 'WRONG-SECRET-THAT-MUST-NOT-PRINT-02';
    h.extraSecrets.push(wrong);
    const text = await h.run(['sweep'], { env: { LS_APPSECRETKEY: wrong } });
    expect(text.code).toBe(1);
    expect(text.stdout).toMatch(new RegExp(`^\\S+ +${shortId(due.record.id)} +reason=\\S+ +attempts=1 +\\d+ms +ERR_INVALID_CREDENTIALS: `));
    expect(lastLine(text.stdout)).toMatch(/^sweep: 0 revoked, .*; not revoked: 1 owed \(ERR_INVALID_CREDENTIALS\): 1 token still alive$/);
    expect(h.mock.isActive(due.token)).toBe(true);
    // A credentials error is not the token's fault: it stays owed, and the next sweep with the
    // right secret revokes it (it used to be marked failed for good: "nothing to revoke", exit 0).
    expect((await store.get(due.record.id))?.state).toBe('revoking');
    const fixed = await h.run(['sweep']);
    expect(fixed.code).toBe(0);
    expect(fixed.stdout).toMatch(new RegExp(`^revoked +${shortId(due.record.id)} +reason=recovery +attempts=1 `, 'm'));
    expect(h.mock.isActive(due.token)).toBe(false);
  });

  it('revoke exits 1 and ends with "1 token still alive"; the token is alive at LS', async () => {
    const { store } = h.openStore();
    const { token, record } = await seedToken(h.mock, store);
    const wrong = 'WRONG-SECRET-THAT-MUST-NOT-PRINT-03';
    h.extraSecrets.push(wrong);
    const r = await h.run(['revoke', '--id', record.id, '--json'], { env: { LS_APPSECRETKEY: wrong } });
    expect(r.code).toBe(1);
    expect(lastLine(r.stderr)).toMatch(new RegExp(`^ls-token: revoke of ${shortId(record.id)} \\S+: ERR_INVALID_CREDENTIALS: .*; 1 token still alive$`));
    expect(JSON.parse(r.stdout)).toMatchObject({ id: record.id, stillAlive: 1, error: { code: 'ERR_INVALID_CREDENTIALS', exitCode: 1 } });
    expect(h.mock.isActive(token)).toBe(true);
  });
});
