/**
 * Exit hooks, tested as real processes (close-with-grace style): a small fixture daemon runs
 * against the mock LS server of this process; the test signals it and checks the exit status, the
 * time to exit, the tokens at the mock and the events the daemon printed.
 */
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { afterEach, describe, expect, it } from '@jest/globals';
import Keyv from 'keyv';
import KeyvSqlite from '@keyv/sqlite';
import { ErrorCodes, LsTokenError } from '../../src/core/errors.js';
import { installExitHooks } from '../../src/integrations/exit-hooks.js';
import { tokenId } from '../../src/core/fingerprint.js';
import { TokenLifecycle } from '../../src/lifecycle/token-lifecycle.js';
import { startMockLsServer, type MockLsServer } from '../../src/testing/index.js';
import { FIXTURE_APP_KEY, FIXTURE_SECRET } from '../fixtures/daemon-env.js';
import { exitWithin, killAllChildren, spawnFixture, waitUntil, type FixtureChild } from '../fixtures/harness.js';

let mock: MockLsServer | undefined;
const cleanups: Array<() => Promise<void>> = [];

afterEach(async () => {
  await killAllChildren();
  await mock?.close();
  mock = undefined;
  for (const c of cleanups.splice(0)) await c();
});

async function startMock(): Promise<MockLsServer> {
  mock = await startMockLsServer();
  return mock;
}

/** Spawns `file` against the mock and waits for its `ready <id>` line; returns the child and its raw token. */
async function startDaemon(file: string, env: Record<string, string> = {}): Promise<{ child: FixtureChild; id: string; token: string }> {
  const child = spawnFixture(file, { LS_URL: mock!.url, LS_DEADLINE_MS: '3000', ...env });
  const line = await child.waitForLine((l) => l.startsWith('ready '));
  const id = line.slice('ready '.length);
  const token = mock!.issuedTokens().find((t) => tokenId(t) === id);
  if (token === undefined) throw new Error('the daemon reported a token the mock never issued');
  return { child, id, token };
}

function revokedEvents(child: FixtureChild): Array<Record<string, unknown>> {
  return child.events().filter((e) => e.type === 'revoked');
}

/** Neither the secret nor the raw token ever reaches the daemon's output. */
function expectNoSecrets(child: FixtureChild, token: string): void {
  const out = `${child.lines.join('\n')}\n${child.stderr()}`;
  expect(out).not.toContain(FIXTURE_SECRET);
  expect(out).not.toContain(token);
}

describe('installExitHooks in a real process', () => {
  it.each(['SIGINT', 'SIGTERM', 'SIGHUP'] as const)('on %s: revokes once, then dies by that same signal', async (sig) => {
    await startMock();
    const { child, id, token } = await startDaemon('daemon.ts');
    expect(mock!.isActive(token)).toBe(true);
    const sentAt = child.signal(sig);
    const exit = await exitWithin(child, 5_000);
    expect(exit).toMatchObject({ code: null, signal: sig }); // what a supervisor expects
    expect(exit.at - sentAt).toBeLessThan(3_000); // a revoke round trip, with room for a loaded CI machine
    expect(mock!.isActive(token)).toBe(false);
    expect(mock!.stats()).toMatchObject({ revokeRequests: 1, revoked: 1 });
    expect(revokedEvents(child)).toEqual([expect.objectContaining({ id, reason: 'shutdown', outcome: 'revoked' })]);
    expectNoSecrets(child, token);
  });

  // A container without an init runs the daemon as PID 1, and the kernel ignores a signal PID 1
  // has no handler for: the re-raise after the shutdown does nothing. `unshare --pid --fork` makes
  // the fixture PID 1 of its own PID namespace, as a container would (root or user namespaces needed).
  const pid1 = spawnSync('unshare', ['--pid', '--fork', '--kill-child', 'true']).status === 0;
  (pid1 ? it : it.skip)('as PID 1 (a container without an init): revokes, then still exits, with status 143 for SIGTERM', async () => {
    await startMock();
    const child = spawnFixture('daemon.ts', { LS_URL: mock!.url, LS_DEADLINE_MS: '3000' }, [], ['unshare', '--pid', '--fork', '--kill-child']);
    const id = (await child.waitForLine((l) => l.startsWith('ready '))).slice('ready '.length);
    const token = mock!.issuedTokens().find((t) => tokenId(t) === id)!;
    // The signal goes to node (PID 1 inside), not to unshare, which would only pass on its death.
    const nodePid = Number(spawnSync('pgrep', ['-P', String(child.proc.pid)], { encoding: 'utf8' }).stdout.trim().split('\n')[0]);
    expect(nodePid).toBeGreaterThan(0);
    process.kill(nodePid, 'SIGTERM');
    const exit = await exitWithin(child, 6_000);
    expect(exit.code).toBe(143); // unshare passes on the child's status: 128 + SIGTERM
    expect(mock!.isActive(token)).toBe(false);
    expect(revokedEvents(child)).toEqual([expect.objectContaining({ id, reason: 'shutdown' })]);
  });

  it('with a hanging LS: exits by the deadline, leaves the intent in the store, and a restart revokes it', async () => {
    await startMock();
    const file = join(tmpdir(), `ls-exit-hooks-${randomBytes(6).toString('hex')}.sqlite`);
    cleanups.push(async () => {
      await fs.rm(file, { force: true });
      await fs.rm(`${file}-journal`, { force: true });
    });
    const env = { LS_STORE: `sqlite://${file}`, LS_NAMESPACE: 'hang', LS_DEADLINE_MS: '1200' };
    const { child, id, token } = await startDaemon('daemon.ts', env);
    mock!.inject({ endpoint: 'revoke', kind: 'hang' }); // never answers
    const sentAt = child.signal('SIGTERM');
    const exit = await exitWithin(child, 5_000);
    expect(exit).toMatchObject({ code: null, signal: 'SIGTERM' });
    expect(exit.at - sentAt).toBeGreaterThanOrEqual(1_000); // it did wait for LS...
    expect(exit.at - sentAt).toBeLessThan(1_200 + 1_000 + 500); // ...but not past the deadline and its 1 s watchdog
    expect(mock!.isActive(token)).toBe(true); // LS never got to it
    expect(child.events()).toContainEqual(expect.objectContaining({ type: 'error', op: 'drain', id, code: ErrorCodes.ABORTED }));

    // The next start of a process on the same store finds the owed revocation and finishes it.
    const keyv = new Keyv({ store: new KeyvSqlite({ uri: `sqlite://${file}`, busyTimeout: 5_000 }), namespace: 'hang', throwOnErrors: true });
    cleanups.unshift(() => keyv.disconnect());
    expect((await new TokenLifecycle({ appKey: FIXTURE_APP_KEY, appSecretKey: FIXTURE_SECRET, baseUrl: mock!.url, store: keyv }).list())[0]).toMatchObject({ id, state: 'revoking' });
    const next = new TokenLifecycle({ appKey: FIXTURE_APP_KEY, appSecretKey: FIXTURE_SECRET, baseUrl: mock!.url, store: keyv, sweepIntervalMs: 0 });
    const revoked = new Promise((resolve) => next.on('revoked', resolve));
    await next.start();
    expect(await revoked).toMatchObject({ id, reason: 'recovery' });
    expect(mock!.isActive(token)).toBe(false);
    expect((await next.list()).find((r) => r.id === id)).toMatchObject({ state: 'revoked', reason: 'recovery' });
    await next.shutdown({ deadlineMs: 2_000 });
  });

  it('a second Ctrl-C during a slow shutdown exits at once', async () => {
    await startMock();
    const { child } = await startDaemon('daemon.ts', { LS_DEADLINE_MS: '10000' });
    mock!.inject({ endpoint: 'revoke', kind: 'hang' });
    const firstAt = child.signal('SIGINT');
    await waitUntil(() => mock!.stats().revokeRequests >= 1, 5_000, 'the revoke request to reach the mock');
    // A person pressing again, not the same Ctrl-C delivered twice (those count within 1 s).
    await waitUntil(() => Date.now() - firstAt > 1_100, 2_000, 'a human pause between two Ctrl-C');
    const secondAt = child.signal('SIGINT');
    const exit = await exitWithin(child, 3_000);
    expect(exit).toMatchObject({ code: null, signal: 'SIGINT' });
    expect(exit.at - secondAt).toBeLessThan(2_000); // not the 10 s deadline
  });

  it('one Ctrl-C delivered twice (the terminal signals the process group, and npm forwards it) is one: the shutdown runs its course', async () => {
    await startMock();
    const { child } = await startDaemon('daemon.ts', { LS_DEADLINE_MS: '1500' });
    mock!.inject({ endpoint: 'revoke', kind: 'hang' }); // a shutdown that takes its whole deadline
    const firstAt = child.signal('SIGINT');
    // The copy comes once the first was handled (npm forwards after its own handler ran): here,
    // as soon as the shutdown's revoke request reached LS.
    await waitUntil(() => mock!.stats().revokeRequests >= 1, 5_000, 'the revoke request to reach the mock');
    const copyAt = child.signal('SIGINT');
    expect(copyAt - firstAt).toBeLessThan(1_000); // it is a copy, not a second press
    const exit = await exitWithin(child, 5_000);
    expect(exit).toMatchObject({ code: null, signal: 'SIGINT' });
    expect(exit.at - copyAt).toBeGreaterThan(1_000); // not cut short: it ended at the 1.5 s deadline
  });

  it('when the event loop runs dry: revokes, then exits normally with code 0', async () => {
    await startMock();
    const { child, id, token } = await startDaemon('loop-runs-dry.ts');
    const exit = await exitWithin(child, 5_000);
    expect(exit).toMatchObject({ code: 0, signal: null });
    expect(child.lines).toContain('note idle');
    expect(mock!.isActive(token)).toBe(false);
    expect(revokedEvents(child)).toEqual([expect.objectContaining({ id, reason: 'shutdown' })]);
  });

  it.each([
    ['an uncaught exception', 'exception', 'fixture: boom after ready'],
    ['an unhandled rejection', 'rejection', 'fixture: rejected after ready'],
  ])('after %s: prints the error, revokes, exits 1', async (_what, failAs, message) => {
    await startMock();
    const { child, id, token } = await startDaemon('uncaught-exception.ts', { LS_FAIL_AS: failAs });
    const exit = await exitWithin(child, 5_000);
    expect(exit).toMatchObject({ code: 1, signal: null });
    expect(child.stderr()).toContain(message); // never swallowed
    expect(mock!.isActive(token)).toBe(false);
    expect(revokedEvents(child)).toEqual([expect.objectContaining({ id, reason: 'shutdown' })]);
    expectNoSecrets(child, token);
  });

  it('several lifecycles in one process: one SIGTERM shuts them all down, once each, and the process dies by it', async () => {
    await startMock();
    const child = spawnFixture('daemon.ts', { LS_URL: mock!.url, LS_APP_KEYS: 'FIXTUREAPPKEY000A,FIXTUREAPPKEY000B,FIXTUREAPPKEY000C' });
    await child.waitForLine(() => child.readyIds().length === 3);
    child.signal('SIGTERM');
    const exit = await exitWithin(child, 5_000);
    expect(exit).toMatchObject({ code: null, signal: 'SIGTERM' });
    expect(mock!.stats()).toMatchObject({ issued: 3, revokeRequests: 3, active: 0 });
    expect(revokedEvents(child).map((e) => e['id']).sort()).toEqual([...child.readyIds()].sort());
  });

  it("beside the app's own SIGTERM handler: revokes and lets the app finish and choose the exit code", async () => {
    await startMock();
    const { child, id, token } = await startDaemon('app-sigterm-handler.ts');
    child.signal('SIGTERM');
    const exit = await exitWithin(child, 5_000);
    // Exit code 3 is the app's: the hooks neither re-raised the signal nor called process.exit first.
    expect(exit).toMatchObject({ code: 3, signal: null });
    expect(child.lines).toEqual(expect.arrayContaining(['note app: SIGTERM', 'note app: closed']));
    expect(mock!.isActive(token)).toBe(false);
    expect(revokedEvents(child)).toEqual([expect.objectContaining({ id, reason: 'shutdown' })]);
  });

  it('installed twice: one shutdown, one revoke request', async () => {
    await startMock();
    const { child, id, token } = await startDaemon('install-twice.ts');
    child.signal('SIGTERM');
    const exit = await exitWithin(child, 5_000);
    expect(exit).toMatchObject({ code: null, signal: 'SIGTERM' });
    expect(mock!.isActive(token)).toBe(false);
    expect(mock!.stats().revokeRequests).toBe(1);
    expect(revokedEvents(child)).toEqual([expect.objectContaining({ id })]);
  });
});

describe('installExitHooks in this process', () => {
  const watched = ['SIGINT', 'SIGTERM', 'SIGHUP', 'beforeExit', 'uncaughtException'] as const;
  const counts = (): number[] => watched.map((e) => process.listenerCount(e));

  it('adds one listener per event whatever the number of installs, and uninstall removes them all', async () => {
    const before = counts();
    let calls = 0;
    const a = { shutdown: async () => void calls++ };
    const b = { shutdown: async () => void calls++ };
    const unA = installExitHooks(a);
    const unA2 = installExitHooks(a, { deadlineMs: 500 });
    const unB = installExitHooks(b, { signals: ['SIGTERM'] });
    expect(counts()).toEqual(before.map((n) => n + 1));
    unA(); // replaced by the second install: a no-op
    expect(counts()).toEqual(before.map((n) => n + 1));
    unA2();
    unB();
    expect(counts()).toEqual(before);
    expect(calls).toBe(0);
  });

  it('rejects bad options with an LsTokenError naming the field', () => {
    const target = { shutdown: async () => undefined };
    const before = counts();
    for (const [options, field] of [
      [{ signals: ['SIGKILL'] }, 'signals'],
      [{ deadlineMs: -1 }, 'deadlineMs'],
      [{ exitCode: 256 }, 'exitCode'],
      [{ beforeExit: 'yes' }, 'beforeExit'],
    ] as const) {
      let caught: unknown;
      try {
        installExitHooks(target, options as never);
      } catch (err) {
        caught = err;
      }
      expect(caught).toBeInstanceOf(LsTokenError);
      expect(caught).toMatchObject({ code: ErrorCodes.INVALID_OPTION, field });
    }
    expect(counts()).toEqual(before); // nothing left behind
  });
});
