/**
 * Fleets of daemons sharing one LS app key over one Redis: real child processes (the fixture
 * daemon) against the mock LS server of this process and a private redis-server on a free port.
 * LS keeps one live token per app key (the mock's default `reissue: 'invalidate-previous'`), so
 * the fleet must share one token, issue it once, and revoke it only when the last holder leaves.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { createClient, createKeyv } from '@keyv/redis';
import { tokenId } from '../../src/core/fingerprint.js';
import { TokenLifecycle } from '../../src/lifecycle/token-lifecycle.js';
import { TokenStore } from '../../src/store/token-store.js';
import { startMockLsServer, type MockLsServer } from '../../src/testing/index.js';
import { FIXTURE_APP_KEY, FIXTURE_SECRET } from '../fixtures/daemon-env.js';
import { exitWithin, killAllChildren, spawnFixture, startPrivateRedis, waitUntil, type FixtureChild, type PrivateRedis } from '../fixtures/harness.js';

const LEASE_TTL_MS = 1_000;
const SWEEP_MS = 250;

let redis: PrivateRedis;
let raw: ReturnType<typeof createClient>;
let mock: MockLsServer;
let namespace: string;
const closers: Array<() => Promise<unknown>> = [];

beforeAll(async () => {
  redis = await startPrivateRedis();
  raw = createClient({ url: redis.url });
  raw.on('error', () => undefined);
  await raw.connect();
});
afterAll(async () => {
  await raw.close();
  await redis.stop();
});
beforeEach(async () => {
  namespace = `fleet-${randomBytes(6).toString('hex')}`;
  mock = await startMockLsServer();
});
afterEach(async () => {
  await killAllChildren();
  for (const c of closers.splice(0)) await c();
  await mock.close();
  if (raw.isOpen) {
    const keys = await raw.keys(`${namespace}::*`);
    if (keys.length > 0) await raw.del(keys);
  }
});

/** Starts a fleet member; `go` releases it to take its token (see LS_WAIT_GO). */
function member(name: string, env: Record<string, string> = {}, url = redis.url): FixtureChild {
  return spawnFixture('daemon.ts', {
    LS_URL: mock.url,
    LS_STORE: url,
    LS_NAMESPACE: namespace,
    LS_INSTANCE_ID: name,
    LS_LEASE_TTL_MS: String(LEASE_TTL_MS),
    LS_SWEEP_INTERVAL_MS: String(SWEEP_MS),
    LS_PRINT_SWEEPS: '1',
    LS_DEADLINE_MS: '3000',
    ...env,
  });
}

/** Starts `names` together and releases them at the same moment, as a cold fleet. Returns the shared token id. */
async function coldFleet(names: string[], env: Record<string, string> = {}): Promise<{ children: FixtureChild[]; id: string; token: string }> {
  const children = names.map((n) => member(n, { LS_WAIT_GO: '1', ...env }));
  await Promise.all(children.map((c) => c.waitForLine((l) => l === 'waiting')));
  for (const c of children) c.send('go');
  const ids = await Promise.all(children.map((c) => c.waitForLine((l) => l.startsWith('ready ')).then((l) => l.slice(6))));
  expect(new Set(ids).size).toBe(1); // one token for the whole fleet
  const id = ids[0]!;
  const token = mock.issuedTokens().find((t) => tokenId(t) === id)!;
  return { children, id, token };
}

/** Lease keys of the test's namespace in Redis (one per live holder and token). */
async function leaseKeys(): Promise<string[]> {
  return raw.keys(`${namespace}::ls-token:*:meta:lease:*`);
}

/** A token store on the test's namespace, to read records as another process would. */
function storeView(url = redis.url): TokenStore {
  const keyv = createKeyv({ url, socket: { connectTimeout: 1_000, reconnectStrategy: false } }, { namespace, throwOnErrors: true });
  closers.push(() => keyv.disconnect());
  return new TokenStore({ keyv });
}

/** Resolves after `child` printed `n` more `swept` lines than it had when called. */
async function sweepsAfterNow(child: FixtureChild, n: number): Promise<void> {
  const count = (): number => child.lines.filter((l) => l.startsWith('swept ')).length;
  const target = count() + n;
  await child.waitForLine(() => count() >= target, 10_000);
}

describe('a fleet of daemons sharing one app key over Redis', () => {
  it('a cold fleet of 3 issues one token; stopping 2 revokes nothing; stopping the last revokes it', async () => {
    const { children, id, token } = await coldFleet(['fleet-a', 'fleet-b', 'fleet-c']);
    const [a, b, c] = children as [FixtureChild, FixtureChild, FixtureChild];
    expect(mock.stats().issued).toBe(1);
    const sources = children.flatMap((ch) => ch.events().filter((e) => e.type === 'issued').map((e) => e['source']));
    expect(sources.sort()).toEqual(['adopted', 'adopted', 'issued']);
    expect((await leaseKeys()).length).toBe(3);

    a.signal('SIGTERM');
    b.signal('SIGTERM');
    expect(await exitWithin(a, 5_000)).toMatchObject({ signal: 'SIGTERM' });
    expect(await exitWithin(b, 5_000)).toMatchObject({ signal: 'SIGTERM' });
    expect(mock.isActive(token)).toBe(true);
    expect(mock.stats().revokeRequests).toBe(0);
    expect(await leaseKeys()).toEqual([expect.stringContaining(`:${id}:fleet-c`)]);

    c.signal('SIGTERM');
    expect(await exitWithin(c, 5_000)).toMatchObject({ signal: 'SIGTERM' });
    expect(mock.isActive(token)).toBe(false);
    expect(c.events()).toContainEqual(expect.objectContaining({ type: 'revoked', id, reason: 'shutdown' }));
    expect(await storeView().get(id)).toMatchObject({ state: 'revoked', reason: 'shutdown' });
  });

  it('SIGKILL of one holder: the others keep the token alive past its lease, and the last to stop revokes it', async () => {
    const { children, id, token } = await coldFleet(['fleet-a', 'fleet-b', 'fleet-c']);
    const [a, b, c] = children as [FixtureChild, FixtureChild, FixtureChild];
    b.signal('SIGKILL');
    await exitWithin(b, 5_000);
    // The dead holder stops counting when its lease runs out...
    await waitUntil(async () => !(await leaseKeys()).some((k) => k.endsWith(':fleet-b')), LEASE_TTL_MS * 5, 'the killed holder\'s lease to expire');
    // ...and two more sweeps of each survivor after that revoke nothing: they still use it.
    await Promise.all([sweepsAfterNow(a, 2), sweepsAfterNow(c, 2)]);
    expect(mock.isActive(token)).toBe(true);
    expect(mock.stats().revokeRequests).toBe(0);

    a.signal('SIGTERM');
    await exitWithin(a, 5_000);
    expect(mock.isActive(token)).toBe(true); // c still holds it
    c.signal('SIGTERM');
    await exitWithin(c, 5_000);
    expect(mock.isActive(token)).toBe(false);
    expect(c.events()).toContainEqual(expect.objectContaining({ type: 'revoked', id, reason: 'shutdown' }));
  });

  it.each(['revoke', 'adopt'] as const)('SIGKILL of the whole fleet: a new process with orphanPolicy %s handles the orphan', async (orphanPolicy) => {
    const { children, id, token } = await coldFleet(['fleet-a', 'fleet-b']);
    for (const ch of children) ch.signal('SIGKILL');
    await Promise.all(children.map((ch) => exitWithin(ch, 5_000)));
    expect(mock.isActive(token)).toBe(true); // nobody could revoke it: the orphan
    await waitUntil(async () => (await leaseKeys()).length === 0, LEASE_TTL_MS * 5, 'the dead holders\' leases to expire');

    // The fleet issued moments ago: the issuance budget (one a minute by default) would hold the
    // 'revoke' newcomer's own issuance back. This test is about the orphan, so the budget is short.
    const next = member('fleet-next', { LS_ORPHAN_POLICY: orphanPolicy, LS_MIN_ISSUE_INTERVAL_MS: '200' });
    const nextId = (await next.waitForLine((l) => l.startsWith('ready '))).slice(6);
    if (orphanPolicy === 'revoke') {
      expect(next.events()).toContainEqual(expect.objectContaining({ type: 'revoked', id, reason: 'recovery' }));
      expect(mock.isActive(token)).toBe(false);
      expect(nextId).not.toBe(id);
      expect(mock.stats().issued).toBe(2);
      expect(await storeView().get(id)).toMatchObject({ state: 'revoked', reason: 'recovery' });
    } else {
      expect(nextId).toBe(id);
      expect(next.events()).toContainEqual(expect.objectContaining({ type: 'issued', id, source: 'adopted' }));
      expect(mock.isActive(token)).toBe(true);
      expect(mock.stats().issued).toBe(1);
    }
    next.signal('SIGTERM');
    await exitWithin(next, 5_000);
    expect(mock.stats().active).toBe(0); // the new holder was the last: nothing is left alive
  });

  it('Redis loses its data (FLUSHDB): the holders write their record again, and a newcomer adopts it instead of killing it', async () => {
    const { children, id, token } = await coldFleet(['fleet-a', 'fleet-b', 'fleet-c']);
    await raw.flushDb(); // a restart without persistence, a failover to an empty replica (the holders' next beat may already follow)
    // Within a heartbeat the holders lease the token again and, finding its record gone, write it again.
    await waitUntil(async () => (await leaseKeys()).length > 0, LEASE_TTL_MS * 3, 'a holder\'s lease to reappear');
    const newcomer = member('fleet-new');
    const newId = (await newcomer.waitForLine((l) => l.startsWith('ready '))).slice(6);
    expect(newId).toBe(id); // adopted: not a new token that would kill the fleet's
    expect(mock.stats().issued).toBe(1);
    expect(mock.isActive(token)).toBe(true);
    expect(await storeView().get(id)).toMatchObject({ state: 'active' });
    for (const c of [...children, newcomer]) {
      expect(c.events()).not.toContainEqual(expect.objectContaining({ type: 'issued', source: 'issued', id: expect.not.stringMatching(id) }));
      c.signal('SIGTERM');
    }
    await Promise.all([...children, newcomer].map((c) => exitWithin(c, 5_000)));
    expect(mock.stats().active).toBe(0); // and the last to leave revoked it
  });

  it('IGW00121: a member told its token is invalid takes the newer token from the store instead of issuing', async () => {
    const options = { appKey: FIXTURE_APP_KEY, appSecretKey: FIXTURE_SECRET, baseUrl: mock.url, sweepIntervalMs: 0, leaseTtlMs: LEASE_TTL_MS };
    const keyvA = createKeyv({ url: redis.url }, { namespace, throwOnErrors: true });
    const keyvB = createKeyv({ url: redis.url }, { namespace, throwOnErrors: true });
    const a = new TokenLifecycle({ ...options, store: keyvA, instanceId: 'igw-a' });
    const b = new TokenLifecycle({ ...options, store: keyvB, instanceId: 'igw-b' });
    closers.push(async () => {
      await Promise.all([a.shutdown({ deadlineMs: 2_000 }), b.shutdown({ deadlineMs: 2_000 })]);
      await Promise.all([keyvA.disconnect(), keyvB.disconnect()]);
    });
    const first = await a.getAccessToken();
    expect(await b.getAccessToken()).toBe(first); // adopted, not issued
    // A learns first that its token is dead (say LS killed it) and takes a new one, which it stores.
    const second = await a.invalidate(first);
    expect(second).not.toBe(first);
    expect(mock.stats().issued).toBe(2);
    // B still sends the old token, gets IGW00121, and must pick A's token up rather than issue a
    // third one (which would kill A's).
    expect(mock.isActive(first)).toBe(false);
    expect(await b.invalidate(first)).toBe(second);
    expect(await b.getAccessToken()).toBe(second);
    expect(mock.stats().issued).toBe(2);
    expect(mock.isActive(second)).toBe(true);
  });

  it.each(['frozen (SIGSTOP)', 'stopped'] as const)('Redis %s at shutdown: the daemon still revokes from memory within its deadline', async (how) => {
    const own = await startPrivateRedis(); // this test stops it: never the shared one
    closers.push(() => own.stop());
    const child = member('alone', { LS_DEADLINE_MS: '2000' }, own.url);
    const id = (await child.waitForLine((l) => l.startsWith('ready '))).slice(6);
    const token = mock.issuedTokens().find((t) => tokenId(t) === id)!;
    if (how === 'stopped') await own.stop();
    else own.pause();
    const sentAt = child.signal('SIGTERM');
    const exit = await exitWithin(child, 6_000);
    expect(exit).toMatchObject({ signal: 'SIGTERM' });
    expect(exit.at - sentAt).toBeLessThan(2_000 + 1_000 + 500); // the deadline, its 1 s watchdog, and slack
    expect(mock.isActive(token)).toBe(false);
    expect(child.events()).toContainEqual(expect.objectContaining({ type: 'revoked', id, reason: 'shutdown' }));
    expect(child.events()).toContainEqual(expect.objectContaining({ type: 'error', code: 'ERR_STORE' }));
  });
});
