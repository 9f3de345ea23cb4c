/**
 * The app key's current token: on an in-memory keyv (a Map) its pointer lives beside the Map, in
 * this process; on SQLite there is none (the range query that lists the app key's records finds
 * the newest). Either way a put writes one value, and findUsable answers the newest usable token.
 */
import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it, jest } from '@jest/globals';
import { Keyv } from 'keyv';
import { TokenStore } from '../../src/store/token-store.js';
import { createSqliteBackend, type StoreBackend } from '../helpers/store-backends.js';

function fakeToken(): string {
  const body = Buffer.from(JSON.stringify({ sub: 'test', jti: randomBytes(8).toString('hex') })).toString('base64url');
  return `eyJhbGciOiJIUzI1NiJ9.${body}.${randomBytes(24).toString('base64url')}`;
}
const input = (issuedAt: number) => ({ appKeyId: 'app-a', tokenType: 'Bearer', issuedAt, expiresAt: issuedAt + 3_600_000, revokeAt: issuedAt + 3_000_000, ownerId: 'me' });

const backends: StoreBackend[] = [];
afterEach(async () => {
  for (const b of backends.splice(0)) await b.cleanup();
});

describe('the current token', () => {
  it('Map: a put writes the record alone to the Map, and another store over the same Map finds the newest token by the pointer', async () => {
    const map = new Map<string, unknown>();
    const a = new TokenStore({ keyv: new Keyv({ store: map, throwOnErrors: true }) }).forAppKey('app-a');
    const b = new TokenStore({ keyv: new Keyv({ store: map, throwOnErrors: true }) }).forAppKey('app-a');
    const now = Date.now();
    const older = await a.put(input(now - 1_000), fakeToken());
    expect(map.size).toBe(1); // the record; no pointer value
    const newer = await a.put(input(now), fakeToken());
    expect(map.size).toBe(2);
    expect(older.id).not.toBe(newer.id);
    expect((await b.findUsable('app-a', now))?.record.id).toBe(newer.id);
  });

  it('SQLite: a put is one write, and findUsable picks the newest usable record of the app key, whatever order they were put in', async () => {
    const backend = createSqliteBackend();
    backends.push(backend);
    const keyv = backend.makeKeyv();
    const store = new TokenStore({ keyv }).forAppKey('app-a');
    const now = Date.now();
    await store.put(input(now - 2_000), fakeToken());
    const sets = jest.spyOn(keyv, 'set');
    const newest = await store.put(input(now), fakeToken());
    expect(sets).toHaveBeenCalledTimes(1); // the record; no pointer
    await store.put(input(now - 1_000), fakeToken()); // an older one put last
    const other = new TokenStore({ keyv: backend.makeKeyv() }).forAppKey('app-a');
    expect((await other.findUsable('app-a', now))?.record.id).toBe(newest.id);
    await other.update(newest.id, { state: 'revoked', reason: 'manual' });
    expect((await other.findUsable('app-a', now))?.record.issuedAt).toBe(now - 1_000); // the next newest
  });
});
