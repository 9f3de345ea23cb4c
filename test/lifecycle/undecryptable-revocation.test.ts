/**
 * A revocation whose token the store cannot open (no or the wrong `encryptionKey`) is a
 * configuration error of this process: it reports `failed` with `ERR_DECRYPT`, sends nothing, and
 * leaves the record exactly as it was, so that a process with the right key still revokes it (a
 * record marked `failed` is never revoked by anyone: sweeps leave it for audit).
 */
import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from '@jest/globals';
import Keyv from 'keyv';
import { ErrorCodes } from '../../src/core/errors.js';
import { TokenLifecycle } from '../../src/lifecycle/token-lifecycle.js';
import { LsOAuthClient } from '../../src/providers/ls/ls-client.js';
import { lsProvider } from '../../src/providers/ls/ls-provider.js';
import { appKeyIdFor } from '../../src/providers/provider.js';
import { TokenStore } from '../../src/store/token-store.js';
import { startMockLsServer, type MockLsServer } from '../../src/testing/index.js';

const APP_KEY = 'UNDECRYPTABLEKEY0001';
const SECRET = 'undecryptable-secret-0001';
const KEY = randomBytes(32);
const lifecycles: TokenLifecycle[] = [];
let mock: MockLsServer | undefined;

afterEach(async () => {
  await Promise.all(lifecycles.splice(0).map((l) => l.shutdown({ deadlineMs: 2_000 })));
  await mock?.close();
});

describe('revoking a token the store cannot open', () => {
  it.each([
    ['no key', undefined],
    ['the wrong key', randomBytes(32)],
  ])('with %s: failed (ERR_DECRYPT), nothing sent, the record unchanged; with the right key it is revoked', async (_name, wrongKey) => {
    mock = await startMockLsServer({ cutoffKst: null });
    const keyv = new Keyv();
    const client = new LsOAuthClient({ appKey: APP_KEY, appSecretKey: SECRET, baseUrl: mock.url });
    const t = await client.issueToken();
    client.close();
    const sealed = new TokenStore({ keyv, prefix: 'ls-token', encryptionKey: KEY });
    const record = await sealed.put({ appKeyId: appKeyIdFor(lsProvider, APP_KEY, mock.url), tokenType: 'Bearer', issuedAt: t.issuedAt, expiresAt: t.expiresAt, revokeAt: t.expiresAt - 60_000, ownerId: 'daemon-gone' }, t.accessToken);

    const make = (encryptionKey?: Buffer): TokenLifecycle => {
      const lc = new TokenLifecycle({ appKey: APP_KEY, appSecretKey: SECRET, baseUrl: mock!.url, store: keyv, sweepIntervalMs: 0, ...(encryptionKey === undefined ? {} : { encryptionKey }) });
      lc.on('error', () => undefined);
      lifecycles.push(lc);
      return lc;
    };
    const wrong = make(wrongKey);
    const failed = await wrong.revoke(record.id);
    expect(failed).toMatchObject({ outcome: 'failed', attempts: 0, error: { code: ErrorCodes.DECRYPT } });
    expect(await sealed.get(record.id)).toEqual(record);
    expect(mock.stats().revokeRequests).toBe(0);
    expect(mock.isActive(t.accessToken)).toBe(true);

    const right = make(KEY);
    expect(await right.revoke(record.id)).toMatchObject({ outcome: 'revoked' });
    expect(mock.isActive(t.accessToken)).toBe(false);
    expect((await sealed.get(record.id))?.state).toBe('revoked');
  });
});
