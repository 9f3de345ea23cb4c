/**
 * `ls-token mock-server`, the one command-line runner of the mock (`npm run mock-server` runs the
 * same command), run as a real process through tsx: flags, the credentials file, armed faults,
 * the control endpoint, and usage errors.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { type ChildProcess, spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const MAIN = join(ROOT, 'src', 'cli', 'main.ts');
const FORM = { 'content-type': 'application/x-www-form-urlencoded' } as const;

let dir: string;
const children: ChildProcess[] = [];

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'ls-mock-cmd-'));
});
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

function runMockServer(args: readonly string[], env: Record<string, string> = {}): { child: ChildProcess; stdout: () => string; stderr: () => string; exited: Promise<number | null> } {
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN, 'mock-server', ...args], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let out = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, stdout: () => out, stderr: () => err, exited };
}

/** Waits for the whole banner (its last line is "Ctrl-C stops it"); resolves the URL it listens on. */
async function listening(run: ReturnType<typeof runMockServer>): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    const check = (): void => {
      const m = /listening on (http:\/\/127\.0\.0\.1:\d+)[\s\S]*Ctrl-C stops it\n/.exec(run.stdout());
      if (m) resolve(m[1]!);
    };
    run.child.stdout!.on('data', check);
    void run.exited.then((code) => reject(new Error(`mock-server exited ${String(code)} early: ${run.stdout()} ${run.stderr()}`)));
    check();
  });
}

function issue(url: string, appkey: string, appsecretkey: string): Promise<Response> {
  return fetch(`${url}/oauth2/token`, { method: 'POST', headers: FORM, body: new URLSearchParams({ grant_type: 'client_credentials', appkey, appsecretkey, scope: 'oob' }) });
}

describe('ls-token mock-server', () => {
  it('takes credentials from a file, lifetime field, cut-off, issue interval, faults and --control; exits 0 on SIGTERM', async () => {
    const creds = join(dir, 'creds.json');
    writeFileSync(creds, JSON.stringify([{ appKey: 'key-1', appSecretKey: 'secret-one-xyz' }, { appKey: 'paper-1', appSecretKey: 'secret-two-xyz', paper: true }]), { mode: 0o600 });
    const run = runMockServer(
      ['--port', '0', '--cutoff', 'none', '--lifetime-s', '3600', '--lifetime-field', 'expire_in', '--min-issue-interval-ms', '60000', '--fault', 'token:http500:1,tr:rate-limit', '--control'],
      { LS_MOCK_CREDENTIALS_FILE: creds },
    );
    const url = await listening(run);
    expect(run.stdout()).toContain('2 app key(s)');
    expect(run.stdout()).toContain(`control endpoint: ${url}/__mock/`);
    expect(run.stdout()).not.toContain('secret-one-xyz');

    const faulted = await issue(url, 'key-1', 'secret-one-xyz');
    expect([faulted.status, await faulted.json()]).toEqual([500, { error_code: 'IGW00002', error_description: expect.any(String) }]);
    const ok = await issue(url, 'key-1', 'secret-one-xyz');
    expect(ok.status).toBe(200);
    expect(await ok.json()).toMatchObject({ expire_in: '3600' });
    const again = await issue(url, 'key-1', 'secret-one-xyz');
    expect([again.status, again.headers.get('retry-after'), ((await again.json()) as { error_code: string }).error_code]).toEqual([403, '60', 'IGW00201']);
    const wrong = await issue(url, 'key-1', 'not-the-secret');
    expect([wrong.status, ((await wrong.json()) as { error_code: string }).error_code]).toEqual([403, 'IGW00105']);

    const state = (await (await fetch(`${url}/__mock/state`)).json()) as { cutoffKst: unknown; faults: unknown[]; stats: { issued: number } };
    expect(state).toMatchObject({ cutoffKst: null, faults: [{ fault: { endpoint: 'tr', kind: 'rate-limit' }, remaining: 1 }], stats: { issued: 1 } });

    run.child.kill('SIGTERM');
    expect(await run.exited).toBe(0);
    expect(run.stderr()).toContain('mock-server: stopping (issued 1');
  });

  it('without --control, /__mock/ answers 404', async () => {
    const run = runMockServer(['--port', '0']);
    const url = await listening(run);
    expect(run.stdout()).toContain('any app key and secret are accepted');
    expect((await fetch(`${url}/__mock/state`)).status).toBe(404);
    run.child.kill('SIGINT');
    expect(await run.exited).toBe(0);
  });

  it.each([
    [['--fault', 'token:nope'], /--fault: fault kind must be one of/],
    [['--fault', 'token'], /--fault: expected endpoint:kind\[:count\]/],
    [['--cutoff', '7:00'], /--cutoff must be HH:MM/],
    [['--lifetime-field', 'ttl'], /--lifetime-field must be expires_in or expire_in/],
    [['--credentials-file', '/nonexistent/creds.json'], /cannot read the credentials file \/nonexistent\/creds\.json \(--credentials-file\): no such file \(ENOENT\)/],
    // Secrets never go on the command line: the CLI refuses the flag and says where the secret goes.
    [['--appsecretkey', 'x'], /--appsecretkey is not accepted: a secret on the command line shows in ps; set LS_APPSECRETKEY or --appsecretkey-file/],
  ])('refuses %j with exit 2 and a message naming the flag', async (args, message) => {
    const run = runMockServer(['--port', '0', ...args]);
    expect(await run.exited).toBe(2);
    expect(run.stderr()).toMatch(message);
    expect(run.stdout()).not.toContain('listening');
  });

  it('refuses a credentials file that is not a JSON array of credentials, naming the entry', async () => {
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, JSON.stringify([{ appKey: 'k' }]), { mode: 0o600 });
    const run = runMockServer(['--port', '0', '--credentials-file', bad]);
    expect(await run.exited).toBe(2);
    expect(run.stderr()).toMatch(/credential #1 needs a non-empty appKey and appSecretKey/);
  });

  it('refuses a credentials file that group or others can read, as every secret file (unless --allow-shared-secret-file)', async () => {
    const shared = join(dir, 'shared.json');
    writeFileSync(shared, JSON.stringify([{ appKey: 'key-1', appSecretKey: 'shared-secret-xyz' }]));
    chmodSync(shared, 0o644); // whatever the umask
    const refused = runMockServer(['--port', '0', '--credentials-file', shared]);
    expect(await refused.exited).toBe(2);
    expect(refused.stderr()).toContain(`the credentials file ${shared} (--credentials-file) is open to group or others (mode 0644): chmod 600 ${shared}, or pass --allow-shared-secret-file`);
    expect(refused.stderr()).not.toContain('shared-secret-xyz');
    const allowed = runMockServer(['--port', '0', '--credentials-file', shared, '--allow-shared-secret-file']);
    await listening(allowed);
    expect(allowed.stdout()).toContain('1 app key(s)');
    allowed.child.kill('SIGTERM');
    expect(await allowed.exited).toBe(0);
  });

  it('--host 0.0.0.0 prints the address it really listens on and warns that it is not loopback', async () => {
    const run = runMockServer(['--port', '0', '--host', '0.0.0.0']);
    await new Promise<void>((resolve, reject) => {
      // The two streams are separate pipes: wait for the banner and for the warning (a missing warning fails by timeout).
      const check = (): void => {
        if (run.stdout().includes('Ctrl-C stops it') && run.stderr().includes('warning')) resolve();
      };
      run.child.stdout!.on('data', check);
      run.child.stderr!.on('data', check);
      void run.exited.then((code) => reject(new Error(`exited ${String(code)}: ${run.stderr()}`)));
    });
    expect(run.stdout()).toMatch(/listening on http:\/\/0\.0\.0\.0:\d+ \(clients on this host: http:\/\/127\.0\.0\.1:\d+\)/);
    expect(run.stderr()).toContain('warning: listening on 0.0.0.0, not a loopback address');
    run.child.kill('SIGTERM');
    expect(await run.exited).toBe(0);
  });

  it('--help lists every flag in the usage lines', async () => {
    const run = runMockServer(['--help']);
    expect(await run.exited).toBe(0);
    // The usage is generated from the option table and wrapped: it runs until the first blank line.
    const out = run.stdout();
    const usage = out.slice(0, out.indexOf('\n\n'));
    expect(usage).toMatch(/^usage: ls-token mock-server /);
    for (const flag of ['--port', '--host', '--credentials-file', '--cutoff', '--lifetime-s', '--lifetime-field', '--min-issue-interval-ms', '--latency-ms', '--reissue', '--revoke-code', '--fault', '--control']) {
      expect(usage).toContain(flag);
    }
  });

  it('is the only runner: npm run mock-server runs this command, and the old runner is gone', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string>; files: string[] };
    expect(pkg.scripts['mock-server']).toBe('tsx src/cli/main.ts mock-server');
    expect(existsSync(join(ROOT, 'src', 'testing', 'mock-server-cli.ts'))).toBe(false);
    expect(pkg.files.join(' ')).not.toContain('mock-server-cli');
  });
});
