/**
 * The `ls-token` CLI as operators run it: the built `dist/cli/main.js` started as a real process
 * against the LS mock server (in this process, on loopback) and a real Redis at 127.0.0.1:6379
 * (override with LS_TEST_REDIS_URL). Every test uses its own store namespace and cleans it up.
 *
 * The build goes to a private directory (`.tmp/cli-test-<pid>/dist`, same tsconfig.build.json as
 * `npm run build`) so that a concurrent `npm run build`, which starts with `rm -rf dist`, cannot
 * pull the files from under a running test.
 *
 * Every run is checked for what must never appear: the app secret, the app key, a raw token
 * (unless the test asked for `--reveal`) and a stack trace.
 */
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cpSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { createClient, createKeyv } from '@keyv/redis';
import type { Keyv } from 'keyv';
import { appKeyId, shortId, tokenId } from '../../src/core/fingerprint.js';
import { leaseKey } from '../../src/lifecycle/fleet.js';
import { LsOAuthClient } from '../../src/ls/ls-client.js';
import { TokenStore } from '../../src/store/token-store.js';
import type { TokenRecord } from '../../src/store/token-record.js';
import { Progress } from '../../src/cli/progress.js';
import { startMockLsServer, type MockLsServer, type MockLsServerOptions } from '../../src/testing/index.js';
import { TEST_REDIS_URL, fastFailRedisOptions } from '../helpers/store-backends.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const BUILD = join(ROOT, '.tmp', `cli-test-${process.pid}-${randomBytes(3).toString('hex')}`);
const MAIN = join(BUILD, 'dist', 'cli', 'main.js');

const APP_KEY = 'CLItestAppKey0000000000000000000001';
const SECRET = 'CLI-SENTINEL-SECRET-0123456789abcdef';
const OTHER_KEY = 'CLItestAppKey0000000000000000000002';
const OTHER_SECRET = 'CLI-OTHER-SECRET-0123456789abcdefgh';
const ENCRYPTION_KEY = 'ab'.repeat(32);
const HOUR = 3_600_000;

interface RunResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly ms: number;
}

interface RunOptions {
  env?: Record<string, string | undefined>;
  stdin?: string;
  /** The test asked for --reveal: stdout may hold raw tokens (stderr still may not). */
  reveal?: boolean;
  /** Run with this entry instead of the private build. */
  main?: string;
}

/** A fresh environment: nothing from the jest process (no NODE_OPTIONS, no LS_*). */
function baseEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const k of ['PATH', 'HOME', 'LANG', 'TMPDIR']) if (process.env[k] !== undefined) env[k] = process.env[k]!;
  return env;
}

let mock: MockLsServer;
let ns: string;
let env: Record<string, string>;
const extraSecrets: string[] = [];

/** Runs the built CLI as a process and checks its output for secrets and stack traces. */
function run(args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [opts.main ?? MAIN, ...args], {
      env: Object.fromEntries(Object.entries({ ...env, ...opts.env }).filter((e): e is [string, string] => e[1] !== undefined)),
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const killer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(killer);
      const result = { code, signal, stdout, stderr, ms: Date.now() - started };
      try {
        expectClean(result, opts.reveal === true);
      } catch (err) {
        reject(err);
        return;
      }
      resolve(result);
    });
    child.stdin.end(opts.stdin ?? '');
  });
}

function expectClean(r: RunResult, reveal: boolean): void {
  const all = r.stdout + r.stderr;
  for (const secret of [SECRET, APP_KEY, OTHER_KEY, OTHER_SECRET, ENCRYPTION_KEY, ...extraSecrets]) expect(all).not.toContain(secret);
  for (const t of mock === undefined ? [] : mock.issuedTokens()) expect(reveal ? r.stderr : all).not.toContain(t);
  expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
}

/** A store on the test Redis as the CLI opens it (createKeyv, no keyv namespace) with prefix `ns`. */
function openStore(options: { encryptionKey?: string } = {}): { store: TokenStore; keyv: Keyv } {
  const keyv = createKeyv(fastFailRedisOptions(), { throwOnErrors: true });
  keyvs.push(keyv);
  return { keyv, store: new TokenStore({ keyv, prefix: ns, ...options }) };
}
const keyvs: Keyv[] = [];

/** Issues a real token at the mock and records it, with overrides (e.g. a past revokeAt). */
async function seedToken(
  store: TokenStore,
  over: { revokeAt?: number; issuedAt?: number; ownerId?: string | null; appKey?: string; appSecretKey?: string } = {},
): Promise<{ token: string; record: TokenRecord }> {
  const client = new LsOAuthClient({ appKey: over.appKey ?? APP_KEY, appSecretKey: over.appSecretKey ?? SECRET, baseUrl: mock.url });
  try {
    const t = await client.issueToken();
    const issuedAt = over.issuedAt ?? t.issuedAt;
    const record = await store.put(
      {
        appKeyId: appKeyId(over.appKey ?? APP_KEY),
        tokenType: t.tokenType,
        issuedAt,
        expiresAt: t.expiresAt,
        revokeAt: over.revokeAt ?? t.expiresAt - 60_000,
        ownerId: over.ownerId === undefined ? 'daemon-gone-1' : over.ownerId,
      },
      t.accessToken,
    );
    return { token: t.accessToken, record };
  } finally {
    client.close();
  }
}

/** Marks `instanceId` alive and holding token `id`, as a running lifecycle's heartbeat does. */
async function hold(store: TokenStore, id: string, instanceId: string): Promise<void> {
  await store.setMeta(`instance:${instanceId}`, { pid: 1, at: Date.now() }, 60_000);
  await store.setMeta(leaseKey(appKeyId(APP_KEY), id, instanceId), { instanceId, at: Date.now() }, 60_000);
}

async function startMock(extra: MockLsServerOptions = {}): Promise<void> {
  await mock?.close();
  mock = await startMockLsServer({
    credentials: [
      { appKey: APP_KEY, appSecretKey: SECRET },
      { appKey: OTHER_KEY, appSecretKey: OTHER_SECRET },
    ],
    ...extra,
  });
  env['LS_BASE_URL'] = mock.url;
}

beforeAll(() => {
  const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
  const res = spawnSync(process.execPath, [tsc, '-p', join(ROOT, 'tsconfig.build.json'), '--outDir', join(BUILD, 'dist')], { encoding: 'utf8', cwd: ROOT });
  if (res.status !== 0) throw new Error(`build failed:\n${res.stdout}\n${res.stderr}`);
  cpSync(join(ROOT, 'package.json'), join(BUILD, 'package.json'));
}, 60_000);

afterAll(() => {
  rmSync(BUILD, { recursive: true, force: true });
});

beforeEach(async () => {
  ns = `lstest-cli-${process.pid}-${randomBytes(5).toString('hex')}`;
  env = { ...baseEnv(), LS_APPKEY: APP_KEY, LS_APPSECRETKEY: SECRET, LS_TOKEN_STORE: TEST_REDIS_URL, LS_TOKEN_NAMESPACE: ns };
  extraSecrets.length = 0;
  await startMock();
});

afterEach(async () => {
  await mock.close();
  await Promise.all(keyvs.splice(0).map((k) => k.disconnect().catch(() => undefined)));
  const client = createClient({ url: TEST_REDIS_URL });
  await client.connect();
  try {
    const keys = await client.keys(`${ns}:*`);
    if (keys.length > 0) await client.del(keys);
  } finally {
    await client.close();
  }
});

describe('command line and exit codes', () => {
  it('prints help with exit 0, and answers every usage error with one line and exit 2', async () => {
    const [help, cmdHelp, unknownCmd, unknownOpt, extraArg, noKey, noSecret, badStore, optFirst] = await Promise.all([
      run(['--help']),
      run(['sweep', '--help']),
      run(['isue']),
      run(['list', '--bogus']),
      run(['list', 'extra']),
      run(['issue'], { env: { LS_APPKEY: undefined } }),
      run(['issue'], { env: { LS_APPSECRETKEY: undefined } }),
      run(['list', '--store', 'ftp://example.test/x']),
      run(['--json', 'list']),
    ]);
    expect(help.code).toBe(0);
    for (const c of ['issue', 'revoke', 'list', 'sweep', 'status', 'mock-server']) expect(help.stdout).toContain(c);
    expect(help.stdout).toContain('exit codes: 0 done, 1 failed or partly failed, 2 usage');
    expect(cmdHelp.code).toBe(0);
    expect(cmdHelp.stdout).toContain('--keep-shared');
    expect(cmdHelp.stdout).toContain('[env LS_TOKEN_STORE]');

    for (const [r, text] of [
      [unknownCmd, 'unknown command "isue"'],
      [unknownOpt, 'unknown option --bogus'],
      [extraArg, '"list" takes no arguments'],
      [noKey, 'no app key: set --appkey or LS_APPKEY'],
      [noSecret, 'no app secret'],
      [badStore, 'the store must be redis://'],
      [optFirst, 'the command must come first'],
    ] as const) {
      expect({ code: r.code, stdout: r.stdout }).toEqual({ code: 2, stdout: '' });
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(/^ls-token: ERR_INVALID_OPTION: /);
      expect(r.stderr).toContain(text);
    }
  });

  it('reports a Redis that is down as one line within seconds, exit 1', async () => {
    const port = await new Promise<number>((resolve) => {
      const srv = createServer().listen(0, '127.0.0.1', () => {
        const p = (srv.address() as { port: number }).port;
        srv.close(() => resolve(p));
      });
    });
    const r = await run(['list', '--store', `redis://:${SECRET}@127.0.0.1:${port}`]);
    expect(r.code).toBe(1);
    expect(r.ms).toBeLessThan(5_000);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain(`ERR_STORE: cannot use the token store redis://:***@127.0.0.1:${port}`);
    expect(r.stderr).toContain('ECONNREFUSED');
  });

  it('names the package to install when a store adapter is missing, exit 2', async () => {
    // A copy of the build whose node_modules hold the runtime dependencies and nothing else.
    const dir = mkdtempSync(join(tmpdir(), 'ls-token-noadapter-'));
    try {
      cpSync(join(BUILD, 'dist'), join(dir, 'dist'), { recursive: true });
      cpSync(join(ROOT, 'package.json'), join(dir, 'package.json'));
      mkdirSync(join(dir, 'node_modules', '@keyv'), { recursive: true });
      for (const dep of ['axios', 'keyv', 'p-retry', 'eventemitter3', '@keyv/serialize']) {
        symlinkSync(join(ROOT, 'node_modules', dep), join(dir, 'node_modules', dep), 'dir');
      }
      const main = join(dir, 'dist', 'cli', 'main.js');
      const [redis, sqlite, memory] = await Promise.all([
        run(['list'], { main }),
        run(['list', '--store', `sqlite://${join(dir, 'x.sqlite')}`], { main }),
        run(['list', '--store', 'memory'], { main }),
      ]);
      expect(redis.code).toBe(2);
      expect(redis.stderr.trim()).toBe(
        'ls-token: ERR_INVALID_OPTION: a redis:// store needs the optional package @keyv/redis, which is not installed: npm install @keyv/redis',
      );
      expect(sqlite.code).toBe(2);
      expect(sqlite.stderr).toContain('npm install @keyv/sqlite');
      // The memory store needs no adapter: the runtime dependencies are enough.
      expect(memory.code).toBe(0);
      expect(memory.stdout).toContain('no tokens in memory');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('reads the app secret from a file (flags win over the environment)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ls-token-cli-secret-'));
    try {
      const file = join(dir, 'secret');
      writeFileSync(file, `${SECRET}\n`, { mode: 0o600 });
      const [viaFlag, viaEnv, both] = await Promise.all([
        run(['issue', '--json', '--appsecretkey-file', file], { env: { LS_APPSECRETKEY: 'env-secret-is-wrong-and-ignored' } }),
        run(['status', '--json'], { env: { LS_APPSECRETKEY: undefined, LS_APPSECRETKEY_FILE: file } }),
        run(['issue', '--appsecretkey', 'x', '--appsecretkey-file', file]),
      ]);
      expect(viaFlag.code).toBe(0);
      expect(JSON.parse(viaFlag.stdout)).toMatchObject({ source: 'issued' });
      expect(viaEnv.code).toBe(0);
      expect(both.code).toBe(2);
      expect(both.stderr).toContain('give the app secret once');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('reports rejected credentials as one line with the LS code, exit 1, never echoing the secret', async () => {
    const wrong = 'WRONG-SECRET-THAT-MUST-NOT-PRINT-01';
    extraSecrets.push(wrong);
    const r = await run(['issue', '--new'], { env: { LS_APPSECRETKEY: wrong } });
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/^ls-token: ERR_INVALID_CREDENTIALS: .*IGW00105/);
  });
});

describe('issue', () => {
  it('prints the fingerprint and expiry but not the raw token, and records the token in Redis', async () => {
    const r = await run(['issue']);
    expect(r.code).toBe(0);
    const [token] = mock.activeTokens();
    expect(token).toBeDefined();
    const id = tokenId(token!);
    expect(r.stdout).toContain(`issued new token ${shortId(id)}`);
    expect(r.stdout).toMatch(/expires +\d{4}-\d\d-\d\d \d\d:\d\d:\d\d KST \(in 23h5\dm\)/);
    expect(r.stdout).toContain('revokeAt');
    const { store } = openStore();
    const record = await store.get(id);
    expect(record).toMatchObject({ state: 'active', appKeyId: appKeyId(APP_KEY) });
    expect(record!.ownerId).toMatch(/^ls-token-cli-/);
    // The command leaves the token alive: it is not revoked at exit.
    expect(mock.isActive(token!)).toBe(true);
    expect(mock.stats().revokeRequests).toBe(0);
  });

  it('adopts a valid stored token; --new issues another, which kills the first at LS', async () => {
    const first = await run(['issue', '--json']);
    const second = await run(['issue', '--json']);
    expect([first.code, second.code]).toEqual([0, 0]);
    const a = JSON.parse(first.stdout) as { id: string; source: string };
    const b = JSON.parse(second.stdout) as { id: string; source: string };
    expect(a.source).toBe('issued');
    expect(b).toMatchObject({ id: a.id, source: 'adopted' });
    expect(mock.stats().issued).toBe(1);

    const third = await run(['issue', '--new', '--json']);
    expect(third.code).toBe(0);
    const c = JSON.parse(third.stdout) as { id: string; source: string };
    expect(c.source).toBe('issued');
    expect(c.id).not.toBe(a.id);
    expect(mock.stats().issued).toBe(2);
    const [firstToken, newToken] = mock.issuedTokens();
    expect(mock.isActive(firstToken!)).toBe(false); // one live token per app key
    expect(mock.isActive(newToken!)).toBe(true);
    expect(third.stderr).toContain(`LS keeps one token per app key: ${shortId(a.id)} stopped working`);
  });

  it('prints the raw token only with --reveal (text and JSON)', async () => {
    const text = await run(['issue', '--reveal'], { reveal: true });
    expect(text.code).toBe(0);
    const token = mock.activeTokens()[0]!;
    expect(text.stdout).toContain(`  token      ${token}\n`);
    const json = await run(['issue', '--reveal', '--json'], { reveal: true });
    expect(JSON.parse(json.stdout)).toMatchObject({ id: tokenId(token), source: 'adopted', token });
  });
});

describe('list', () => {
  it('shows id, state, times, reason and live holders; --json has the records without tokens', async () => {
    const { store } = openStore();
    const held = await seedToken(store, { issuedAt: Date.now() - 2 * HOUR });
    await startMock({ reissue: 'independent' });
    const ended = await seedToken(store, { issuedAt: Date.now() - HOUR });
    await store.update(ended.record.id, { state: 'revoked', reason: 'manual' });
    const foreign = await seedToken(store, { appKey: OTHER_KEY, appSecretKey: OTHER_SECRET });
    await hold(store, held.record.id, 'daemon-a');
    await hold(store, held.record.id, 'daemon-b');

    const [table, json, all, revokedOnly, noKey] = await Promise.all([
      run(['list']),
      run(['list', '--json']),
      run(['list', '--all', '--json']),
      run(['list', '--state', 'revoked', '--json']),
      run(['list', '--json'], { env: { LS_APPKEY: undefined, LS_APPSECRETKEY: undefined } }),
    ]);
    expect(table.code).toBe(0);
    const lines = table.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^ID\s+STATE\s+ISSUED\s+EXPIRES\s+REVOKE AT\s+REASON\s+HOLDERS$/);
    // Newest first: the revoked one, then the held one.
    expect(lines[1]).toMatch(new RegExp(`^${shortId(ended.record.id)}\\s+revoked\\s+\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d.*\\s+manual\\s+0$`));
    expect(lines[2]).toMatch(new RegExp(`^${shortId(held.record.id)}\\s+active\\s+.*\\s+-\\s+2$`));
    expect(table.stdout).not.toContain(shortId(foreign.record.id)); // another app key
    expect(lines.at(-1)).toContain('2 tokens in redis://127.0.0.1:6379; times KST (UTC+9)');

    const rows = JSON.parse(json.stdout) as Array<TokenRecord & { holders: string[] }>;
    expect(rows.map((r) => r.id)).toEqual([ended.record.id, held.record.id]);
    expect(rows[1]!.holders).toEqual(['daemon-a', 'daemon-b']);
    expect(rows[1]).toMatchObject({ ...held.record, holders: ['daemon-a', 'daemon-b'] });
    expect(json.stdout).not.toContain('"token"');

    expect((JSON.parse(all.stdout) as TokenRecord[]).map((r) => r.id).sort()).toEqual([held.record.id, ended.record.id, foreign.record.id].sort());
    expect((JSON.parse(revokedOnly.stdout) as TokenRecord[]).map((r) => r.id)).toEqual([ended.record.id]);
    // Without an app key (and no secret at all) every record is listed.
    expect(noKey.code).toBe(0);
    expect(JSON.parse(noKey.stdout)).toHaveLength(3);
  });

  it('reads a sqlite:// store (the same file another process wrote)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ls-token-cli-sqlite-'));
    try {
      const store = `sqlite://${join(dir, 'tokens.sqlite')}`;
      const issued = await run(['issue', '--store', store]);
      expect(issued.code).toBe(0);
      const listed = await run(['list', '--store', store, '--json']);
      expect(listed.code).toBe(0);
      const rows = JSON.parse(listed.stdout) as TokenRecord[];
      expect(rows.map((r) => r.id)).toEqual([tokenId(mock.activeTokens()[0]!)]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('revoke', () => {
  it('revokes by --id prefix at LS and records it; a second run sends nothing', async () => {
    const { store } = openStore();
    const { token, record } = await seedToken(store);
    const r = await run(['revoke', '--id', shortId(record.id).slice(0, 8)]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`revoked ${shortId(record.id)} (LS confirmed, 1 attempt`);
    expect(mock.isActive(token)).toBe(false);
    expect(await store.get(record.id)).toMatchObject({ state: 'revoked', reason: 'manual' });

    const again = await run(['revoke', '--id', record.id]);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('is already revoked: nothing sent');
    expect(mock.stats().revokeRequests).toBe(1);
  });

  it('reads a raw token from stdin with "-"; unknown ids exit 1, malformed ones exit 2', async () => {
    const { store } = openStore();
    const { token, record } = await seedToken(store);
    const foreign = await seedToken(store, { appKey: OTHER_KEY, appSecretKey: OTHER_SECRET });
    const [viaStdin, unknown, malformed, both, otherKeysToken] = await Promise.all([
      run(['revoke', '-', '--json'], { stdin: `${token}\n` }),
      run(['revoke', '--id', 'abcdef0123']),
      run(['revoke', '--id', 'xyz']),
      run(['revoke', token, '--id', 'abcdef']),
      run(['revoke', '-'], { stdin: foreign.token }),
    ]);
    expect(viaStdin.code).toBe(0);
    expect(JSON.parse(viaStdin.stdout)).toMatchObject({ id: record.id, outcome: 'revoked', state: 'revoked' });
    expect(mock.isActive(token)).toBe(false);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr.trim()).toBe('ls-token: ERR_NOT_FOUND: no token with id abcdef0123 in the store (see "ls-token list --all")');
    expect(malformed.code).toBe(2);
    expect(both.code).toBe(2);
    // Another app key's token would be answered "invalid" (= looks revoked): refused, nothing sent.
    expect(otherKeysToken.code).toBe(2);
    expect(otherKeysToken.stderr).toContain('issued for another app key');
    expect(mock.isActive(foreign.token)).toBe(true);
    expect(mock.stats().revokeRequests).toBe(1);
  });

  it('exits 1 with one line when LS keeps failing, and records the failure', async () => {
    const { store } = openStore();
    const { token, record } = await seedToken(store);
    mock.inject({ endpoint: 'revoke', kind: 'http500', rate: 1 });
    const r = await run(['revoke', '--id', record.id, '--deadline-ms', '1200']);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(new RegExp(`^ls-token: revoke of ${shortId(record.id)} failed: ERR_HTTP`));
    expect(mock.isActive(token)).toBe(true);
    expect((await store.get(record.id))?.state).toBe('failed');
  });
});

describe('sweep', () => {
  it('revokes due, owed and orphaned tokens, keeps held ones, and exits 1 when one cannot be revoked', async () => {
    await startMock({ reissue: 'independent' }); // several live tokens, to see which ones die
    const { store } = openStore();
    const { store: sealedStore } = openStore({ encryptionKey: ENCRYPTION_KEY });
    const now = Date.now();
    const due = await seedToken(store, { issuedAt: now - 5 * HOUR, revokeAt: now - 1_000 });
    const owed = await seedToken(store, { issuedAt: now - 4 * HOUR });
    await store.update(owed.record.id, { state: 'revoking', reason: 'shutdown' });
    const undecryptable = await seedToken(sealedStore, { issuedAt: now - 3 * HOUR, revokeAt: now - 1_000 });
    const held = await seedToken(store, { issuedAt: now - 2 * HOUR });
    await hold(store, held.record.id, 'daemon-live');
    const orphan = await seedToken(store, { issuedAt: now - HOUR });

    const r = await run(['sweep']);
    expect(r.code).toBe(1);
    expect(r.stdout).not.toContain('\r'); // not a terminal: plain lines, no bar
    const lines = r.stdout.trim().split('\n');
    const lineOf = (id: string): string | undefined => lines.find((l) => l.includes(shortId(id)));
    expect(lineOf(due.record.id)).toMatch(/^revoked\s+\S+\s+reason=recovery\s+attempts=1\s+\d+ms$/);
    expect(lineOf(owed.record.id)).toMatch(/^revoked\s+\S+\s+reason=recovery/);
    expect(lineOf(orphan.record.id)).toMatch(/^revoked\s+\S+\s+reason=recovery/);
    expect(lineOf(undecryptable.record.id)).toMatch(/^failed\s+\S+\s+.*ERR_DECRYPT/);
    expect(lineOf(held.record.id)).toBeUndefined();
    expect(lines.at(-1)).toMatch(/^sweep: 3 revoked, 0 already invalid, 0 expired, 1 failed, 1 left to their holders or not due/);

    for (const t of [due, owed, orphan]) {
      expect(mock.isActive(t.token)).toBe(false);
      expect((await store.get(t.record.id))?.state).toBe('revoked');
    }
    expect(mock.isActive(undecryptable.token)).toBe(true);
    expect(mock.isActive(held.token)).toBe(true);
    expect((await store.get(held.record.id))?.state).toBe('active');
  });

  it('--keep-shared leaves the newest valid token; a sweep with nothing failing exits 0 (--json)', async () => {
    await startMock({ reissue: 'independent' });
    const { store } = openStore();
    const now = Date.now();
    const due = await seedToken(store, { issuedAt: now - 2 * HOUR, revokeAt: now - 1_000 });
    const newest = await seedToken(store, { issuedAt: now - HOUR });
    const r = await run(['sweep', '--keep-shared', '--json']);
    expect(r.code).toBe(0);
    const summary = JSON.parse(r.stdout) as { revoked: number; failed: number; kept: number; results: Array<{ id: string; outcome: string }> };
    expect(summary).toMatchObject({ revoked: 1, failed: 0, kept: 1 });
    expect(summary.results).toEqual([expect.objectContaining({ id: due.record.id, outcome: 'revoked' })]);
    expect(mock.isActive(newest.token)).toBe(true);
    expect(mock.isActive(due.token)).toBe(false);

    const empty = await run(['sweep', '--keep-shared']);
    expect(empty.code).toBe(0);
    expect(empty.stdout).toMatch(/^sweep: nothing to revoke; 0 revoked/);
  });
});

describe('status', () => {
  it('explains which token a lifecycle would adopt and what its first sweep would revoke', async () => {
    await startMock({ reissue: 'independent' });
    const { store } = openStore();
    const now = Date.now();
    const due = await seedToken(store, { issuedAt: now - 2 * HOUR, revokeAt: now - 1_000 });
    const newest = await seedToken(store, { issuedAt: now - HOUR });
    await hold(store, newest.record.id, 'daemon-x');
    const [json, text] = await Promise.all([run(['status', '--json'], { env: { LS_APPSECRETKEY: undefined } }), run(['status'])]);
    expect(json.code).toBe(0);
    const s = JSON.parse(json.stdout) as {
      counts: Record<string, number>;
      adopt: { id: string; revokeAt: number; refreshAt: number; holders: string[] };
      actions: Array<{ id: string; action: string }>;
      liveInstances: string[];
    };
    expect(s.counts).toMatchObject({ active: 2, revoked: 0 });
    expect(s.adopt).toMatchObject({ id: newest.record.id, revokeAt: newest.record.revokeAt, refreshAt: newest.record.revokeAt - 300_000, holders: ['daemon-x'] });
    expect(s.actions).toEqual(
      expect.arrayContaining([expect.objectContaining({ id: due.record.id, action: 'revoke' }), expect.objectContaining({ id: newest.record.id, action: 'adopt' })]),
    );
    expect(s.liveInstances).toEqual(['daemon-x']);
    expect(text.stdout).toContain(`would adopt ${shortId(newest.record.id)} (shared with daemon-x)`);
    expect(text.stdout).toMatch(new RegExp(`revoke\\s+${shortId(due.record.id)}\\s+due`));
    // status changes nothing
    expect(mock.stats().revokeRequests).toBe(0);
    expect((await store.get(due.record.id))?.state).toBe('active');
  });
});

describe('mock-server', () => {
  it('runs in the foreground, serves issue, and exits 0 on SIGTERM', async () => {
    const child = spawn(process.execPath, [MAIN, 'mock-server', '--port', '0'], { env: baseEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      let out = '';
      const url = await new Promise<string>((resolve, reject) => {
        child.stdout.on('data', (d: Buffer) => {
          out += d.toString();
          const m = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
          if (m) resolve(m[1]!);
        });
        child.on('exit', () => reject(new Error(`mock-server exited early: ${out}`)));
      });
      const r = await run(['issue', '--json'], { env: { LS_BASE_URL: url, LS_APPKEY: 'demo-app-key', LS_APPSECRETKEY: 'demo-app-secret' } });
      expect(r.code).toBe(0);
      expect(JSON.parse(r.stdout)).toMatchObject({ source: 'issued' });
      const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });
});

describe('sweep progress rendering', () => {
  it('draws a bar in place on a terminal and prints finished items above it', () => {
    const bar: string[] = [];
    const lines: string[] = [];
    const p = new Progress((l) => lines.push(l), { write: (t: string) => bar.push(t), isTTY: true }, true, 'sweep');
    p.setTotal(2);
    p.item('revoked a', true);
    p.item('failed b', false);
    p.finish();
    expect(lines).toEqual(['revoked a', 'failed b']);
    expect(bar.join('')).toContain('\rsweep [------------------------] 0/2  revoked 0  failed 0');
    expect(bar.join('')).toContain('\rsweep [############------------] 1/2  revoked 1  failed 0');
    expect(bar.join('')).toContain('\rsweep [########################] 2/2  revoked 1  failed 1');
    expect(bar.at(-1)).toBe('\r\x1b[K'); // cleared at the end
  });

  it('writes only plain lines when not a terminal', () => {
    const bar: string[] = [];
    const lines: string[] = [];
    const p = new Progress((l) => lines.push(l), { write: (t: string) => bar.push(t) }, false, 'sweep');
    p.setTotal(1);
    p.item('revoked a', true);
    p.finish();
    expect(lines).toEqual(['revoked a']);
    expect(bar).toEqual([]);
  });
});
