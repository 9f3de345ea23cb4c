/**
 * What the CLI test files share: the built `dist/cli/main.js` started as a real process against
 * the LS mock server (in the test process, on loopback) and a real Redis at 127.0.0.1:6379
 * (override with LS_TEST_REDIS_URL). Every test uses its own store namespace and cleans it up.
 *
 * The build goes to a private directory (`.tmp/cli-test-<pid>-<rand>/dist`, same
 * tsconfig.build.json as `npm run build`) so that a concurrent `npm run build`, which starts with
 * `rm -rf dist`, cannot pull the files from under a running test.
 *
 * Every run is checked for what must never appear: the app secret, the app key, a raw token
 * (unless the test asked for `--reveal`) and a stack trace.
 *
 * Call {@link useCliHarness} once at the top of a test file; it registers the jest hooks.
 */
import { type ChildProcessWithoutNullStreams, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cpSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, beforeEach, expect } from '@jest/globals';
import { createKeyv } from '@keyv/redis';
import type { Keyv } from 'keyv';
import { appKeyIdFor } from '../../src/providers/provider.js';
import { lsProvider } from '../../src/providers/ls/ls-provider.js';
import { leaseKey } from '../../src/lifecycle/fleet.js';
import { LsOAuthClient } from '../../src/providers/ls/ls-client.js';
import { TokenStore } from '../../src/store/token-store.js';
import type { TokenRecord } from '../../src/store/token-record.js';
import { startMockLsServer, type MockLsServer, type MockLsServerOptions } from '../../src/testing/index.js';
import { TEST_REDIS_URL, deleteRedisKeys, fastFailRedisOptions } from '../helpers/store-backends.js';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const APP_KEY = 'CLItestAppKey0000000000000000000001';
export const SECRET = 'CLI-SENTINEL-SECRET-0123456789abcdef';
export const OTHER_KEY = 'CLItestAppKey0000000000000000000002';
export const OTHER_SECRET = 'CLI-OTHER-SECRET-0123456789abcdefgh';
export const ENCRYPTION_KEY = 'ab'.repeat(32);
export const HOUR = 3_600_000;
export { TEST_REDIS_URL };

/** How a CLI process ended and what it printed. */
export interface RunResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly ms: number;
}

/** Options of {@link CliHarness.run}. */
export interface RunOptions {
  env?: Record<string, string | undefined>;
  stdin?: string;
  /** The test asked for --reveal: stdout may hold raw tokens (stderr still may not). */
  reveal?: boolean;
  /** Run with this entry instead of the private build. */
  main?: string;
  /** Kill the process after this long, ms. Default 20000. */
  killAfterMs?: number;
  /** Run under this umask (octal text, e.g. `000`), through /bin/sh. */
  umask?: string;
}

/** The harness of one test file; fields change per test (fresh namespace, mock and env). */
export interface CliHarness {
  /** The built CLI entry. */
  readonly main: string;
  /** The private build directory (holds `dist/` and `package.json`). */
  readonly buildDir: string;
  /** This test's mock LS. */
  readonly mock: MockLsServer;
  /** This test's store namespace. */
  readonly ns: string;
  /** The environment every run gets (LS_APPKEY, LS_APPSECRETKEY, LS_TOKEN_STORE, LS_TOKEN_NAMESPACE, LS_BASE_URL). */
  readonly env: Record<string, string>;
  /** More values that must never be printed, for this test. */
  readonly extraSecrets: string[];
  /** Runs the built CLI as a process and checks its output for secrets and stack traces. */
  run(args: readonly string[], opts?: RunOptions): Promise<RunResult>;
  /** Starts the CLI without waiting (for tests that look at the running process). */
  spawn(args: readonly string[], opts?: { env?: Record<string, string | undefined> }): ChildProcessWithoutNullStreams;
  /** Replaces the mock with one with these options (same credentials). */
  startMock(extra?: MockLsServerOptions): Promise<void>;
  /** A store on the test Redis as the CLI opens it, with this test's prefix. */
  openStore(options?: { encryptionKey?: string }): { store: TokenStore; keyv: Keyv };
}

/** A fresh environment: nothing from the jest process (no NODE_OPTIONS, no LS_*). */
export function baseEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const k of ['PATH', 'HOME', 'LANG', 'TMPDIR']) if (process.env[k] !== undefined) env[k] = process.env[k]!;
  return env;
}

/** Issues a real token at `mock` and records it, with overrides (e.g. a past revokeAt). */
export async function seedToken(
  mock: MockLsServer,
  store: TokenStore,
  over: { revokeAt?: number; issuedAt?: number; ownerId?: string | null; appKey?: string; appSecretKey?: string } = {},
): Promise<{ token: string; record: TokenRecord }> {
  const client = new LsOAuthClient({ appKey: over.appKey ?? APP_KEY, appSecretKey: over.appSecretKey ?? SECRET, baseUrl: mock.url });
  try {
    const t = await client.issueToken();
    const issuedAt = over.issuedAt ?? t.issuedAt;
    const record = await store.put(
      {
        appKeyId: appKeyIdFor(lsProvider, over.appKey ?? APP_KEY, mock.url),
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
export async function hold(store: TokenStore, id: string, instanceId: string, baseUrl: string): Promise<void> {
  const scope = appKeyIdFor(lsProvider, APP_KEY, baseUrl);
  const view = store.forAppKey(scope);
  await view.setMeta(`instance:${instanceId}`, { pid: 1, at: Date.now() }, 60_000);
  await view.setMeta(leaseKey(scope, id, instanceId), { instanceId, at: Date.now() }, 60_000);
}

/** The last non-empty line of `text`. */
export function lastLine(text: string): string {
  return text.trimEnd().split('\n').at(-1) ?? '';
}

/** Registers the build, per-test mock/namespace and cleanup hooks; returns the harness. */
export function useCliHarness(): CliHarness {
  const buildDir = join(ROOT, '.tmp', `cli-test-${process.pid}-${randomBytes(3).toString('hex')}`);
  const main = join(buildDir, 'dist', 'cli', 'main.js');
  let mock: MockLsServer | undefined;
  let ns = '';
  let env: Record<string, string> = {};
  const extraSecrets: string[] = [];
  const keyvs: Keyv[] = [];

  const childEnv = (extra: Record<string, string | undefined> = {}): Record<string, string> =>
    Object.fromEntries(Object.entries({ ...env, ...extra }).filter((e): e is [string, string] => e[1] !== undefined));

  const expectClean = (r: RunResult, reveal: boolean): void => {
    const all = r.stdout + r.stderr;
    for (const secret of [SECRET, APP_KEY, OTHER_KEY, OTHER_SECRET, ENCRYPTION_KEY, ...extraSecrets]) expect(all).not.toContain(secret);
    for (const t of mock === undefined ? [] : mock.issuedTokens()) expect(reveal ? r.stderr : all).not.toContain(t);
    expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
  };

  const h: CliHarness = {
    main,
    buildDir,
    get mock() {
      if (mock === undefined) throw new Error('no mock yet');
      return mock;
    },
    get ns() {
      return ns;
    },
    get env() {
      return env;
    },
    extraSecrets,
    run(args, opts = {}) {
      const started = Date.now();
      return new Promise((resolve, reject) => {
        const argv = [opts.main ?? main, ...args];
        const child =
          opts.umask === undefined
            ? spawn(process.execPath, argv, { env: childEnv(opts.env), stdio: ['pipe', 'pipe', 'pipe'] })
            : spawn('/bin/sh', ['-c', `umask ${opts.umask} && exec "$0" "$@"`, process.execPath, ...argv], { env: childEnv(opts.env), stdio: ['pipe', 'pipe', 'pipe'] });
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
        child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
        const killer = setTimeout(() => child.kill('SIGKILL'), opts.killAfterMs ?? 20_000);
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
    },
    spawn(args, opts = {}) {
      return spawn(process.execPath, [main, ...args], { env: childEnv(opts.env), stdio: ['pipe', 'pipe', 'pipe'] });
    },
    async startMock(extra = {}) {
      await mock?.close();
      mock = await startMockLsServer({
        credentials: [
          { appKey: APP_KEY, appSecretKey: SECRET },
          { appKey: OTHER_KEY, appSecretKey: OTHER_SECRET },
        ],
        // The tests read lifetimes on the wall clock: LS's 07:00 KST cut-off would shorten them at
        // some hours of the day. The cut-off has its own tests with a pinned clock.
        cutoffKst: null,
        ...extra,
      });
      env['LS_BASE_URL'] = mock.url;
    },
    openStore(options = {}) {
      const keyv = createKeyv(fastFailRedisOptions(), { throwOnErrors: true });
      keyvs.push(keyv);
      return { keyv, store: new TokenStore({ keyv, prefix: ns, ...options }) };
    },
  };

  beforeAll(() => {
    const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
    const res = spawnSync(process.execPath, [tsc, '-p', join(ROOT, 'tsconfig.build.json'), '--outDir', join(buildDir, 'dist')], { encoding: 'utf8', cwd: ROOT });
    if (res.status !== 0) throw new Error(`build failed:\n${res.stdout}\n${res.stderr}`);
    cpSync(join(ROOT, 'package.json'), join(buildDir, 'package.json'));
  }, 60_000);

  afterAll(() => {
    rmSync(buildDir, { recursive: true, force: true });
  });

  beforeEach(async () => {
    ns = `lstest-cli-${process.pid}-${randomBytes(5).toString('hex')}`;
    env = { ...baseEnv(), LS_APPKEY: APP_KEY, LS_APPSECRETKEY: SECRET, LS_TOKEN_STORE: TEST_REDIS_URL, LS_TOKEN_NAMESPACE: ns };
    extraSecrets.length = 0;
    await h.startMock();
  });

  afterEach(async () => {
    await mock?.close();
    await Promise.all(keyvs.splice(0).map((k) => k.disconnect().catch(() => undefined)));
    await deleteRedisKeys(`${ns}:*`);
  });

  return h;
}
