/**
 * The small frictions of a new project, in process through `runCli`: a busy port for the mock,
 * the mock's issuance limit when there is none, an unreachable broker named by its URL, and
 * `status` saying why a refresh comes after the expiry (LS's 07:00 KST cut-off, on a pinned clock).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { PassThrough } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from '@jest/globals';
import { createKeyv } from '@keyv/redis';
import type { Keyv } from 'keyv';
import { runCli } from '../../src/cli/main.js';
import { lsProvider } from '../../src/providers/ls/ls-provider.js';
import { appKeyIdFor } from '../../src/providers/provider.js';
import { TokenStore } from '../../src/store/token-store.js';
import { TEST_REDIS_URL, deleteRedisKeys, fastFailRedisOptions } from '../helpers/store-backends.js';
import { freePort } from '../helpers/net-and-random.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const KEY = 'SMALLFRICTIONKEY0000000000000000001';
const SECRET = 'small-friction-secret-0001';
const ns = `lstest-small-${process.pid}-${randomBytes(4).toString('hex')}`;
const cleanups: Array<() => Promise<unknown> | void> = [];

afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
  await deleteRedisKeys(`${ns}:*`);
});

async function cli(args: readonly string[], env: Record<string, string> = {}, now?: () => number): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const stdin = new PassThrough();
  stdin.end('');
  const code = await runCli(
    args,
    { stdout: { write: (t: string) => (stdout += t) }, stderr: { write: (t: string) => (stderr += t) }, stdin, env: { LS_APPKEY: KEY, LS_APPSECRETKEY: SECRET, LS_TOKEN_NAMESPACE: ns, ...env } },
    now === undefined ? {} : { now },
  );
  return { code, stdout, stderr };
}

describe('mock-server', () => {
  it('a busy port is a usage error naming it, exit 2 (not "unexpected error: EADDRINUSE")', async () => {
    const busy = createServer();
    await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise((resolve) => busy.close(resolve)));
    const port = (busy.address() as { port: number }).port;
    const r = await cli(['mock-server', '--port', String(port)]);
    expect(r).toEqual({ code: 2, stdout: '', stderr: `ls-token: ERR_INVALID_OPTION: 127.0.0.1:${port} is already in use (another mock or server?): give another --port, or --port 0 for any free one\n` });
  });

  it('says "no issuance limit" rather than "one issuance per app key per 0 ms"', async () => {
    const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'src', 'cli', 'main.ts'), 'mock-server', '--port', String(await freePort())], {
      cwd: ROOT,
      env: { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    cleanups.push(() => void (child.exitCode === null && child.kill('SIGKILL')));
    let out = '';
    let err = '';
    child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    const exited = new Promise<number | string | null>((resolve) => child.on('exit', (code, signal) => resolve(code ?? `killed by ${signal}; stderr: ${err}`)));
    await new Promise<void>((resolve, reject) => {
      child.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('Ctrl-C stops it')) resolve();
      });
      void exited.then(() => reject(new Error(`exited early: ${out}`)));
    });
    expect(out).toContain('  tokens die at 07:00 KST; no issuance limit (--min-issue-interval-ms sets one)\n');
    expect(out).not.toContain('per 0 ms');
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  }, 30_000);
});

describe('ERR_NETWORK', () => {
  it('names the URL it could not reach (origin and path only)', async () => {
    const port = await freePort(); // nothing listens there
    const r = await cli(['issue', '--store', 'memory', '--deadline-ms', '0'], { LS_BASE_URL: `http://127.0.0.1:${port}` });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`ls-token: ERR_NETWORK: LS token failed: ECONNREFUSED (http://127.0.0.1:${port}/oauth2/token)\n`);
  });
});

describe('status', () => {
  it('lists the token\'s times in order, and says why the refresh comes after the expiry at LS\'s cut-off', async () => {
    const issuedAt = Date.parse('2026-12-01T12:00:00+09:00');
    const expiresAt = Date.parse('2026-12-02T06:59:59+09:00');
    const baseUrl = 'http://127.0.0.1:9'; // never called: status reads the store only
    const keyv: Keyv = createKeyv(fastFailRedisOptions(), { throwOnErrors: true });
    cleanups.push(() => keyv.disconnect());
    const store = new TokenStore({ keyv, prefix: ns });
    await store.put({ appKeyId: appKeyIdFor(lsProvider, KEY, baseUrl), tokenType: 'Bearer', issuedAt, expiresAt, revokeAt: expiresAt, ownerId: 'daemon-gone' }, 'opaque-test-token-value-0001');
    const r = await cli(['status', '--utc'], { LS_TOKEN_STORE: TEST_REDIS_URL, LS_BASE_URL: baseUrl }, () => issuedAt + 5_000);
    expect(r.code).toBe(0);
    const lines = r.stdout.split('\n');
    const at = lines.findIndex((l) => l.includes('would adopt'));
    expect(lines.slice(at + 1, at + 4).map((l) => l.trim().split(/\s+/)[0])).toEqual(['revoke', 'expires', 'refresh']);
    expect(lines[at + 3]).toMatch(/refresh +2026-12-01 22:00:00 UTC .*\(after it expires: a successor issued before would die with it\)$/);
  });
});
