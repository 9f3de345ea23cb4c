/**
 * Issue 11, item 4: no unscrubbed foreign error is kept as `cause`. An axios error holds the
 * request config, whose body holds the app secret; a store backend's error may quote the value it
 * failed to write (the raw token). Loggers print causes (pino's error serializer appends their
 * messages and stacks), and users log `err.cause` on its own.
 */
import { afterEach, describe, expect, it } from '@jest/globals';
import { Keyv } from 'keyv';
import { ErrorCodes, LsTokenError, toLsTokenError } from '../../src/core/errors.js';
import { LsOAuthClient } from '../../src/providers/ls/ls-client.js';
import { TokenStore } from '../../src/store/token-store.js';
import { freePort } from '../helpers/net-and-random.js';
import { dumpError, leaksIn } from './leak-scan.js';
import { startHostileServer } from './hostile-server.js';
import { rejection } from '../helpers/rejection.js';

const APP_KEY = 'CAUSEKEY0123456789abcdefghijklmnopq';
const SECRET = 'CauseSecret/+0123456789abcdefXYZ';
const JWT = 'eyJhbGciOiJIUzUxMiJ9.eyJzdWIiOiJ0b2tlbiIsImp0aSI6ImsifQ.c2lnbmF0dXJlLW9mLXRoZS1nYXRld2F5';
const OPAQUE = 'opaque-store-token_4f9a~b7c2+/Zq81==';


const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe('transport errors of the LS client', () => {
  it('keep neither the secret nor the token in the cause chain (refused, timeout, abort, reset)', async () => {
    const closedPort = await freePort();
    const refused = new LsOAuthClient({ appKey: APP_KEY, appSecretKey: SECRET, baseUrl: `http://127.0.0.1:${closedPort}`, timeoutMs: 2_000 });
    const hang = await startHostileServer(() => undefined); // never answers
    const slow = new LsOAuthClient({ appKey: APP_KEY, appSecretKey: SECRET, baseUrl: hang.url, timeoutMs: 200 });
    const reset = await startHostileServer((_req, res) => res.socket?.destroy());
    const resetting = new LsOAuthClient({ appKey: APP_KEY, appSecretKey: SECRET, baseUrl: reset.url, timeoutMs: 2_000 });
    cleanups.push(() => refused.close(), () => slow.close(), () => resetting.close(), () => hang.close(), () => reset.close());
    const ac = new AbortController();

    const errors = [
      await rejection(refused.issueToken()),
      await rejection(refused.revokeToken(OPAQUE)),
      await rejection(slow.issueToken()),
      await rejection(slow.revokeToken(JWT)),
      await rejection(resetting.revokeToken(OPAQUE)),
      await rejection((async () => {
        const p = slow.revokeToken(OPAQUE, 'access_token', { signal: ac.signal });
        ac.abort();
        return p;
      })()),
    ];
    expect(errors.map((e) => e.code)).toEqual([
      ErrorCodes.NETWORK,
      ErrorCodes.NETWORK,
      ErrorCodes.TIMEOUT,
      ErrorCodes.TIMEOUT,
      ErrorCodes.NETWORK,
      ErrorCodes.ABORTED,
    ]);
    for (const err of errors) {
      // The cause is still there for debugging: it says what broke.
      expect(err.cause).toBeInstanceOf(Error);
      const dump = dumpError(err);
      expect(leaksIn(dump, SECRET)).toEqual([]);
      expect(leaksIn(dump, OPAQUE)).toEqual([]);
      expect(leaksIn(dump, JWT)).toEqual([]);
    }
    // What broke is still readable: the system error code survives on the cause.
    expect(dumpError(errors[0])).toContain('ECONNREFUSED');
  });
});

describe('toLsTokenError', () => {
  it('keeps no JWT a backend error quoted, in the message or in the cause printed by pino', () => {
    const backend = new Error(`WRONGTYPE cannot write {"token":{"alg":"none","data":"${JWT}"}}`, { cause: new Error(`inner ${JWT}`) });
    const err = toLsTokenError(backend, ErrorCodes.STORE, 'Token store write failed', true);
    expect(err.message).toContain('WRONGTYPE');
    expect(err.cause).toBeInstanceOf(Error);
    expect(leaksIn(dumpError(err), JWT)).toEqual([]);
  });

  it('keeps the code of the original error, and summarises non-Error values', () => {
    const sys = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:6379'), { code: 'ECONNREFUSED', config: { data: `appsecretkey=${SECRET}` } });
    const err = toLsTokenError(sys, ErrorCodes.STORE, 'read failed', true);
    expect((err.cause as { code?: string }).code).toBe('ECONNREFUSED');
    expect(leaksIn(dumpError(err), SECRET)).toEqual([]);
    const odd = toLsTokenError({ password: SECRET }, ErrorCodes.STORE, 'read failed');
    expect(leaksIn(dumpError(odd), SECRET)).toEqual([]);
  });
});

describe('the token store', () => {
  it('keeps an opaque token a failing backend quoted out of the error and its cause', async () => {
    // A backend that quotes what it failed to write, as some SQL drivers do.
    class FullStore extends Map<string, unknown> {
      override set(key: string, value: unknown): this {
        throw new Error(`SQLITE_FULL: cannot insert ${key} = ${JSON.stringify(value)}`);
      }
    }
    const keyv = new Keyv({ store: new FullStore(), throwOnErrors: true });
    const store = new TokenStore({ keyv });
    const t0 = Date.now();
    const err = await rejection(store.put({ appKeyId: 'app', tokenType: 'Bearer', issuedAt: t0, expiresAt: t0 + 3_600_000, revokeAt: t0 + 3_000_000 }, OPAQUE));
    expect(err.code).toBe(ErrorCodes.STORE);
    expect(err.message).toContain('SQLITE_FULL');
    expect(leaksIn(dumpError(err), OPAQUE)).toEqual([]);
  });
});
