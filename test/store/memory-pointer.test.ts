/**
 * On an in-memory keyv (a Map) the current-token pointer lives beside the Map, in this process:
 * a put writes one value, and every store over the same Map sees the same current token.
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from '@jest/globals';
import { Keyv } from 'keyv';
import { TokenStore } from '../../src/store/token-store.js';

function fakeToken(): string {
  const body = Buffer.from(JSON.stringify({ sub: 'test', jti: randomBytes(8).toString('hex') })).toString('base64url');
  return `eyJhbGciOiJIUzI1NiJ9.${body}.${randomBytes(24).toString('base64url')}`;
}

describe('the current-token pointer of a Map store', () => {
  it('a put writes the record alone to the Map, and another store over the same Map finds the newest token by the pointer', async () => {
    const map = new Map<string, unknown>();
    const a = new TokenStore({ keyv: new Keyv({ store: map, throwOnErrors: true }) }).forAppKey('app-a');
    const b = new TokenStore({ keyv: new Keyv({ store: map, throwOnErrors: true }) }).forAppKey('app-a');
    const now = Date.now();
    const input = (issuedAt: number) => ({ appKeyId: 'app-a', tokenType: 'Bearer', issuedAt, expiresAt: issuedAt + 3_600_000, revokeAt: issuedAt + 3_000_000, ownerId: 'me' });
    const older = await a.put(input(now - 1_000), fakeToken());
    expect(map.size).toBe(1); // the record; no pointer value
    const newer = await a.put(input(now), fakeToken());
    expect(map.size).toBe(2);
    expect((await b.findUsable('app-a', now))?.record.id).toBe(newer.id);
    expect(older.id).not.toBe(newer.id);
  });
});
