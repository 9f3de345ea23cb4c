/**
 * Issue 11, item 6: with `encryptionKey` set, a plaintext record (planted by whoever can write to
 * the store, or left from before encryption was turned on) is refused: `findUsable` skips it and
 * reports ERR_DECRYPT (field `token.alg`) to `onError`, `getToken` throws that error. Only
 * `acceptPlaintextRecords: true` (a migration window) lets such records be read, and the next
 * update seals them.
 */
import { randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { ErrorCodes, LsTokenError } from '../../src/core/errors.js';
import { TokenStore, type TokenStoreErrorContext } from '../../src/store/token-store.js';
import { STORE_BACKENDS, type StoreBackend } from '../helpers/store-backends.js';

const KEY = randomBytes(32);
const HOUR = 3_600_000;
const PREFIX = 'pt';

function makeToken(): string {
  const body = Buffer.from(JSON.stringify({ sub: 'token', jti: randomBytes(8).toString('hex') })).toString('base64url');
  return `eyJhbGciOiJIUzUxMiJ9.${body}.${randomBytes(24).toString('base64url')}`;
}

describe.each(STORE_BACKENDS)('plaintext records in an encrypted store on $name', (factory) => {
  let backend: StoreBackend;
  let errors: Array<{ err: LsTokenError; ctx: TokenStoreErrorContext }>;
  const onError = (err: LsTokenError, ctx: TokenStoreErrorContext): void => {
    errors.push({ err, ctx });
  };
  /** A plaintext record written by a store without a key (an attacker, or the pre-encryption past). */
  const plant = async (token: string, t0 = Date.now()): Promise<string> => {
    const plain = new TokenStore({ keyv: backend.makeKeyv(), prefix: PREFIX });
    const rec = await plain.put({ appKeyId: 'app', tokenType: 'Bearer', issuedAt: t0, expiresAt: t0 + 10 * HOUR, revokeAt: t0 + 9 * HOUR }, token);
    return rec.id;
  };

  beforeEach(() => {
    backend = factory.create();
    errors = [];
  });
  afterEach(async () => {
    await backend.cleanup();
  });

  it('findUsable skips a planted plaintext token and reports ERR_DECRYPT; getToken refuses it', async () => {
    const planted = makeToken();
    const id = await plant(planted);
    const secure = new TokenStore({ keyv: backend.makeKeyv(), prefix: PREFIX, encryptionKey: KEY, onError });
    expect(await secure.findUsable('app', Date.now())).toBeUndefined();
    expect(errors).toHaveLength(1);
    expect(errors[0]!.err).toMatchObject({ code: ErrorCodes.DECRYPT, field: 'token.alg' });
    expect(errors[0]!.err.message).toContain('acceptPlaintextRecords');
    expect(errors[0]!.ctx).toEqual({ key: secure.recordKey(id, 'app'), op: 'findUsable' });
    expect(errors[0]!.err.message).not.toContain(planted);

    let caught: unknown;
    try {
      await secure.getToken(id);
    } catch (err) {
      caught = err;
    }
    expect(caught).toMatchObject({ code: ErrorCodes.DECRYPT, field: 'token.alg' });
    // The record itself is still there and readable (not quarantined): the operator decides.
    expect((await secure.get(id))?.state).toBe('active');
  });

  it('findUsable still returns the newest sealed token when a newer plaintext one is planted', async () => {
    const secure = new TokenStore({ keyv: backend.makeKeyv(), prefix: PREFIX, encryptionKey: KEY, onError });
    const t0 = Date.now();
    const mine = makeToken();
    await secure.put({ appKeyId: 'app', tokenType: 'Bearer', issuedAt: t0 - HOUR, expiresAt: t0 + 5 * HOUR, revokeAt: t0 + 4 * HOUR }, mine);
    await plant(makeToken(), t0);
    expect((await secure.findUsable('app', t0))?.token).toBe(mine);
    expect(errors.map((e) => e.err.field)).toEqual(['token.alg']);
  });

  it('acceptPlaintextRecords: true reads plaintext records, and update seals them', async () => {
    const legacy = makeToken();
    const id = await plant(legacy);
    const migrating = new TokenStore({ keyv: backend.makeKeyv(), prefix: PREFIX, encryptionKey: KEY, acceptPlaintextRecords: true, onError });
    expect((await migrating.findUsable('app', Date.now()))?.token).toBe(legacy);
    expect(await migrating.getToken(id)).toBe(legacy);
    const stored = async (): Promise<string> => (await backend.readRaw(`${PREFIX}:{app}:tok:${id}`)) ?? '';
    expect(await stored()).toContain(legacy);
    await migrating.update(id, { ownerId: 'inst-1' });
    // (The value of the key, not the whole SQLite file: SQLite may keep the old row in a free page.)
    expect(await stored()).toContain('aes-256-gcm');
    expect(await stored()).not.toContain(legacy.split('.')[2]!);
    // Sealed now: a strict store reads it.
    const strict = new TokenStore({ keyv: backend.makeKeyv(), prefix: PREFIX, encryptionKey: KEY, onError });
    expect(await strict.getToken(id)).toBe(legacy);
    expect(errors).toEqual([]);
  });

  it('a store without a key reads plaintext records as before', async () => {
    const token = makeToken();
    const id = await plant(token);
    const plain = new TokenStore({ keyv: backend.makeKeyv(), prefix: PREFIX, onError });
    expect(await plain.getToken(id)).toBe(token);
    expect((await plain.findUsable('app', Date.now()))?.token).toBe(token);
  });
});

describe('acceptPlaintextRecords option', () => {
  it.each(['yes', 1, null])('rejects %p naming the field', (value) => {
    let caught: unknown;
    try {
      new TokenStore({ encryptionKey: KEY, acceptPlaintextRecords: value as never });
    } catch (err) {
      caught = err;
    }
    expect(caught).toMatchObject({ code: ErrorCodes.INVALID_OPTION, field: 'acceptPlaintextRecords' });
  });
});
