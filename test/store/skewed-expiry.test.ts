/**
 * Issue 10, item 7 (first case): who judges whether a keyv entry has expired when the writer and
 * the reader are different hosts with different clocks.
 *
 * keyv writes `{ value, expires: writerNow + ttl }` and, on Redis, also `SET ... PX ttl`. A reader
 * whose clock is ahead of the writer's by more than the TTL left sees `expires` in its past while
 * Redis still holds the key. If the store judged by the envelope there, a fleet process with a fast
 * clock would see no live lease on the shared token (and, being its last holder by its count,
 * revoke a token others still use) and would delete the other process's lease while at it.
 *
 * Redis enforces the TTL itself (PX), so on Redis the store must trust Redis; on a `Map` and on
 * SQLite (no server-side TTL, one host's clock) the envelope stays the only judge.
 */
import { randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { tokenId } from '../../src/core/fingerprint.js';
import { leaseHolders, leaseKey } from '../../src/lifecycle/fleet.js';
import { TokenStore } from '../../src/store/token-store.js';
import { STORE_BACKENDS, type StoreBackend } from '../helpers/store-backends.js';

const HOUR = 3_600_000;
const PREFIX = 'sk';
const APP = 'a1b2c3';
const LEASE_TTL_MS = 20_000;
/** How far the reader's clock runs ahead of the writer's: more than the lease TTL. */
const SKEW_MS = 30_000;

function makeToken(): string {
  const body = Buffer.from(JSON.stringify({ sub: 'token', jti: randomBytes(8).toString('hex') })).toString('base64url');
  return `eyJhbGciOiJIUzI1NiJ9.${body}.${randomBytes(24).toString('base64url')}`;
}

/** Only `Date` is faked: the backends keep their real timers and I/O. */
function fakeDateOnly(): void {
  jest.useFakeTimers({
    doNotFake: ['hrtime', 'nextTick', 'performance', 'queueMicrotask', 'setImmediate', 'clearImmediate', 'setInterval', 'clearInterval', 'setTimeout', 'clearTimeout'],
  });
}

/** The `expires` keyv wrote into the raw envelope of keyv key `key`. */
async function envelopeExpires(backend: StoreBackend, key: string): Promise<unknown> {
  const raw = await backend.readRaw(key);
  return raw === undefined ? undefined : (JSON.parse(raw) as { expires?: unknown }).expires;
}

describe.each(STORE_BACKENDS)('expiry of keyv entries read by a host whose clock is ahead, on $name', (factory) => {
  let backend: StoreBackend;
  /** Whether the backend enforces TTLs itself (Redis PX). */
  const serverTtl = factory.name === 'redis';

  beforeEach(() => {
    backend = factory.create();
  });
  afterEach(async () => {
    jest.useRealTimers();
    await backend.cleanup();
  });

  it(serverTtl ? 'trusts the server TTL: a live lease and record stay live and are not deleted' : 'judges by the envelope: past `expires` reads as gone', async () => {
    // The writer (real clock) holds token T: its lease, and an ended record kept for LEASE_TTL_MS.
    const writer = new TokenStore({ keyv: backend.makeKeyv(), prefix: PREFIX, retainMs: LEASE_TTL_MS });
    const token = makeToken();
    const id = tokenId(token);
    const t0 = Date.now();
    await writer.put({ appKeyId: APP, tokenType: 'Bearer', issuedAt: t0, expiresAt: t0 + 10 * HOUR, revokeAt: t0 + 9 * HOUR }, token);
    await writer.update(id, { state: 'revoked', reason: 'manual' });
    const lease = leaseKey(APP, id, 'writer-instance');
    await writer.setMeta(lease, { instanceId: 'writer-instance', at: t0 }, LEASE_TTL_MS);
    const leaseStoreKey = `${PREFIX}:meta:${lease}`;
    const recordStoreKey = writer.recordKey(id);

    // The reader, another connection on another host, runs SKEW_MS ahead.
    const reader = new TokenStore({ keyv: backend.makeKeyv(), prefix: PREFIX, retainMs: LEASE_TTL_MS });
    fakeDateOnly();
    jest.setSystemTime(t0 + SKEW_MS);
    // The setup is what it claims: by the reader's clock both envelopes have expired...
    for (const key of [leaseStoreKey, recordStoreKey]) {
      const expires = await envelopeExpires(backend, key);
      expect(typeof expires).toBe('number');
      expect(expires as number).toBeLessThan(Date.now());
    }
    if (serverTtl) {
      // ...while Redis, which enforces the TTL on its own clock, still holds both keys.
      for (const key of [leaseStoreKey, recordStoreKey]) expect(await backend.nativeTtlMs(key)).toBeGreaterThan(0);
    }

    const seenLease = await reader.getMeta(lease);
    const holders = await leaseHolders(reader, APP);
    const listed = (await reader.listMeta('lease:')).map((e) => e.key);
    const record = await reader.get(id);
    const records = (await reader.list()).map((r) => r.id);

    if (serverTtl) {
      expect(seenLease).toEqual({ instanceId: 'writer-instance', at: t0 });
      expect(holders.get(id)).toEqual(['writer-instance']);
      expect(listed).toEqual([lease]);
      expect(record).toMatchObject({ id, state: 'revoked' });
      expect(records).toEqual([id]);
      // The reader did not delete what it is not the judge of.
      expect(await backend.readRaw(leaseStoreKey)).toBeDefined();
      expect(await backend.readRaw(recordStoreKey)).toBeDefined();
    } else {
      // One host, one clock: SKEW_MS later the entries have simply expired, and are cleared.
      expect(seenLease).toBeUndefined();
      expect(holders.size).toBe(0);
      expect(listed).toEqual([]);
      expect(record).toBeUndefined();
      expect(records).toEqual([]);
      expect(await backend.readRaw(leaseStoreKey)).toBeUndefined();
      expect(await backend.readRaw(recordStoreKey)).toBeUndefined();
    }
  });

  it('still lets an entry expire when its TTL has run out', async () => {
    const store = new TokenStore({ keyv: backend.makeKeyv(), prefix: PREFIX });
    await store.setMeta('short', 1, 150);
    expect(await store.getMeta('short')).toBe(1);
    // Real time passes (no faked clock): Redis drops the key itself, elsewhere the envelope says so.
    const deadline = Date.now() + 5_000;
    let value: unknown = 1;
    while (value !== undefined && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      value = await store.getMeta('short');
    }
    expect(value).toBeUndefined();
    expect(await store.listMeta('short')).toEqual([]);
  });
});
