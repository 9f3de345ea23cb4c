/**
 * A write to an in-process `Map` skips keyv's serializer when the result is the same string: the
 * Map then holds, byte for byte, what `keyv.set()` would have written, so that keyv (a user's
 * `keyv.get()`, an older version of this library) reads it back unchanged. Anything keyv writes
 * its own way (a string starting with ':', a Buffer, a Date) is written with keyv's own
 * serializer; any keyv with hooks, a serializer or compression of its own, and a `Map` subclass,
 * still go through `keyv.set()`.
 */
import { afterEach, describe, expect, it, jest } from '@jest/globals';
import fc from 'fast-check';
import { Keyv } from 'keyv';
import { KeyvAccess } from '../../src/store/keyv-access.js';
import { TokenStore } from '../../src/store/token-store.js';

const NOW = Math.floor(Date.now() / 1000) * 1000; // pinned for both writes of a pair, so that their `expires` agree

afterEach(() => {
  jest.restoreAllMocks();
});

/** What keyv.set() and KeyvAccess.set() leave in a fresh Map each, for one value, at one pinned instant. */
async function bothWrites(value: unknown, ttlMs: number | undefined, options: { namespace?: string; configure?: (k: Keyv) => void } = {}) {
  jest.spyOn(Date, 'now').mockReturnValue(NOW);
  const viaKeyv = new Map<string, unknown>();
  const viaAccess = new Map<string, unknown>();
  const k1 = new Keyv({ store: viaKeyv, namespace: options.namespace });
  const k2 = new Keyv({ store: viaAccess, namespace: options.namespace });
  options.configure?.(k1);
  options.configure?.(k2);
  const access = new KeyvAccess(k2, { scrub: (t: string) => t }, () => undefined);
  const setSpy = jest.spyOn(k2, 'set');
  const a = await k1.set('ls-token:{app}:tok:abc', value, ttlMs);
  const b = await access.set('ls-token:{app}:tok:abc', value, ttlMs);
  jest.restoreAllMocks();
  return { viaKeyv: [...viaKeyv], viaAccess: [...viaAccess], answers: [a, b], wentThroughKeyv: setSpy.mock.calls.length > 0 };
}

describe('KeyvAccess.set on a Map', () => {
  it('writes a token record without keyv.set(), and the Map holds exactly what keyv.set() writes', async () => {
    const record = {
      schema: 1,
      id: 'a'.repeat(64),
      appKeyId: 'APPKEY',
      tokenType: 'Bearer',
      issuedAt: NOW,
      expiresAt: NOW + 3_600_000,
      revokeAt: NOW + 3_000_000,
      state: 'active',
      reason: null,
      attempts: 0,
      lastError: { code: 'ERR_NETWORK', message: 'socket hang up "quoted" \\ back\u2028' },
      ownerId: 'host-1-abc',
      createdAt: NOW,
      updatedAt: NOW,
      token: { alg: 'none', data: 'eyJ0eXAiOiJKV1QifQ.eyJzdWIiOiJ0b2tlbiJ9.c2ln' },
    };
    const out = await bothWrites(record, 86_400_000, { namespace: 'ns' });
    expect(out.wentThroughKeyv).toBe(false);
    expect(out.viaAccess).toEqual(out.viaKeyv);
    expect(out.answers).toEqual([true, true]);
    // keyv reads it back as the same record.
    const reader = new Keyv({ store: new Map(out.viaAccess), namespace: 'ns' });
    expect(await reader.get('ls-token:{app}:tok:abc')).toEqual(record);
  });

  it('property: for any JSON-like value the Map holds the very string keyv.set() writes', async () => {
    const value = fc.oneof(
      fc.jsonValue(),
      fc.record({ a: fc.option(fc.string(), { nil: undefined }), b: fc.array(fc.oneof(fc.string(), fc.double(), fc.constant(undefined))) }),
      fc.dictionary(fc.string(), fc.oneof(fc.string(), fc.integer(), fc.constant(':colon'), fc.constant(null))),
    );
    await fc.assert(
      fc.asyncProperty(value, fc.integer({ min: 1, max: 10 ** 9 }), async (v, ttl) => {
        const out = await bothWrites(v, ttl);
        expect(out.viaAccess).toEqual(out.viaKeyv);
        expect(out.answers).toEqual([true, true]);
      }),
      { numRuns: 300 },
    );
  });

  it.each([
    ['a string starting with ":"', { data: ':not-plain' }],
    ['a Buffer', { data: Buffer.from('xyz') }],
    ['a Date (toJSON)', { at: new Date(NOW) }],
    ['an array with a hole', { list: [1, , 3] }], // eslint-disable-line no-sparse-arrays
    ['a class instance', { v: new (class Point { x = 1; })() }],
  ])('writes a value with %s through keyv\'s own serializer: the same string, without keyv.set()', async (_what, value) => {
    const out = await bothWrites(value, 60_000);
    expect(out.wentThroughKeyv).toBe(false);
    expect(out.viaAccess).toEqual(out.viaKeyv);
  });

  it('leaves every write to keyv.set() when keyv has a preSet or postSet hook, its own serializer, or no TTL is given', async () => {
    const seen: string[] = [];
    const hooked = await bothWrites({ a: 1 }, 60_000, { configure: (k) => k.hooks.addHandler('preSet', (d: { key: string }) => seen.push(d.key)) });
    expect(hooked.wentThroughKeyv).toBe(true);
    expect(seen).toHaveLength(2); // both writes ran the user's hook
    const post = await bothWrites({ a: 1 }, 60_000, { configure: (k) => k.hooks.addHandler('postSet', () => undefined) });
    expect(post.wentThroughKeyv).toBe(true);
    const ownSerializer = await bothWrites({ a: 1 }, 60_000, { configure: (k) => ((k as unknown as { serialize: (d: unknown) => string }).serialize = (d) => `X${JSON.stringify(d)}`) });
    expect(ownSerializer.wentThroughKeyv).toBe(true);
    expect(ownSerializer.viaAccess).toEqual(ownSerializer.viaKeyv);
    const noTtl = await bothWrites({ a: 1 }, undefined);
    expect(noTtl.wentThroughKeyv).toBe(true);
    expect(noTtl.viaAccess).toEqual(noTtl.viaKeyv);
  });

  it('leaves a Map subclass to keyv.set(), whose set() may do or fail anything', async () => {
    class Logged extends Map<string, unknown> {
      readonly writes: string[] = [];
      override set(key: string, value: unknown): this {
        this.writes.push(key);
        return super.set(key, value);
      }
    }
    const store = new Logged();
    const keyv = new Keyv({ store });
    const setSpy = jest.spyOn(keyv, 'set');
    await new KeyvAccess(keyv, { scrub: (t: string) => t }, () => undefined).set('k', { a: 1 }, 60_000);
    expect(setSpy).toHaveBeenCalledTimes(1);
    expect(store.writes).toEqual(['keyv:k']);
  });

  it('is what a TokenStore on a Map writes: a user reading with keyv gets the stored record', async () => {
    const map = new Map<string, unknown>();
    const keyv = new Keyv({ store: map });
    const store = new TokenStore({ keyv });
    const setSpy = jest.spyOn(keyv, 'set');
    const now = Date.now();
    const rec = await store.put({ appKeyId: 'APPKEY', tokenType: 'Bearer', issuedAt: now, expiresAt: now + 3_600_000, revokeAt: now + 3_000_000 }, 'raw-token-value-0001');
    expect(setSpy).not.toHaveBeenCalled();
    const key = [...map.keys()].find((k) => k.includes(':tok:'))!;
    const viaKeyv = (await keyv.get(key)) as Record<string, unknown>;
    expect(viaKeyv['id']).toBe(rec.id);
    expect(viaKeyv['state']).toBe('active');
    expect(await store.get(rec.id)).toEqual(rec);
  });
});
