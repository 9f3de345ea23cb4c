/**
 * The CLI's edges: usage generated from the option table that parses, `--json` on every failure,
 * messages that name the flag, variable or path at fault, and commands that refuse to read a store
 * they were not pointed at.
 */
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { COMMANDS, flagOptions } from '../../src/cli/args.js';
import { runCli } from '../../src/cli/main.js';
import { APP_KEY, SECRET, lastLine, useCliHarness } from './harness.js';

const h = useCliHarness();

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'ls-token-cli-usage-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** The `usage:` block of a help text (the line and its continuation lines). */
function usageBlock(help: string): string {
  const lines = help.split('\n');
  const end = lines.indexOf('');
  return lines.slice(0, end).join('\n');
}

describe('usage', () => {
  it('no command: the general usage on stderr, nothing on stdout, exit 2', async () => {
    const r = await h.run([]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^usage: ls-token <command> \[options\]\n/);
    expect(r.stderr).toContain('exit codes:');
  });

  it('every usage line lists every flag of the option table, and the parser accepts each of them', async () => {
    const helps = await Promise.all(COMMANDS.map((c) => h.run([c.name, '--help'])));
    COMMANDS.forEach((c, i) => {
      const r = helps[i]!;
      expect(r.code).toBe(0);
      const usage = usageBlock(r.stdout);
      expect(usage.startsWith(`usage: ls-token ${c.name}`)).toBe(true);
      for (const [name, o] of flagOptions(c)) {
        expect({ command: c.name, listed: usage.includes(`--${name}${o.arg === undefined ? ']' : ` ${o.arg}]`}`) }).toEqual({ command: c.name, listed: true });
        expect(r.stdout).toContain(`--${name}`); // and described under options
      }
      for (const line of usage.split('\n')) expect(line.length).toBeLessThanOrEqual(100);
    });
    // Flags that the hand-written usage lines used to leave out are there and parse.
    const statusUsage = usageBlock(helps[COMMANDS.findIndex((c) => c.name === 'status')]!.stdout);
    const sweepUsage = usageBlock(helps[COMMANDS.findIndex((c) => c.name === 'sweep')]!.stdout);
    expect(statusUsage).toContain('[--refresh-margin-ms <ms>]');
    expect(sweepUsage).toContain('[--concurrency <n>]');
    const [status, sweep] = await Promise.all([
      h.run(['status', '--refresh-margin-ms', '1000', '--json']),
      h.run(['sweep', '--concurrency', '2', '--deadline-ms', '1000', '--json']),
    ]);
    expect([status.code, sweep.code]).toEqual([0, 0]);
    // Secrets have no flag: not in any usage line, but their variable and file flag are in the help.
    const issueHelp = helps[0]!.stdout;
    expect(issueHelp).not.toMatch(/--appsecretkey[ \]]/);
    expect(issueHelp).not.toMatch(/--encryption-key[ \]]/);
    expect(issueHelp).toContain('LS_APPSECRETKEY or --appsecretkey-file <path>: LS app secret');
    expect(issueHelp).toContain('LS_TOKEN_ENCRYPTION_KEY or --encryption-key-file <path>');
  });
});

describe('--json on failures', () => {
  it('puts {"error": {code, message, exitCode}} on stdout for every failure and keeps the exit codes', async () => {
    const notLs = 'not-an-ls-token-at-all';
    const wrong = 'WRONG-SECRET-THAT-MUST-NOT-PRINT-04';
    h.extraSecrets.push(wrong);
    const cases: Array<[readonly string[], { env?: Record<string, string | undefined>; stdin?: string }, number, string]> = [
      [['--json', 'list'], {}, 2, 'ERR_INVALID_OPTION'],
      [['isue', '--json'], {}, 2, 'ERR_INVALID_OPTION'],
      [['list', '--json', '--bogus'], {}, 2, 'ERR_INVALID_OPTION'],
      [['issue', '--json'], { env: { LS_APPSECRETKEY: undefined } }, 2, 'ERR_INVALID_OPTION'],
      [['list', '--json'], { env: { LS_TOKEN_STORE: undefined } }, 2, 'ERR_INVALID_OPTION'],
      [['revoke', '-', '--json'], { stdin: notLs }, 2, 'ERR_INVALID_TOKEN'],
      [['issue', '--new', '--json'], { env: { LS_APPSECRETKEY: wrong } }, 1, 'ERR_INVALID_CREDENTIALS'],
      [['revoke', '--id', 'abcdef0123', '--json'], {}, 1, 'ERR_NOT_FOUND'],
      [['list', '--json', '--store', 'redis://127.0.0.1:1'], {}, 1, 'ERR_STORE'],
    ];
    const results = await Promise.all(cases.map(([args, opts]) => h.run(args, opts)));
    results.forEach((r, i) => {
      const [args, , code, errorCode] = cases[i]!;
      expect({ args, code: r.code }).toEqual({ args, code });
      const parsed = JSON.parse(r.stdout) as { error: { code: string; message: string; exitCode: number } };
      expect(parsed.error).toMatchObject({ code: errorCode, exitCode: code });
      expect(typeof parsed.error.message).toBe('string');
      expect(r.stderr).toContain(`ls-token: ${errorCode}: ${parsed.error.message}`); // the same line for people
      expect(r.stdout).not.toContain(notLs);
    });
  });
});

describe('messages name the flag, variable or path', () => {
  it('a missing secret file names the flag or variable and the path', async () => {
    const [flag, env] = await Promise.all([
      h.run(['issue', '--appsecretkey-file', '/nope/secret']),
      h.run(['issue'], { env: { LS_APPSECRETKEY: undefined, LS_APPSECRETKEY_FILE: '/nope/secret' } }),
    ]);
    expect(flag.code).toBe(2);
    expect(flag.stderr.trim()).toBe('ls-token: ERR_INVALID_OPTION: cannot read the app secret file /nope/secret (--appsecretkey-file): no such file (ENOENT)');
    expect(env.code).toBe(2);
    expect(env.stderr.trim()).toBe('ls-token: ERR_INVALID_OPTION: cannot read the app secret file /nope/secret (LS_APPSECRETKEY_FILE): no such file (ENOENT)');
  });

  it('revoke without a token says how to give one, not "not both"', async () => {
    // Over a pipe that is empty:
    const piped = await h.run(['revoke'], { stdin: '' });
    expect(piped.code).toBe(2);
    expect(piped.stderr.trim()).toBe('ls-token: ERR_INVALID_OPTION: no token on stdin');
    // On a terminal (nothing piped): in process, with a TTY-like stdin.
    const stdin = Object.assign(new PassThrough(), { isTTY: true });
    let stdout = '';
    let stderr = '';
    const code = await runCli(['revoke'], {
      stdout: { write: (t: string) => (stdout += t) },
      stderr: { write: (t: string) => (stderr += t) },
      stdin,
      env: { LS_APPKEY: APP_KEY, LS_APPSECRETKEY: SECRET },
    });
    expect({ code, stdout }).toEqual({ code: 2, stdout: '' });
    expect(stderr).toBe(
      'ls-token: ERR_INVALID_OPTION: which token? pipe it on stdin ("ls-token revoke -"), or give --token-file <path> or --id <fingerprint>\n',
    );
    expect(stderr).not.toContain('not both');
  });

  it('--base-url http:// to a remote host points at --allow-insecure-http, which the CLI has', async () => {
    const [refused, allowed] = await Promise.all([
      h.run(['issue', '--base-url', 'http://192.0.2.1:8080']),
      // TEST-NET-1 never answers: the request goes out (the flag works) and times out.
      h.run(['issue', '--base-url', 'http://192.0.2.1:8080', '--allow-insecure-http', '--timeout-ms', '300', '--deadline-ms', '0', '--store', 'memory']),
    ]);
    expect(refused.code).toBe(2);
    expect(refused.stderr.trim()).toBe(
      'ls-token: ERR_INVALID_OPTION: --base-url uses plain http to a host that is not loopback, so the app secret would cross the network in clear: use https, or add --allow-insecure-http if you mean it',
    );
    expect(refused.stderr).not.toContain('allowInsecureHttp');
    expect(allowed.code).toBe(1);
    expect(lastLine(allowed.stderr)).toMatch(/^ls-token: ERR_(TIMEOUT|NETWORK): /);
  });

  it('a bad number names the flag or the variable it came from', async () => {
    const [flag, env] = await Promise.all([h.run(['issue', '--timeout-ms', 'soon']), h.run(['issue'], { env: { LS_TIMEOUT_MS: '-5' } })]);
    expect(flag.stderr.trim()).toBe('ls-token: ERR_INVALID_OPTION: --timeout-ms must be an integer from 1 to 600000');
    expect(env.stderr.trim()).toBe('ls-token: ERR_INVALID_OPTION: LS_TIMEOUT_MS must be an integer from 1 to 600000');
    expect([flag.code, env.code]).toEqual([2, 2]);
  });
});

describe('list, status and sweep need the daemons\' store', () => {
  it('refuse without a store, or with the empty memory store, exit 2, saying how to point at one', async () => {
    const noStore = { LS_TOKEN_STORE: undefined };
    const results = await Promise.all([
      h.run(['list'], { env: noStore }),
      h.run(['status'], { env: noStore }),
      h.run(['sweep'], { env: noStore }),
      h.run(['list', '--store', 'memory']),
      h.run(['list'], { env: { LS_TOKEN_STORE: 'memory' } }),
    ]);
    for (const [i, r] of results.entries()) {
      expect({ i, code: r.code, stdout: r.stdout }).toEqual({ i, code: 2, stdout: '' });
      expect(r.stderr).toContain('point it at your daemons\' store with --store <url> or LS_TOKEN_STORE (redis://host:6379, sqlite://<path>)');
    }
    expect(results[0]!.stderr.trim()).toMatch(/^ls-token: ERR_INVALID_OPTION: "list" reads the token store and no store given: /);
    expect(results[2]!.stderr).toContain('"sweep" reads the token store');
    expect(results[3]!.stderr).toContain('--store is memory, which is empty in a new process');
    expect(results[4]!.stderr).toContain('LS_TOKEN_STORE is memory, which is empty in a new process');
    expect(h.mock.stats().revokeRequests).toBe(0);
  });

  it('refuse a sqlite:// path where there is no file (a typo would otherwise read as "no tokens")', async () => {
    const file = join(dir, 'typo.sqlite');
    const r = await h.run(['list', '--store', `sqlite://${file}`]);
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toBe(`ls-token: ERR_INVALID_OPTION: --store: no store file at ${file} (ENOENT): check the path (this command only reads a store)`);
  });

  it('warn when an existing store file is open to group or others', async () => {
    const file = join(dir, 'shared.sqlite');
    writeFileSync(file, '');
    chmodSync(file, 0o644);
    const r = await h.run(['list', '--store', `sqlite://${file}`]);
    expect(r.code).toBe(0);
    expect(r.stderr.trim()).toBe(`ls-token: warning: ${file} holds tokens and is open to group or others (mode 0644): chmod 600 ${file}`);
  });
});
