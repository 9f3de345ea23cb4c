/**
 * Issue 21, item 1: a stored token is bound to its record's identity. With an encryption key the
 * AES-GCM seal authenticates the record id and its app key id (the scoped id: provider and host
 * scope hashed in), so a record relabelled to another app key fails to open (ERR_DECRYPT,
 * quarantined); a seal written by 0.1.x (record id alone) still opens and is sealed again with the
 * binding on its next write. With or without a key, the lifecycle refuses to adopt a stored token
 * whose own claims name another app key (LS and KIS: `jti`).
 */
import { createCipheriv, randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { Keyv } from 'keyv';
import { TokenLifecycle } from '../../src/index.js';
import { ErrorCodes, type LsTokenError } from '../../src/core/errors.js';
import { tokenId } from '../../src/core/fingerprint.js';
import { openToken, sealToken } from '../../src/store/crypto-box.js';
import { TokenStore, type TokenStoreErrorContext } from '../../src/store/token-store.js';
import { kisProvider } from '../../src/providers/kis.js';
import { lsProvider } from '../../src/providers/ls/ls-provider.js';
import { mayBelongTo } from '../../src/providers/provider.js';
import { mintMockJwt, createMockJwtSecret, startMockLsServer, type MockLsServer } from '../../src/testing/index.js';

const KEY = randomBytes(32);
const OTHER_KEY = randomBytes(32);
const HOUR = 3_600_000;

function lsToken(appKey: string): string {
  const iatS = Math.floor(Date.now() / 1000);
  return mintMockJwt({ appKey, iatS, expS: iatS + 20 * 3600, secret: createMockJwtSecret() });
}

function input(appKeyId: string, t0 = Date.now()) {
  return { appKeyId, tokenType: 'Bearer', issuedAt: t0, expiresAt: t0 + 10 * HOUR, revokeAt: t0 + 9 * HOUR };
}

/**
 * Rewrites fields of the stored value of record `id`, as whoever can write to the store could. A
 * new `appKeyId` moves the record where that app key's lookups find it (its key under the app
 * key's hash tag, its current-token pointer, its index entry): the relabel attack in the store's layout.
 */
async function rewrite(store: TokenStore, id: string, change: Record<string, unknown>): Promise<void> {
  const key = store.recordKey(id);
  const value = (await store.keyv.get(key)) as Record<string, unknown>;
  const to = change['appKeyId'];
  if (typeof to === 'string') {
    await store.keyv.set(store.recordKey(id, to), { ...value, ...change });
    await store.forAppKey(to).setMeta('current', { id, issuedAt: value['issuedAt'] });
    // On a Map the index and the pointer live beside it, in the process: list the record there too.
    await store.forAppKey(to).repairIndex([id]);
    return;
  }
  await store.keyv.set(key, { ...value, ...change });
}

/** A seal as 0.1.x wrote it: AES-256-GCM with the record id alone as AAD, no version marker. */
function legacySeal(raw: string, key: Buffer, id: string) {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: 16 });
  cipher.setAAD(Buffer.from(id, 'utf8'));
  const data = Buffer.concat([cipher.update(raw, 'utf8'), cipher.final()]);
  return { alg: 'aes-256-gcm', iv: iv.toString('base64'), tag: cipher.getAuthTag().toString('base64'), data: data.toString('base64') };
}

describe('the seal binds the record identity', () => {
  let keyv: Keyv;
  let errors: Array<{ err: LsTokenError; ctx: TokenStoreErrorContext }>;
  const onError = (err: LsTokenError, ctx: TokenStoreErrorContext): void => void errors.push({ err, ctx });
  beforeEach(() => {
    keyv = new Keyv();
    errors = [];
  });

  it('a record relabelled to another app key does not open: ERR_DECRYPT, quarantined, not adopted', async () => {
    const store = new TokenStore({ keyv, encryptionKey: KEY, onError });
    const tokenA = lsToken('key-A');
    const tokenB = lsToken('key-B');
    const a = await store.put(input('id-A', Date.now() - HOUR), tokenA);
    const b = await store.put(input('id-B'), tokenB);
    await store.update(a.id, { state: 'revoked', reason: 'manual' });
    await rewrite(store, b.id, { appKeyId: 'id-A' });

    expect(await store.findUsable('id-A', Date.now())).toBeUndefined();
    expect(errors.map((e) => [e.err.code, e.err.field, e.ctx.op])).toEqual([[ErrorCodes.DECRYPT, 'token.binding', 'findUsable']]);
    expect(errors[0]!.err.message).not.toContain(tokenB);
    expect(await keyv.get(store.recordKey(b.id, 'id-A'))).toBeUndefined(); // the relabelled copy is gone...
    expect(await store.get(b.id)).toMatchObject({ appKeyId: 'id-B', state: 'active' }); // ...B's own record untouched
    expect(await keyv.get(store.quarantineKey(b.id))).toMatchObject({ code: ErrorCodes.DECRYPT, field: 'token.binding' });
  });

  it('the seal carries a version marker and a key check; the binding, not only the id, is authenticated', () => {
    const token = lsToken('key-A');
    const id = tokenId(token);
    const sealed = sealToken(token, KEY, { id, appKeyId: 'id-A' });
    expect(sealed).toMatchObject({ alg: 'aes-256-gcm', v: 2 });
    expect(openToken(sealed, KEY, { id, appKeyId: 'id-A' })).toBe(token);
    const relabelled = (() => {
      try {
        openToken(sealed, KEY, { id, appKeyId: 'id-B' });
      } catch (err) {
        return err as LsTokenError;
      }
      throw new Error('opened under another app key id');
    })();
    expect([relabelled.code, relabelled.field]).toEqual([ErrorCodes.DECRYPT, 'token.binding']);
    // Stripping the marker does not downgrade to the id-only binding.
    const { v: _v, kid: _kid, ...stripped } = sealed as Record<string, unknown>;
    expect(() => openToken(stripped as never, KEY, { id, appKeyId: 'id-A' })).toThrow(expect.objectContaining({ code: ErrorCodes.DECRYPT }) as never);
  });

  it('another key is skipped, not quarantined (the operator may have a key mix-up to fix)', async () => {
    const writer = new TokenStore({ keyv, encryptionKey: KEY });
    const rec = await writer.put(input('id-A'), lsToken('key-A'));
    const reader = new TokenStore({ keyv, encryptionKey: OTHER_KEY, onError });
    expect(await reader.findUsable('id-A', Date.now())).toBeUndefined();
    expect(errors.map((e) => [e.err.code, e.err.field])).toEqual([[ErrorCodes.DECRYPT, undefined]]);
    expect((await reader.get(rec.id))?.state).toBe('active');
  });

  it('a 0.1.x seal (record id alone) still opens, and is sealed with the binding on its next write', async () => {
    const store = new TokenStore({ keyv, encryptionKey: KEY, onError });
    const token = lsToken('key-A');
    const rec = await store.put(input('id-A'), token);
    await rewrite(store, rec.id, { token: legacySeal(token, KEY, rec.id) });

    expect(await store.getToken(rec.id)).toBe(token);
    expect((await store.findUsable('id-A', Date.now()))?.token).toBe(token);
    await store.update(rec.id, { attempts: 1 });
    const stored = (await keyv.get(store.recordKey(rec.id))) as { token: Record<string, unknown> };
    expect(stored.token).toMatchObject({ alg: 'aes-256-gcm', v: 2 });
    expect(await store.getToken(rec.id)).toBe(token);
    // Now bound: a relabel no longer opens.
    await rewrite(store, rec.id, { appKeyId: 'id-B' });
    expect(await store.findUsable('id-B', Date.now())).toBeUndefined();
    expect(errors.map((e) => e.err.field)).toEqual(['token.binding']);
  });

  it('an update by a process without the key keeps a 0.1.x seal as it is', async () => {
    const token = lsToken('key-A');
    const sealed = new TokenStore({ keyv, encryptionKey: KEY });
    const rec = await sealed.put(input('id-A'), token);
    const legacy = legacySeal(token, KEY, rec.id);
    await rewrite(sealed, rec.id, { token: legacy });
    const keyless = new TokenStore({ keyv, onError });
    expect((await keyless.update(rec.id, { attempts: 2 }))?.attempts).toBe(2);
    expect(((await keyv.get(sealed.recordKey(rec.id))) as { token: unknown }).token).toEqual(legacy);
    expect(errors).toEqual([]);
  });
});

describe('the app key a stored token names', () => {
  it('LS and KIS read `jti`; a token of another key may not be adopted, one that cannot tell may', () => {
    const token = lsToken('key-A');
    expect(mayBelongTo(lsProvider, token, 'key-A')).toBe(true);
    expect(mayBelongTo(lsProvider, token, 'key-B')).toBe(false);
    expect(mayBelongTo(kisProvider, token, 'key-B')).toBe(false);
    expect(mayBelongTo(lsProvider, 'opaque-token-value', 'key-B')).toBe(true);
  });
});

describe.each([
  ['without an encryption key', undefined],
  ['with an encryption key', KEY],
])('a lifecycle does not adopt another app key’s relabelled token (%s)', (_label, encryptionKey) => {
  let mock: MockLsServer;
  const lifecycles: TokenLifecycle[] = [];
  beforeEach(async () => {
    mock = await startMockLsServer();
  });
  afterEach(async () => {
    for (const l of lifecycles.splice(0)) await l.shutdown();
    await mock.close();
  });

  it('issues its own token instead, and quarantines the relabelled record', async () => {
    const keyv = new Keyv();
    const common = { appSecretKey: 'app-secret-0123456789', baseUrl: mock.url, store: keyv, ...(encryptionKey === undefined ? {} : { encryptionKey }) };
    const a = new TokenLifecycle({ ...common, appKey: 'app-key-A', instanceId: 'a' });
    const b = new TokenLifecycle({ ...common, appKey: 'app-key-B', instanceId: 'b' });
    lifecycles.push(a);
    // B's live token, recorded for B, then relabelled as A's by whoever can write to the store.
    const res = await fetch(`${mock.url}/oauth2/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'client_credentials', appkey: 'app-key-B', appsecretkey: 'app-secret-0123456789', scope: 'oob' }).toString(),
    });
    const tokenB = ((await res.json()) as { access_token: string }).access_token;
    const now = Date.now();
    const recB = await b.store.put({ appKeyId: b.appKeyId, tokenType: 'Bearer', issuedAt: now, expiresAt: now + 10 * HOUR, revokeAt: now + 9 * HOUR, ownerId: 'b' }, tokenB);
    await rewrite(b.store, recB.id, { appKeyId: a.appKeyId });

    if (encryptionKey === undefined) {
      // Nothing stops a revoke of the relabelled record by the seal here: it is not sent with A's credentials.
      const result = await a.revoke(recB.id);
      expect(result.outcome).toBe('failed');
      expect(mock.activeTokens()).toContain(tokenB);
      expect((await a.store.get(recB.id))?.lastError?.message).toContain('names another app key');
      await a.store.update(recB.id, { state: 'active', reason: null }); // back, for the adoption check below
    }

    await a.start();
    const got = await a.getAccessToken();
    expect(got).not.toBe(tokenB);
    expect(mayBelongTo(lsProvider, got, 'app-key-A')).toBe(true);
    expect(await a.store.get(recB.id)).toBeUndefined();
    expect(await keyv.get(a.store.quarantineKey(recB.id))).toBeDefined();
  });
});
