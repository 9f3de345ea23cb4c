/**
 * Fleets on the Redis production runs: Redis Sentinel (one primary, one replica, one sentinel) and
 * Redis Cluster (three masters), real servers started for this file on free ports. On each: the
 * single flight (three lifecycles starting together issue one token, with no lock trouble), the
 * put script (one hash slot, atomic: two stores putting one token write it once), a cold
 * fleet of real daemon processes, and a store emptied under the fleet (FLUSHALL) with a newcomer
 * arriving at once: nobody issues, so no holder hands out a dead token.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { Keyv } from 'keyv';
import { tokenId } from '../../src/core/fingerprint.js';
import { ErrorCodes } from '../../src/core/errors.js';
import { lockProviderFor } from '../../src/lifecycle/issue-lock.js';
import { TokenLifecycle } from '../../src/lifecycle/token-lifecycle.js';
import { TokenStore } from '../../src/store/token-store.js';
import { startMockLsServer, type MockLsServer } from '../../src/testing/index.js';
import { FIXTURE_APP_KEY, FIXTURE_SECRET } from '../fixtures/daemon-env.js';
import { exitWithin, killAllChildren, spawnFixture, type FixtureChild } from '../fixtures/harness.js';
import { type RedisSetup, startClusterSetup, startSentinelSetup } from '../fixtures/redis-topology.js';

const LEASE_TTL_MS = 1_000;

describe('a @keyv/redis connection nothing can lock on', () => {
  it('is refused at construction with ERR_INVALID_OPTION naming keyv', () => {
    // An @keyv/redis-like adapter whose connection has no sendCommand (neither client, Sentinel nor Cluster).
    const store = { opts: { dialect: 'redis' }, client: { connect: () => undefined }, getClient: async () => ({}), iterator: async function* () {}, get: async () => undefined, set: async () => true, delete: async () => true, clear: async () => undefined, on: () => undefined };
    const keyv = new Keyv({ store: store as never });
    expect(() => lockProviderFor(keyv)).toThrow(expect.objectContaining({ code: ErrorCodes.INVALID_OPTION, field: 'keyv' }));
    expect(() => new TokenLifecycle({ appKey: FIXTURE_APP_KEY, appSecretKey: FIXTURE_SECRET, baseUrl: 'http://127.0.0.1:9', store: keyv })).toThrow(
      expect.objectContaining({ code: ErrorCodes.INVALID_OPTION }),
    );
  });
});

describe.each([
  ['Sentinel', () => startSentinelSetup()],
  ['Cluster', () => startClusterSetup()],
] as const)('a fleet on Redis %s', (_mode, start) => {
  let setup: RedisSetup;
  let mock: MockLsServer;
  let namespace: string;
  const closers: Array<() => Promise<unknown>> = [];

  beforeAll(async () => {
    setup = await start();
  }, 60_000);
  afterAll(() => setup.stop());
  beforeEach(async () => {
    namespace = `modes-${randomBytes(6).toString('hex')}`;
    mock = await startMockLsServer();
  });
  afterEach(async () => {
    await killAllChildren();
    for (const c of closers.splice(0)) await c();
    await mock.close();
    for (const k of await setup.keys(`${namespace}::*`)) await setup.command(k, ['DEL', k]);
  });

  function member(name: string, env: Record<string, string> = {}): FixtureChild {
    return spawnFixture('daemon.ts', {
      LS_URL: mock.url,
      LS_STORE: setup.spec,
      LS_NAMESPACE: namespace,
      LS_INSTANCE_ID: name,
      LS_LEASE_TTL_MS: String(LEASE_TTL_MS),
      LS_SWEEP_INTERVAL_MS: '250',
      LS_DEADLINE_MS: '3000',
      ...env,
    });
  }

  it('three lifecycles starting together issue one token, with no lock trouble, and the last shutdown revokes it', async () => {
    const options = { appKey: FIXTURE_APP_KEY, appSecretKey: FIXTURE_SECRET, baseUrl: mock.url, sweepIntervalMs: 0, leaseTtlMs: LEASE_TTL_MS };
    const lcs = ['sf-a', 'sf-b', 'sf-c'].map((instanceId) => new TokenLifecycle({ ...options, store: setup.makeKeyv(namespace), instanceId }));
    const errors: Array<{ op: string; code: string }> = [];
    for (const lc of lcs) lc.on('error', (e) => errors.push({ op: e.op, code: e.error.code }));
    const tokens = await Promise.all(lcs.map((lc) => lc.getAccessToken()));
    expect(new Set(tokens).size).toBe(1);
    expect(mock.stats().issued).toBe(1);
    expect(mock.isActive(tokens[0]!)).toBe(true);
    expect(errors.filter((e) => e.op.startsWith('issueLock'))).toEqual([]);
    await Promise.all(lcs.map((lc) => lc.shutdown({ deadlineMs: 3_000 })));
    expect(mock.stats().active).toBe(0);
  });

  it('a put of a new token is one atomic script on this topology: two stores putting it at once write it once, with its index entry and pointer', async () => {
    const [a, b] = [new TokenStore({ keyv: setup.makeKeyv(namespace) }), new TokenStore({ keyv: setup.makeKeyv(namespace) })];
    const now = Date.now();
    const app = 'MODESPUTAPPKEY01';
    const input = (owner: string) => ({ appKeyId: app, tokenType: 'Bearer', issuedAt: now, expiresAt: now + 3_600_000, revokeAt: now + 3_000_000, ownerId: owner });
    const [ra, rb] = await Promise.all([a.put(input('put-a'), 'modes-put-raw-token-0001'), b.put(input('put-b'), 'modes-put-raw-token-0001')]);
    expect(ra.id).toBe(rb.id);
    expect(ra.ownerId).toBe(rb.ownerId); // one of them wrote; the other got that record back
    expect((await a.get(ra.id))?.ownerId).toBe(ra.ownerId);
    expect((await b.findUsable(app, now))?.record.id).toBe(ra.id); // through the pointer
    expect((await b.list({ appKeyId: app })).map((r) => r.id)).toEqual([ra.id]); // through the index
    expect(await b.getToken(ra.id)).toBe('modes-put-raw-token-0001');
  });

  it('FLUSHALL under three holders: a newcomer asking at once waits for their rewrite and adopts (issues nothing)', async () => {
    // Leases of 30 s: the holders' next heartbeat is 10 s away; only the epoch watch (1 s) can save the newcomer.
    const options = { appKey: FIXTURE_APP_KEY, appSecretKey: FIXTURE_SECRET, baseUrl: mock.url, sweepIntervalMs: 0, leaseTtlMs: 30_000 };
    const make = (instanceId: string): TokenLifecycle => {
      const lc = new TokenLifecycle({ ...options, store: setup.makeKeyv(namespace), instanceId });
      closers.push(() => lc.shutdown({ deadlineMs: 3_000 }));
      return lc;
    };
    const holders = ['ep-a', 'ep-b', 'ep-c'].map(make);
    const lost: string[] = [];
    for (const lc of holders) lc.on('error', (e) => void (e.op === 'store.lost' && lost.push(lc.instanceId)));
    const [token] = await Promise.all(holders.map((lc) => lc.getAccessToken()));
    await setup.flushAll();
    const newcomer = make('ep-new');
    expect(await newcomer.getAccessToken()).toBe(token);
    expect(mock.stats().issued).toBe(1);
    expect(mock.isActive(token!)).toBe(true);
    for (const lc of holders) expect(await lc.getAccessToken()).toBe(token);
    expect(lost.length).toBeGreaterThan(0); // the holders noticed the loss and wrote the token back
  });

  it('a cold fleet of 3 daemons issues one token; FLUSHALL and a newcomer at once issue nothing; the last to stop revokes', async () => {
    const children = ['fleet-a', 'fleet-b', 'fleet-c'].map((n) => member(n, { LS_WAIT_GO: '1' }));
    await Promise.all(children.map((c) => c.waitForLine((l) => l === 'waiting', 60_000)));
    for (const c of children) c.send('go');
    const ids = await Promise.all(children.map((c) => c.waitForLine((l) => l.startsWith('ready '), 20_000).then((l) => l.slice(6))));
    expect(new Set(ids).size).toBe(1);
    const id = ids[0]!;
    const token = mock.issuedTokens().find((t) => tokenId(t) === id)!;
    expect(mock.stats().issued).toBe(1);

    // The store loses everything (records, leases, heartbeats, the epoch mark); a newcomer asks at once.
    await setup.flushAll();
    const newcomer = member('fleet-new');
    const newId = (await newcomer.waitForLine((l) => l.startsWith('ready '), 20_000)).slice(6);
    expect(newId).toBe(id); // adopted once the holders wrote it back: not a token that kills theirs
    expect(mock.stats().issued).toBe(1);
    expect(mock.isActive(token)).toBe(true);
    const all = [...children, newcomer];
    expect(all.flatMap((c) => c.events()).filter((e) => e.type === 'error' && e['op'] === 'store.lost').length).toBeGreaterThan(0);

    for (const c of all) c.signal('SIGTERM');
    await Promise.all(all.map((c) => exitWithin(c, 8_000)));
    expect(mock.stats().active).toBe(0);
  }, 150_000);
});
