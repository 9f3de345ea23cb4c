/**
 * A put of a new token on Redis is one call, where keyv's own "store if absent" is a get and a
 * set: the index entry, the record and the current-token pointer leave in one script, written
 * only if no record of the token exists, and what it stores is what keyv would have stored (a keyv reader, `findUsable` and the TTLs all see the same). Watched with
 * MONITOR on a private redis-server.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Keyv } from 'keyv';
import { createClient } from '@keyv/redis';
import { TokenStore } from '../../src/store/token-store.js';
import { startPrivateRedis, type PrivateRedis } from '../fixtures/harness.js';
import { createRedisBackend, type StoreBackend } from '../helpers/store-backends.js';

const APP = 'REDISPUTAPPKEY01';
const HOUR = 3_600_000;

let redis: PrivateRedis;
let backend: StoreBackend;
let keyv: Keyv;
let store: TokenStore;

beforeAll(async () => {
  redis = await startPrivateRedis();
  backend = createRedisBackend(redis.url);
  keyv = backend.makeKeyv();
  store = new TokenStore({ keyv });
  expect(await store.get('0'.repeat(64))).toBeUndefined(); // connected before anything is watched
}, 30_000);

afterAll(async () => {
  await backend?.cleanup();
  await redis?.stop();
});

/** The commands Redis receives while `fn` runs: [sent by a client, run inside a script]. */
async function watched(fn: () => Promise<unknown>): Promise<{ direct: string[]; inScripts: string[] }> {
  const monitor = createClient({ url: redis.url });
  await monitor.connect();
  const lines: string[] = [];
  let sawMarker: () => void = () => undefined;
  const marker = new Promise<void>((resolve) => (sawMarker = resolve));
  await monitor.monitor((line: string) => {
    if (line.includes('end-of-watch-marker')) sawMarker();
    else lines.push(line);
  });
  try {
    await fn();
    // A marker command: everything before it has been received.
    await backend.readRaw('end-of-watch-marker');
    await marker;
    const command = (l: string): string => /"([A-Za-z]+)"/.exec(l)?.[1]?.toUpperCase() ?? '?';
    return { direct: lines.filter((l) => !/\[\d+ lua\]/.test(l)).map(command), inScripts: lines.filter((l) => /\[\d+ lua\]/.test(l)).map(command) };
  } finally {
    monitor.destroy();
  }
}

/** A put of `rawToken` (type `tokenType`) watched: its record's id and the commands Redis saw. */
async function watchedPut(rawToken: string, tokenType = 'Bearer'): Promise<{ id: string; now: number; cmds: { direct: string[]; inScripts: string[] } }> {
  const now = Date.now();
  let id = '';
  const cmds = await watched(async () => {
    id = (await store.put({ appKeyId: APP, tokenType, issuedAt: now, expiresAt: now + 2 * HOUR, revokeAt: now + HOUR }, rawToken)).id;
  });
  return { id, now, cmds };
}

describe('TokenStore.put on Redis', () => {
  it('is one call for a new token (the index entry, the record and the pointer, written if no record exists), storing what keyv would', async () => {
    const { id, now, cmds } = await watchedPut('redis-put-raw-token-0001');
    // One call: EVALSHA (and EVAL only where the server did not have the script yet: this test's
    // first put), which reads the record's key and, finding none, writes the three.
    expect(cmds.direct.filter((c) => c !== 'EVAL')).toEqual(['EVALSHA']);
    expect(cmds.inScripts.sort()).toEqual(['GET', 'SET', 'SET', 'ZADD']);

    // What a keyv reader sees is the record (keyv's own envelope, decoded by keyv).
    const key = (await backend.dumpAll()).match(new RegExp(`[^"]*:tok:${id}`))![0]!.replace(`${backend.namespace}::`, '');
    const viaKeyv = (await keyv.get(key)) as Record<string, unknown>;
    expect(viaKeyv).toMatchObject({ id, appKeyId: APP, state: 'active', issuedAt: now, revokeAt: now + HOUR });
    // The store finds it as the fleet's current token, through the pointer and the index.
    expect((await store.findUsable(APP, now))?.record.id).toBe(id);
    expect((await store.list({ appKeyId: APP })).map((r) => r.id)).toEqual([id]);
    // The record's TTL is Redis's own (until expiry plus the retention), as keyv.set would set it.
    const physical = `${backend.namespace}::${key}`;
    const c = createClient({ url: redis.url });
    await c.connect();
    try {
      const pttl = Number(await c.pTTL(physical));
      expect(pttl).toBeGreaterThan(2 * HOUR);
      expect(pttl).toBeLessThanOrEqual(2 * HOUR + 7 * 24 * HOUR);
    } finally {
      await c.close();
    }
  });

  it('once the server has the script, a put is exactly one EVALSHA; after SCRIPT FLUSH it sends the script again and succeeds', async () => {
    const now = Date.now();
    const input = { appKeyId: APP, tokenType: 'Bearer', issuedAt: now, expiresAt: now + 2 * HOUR, revokeAt: now + HOUR };
    const warm = await watched(() => store.put(input, 'redis-put-raw-token-0003'));
    expect(warm.direct).toEqual(['EVALSHA']);
    const c = createClient({ url: redis.url });
    await c.connect();
    await c.scriptFlush();
    await c.close();
    let id = '';
    const cold = await watched(async () => {
      id = (await store.put(input, 'redis-put-raw-token-0004')).id;
    });
    expect(cold.direct).toEqual(['EVALSHA', 'EVAL']);
    expect((await store.get(id))?.state).toBe('active');
  });

  it('a token whose record exists writes nothing in that call: an active one is returned as it is, an ended one is written active again (createdAt kept)', async () => {
    const t0 = Date.now();
    const first = await store.put({ appKeyId: APP, tokenType: 'Bearer', issuedAt: t0, expiresAt: t0 + 2 * HOUR, revokeAt: t0 + HOUR }, 'redis-put-raw-token-0005');
    const later = { appKeyId: APP, tokenType: 'Bearer', issuedAt: t0 + 1_000, expiresAt: t0 + 3 * HOUR, revokeAt: t0 + 2 * HOUR };
    const again = await watched(async () => {
      expect(await store.put(later, 'redis-put-raw-token-0005')).toEqual(first); // active: unchanged
    });
    expect(again.inScripts).toEqual(['GET']); // the script found the record and wrote nothing
    expect(again.direct.filter((c) => c !== 'EVAL')).toEqual(['EVALSHA', 'ZADD']); // then the index entry, as before
    await store.update(first.id, { state: 'revoked', reason: 'logout' });
    const revived = await store.put(later, 'redis-put-raw-token-0005');
    expect(revived).toMatchObject({ id: first.id, state: 'active', issuedAt: t0 + 1_000, createdAt: first.createdAt, reason: null });
    expect(await store.getToken(first.id)).toBe('redis-put-raw-token-0005');
  });

  it('a value keyv serializes its own way (a string starting with ":") is still one call, and reads back the same', async () => {
    const { id, cmds } = await watchedPut('redis-put-raw-token-0002', ':colon-type');
    expect(cmds.direct.filter((c) => c !== 'EVAL')).toEqual(['EVALSHA']);
    expect((await store.get(id))?.tokenType).toBe(':colon-type');
    expect(((await keyv.get(store.recordKey(id))) as { tokenType?: string } | undefined)?.tokenType).toBe(':colon-type');
  });

  it('a keyv with a set hook is written through keyv.set() (the hook sees every write): the record is read first, then written', async () => {
    const hooked = backend.makeKeyv();
    const seen: string[] = [];
    hooked.hooks.addHandler('preSet', (d: { key: string }) => seen.push(d.key));
    const own = new TokenStore({ keyv: hooked });
    expect(await own.get('0'.repeat(64))).toBeUndefined(); // connected before anything is watched
    const now = Date.now();
    let id = '';
    const cmds = await watched(async () => {
      id = (await own.put({ appKeyId: APP, tokenType: 'Bearer', issuedAt: now, expiresAt: now + 2 * HOUR, revokeAt: now + HOUR }, 'redis-put-raw-token-0006')).id;
    });
    expect(cmds.direct.some((c) => c.startsWith('EVAL'))).toBe(false);
    expect(cmds.direct[0]).toBe('GET');
    expect(cmds.direct.slice(1).sort()).toEqual(['SET', 'SET', 'ZADD']); // the record, the pointer and the entry
    expect(seen.some((k) => k.endsWith(`:tok:${id}`))).toBe(true);
    expect(seen.some((k) => k.endsWith(':meta:current'))).toBe(true);
    expect((await own.findUsable(APP, now))?.record.id).toBe(id);
  });
});
