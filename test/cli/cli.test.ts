/**
 * The `ls-token` CLI as operators run it: the built CLI as a real process against the LS mock and
 * a real Redis (see `harness.ts`). This file: the commands' normal behaviour. Usage and JSON
 * errors are in `cli-usage.test.ts`, secrets and file modes in `cli-secrets.test.ts`, retries and
 * tokens left alive in `cli-retry.test.ts`.
 */
import { cpSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { describe, expect, it } from '@jest/globals';
import { shortId, tokenId } from '../../src/core/fingerprint.js';
import { appKeyIdFor } from '../../src/providers/provider.js';
import { lsProvider } from '../../src/providers/ls/ls-provider.js';
import type { TokenRecord } from '../../src/store/token-record.js';
import { Progress } from '../../src/cli/progress.js';
import { TokenPolicy } from '../../src/lifecycle/token-policy.js';
import { LS_DAILY_CUTOFF, LS_MAX_LIFETIME_MS } from '../../src/providers/ls/ls-provider.js';
import { APP_KEY, ENCRYPTION_KEY, HOUR, OTHER_KEY, OTHER_SECRET, ROOT, SECRET, TEST_REDIS_URL, baseEnv, hold, lastLine, seedToken as seed, useCliHarness } from './harness.js';

const h = useCliHarness();
const run = h.run;
const openStore = h.openStore;
const startMock = h.startMock;
const seedToken: (store: Parameters<typeof seed>[1], over?: Parameters<typeof seed>[2]) => ReturnType<typeof seed> = (store, over) => seed(h.mock, store, over);

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
      run(['--utc', 'list']),
    ]);
    expect(help.code).toBe(0);
    for (const c of ['issue', 'revoke', 'list', 'sweep', 'status', 'mock-server']) expect(help.stdout).toContain(c);
    expect(help.stdout).toMatch(/exit codes:\n {2}0 {2}done.*\n {2}1 {2}failed or partly failed.*\n {2}2 {2}usage, configuration or input error/);
    expect(cmdHelp.code).toBe(0);
    expect(cmdHelp.stdout).toContain('--keep-shared');
    expect(cmdHelp.stdout).toContain('[env LS_TOKEN_STORE]');

    for (const [r, text] of [
      [unknownCmd, 'unknown command "isue"'],
      [unknownOpt, 'unknown option --bogus'],
      [extraArg, '"list" takes no arguments'],
      [noKey, 'no app key: set --appkey or LS_APPKEY'],
      [noSecret, 'no app secret: set LS_APPSECRETKEY or --appsecretkey-file <path>'],
      [badStore, '--store: the store must be redis://'],
      [optFirst, 'the command must come first, e.g. "ls-token list --utc"'],
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
      cpSync(join(h.buildDir, 'dist'), join(dir, 'dist'), { recursive: true });
      cpSync(join(ROOT, 'package.json'), join(dir, 'package.json'));
      mkdirSync(join(dir, 'node_modules', '@keyv'), { recursive: true });
      for (const dep of ['axios', 'keyv', 'p-retry', 'eventemitter3', '@keyv/serialize']) {
        symlinkSync(join(ROOT, 'node_modules', dep), join(dir, 'node_modules', dep), 'dir');
      }
      const main = join(dir, 'dist', 'cli', 'main.js');
      const [redis, sqlite, memory] = await Promise.all([
        run(['issue'], { main }),
        run(['issue', '--store', `sqlite://${join(dir, 'x.sqlite')}`], { main }),
        run(['issue', '--store', 'memory', '--json'], { main }),
      ]);
      expect(redis.code).toBe(2);
      expect(redis.stderr.trim()).toBe(
        'ls-token: ERR_INVALID_OPTION: a redis:// store needs the optional package @keyv/redis, which is not installed: npm install @keyv/redis',
      );
      expect(sqlite.code).toBe(2);
      expect(sqlite.stderr).toContain('npm install @keyv/sqlite');
      // The memory store needs no adapter: the runtime dependencies are enough (with a note that
      // nothing is recorded).
      expect(memory.code).toBe(0);
      expect(JSON.parse(memory.stdout)).toMatchObject({ source: 'issued' });
      expect(memory.stderr).toContain('ls-token: note: no store: nothing is recorded where daemons or "sweep" can see it (an issued token stays alive, untracked)');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('reports rejected credentials as one line with the LS code, exit 1, never echoing the secret', async () => {
    const wrong = 'WRONG-SECRET-THAT-MUST-NOT-PRINT-01';
    h.extraSecrets.push(wrong);
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
    const [token] = h.mock.activeTokens();
    expect(token).toBeDefined();
    const id = tokenId(token!);
    expect(r.stdout).toContain(`issued new token ${shortId(id)}`);
    expect(r.stdout).toMatch(/expires +\d{4}-\d\d-\d\d \d\d:\d\d:\d\d KST \(in 23h5\dm\)/);
    expect(r.stdout).toContain('revokeAt');
    const { store } = openStore();
    const record = await store.get(id);
    expect(record).toMatchObject({ state: 'active', appKeyId: appKeyIdFor(lsProvider, APP_KEY, h.mock.url) });
    expect(record!.ownerId).toMatch(/^ls-token-cli-/);
    // The command leaves the token alive: it is not revoked at exit.
    expect(h.mock.isActive(token!)).toBe(true);
    expect(h.mock.stats().revokeRequests).toBe(0);
  });

  it('adopts a valid stored token; --new issues another, which kills the first at LS', async () => {
    const first = await run(['issue', '--json']);
    const second = await run(['issue', '--json']);
    expect([first.code, second.code]).toEqual([0, 0]);
    const a = JSON.parse(first.stdout) as { id: string; source: string };
    const b = JSON.parse(second.stdout) as { id: string; source: string };
    expect(a.source).toBe('issued');
    expect(b).toMatchObject({ id: a.id, source: 'adopted' });
    expect(h.mock.stats().issued).toBe(1);

    const third = await run(['issue', '--new', '--json']);
    expect(third.code).toBe(0);
    const c = JSON.parse(third.stdout) as { id: string; source: string };
    expect(c.source).toBe('issued');
    expect(c.id).not.toBe(a.id);
    expect(h.mock.stats().issued).toBe(2);
    const [firstToken, newToken] = h.mock.issuedTokens();
    expect(h.mock.isActive(firstToken!)).toBe(false); // one live token per app key
    expect(h.mock.isActive(newToken!)).toBe(true);
    expect(third.stderr).toContain(`LS keeps one token per app key: ${shortId(a.id)} stopped working`);
  });

  it('prints the raw token only with --reveal (text and JSON)', async () => {
    const text = await run(['issue', '--reveal'], { reveal: true });
    expect(text.code).toBe(0);
    const token = h.mock.activeTokens()[0]!;
    expect(text.stdout).toContain(`  token      ${token}\n`);
    const json = await run(['issue', '--reveal', '--json'], { reveal: true });
    expect(JSON.parse(json.stdout)).toMatchObject({ id: tokenId(token), source: 'adopted', token });
  });
});

describe('list', () => {
  it('shows id, state, times, reason and live holders; --json has the records without tokens', async () => {
    const { store } = openStore();
    // Keys are scoped by host: every token of this listing comes from the one mock the CLI is pointed at.
    await startMock({ reissue: 'independent' });
    const held = await seedToken(store, { issuedAt: Date.now() - 2 * HOUR });
    const ended = await seedToken(store, { issuedAt: Date.now() - HOUR });
    await store.update(ended.record.id, { state: 'revoked', reason: 'manual' });
    const foreign = await seedToken(store, { appKey: OTHER_KEY, appSecretKey: OTHER_SECRET });
    await hold(store, held.record.id, 'daemon-a', h.mock.url);
    await hold(store, held.record.id, 'daemon-b', h.mock.url);

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
    expect(lines.at(-1)).toContain(`2 tokens in ${TEST_REDIS_URL} for ls ${h.mock.url}; times KST (UTC+9)`); // the origin the keys are scoped by

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
      expect(rows.map((r) => r.id)).toEqual([tokenId(h.mock.activeTokens()[0]!)]);
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
    expect(h.mock.isActive(token)).toBe(false);
    expect(await store.get(record.id)).toMatchObject({ state: 'revoked', reason: 'manual' });

    const again = await run(['revoke', '--id', record.id]);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('is already revoked: nothing sent');
    expect(h.mock.stats().revokeRequests).toBe(1);
  });

  it('reads a raw token from stdin ("-" or no argument); unknown ids exit 1; malformed ids, token arguments and non-LS tokens exit 2', async () => {
    const { store } = openStore();
    const { token, record } = await seedToken(store);
    const foreign = await seedToken(store, { appKey: OTHER_KEY, appSecretKey: OTHER_SECRET });
    const [viaStdin, unknown, malformed, asArgument, twoSources, otherKeysToken] = await Promise.all([
      run(['revoke', '-', '--json'], { stdin: `${token}\n` }),
      run(['revoke', '--id', 'abcdef0123']),
      run(['revoke', '--id', 'xyz']),
      run(['revoke', token]),
      run(['revoke', '-', '--id', 'abcdef'], { stdin: token }),
      run(['revoke'], { stdin: foreign.token }),
    ]);
    expect(viaStdin.code).toBe(0);
    expect(JSON.parse(viaStdin.stdout)).toMatchObject({ id: record.id, outcome: 'revoked', state: 'revoked', stillAlive: 0 });
    expect(h.mock.isActive(token)).toBe(false);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr.trim()).toBe('ls-token: ERR_NOT_FOUND: no token with id abcdef0123 in the store (see "ls-token list --all")');
    expect(malformed.code).toBe(2);
    expect(malformed.stderr).toContain('--id must be 6 to 64 hex digits');
    // On the command line a token shows in ps and shell history: refused (and never echoed).
    expect(asArgument.code).toBe(2);
    expect(asArgument.stderr.trim()).toBe(
      'ls-token: ERR_INVALID_OPTION: revoke takes no token argument (ps and shell history would show it): pipe it on stdin ("ls-token revoke -") or use --token-file <path>',
    );
    expect(twoSources.code).toBe(2);
    expect(twoSources.stderr).toContain('give one token: on stdin (-), with --token-file, or with --id');
    // Another app key's token would be answered "invalid" (= looks revoked): refused, nothing sent.
    expect(otherKeysToken.code).toBe(2);
    expect(otherKeysToken.stderr.trim()).toBe(
      'ls-token: ERR_INVALID_TOKEN: token is not an LS access token of this app key: it was issued for another app key ("jti" is not this app key)',
    );
    expect(h.mock.isActive(foreign.token)).toBe(true);
    expect(h.mock.stats().revokeRequests).toBe(1);
  });

  it('refuses what is not an LS access token before sending anything (typo, truncated paste, other JWT), exit 2', async () => {
    const { store } = openStore();
    const { token } = await seedToken(store);
    const b64 = (o: object): string => Buffer.from(JSON.stringify(o)).toString('base64url');
    const now = Math.floor(Date.now() / 1000);
    const someJwt = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64({ sub: 'user-42', iat: now, exp: now + 60 })}.${Buffer.alloc(32, 7).toString('base64url')}`;
    const cases: Array<[string, string]> = [
      ['notatoken', 'it is not a JWT'],
      [token.slice(0, -20), 'its HS512 signature has 49 bytes instead of 64 (truncated?)'], // 86 - 20 base64url characters
      [token.split('.').slice(0, 2).join('.'), 'it is not a JWT'],
      [someJwt, 'its "sub" claim is not "token"'],
    ];
    const results = await Promise.all(cases.map(([input]) => run(['revoke', '-'], { stdin: input })));
    results.forEach((r, i) => {
      expect({ i, code: r.code, stdout: r.stdout }).toEqual({ i, code: 2, stdout: '' });
      expect(r.stderr).toMatch(/^ls-token: ERR_INVALID_TOKEN: token is not an LS access token of this app key: /);
      expect(r.stderr).toContain(cases[i]![1]);
    });
    expect(h.mock.stats().revokeRequests).toBe(0);
    expect(h.mock.isActive(token)).toBe(true);
  });

  it('exits 1 when LS keeps failing, the last line saying the token is still alive, and records the failure', async () => {
    const { store } = openStore();
    const { token, record } = await seedToken(store);
    h.mock.inject({ endpoint: 'revoke', kind: 'http500-text', rate: 1 });
    const r = await run(['revoke', '--id', record.id, '--deadline-ms', '1200']);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(new RegExp(`^ls-token: revoke of ${shortId(record.id)} failed: ERR_HTTP.*; 1 token still alive\n$`));
    expect(h.mock.isActive(token)).toBe(true);
    expect((await store.get(record.id))?.state).toBe('failed');
  });
});

describe('sweep', () => {
  it('--revoke-shared: revokes due, owed and orphaned tokens, the newest unheld one too, and keeps held ones', async () => {
    await startMock({ reissue: 'independent' }); // several live tokens, to see which ones die
    const { store } = openStore();
    const now = Date.now();
    const due = await seedToken(store, { issuedAt: now - 5 * HOUR, revokeAt: now - 1_000 });
    const owed = await seedToken(store, { issuedAt: now - 4 * HOUR });
    await store.update(owed.record.id, { state: 'revoking', reason: 'shutdown' });
    const held = await seedToken(store, { issuedAt: now - 2 * HOUR });
    await hold(store, held.record.id, 'daemon-live', h.mock.url);
    const orphan = await seedToken(store, { issuedAt: now - HOUR });

    const r = await run(['sweep', '--revoke-shared']);
    expect(r.stdout).not.toContain('\r'); // not a terminal: plain lines, no bar
    const lines = r.stdout.trim().split('\n');
    const lineOf = (id: string): string | undefined => lines.find((l) => l.includes(shortId(id)));
    expect(lineOf(due.record.id)).toMatch(/^revoked\s+\S+\s+reason=recovery\s+attempts=1\s+\d+ms$/);
    expect(lineOf(owed.record.id)).toMatch(/^revoked\s+\S+\s+reason=recovery/);
    expect(lineOf(orphan.record.id)).toMatch(/^revoked\s+\S+\s+reason=recovery/);
    expect(lineOf(held.record.id)).toBeUndefined();
    expect(r.code).toBe(0);

    for (const t of [due, owed, orphan]) {
      expect(h.mock.isActive(t.token)).toBe(false);
      expect((await store.get(t.record.id))?.state).toBe('revoked');
    }
    expect(h.mock.isActive(held.token)).toBe(true);
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
    expect(h.mock.isActive(newest.token)).toBe(true);
    expect(h.mock.isActive(due.token)).toBe(false);

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
    await hold(store, newest.record.id, 'daemon-x', h.mock.url);
    const [json, text] = await Promise.all([run(['status', '--json'], { env: { LS_APPSECRETKEY: undefined } }), run(['status'])]);
    expect(json.code).toBe(0);
    const s = JSON.parse(json.stdout) as {
      counts: Record<string, number>;
      adopt: { id: string; revokeAt: number; refreshAt: number; holders: string[] };
      actions: Array<{ id: string; action: string }>;
      liveInstances: string[];
    };
    expect(s.counts).toMatchObject({ active: 2, revoked: 0 });
    // The times are the lifecycle's own policy applied to the stored record (defaults, LS's day).
    const policy = new TokenPolicy({ refreshMarginMs: 300_000, revokeMarginMs: 60_000, maxLifetimeMs: Infinity, lifetimeMs: LS_MAX_LIFETIME_MS, cutoff: LS_DAILY_CUTOFF, cutoffJitterMs: 0 }, () => ({ lowMs: 0, highMs: 0 }));
    const times = policy.times(newest.record.issuedAt, newest.record.expiresAt);
    expect(s.adopt).toMatchObject({ id: newest.record.id, revokeAt: times.revokeAt, refreshAt: times.refreshAt, holders: ['daemon-x'] });
    expect(s.actions).toEqual(
      expect.arrayContaining([expect.objectContaining({ id: due.record.id, action: 'revoke' }), expect.objectContaining({ id: newest.record.id, action: 'adopt' })]),
    );
    expect(s.liveInstances).toEqual(['daemon-x']);
    expect(s).toMatchObject({ origin: h.mock.url }); // the host the keys are scoped by
    expect(text.stdout).toMatch(new RegExp(`^origin +ls ${h.mock.url}$`, 'm'));
    expect(text.stdout).toContain(`would adopt ${shortId(newest.record.id)} (shared with daemon-x)`);
    expect(text.stdout).toMatch(new RegExp(`revoke\\s+${shortId(due.record.id)}\\s+due`));
    // status changes nothing
    expect(h.mock.stats().revokeRequests).toBe(0);
    expect((await store.get(due.record.id))?.state).toBe('active');
  });
});

describe('status --exit-code (for probes)', () => {
  it('exits 0 on a healthy store, and 1 naming the problem when a revocation gave up or is owed by a process that is gone', async () => {
    const { store } = openStore();
    const live = await seedToken(store, { ownerId: null });
    const healthy = await run(['status', '--exit-code']);
    expect(healthy.code).toBe(0);
    expect(lastLine(healthy.stdout)).toBe('health     ok');
    await store.update(live.record.id, { state: 'failed', lastError: { code: 'ERR_HTTP', message: 'LS revoke answered HTTP 500' } });
    const owed = await seedToken(store, { ownerId: 'daemon-gone-9' });
    await store.update(owed.record.id, { state: 'revoking', reason: 'shutdown' });
    const [flagged, plain, json] = await Promise.all([run(['status', '--exit-code']), run(['status']), run(['status', '--exit-code', '--json'])]);
    expect(flagged.code).toBe(1);
    expect(lastLine(flagged.stdout)).toMatch(/^health {5}2 problem\(s\): 1 token\(s\) whose revocation gave up .*; 1 token\(s\) owed by a process that is gone/);
    expect(plain.code).toBe(0); // without the flag the report is the same, the exit code is not
    expect(lastLine(plain.stdout)).toBe(lastLine(flagged.stdout));
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout)).toMatchObject({ health: { ok: false, problems: [expect.stringContaining('gave up'), expect.stringContaining('owed')] } });
  });
});

describe('status --prometheus (for a textfile collector)', () => {
  it('prints the store-side figures in Prometheus text format: tokens by state, leases, owed revocations, health', async () => {
    const { store } = openStore();
    const held = await seedToken(store, { ownerId: null });
    await hold(store, held.record.id, 'daemon-p', h.mock.url);
    const gone = await seedToken(store, { ownerId: 'daemon-gone-7' });
    await store.update(gone.record.id, { state: 'revoking', reason: 'shutdown' });
    const r = await run(['status', '--prometheus', '--exit-code']);
    expect(r.code).toBe(1); // --exit-code still follows the health
    const id = appKeyIdFor(lsProvider, APP_KEY, h.mock.url); // the scope the CLI reads: provider and origin
    const sample = (name: string, extra = ''): number => {
      const line = r.stdout.split('\n').find((l) => l.startsWith(`${name}{provider="ls",app_key_id="${id}"${extra}} `));
      expect(line).toBeDefined();
      return Number(line!.split(' ').at(-1));
    };
    for (const name of ['ls_token_store_tokens', 'ls_token_store_leases', 'ls_token_store_owed_revocations', 'ls_token_store_health_ok']) expect(r.stdout).toContain(`# TYPE ${name} gauge`);
    expect(sample('ls_token_store_tokens', ',state="active"')).toBe(1);
    expect(sample('ls_token_store_tokens', ',state="revoking"')).toBe(1);
    expect(sample('ls_token_store_leases')).toBe(1);
    expect(sample('ls_token_store_live_instances')).toBe(1);
    expect(sample('ls_token_store_owed_revocations', ',kind="owed"')).toBe(1);
    expect(sample('ls_token_store_owed_revocations', ',kind="failed"')).toBe(0);
    expect(sample('ls_token_store_health_ok')).toBe(0);
    // Every line is a comment or a sample: nothing else a collector would choke on.
    for (const line of r.stdout.trim().split('\n')) expect(line).toMatch(/^(# (HELP|TYPE) ls_token_store_\w+ .+|ls_token_store_\w+\{[^}]*\} \d+)$/);
  });
});

describe('mock-server', () => {
  it('runs in the foreground, serves issue, and exits 0 on SIGTERM', async () => {
    const child = spawn(process.execPath, [h.main, 'mock-server', '--port', '0'], { env: baseEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
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
