/**
 * A put on Redis is a read and one write, as keyv's own get and set are: the index entry, the
 * record and the current-token pointer leave in one script call, and what it stores is what keyv
 * would have stored (a keyv reader, `findUsable` and the TTLs all see the same). Watched with
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

describe('TokenStore.put on Redis', () => {
  it('reads once and writes once (the index entry, the record and the pointer in one script), storing what keyv would', async () => {
    const now = Date.now();
    const input = { appKeyId: APP, tokenType: 'Bearer', issuedAt: now, expiresAt: now + 2 * HOUR, revokeAt: now + HOUR };
    let id = '';
    const cmds = await watched(async () => {
      id = (await store.put(input, 'redis-put-raw-token-0001')).id;
    });
    // EVALSHA, and EVAL only where the server did not have the script yet (this test's first put).
    expect(cmds.direct.filter((c) => c !== 'EVAL')).toEqual(['GET', 'EVALSHA']);
    expect(cmds.inScripts.sort()).toEqual(['SET', 'SET', 'ZADD']);

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

  it('once the server has the script, a put is exactly GET and EVALSHA; after SCRIPT FLUSH it sends the script again and succeeds', async () => {
    const now = Date.now();
    const input = { appKeyId: APP, tokenType: 'Bearer', issuedAt: now, expiresAt: now + 2 * HOUR, revokeAt: now + HOUR };
    const warm = await watched(() => store.put(input, 'redis-put-raw-token-0003'));
    expect(warm.direct).toEqual(['GET', 'EVALSHA']);
    const c = createClient({ url: redis.url });
    await c.connect();
    await c.scriptFlush();
    await c.close();
    let id = '';
    const cold = await watched(async () => {
      id = (await store.put(input, 'redis-put-raw-token-0004')).id;
    });
    expect(cold.direct).toEqual(['GET', 'EVALSHA', 'EVAL']);
    expect((await store.get(id))?.state).toBe('active');
  });

  it('a value keyv writes its own way (a string starting with ":") goes through keyv, and reads back the same', async () => {
    const now = Date.now();
    const input = { appKeyId: APP, tokenType: ':colon-type', issuedAt: now, expiresAt: now + 2 * HOUR, revokeAt: now + HOUR };
    let id = '';
    const cmds = await watched(async () => {
      id = (await store.put(input, 'redis-put-raw-token-0002')).id;
    });
    expect(cmds.direct.some((c) => c.startsWith('EVAL'))).toBe(false);
    expect(cmds.direct.filter((c) => c === 'SET')).toHaveLength(2); // the record and the pointer
    expect((await store.get(id))?.tokenType).toBe(':colon-type');
  });
});
