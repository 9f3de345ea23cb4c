/**
 * The CLI with `--provider` (and `LS_PROVIDER`): each broker's own credential variables, its
 * records kept apart from LS's in one Redis, its local token check before a revoke, and
 * `mock-server --provider`. In process through `runCli` (the mock server runs as a real process,
 * through tsx, since it waits for a signal).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { dirname, join } from 'node:path';
import { PassThrough } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { runCli } from '../../src/cli/main.js';
import { startMockKisServer, startMockKiwoomServer, type MockBrokerServer, type MockModel } from '../../src/testing/index.js';
import { TEST_REDIS_URL, deleteRedisKeys } from '../helpers/store-backends.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const KEY = 'PScliProviderKey00000000000000000001';
const SECRET = 'CLI-PROVIDER-SECRET-'.padEnd(120, 'x'); // longer than LS allows, as KIS's may be

let ns: string;
const servers: MockBrokerServer<MockModel>[] = [];
const children: ChildProcess[] = [];

beforeEach(() => {
  ns = `lstest-cliprov-${process.pid}-${randomBytes(4).toString('hex')}`;
});
afterEach(async () => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await Promise.all(servers.splice(0).map((s) => s.close()));
  await deleteRedisKeys(`${ns}:*`);
});

async function cli(args: readonly string[], env: Record<string, string>, stdin = ''): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const input = new PassThrough();
  input.end(stdin);
  const code = await runCli(args, {
    stdout: { write: (t: string) => (stdout += t) },
    stderr: { write: (t: string) => (stderr += t) },
    stdin: input,
    env: { LS_TOKEN_STORE: TEST_REDIS_URL, LS_TOKEN_NAMESPACE: ns, ...env },
  });
  const all = stdout + stderr;
  expect(all).not.toContain(SECRET);
  expect(all).not.toContain(KEY);
  return { code, stdout, stderr };
}

describe('--provider kis', () => {
  it('reads KIS_APPKEY / KIS_APPSECRET, issues, lists its records apart from LS\'s, and revokes by id', async () => {
    const mock = await startMockKisServer({ credentials: [{ appKey: KEY, appSecretKey: SECRET }] });
    servers.push(mock);
    const env = { LS_BASE_URL: mock.url, KIS_APPKEY: KEY, KIS_APPSECRET: SECRET };
    const issued = await cli(['issue', '--provider', 'kis', '--json'], env);
    expect(issued.code).toBe(0);
    const { id } = JSON.parse(issued.stdout) as { id: string };
    expect(mock.stats()).toMatchObject({ issued: 1 });
    const kisList = await cli(['list', '--provider', 'kis', '--json'], env);
    expect((JSON.parse(kisList.stdout) as { id: string }[]).map((r) => r.id)).toEqual([id]);
    // The same app key string under LS is another key: no record of it.
    const lsList = await cli(['list', '--json'], { LS_APPKEY: KEY });
    expect(JSON.parse(lsList.stdout)).toEqual([]);
    const status = await cli(['status', '--provider', 'kis'], env);
    expect(status.stdout).toContain(`would adopt ${id.slice(0, 12)}`);
    const revoked = await cli(['revoke', '--provider', 'kis', '--id', id.slice(0, 12)], env);
    expect(revoked.code).toBe(0);
    expect(revoked.stdout).toContain('(KIS confirmed');
    expect(mock.activeTokens()).toEqual([]);
  });

  it('LS_PROVIDER picks it too; an unknown provider is a usage error naming where it came from', async () => {
    const bad = await cli(['issue'], { LS_PROVIDER: 'toss', LS_APPKEY: 'k', LS_APPSECRETKEY: 's' });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('LS_PROVIDER must be ls, kis, kiwoom');
    const noSecret = await cli(['issue', '--provider', 'kis'], { KIS_APPKEY: 'k' });
    expect(noSecret.code).toBe(2);
    expect(noSecret.stderr).toContain('no app secret: set KIS_APPSECRET, LS_APPSECRETKEY or --appsecretkey-file <path>');
  });
});

describe('--provider kiwoom', () => {
  it('reads KIWOOM_APPKEY / KIWOOM_SECRETKEY; revoke refuses a JWT (another broker\'s token) before sending, and revokes its own', async () => {
    const mock = await startMockKiwoomServer({ credentials: [{ appKey: KEY, appSecretKey: SECRET }] });
    servers.push(mock);
    const env = { LS_PROVIDER: 'kiwoom', LS_BASE_URL: mock.url, KIWOOM_APPKEY: KEY, KIWOOM_SECRETKEY: SECRET };
    const issued = await cli(['issue', '--json'], env);
    expect(issued.code).toBe(0);
    const token = mock.activeTokens()[0]!;
    const foreign = await cli(['revoke', '-'], env, 'eyJ0eXAiOiJKV1QiLCJhbGciOiJIUzUxMiJ9.eyJleHAiOjF9.c2ln\n');
    expect(foreign.code).toBe(2);
    expect(foreign.stderr).toContain('token is not a Kiwoom access token of this app key');
    expect(mock.stats().revokeRequests).toBe(0);
    const own = await cli(['revoke', '-'], env, `${token}\n`);
    expect(own.code).toBe(0);
    expect(own.stdout).toContain('(Kiwoom confirmed');
    expect(mock.isActive(token)).toBe(false);
  });
});

describe('mock-server --provider', () => {
  function run(args: readonly string[]): { child: ChildProcess; out: () => string; exited: Promise<number | null> } {
    const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'src', 'cli', 'main.ts'), 'mock-server', ...args], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(child);
    let out = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    return { child, out: () => out, exited: new Promise((resolve) => child.on('exit', (code) => resolve(code))) };
  }

  it('kis: serves tokenP with the KIS rules and prints the KIS variables to export', async () => {
    const r = run(['--provider', 'kis', '--port', '0']);
    const url = await new Promise<string>((resolve, reject) => {
      const check = (): void => {
        const m = /mock KIS server listening on (http:\/\/127\.0\.0\.1:\d+)[\s\S]*Ctrl-C stops it\n/.exec(r.out());
        if (m) resolve(m[1]!);
      };
      r.child.stdout!.on('data', check);
      void r.exited.then((code) => reject(new Error(`exited ${String(code)}: ${r.out()}`)));
    });
    expect(r.out()).toContain('KIS_APPKEY=demo-app-key KIS_APPSECRET=demo-app-secret');
    expect(r.out()).toContain('one issuance per app key per 60000 ms');
    const post = (): Promise<Response> =>
      fetch(`${url}/oauth2/tokenP`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ grant_type: 'client_credentials', appkey: 'k', appsecret: 's' }) });
    expect((await post()).status).toBe(200);
    expect(((await (await post()).json()) as { error_code?: string }).error_code).toBe('EGW00133');
    r.child.kill('SIGTERM');
    expect(await r.exited).toBe(0);
  });

  it('kiwoom refuses LS\'s own options', async () => {
    const r = run(['--provider', 'kiwoom', '--port', '0', '--cutoff', '07:00']);
    expect(await r.exited).toBe(2);
    expect(r.out()).toContain('--cutoff is not an option of the Kiwoom mock');
  });
});
