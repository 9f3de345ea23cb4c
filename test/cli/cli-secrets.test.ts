/**
 * Secrets stay off the command line and out of files others can read:
 * - the app secret and the encryption key come only from the environment, a private file or
 *   stdin; their old flags are refused with a line saying where the secret goes;
 * - `revoke` reads the raw token from stdin or `--token-file`, never from an argument;
 * - a running command's /proc/<pid>/cmdline holds neither the secret nor the token;
 * - secret and token files open to group or others are refused, naming the path;
 * - the SQLite store file the CLI creates is 0600 whatever the umask.
 */
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { tokenId } from '../../src/core/fingerprint.js';
import { ENCRYPTION_KEY, SECRET, lastLine, seedToken, useCliHarness } from './harness.js';

const h = useCliHarness();

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'ls-token-cli-secrets-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** Writes `content` to a new file in the test directory with `mode` (set explicitly: umask-proof). */
function fileWith(name: string, content: string, mode: number): string {
  const path = join(dir, name);
  writeFileSync(path, `${content}\n`);
  chmodSync(path, mode);
  return path;
}

/** Polls `check` every 20 ms until it is true, for at most `ms`. */
async function until(check: () => boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('secrets never on the command line', () => {
  it('refuses --appsecretkey and --encryption-key in any form and command, saying where the secret goes', async () => {
    const sentinel = 'SECRET-ON-THE-COMMAND-LINE-0123456789';
    h.extraSecrets.push(sentinel);
    const [spaced, joined, first, encryption, listing, json] = await Promise.all([
      h.run(['issue', '--appsecretkey', sentinel]),
      h.run(['issue', `--appsecretkey=${sentinel}`]),
      h.run([`--appsecretkey=${sentinel}`, 'issue']),
      h.run(['issue', '--encryption-key', sentinel]),
      h.run(['list', `--encryption-key=${sentinel}`]),
      h.run(['sweep', '--json', '--appsecretkey', sentinel]),
    ]);
    const appSecretLine =
      'ls-token: ERR_INVALID_OPTION: --appsecretkey is not accepted: a secret on the command line shows in ps; set LS_APPSECRETKEY or --appsecretkey-file <path>\n';
    const keyLine =
      'ls-token: ERR_INVALID_OPTION: --encryption-key is not accepted: a secret on the command line shows in ps; set LS_TOKEN_ENCRYPTION_KEY or --encryption-key-file <path>\n';
    for (const [r, line] of [
      [spaced, appSecretLine],
      [joined, appSecretLine],
      [first, appSecretLine],
      [encryption, keyLine],
      [listing, keyLine],
      [json, appSecretLine],
    ] as const) {
      expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 2, stderr: line });
    }
    expect(JSON.parse(json.stdout)).toMatchObject({ error: { code: 'ERR_INVALID_OPTION', field: 'appsecretkey', exitCode: 2 } });
    expect(h.mock.stats().tokenRequests).toBe(0);
  });

  it('reads the app secret from the environment, a 0600 file (flag or variable) or stdin; the file flag wins', async () => {
    const file = fileWith('secret', SECRET, 0o600);
    const [viaFlag, viaEnvFile, viaStdin, bothEnv] = await Promise.all([
      h.run(['issue', '--json', '--appsecretkey-file', file], { env: { LS_APPSECRETKEY: 'env-secret-is-wrong-and-ignored' } }),
      h.run(['issue', '--json'], { env: { LS_APPSECRETKEY: undefined, LS_APPSECRETKEY_FILE: file } }),
      h.run(['issue', '--json', '--appsecretkey-file', '-'], { env: { LS_APPSECRETKEY: undefined }, stdin: `${SECRET}\n` }),
      h.run(['issue'], { env: { LS_APPSECRETKEY_FILE: file } }),
    ]);
    for (const r of [viaFlag, viaEnvFile, viaStdin]) {
      expect(r.code).toBe(0);
      expect(JSON.parse(r.stdout)).toMatchObject({ fingerprint: expect.any(String) });
    }
    expect(bothEnv.code).toBe(2);
    expect(bothEnv.stderr.trim()).toBe('ls-token: ERR_INVALID_OPTION: both LS_APPSECRETKEY and LS_APPSECRETKEY_FILE are set: unset one');
  });

  it('stdin gives one thing: the token of revoke - cannot also be the secret', async () => {
    const r = await h.run(['revoke', '-', '--appsecretkey-file', '-'], { env: { LS_APPSECRETKEY: undefined }, stdin: 'x' });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('stdin already gives the token: give the app secret another way (a file or the environment)');
  });

  it('neither the app secret nor the token is in /proc/<pid>/cmdline of a running command', async () => {
    const secretFile = fileWith('secret', SECRET, 0o600);
    const { store } = h.openStore();
    const { token } = await seedToken(h.mock, store);
    h.mock.inject({ endpoint: 'any', kind: 'hang', count: 2 });
    const env = { LS_APPSECRETKEY: undefined };
    const issuing = h.spawn(['issue', '--new', '--appsecretkey-file', secretFile, '--timeout-ms', '30000'], { env });
    const revoking = h.spawn(['revoke', '-', '--appsecretkey-file', secretFile, '--timeout-ms', '30000'], { env });
    revoking.stdin.end(`${token}\n`);
    try {
      // Both are waiting on the hung mock: the request is out, so every secret has been read.
      await until(() => h.mock.stats().tokenRequests >= 1 && h.mock.stats().revokeRequests >= 1);
      const issueCmdline = readFileSync(`/proc/${issuing.pid}/cmdline`, 'utf8').split('\0');
      const revokeCmdline = readFileSync(`/proc/${revoking.pid}/cmdline`, 'utf8').split('\0');
      expect(issueCmdline).toContain('issue'); // the right processes
      expect(revokeCmdline).toContain('revoke');
      for (const cmdline of [issueCmdline, revokeCmdline]) {
        expect(cmdline.join(' ')).not.toContain(SECRET);
        expect(cmdline.join(' ')).not.toContain(token);
        expect(cmdline.join(' ')).not.toContain(ENCRYPTION_KEY);
      }
      expect([issuing.exitCode, revoking.exitCode]).toEqual([null, null]); // still running, still waiting
    } finally {
      issuing.kill('SIGKILL');
      revoking.kill('SIGKILL');
    }
  });
});

describe('secret and token files must be private', () => {
  it('refuses files open to group or others, naming the flag or variable and the path, unless --allow-shared-secret-file', async () => {
    const shared = fileWith('shared-secret', SECRET, 0o644);
    const groupOnly = fileWith('group-secret', SECRET, 0o640);
    const sharedKey = fileWith('shared-key', ENCRYPTION_KEY, 0o604);
    const [flag, env, group, key, allowed] = await Promise.all([
      h.run(['issue', '--appsecretkey-file', shared], { env: { LS_APPSECRETKEY: undefined } }),
      h.run(['issue'], { env: { LS_APPSECRETKEY: undefined, LS_APPSECRETKEY_FILE: shared } }),
      h.run(['issue', '--appsecretkey-file', groupOnly], { env: { LS_APPSECRETKEY: undefined } }),
      h.run(['list', '--encryption-key-file', sharedKey]),
      h.run(['issue', '--json', '--appsecretkey-file', shared, '--allow-shared-secret-file'], { env: { LS_APPSECRETKEY: undefined } }),
    ]);
    expect(flag.stderr.trim()).toBe(
      `ls-token: ERR_INVALID_OPTION: the app secret file ${shared} (--appsecretkey-file) is open to group or others (mode 0644): chmod 600 ${shared}, or pass --allow-shared-secret-file`,
    );
    expect(env.stderr.trim()).toBe(
      `ls-token: ERR_INVALID_OPTION: the app secret file ${shared} (LS_APPSECRETKEY_FILE) is open to group or others (mode 0644): chmod 600 ${shared}, or pass --allow-shared-secret-file`,
    );
    expect(group.stderr).toContain(`${groupOnly} (--appsecretkey-file) is open to group or others (mode 0640)`);
    expect(key.stderr).toContain(`the encryption key file ${sharedKey} (--encryption-key-file) is open to group or others (mode 0604)`);
    expect([flag.code, env.code, group.code, key.code]).toEqual([2, 2, 2, 2]);
    expect(allowed.code).toBe(0);
    expect(h.mock.stats().issued).toBe(1); // only the allowed run sent anything
  });

  it('reads the encryption key from a file: tokens are sealed with it', async () => {
    const keyFile = fileWith('key', ENCRYPTION_KEY, 0o600);
    const r = await h.run(['issue', '--json', '--encryption-key-file', keyFile]);
    expect(r.code).toBe(0);
    const { id } = JSON.parse(r.stdout) as { id: string };
    const token = h.mock.activeTokens()[0]!;
    expect(id).toBe(tokenId(token));
    expect(await h.openStore({ encryptionKey: ENCRYPTION_KEY }).store.getToken(id)).toBe(token);
    await expect(h.openStore({ encryptionKey: 'cd'.repeat(32) }).store.getToken(id)).rejects.toMatchObject({ code: 'ERR_DECRYPT' });
  });

  it('revoke --token-file reads a private token file and refuses a shared one', async () => {
    await h.startMock({ reissue: 'independent' });
    const { store } = h.openStore();
    const a = await seedToken(h.mock, store);
    const b = await seedToken(h.mock, store);
    const privateFile = fileWith('token-a', a.token, 0o600);
    const sharedFile = fileWith('token-b', b.token, 0o644);
    const [ok, refused] = await Promise.all([h.run(['revoke', '--token-file', privateFile]), h.run(['revoke', '--token-file', sharedFile])]);
    expect(ok.code).toBe(0);
    expect(lastLine(ok.stdout)).toMatch(/^revoked [0-9a-f]{12} \(LS confirmed, 1 attempt, \d+ ms\)$/);
    expect(h.mock.isActive(a.token)).toBe(false);
    expect(refused.code).toBe(2);
    expect(refused.stderr.trim()).toBe(
      `ls-token: ERR_INVALID_OPTION: the token file ${sharedFile} (--token-file) is open to group or others (mode 0644): chmod 600 ${sharedFile}, or pass --allow-shared-secret-file`,
    );
    expect(h.mock.isActive(b.token)).toBe(true);
  });
});

describe('the SQLite store file', () => {
  it('is created 0600 whatever the umask, and the CLI can use it', async () => {
    const file = join(dir, 'tokens.sqlite');
    const url = `sqlite://${file}`;
    const issued = await h.run(['issue', '--store', url], { umask: '000' });
    expect(issued.code).toBe(0);
    expect(issued.stderr).toBe('');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const listed = await h.run(['list', '--store', url, '--json'], { umask: '000' });
    expect(listed.code).toBe(0);
    expect((JSON.parse(listed.stdout) as unknown[]).length).toBe(1);
    expect(statSync(file).mode & 0o777).toBe(0o600);
  });
});
