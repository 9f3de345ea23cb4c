import { randomBytes } from 'node:crypto';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { Keyv } from 'keyv';
import KeyvRedis, { createKeyv as createRedisKeyv } from '@keyv/redis';
import KeyvSqlite, { createKeyv as createSqliteKeyv } from '@keyv/sqlite';
import { promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ErrorCodes, LsTokenError } from '../../src/core/errors.js';
import { tokenId } from '../../src/core/fingerprint.js';
import { openToken, parseEncryptionKey, sealToken } from '../../src/store/crypto-box.js';
import { ENDED_STATES, RECORD_SCHEMA_VERSION, isEnded, parseStoredRecord } from '../../src/store/token-record.js';
import type { NewTokenRecord, TokenRecord } from '../../src/store/token-record.js';
import { TokenStore } from '../../src/store/token-store.js';
import type { TokenStoreErrorContext } from '../../src/store/token-store.js';
import { STORE_BACKENDS, TEST_REDIS_URL, fastFailRedisOptions } from '../helpers/store-backends.js';
import { REDIS_MODE_BACKENDS } from '../helpers/redis-mode-backends.js';
import type { StoreBackend } from '../helpers/store-backends.js';

const HOUR = 3_600_000;
const KEY_A = randomBytes(32);
const KEY_B = randomBytes(32);
const PREFIX = 'lt';
const APP = 'app-key-id-a';

/** A unique JWT-shaped fake token. */
function makeToken(): string {
  const body = Buffer.from(JSON.stringify({ sub: 'test', jti: randomBytes(8).toString('hex') })).toString('base64url');
  return `eyJhbGciOiJIUzI1NiJ9.${body}.${randomBytes(24).toString('base64url')}`;
}

function newInput(over: Partial<NewTokenRecord> = {}, t0 = Date.now()): NewTokenRecord {
  return { appKeyId: 'app-a', tokenType: 'Bearer', issuedAt: t0, expiresAt: t0 + 10 * HOUR, revokeAt: t0 + 9 * HOUR, ...over };
}

/** Runs `fn`, expecting it to reject with an LsTokenError; returns that error. */
async function rejection(fn: () => Promise<unknown>): Promise<LsTokenError> {
  let caught: unknown;
  try {
    await fn();
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(LsTokenError);
  return caught as LsTokenError;
}

function thrown(fn: () => unknown): LsTokenError {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(LsTokenError);
  return caught as LsTokenError;
}

/** Only `Date` is faked: the backends keep their real timers and I/O. */
function fakeDateOnly(): void {
  jest.useFakeTimers({
    doNotFake: [
      'hrtime',
      'nextTick',
      'performance',
      'queueMicrotask',
      'requestAnimationFrame',
      'cancelAnimationFrame',
      'requestIdleCallback',
      'cancelIdleCallback',
      'setImmediate',
      'clearImmediate',
      'setInterval',
      'clearInterval',
      'setTimeout',
      'clearTimeout',
    ],
  });
}

// Sentinel and Cluster: real servers, started once for the suite (see redis-mode-backends.ts).
describe.each([...STORE_BACKENDS, ...REDIS_MODE_BACKENDS])('TokenStore on $name', (factory) => {
  beforeAll(() => factory.setup?.(), 60_000);
  afterAll(() => factory.teardown?.());

  let backend: StoreBackend;
  let keyv: Keyv;
  let errors: Array<{ err: LsTokenError; ctx: TokenStoreErrorContext }>;
  let store: TokenStore;
  const onError = (err: LsTokenError, ctx: TokenStoreErrorContext): void => {
    errors.push({ err, ctx });
  };

  beforeEach(() => {
    backend = factory.create();
    keyv = backend.makeKeyv();
    errors = [];
    store = new TokenStore({ keyv, prefix: PREFIX, onError });
  });

  afterEach(async () => {
    jest.useRealTimers();
    await backend.cleanup();
  });

  it('puts an active record that get, getToken and list return', async () => {
    const token = makeToken();
    const input = newInput({ ownerId: 'inst-1' });
    const rec = await store.put(input, token);
    expect(rec).toEqual({
      schema: RECORD_SCHEMA_VERSION,
      id: tokenId(token),
      ...input,
      state: 'active',
      reason: null,
      attempts: 0,
      lastError: null,
      createdAt: rec.createdAt,
      updatedAt: rec.createdAt,
    });
    expect(Object.isFrozen(rec)).toBe(true);
    expect(await store.get(rec.id)).toEqual(rec);
    expect(await store.getToken(rec.id)).toBe(token);
    expect(await store.list()).toEqual([rec]);
    expect(await backend.readRaw(`${PREFIX}:{app-a}:tok:${rec.id}`)).toContain(rec.id);
    expect(await store.get(tokenId('unknown'))).toBeUndefined();
    expect(await store.getToken(tokenId('unknown'))).toBeUndefined();
    expect(errors).toEqual([]);
  });

  it('returns the existing record unchanged when the same token is put again', async () => {
    const token = makeToken();
    const first = await store.put(newInput({ ownerId: 'first' }), token);
    await store.update(first.id, { attempts: 2 });
    const again = await store.put(newInput({ ownerId: 'second' }), token);
    expect(again.ownerId).toBe('first');
    expect(again.appKeyId).toBe('app-a');
    expect(again.attempts).toBe(2);
    expect(await store.list()).toHaveLength(1);
    // Records are kept per app key: the same token under another app key is another record.
    const elsewhere = await store.put(newInput({ ownerId: 'second', appKeyId: 'other' }), token);
    expect(elsewhere).toMatchObject({ ownerId: 'second', appKeyId: 'other', attempts: 0 });
    expect(await store.list({ appKeyId: 'app-a' })).toEqual([expect.objectContaining({ ownerId: 'first' })]);
  });

  it('updates with a patch, sets updatedAt, and honours expectStates', async () => {
    let clock = 1_000_000;
    const timed = new TokenStore({ keyv, prefix: PREFIX, now: () => clock, onError });
    const rec = await timed.put(newInput(), makeToken());
    expect(rec.createdAt).toBe(1_000_000);
    clock += 500;
    const revoking = await timed.update(rec.id, { state: 'revoking', reason: 'logout', attempts: 1 }, { expectStates: ['active'] });
    expect(revoking).toMatchObject({ state: 'revoking', reason: 'logout', attempts: 1, createdAt: 1_000_000, updatedAt: 1_000_500 });

    clock += 500;
    // Guard: the state is no longer 'active', so nothing is written.
    expect(await timed.update(rec.id, { state: 'active' }, { expectStates: ['active'] })).toBeUndefined();
    expect(await timed.get(rec.id)).toEqual(revoking);

    const failed = await timed.update(rec.id, { state: 'failed', lastError: { code: 'ERR_NETWORK', message: 'ECONNRESET' } }, { expectStates: ['revoking'] });
    expect(failed).toMatchObject({ state: 'failed', lastError: { code: 'ERR_NETWORK', message: 'ECONNRESET' }, updatedAt: 1_001_000 });
    expect(await timed.get(rec.id)).toEqual(failed);
    expect(await timed.getToken(rec.id)).toBeDefined();
    expect(await timed.update(tokenId('missing'), { attempts: 1 })).toBeUndefined();
  });

  it('deletes records', async () => {
    const rec = await store.put(newInput(), makeToken());
    expect(await store.delete(rec.id)).toBe(true);
    expect(await store.get(rec.id)).toBeUndefined();
    expect(await store.list()).toEqual([]);
    expect(await store.delete(rec.id)).toBe(false);
  });

  it('lists with filters, sorted by issuedAt, and ignores other prefixes on the same keyv', async () => {
    const t0 = Date.now();
    const c = await store.put(newInput({ issuedAt: t0 + 3 }, t0), makeToken());
    const a = await store.put(newInput({ issuedAt: t0 + 1 }, t0), makeToken());
    const b = await store.put(newInput({ issuedAt: t0 + 2, appKeyId: 'app-b' }, t0), makeToken());
    await store.update(c.id, { state: 'revoked', reason: 'manual' });
    const other = new TokenStore({ keyv: backend.makeKeyv(), prefix: `${PREFIX}-other` });
    await other.put(newInput(), makeToken());
    await store.setMeta('marker', 1);

    expect((await store.list()).map((r) => r.id)).toEqual([a.id, b.id, c.id]);
    expect((await store.list({ appKeyId: 'app-a' })).map((r) => r.id)).toEqual([a.id, c.id]);
    expect((await store.list({ states: ['active'] })).map((r) => r.id)).toEqual([a.id, b.id]);
    expect((await store.list({ appKeyId: 'app-a', states: ENDED_STATES })).map((r) => r.id)).toEqual([c.id]);
    expect(await other.list()).toHaveLength(1);

    // A store whose prefix nests under ours: neither lists nor quarantines the other's records.
    const nested = new TokenStore({ keyv: backend.makeKeyv(), prefix: `${PREFIX}:tok`, onError });
    const n = await nested.put(newInput(), makeToken());
    expect((await store.list()).map((r) => r.id)).toEqual([a.id, b.id, c.id]);
    expect((await nested.list()).map((r) => r.id)).toEqual([n.id]);
    expect(errors).toEqual([]);
  });

  it('lets ended records expire after retainMs and active ones only after expiresAt + retainMs', async () => {
    const retainMs = 60_000;
    const timed = new TokenStore({ keyv, prefix: PREFIX, retainMs, onError });
    const t0 = Date.now();
    const active = await timed.put(newInput({ issuedAt: t0, expiresAt: t0 + HOUR, revokeAt: t0 + HOUR / 2 }, t0), makeToken());
    const ended = await timed.put(newInput({}, t0), makeToken());
    await timed.update(ended.id, { state: 'revoked', reason: 'logout' });

    const ttlEnded = await backend.nativeTtlMs(`${PREFIX}:{app-a}:tok:${ended.id}`);
    const ttlActive = await backend.nativeTtlMs(`${PREFIX}:{app-a}:tok:${active.id}`);
    if (backend.name.startsWith('redis')) {
      // Redis enforces the TTL natively: check it is what we asked for. It is also the only judge
      // (a jump of this host's clock is skew, not time passing: see skewed-expiry.test.ts).
      expect(ttlEnded).toBeGreaterThan(retainMs - 5_000);
      expect(ttlEnded).toBeLessThanOrEqual(retainMs);
      expect(ttlActive).toBeGreaterThan(HOUR + retainMs - 5_000);
      expect(ttlActive).toBeLessThanOrEqual(HOUR + retainMs);
      return;
    }
    expect(ttlEnded).toBeUndefined();

    // Without a server-side TTL, keyv's own expiry (the `expires` it stores next to the value)
    // follows Date.now().
    fakeDateOnly();
    jest.setSystemTime(Date.now() + retainMs + 1_000);
    expect(await timed.get(ended.id)).toBeUndefined();
    expect((await timed.list()).map((r) => r.id)).toEqual([active.id]);
    // The expired entry was removed from the backend, not just hidden.
    expect(await backend.readRaw(`${PREFIX}:{app-a}:tok:${ended.id}`)).toBeUndefined();

    jest.setSystemTime(t0 + HOUR + retainMs + 5_000);
    expect(await timed.list()).toEqual([]);
    expect(await timed.get(active.id)).toBeUndefined();
    expect(errors).toEqual([]);
  });

  it('keeps every record when two store instances put 50 tokens in parallel', async () => {
    const s1 = new TokenStore({ keyv: backend.makeKeyv(), prefix: PREFIX });
    const s2 = new TokenStore({ keyv: backend.makeKeyv(), prefix: PREFIX, encryptionKey: KEY_A });
    const tokens = Array.from({ length: 50 }, () => makeToken());
    const t0 = Date.now();
    // allSettled: on failure, no write may still be in flight when cleanup runs.
    const settled = await Promise.allSettled(tokens.map((tok, i) => (i % 2 === 0 ? s1 : s2).put(newInput({ issuedAt: t0 + i }, t0), tok)));
    expect(settled.filter((r) => r.status === 'rejected')).toEqual([]);
    const records = settled.map((r) => (r as PromiseFulfilledResult<TokenRecord>).value);
    const listed = await store.list();
    expect(listed).toHaveLength(50);
    expect(listed.map((r) => r.id)).toEqual(records.map((r) => r.id));
    expect(await s1.getToken(records[0]!.id)).toBe(tokens[0]);
    expect(await s2.getToken(records[1]!.id)).toBe(tokens[1]);
  });

  it('stores the token in plain text without a key (control) and never with one', async () => {
    const plainToken = makeToken();
    const plain = await store.put(newInput(), plainToken);
    const dumpPlain = await backend.dumpAll();
    expect(dumpPlain).toContain(plain.id);
    expect(dumpPlain).toContain(plainToken);
    await store.delete(plain.id);

    const secure = new TokenStore({ keyv, prefix: `${PREFIX}-enc`, encryptionKey: KEY_A.toString('hex') });
    expect(secure.encrypted).toBe(true);
    const token = makeToken();
    const rec = await secure.put(newInput(), token);
    const dump = await backend.dumpAll();
    expect(dump).toContain(rec.id);
    expect(dump).toContain('aes-256-gcm');
    expect(dump).not.toContain(token);
    expect(dump).not.toContain(token.split('.')[2]!);
    expect(dump).not.toContain(Buffer.from(token).toString('base64'));
    expect(await secure.getToken(rec.id)).toBe(token);
  });

  it('fails with ERR_DECRYPT for a wrong key, a missing key or a ciphertext moved to another record', async () => {
    const secure = new TokenStore({ keyv, prefix: PREFIX, encryptionKey: KEY_A });
    const token = makeToken();
    const rec = await secure.put(newInput(), token);

    const wrongKey = new TokenStore({ keyv, prefix: PREFIX, encryptionKey: KEY_B });
    const noKey = new TokenStore({ keyv, prefix: PREFIX });
    for (const other of [wrongKey, noKey]) {
      const err = await rejection(() => other.getToken(rec.id));
      expect(err.code).toBe(ErrorCodes.DECRYPT);
      expect(err.message).not.toContain(token);
      expect(await other.get(rec.id)).toEqual(rec); // the metadata stays readable
    }

    // Copy record 1's ciphertext into record 2: the AAD (record id) no longer matches. The key is
    // the right one (its check value says so), so the record was tampered with: reported as
    // ERR_DECRYPT and quarantined, and it reads as absent.
    const reported: LsTokenError[] = [];
    const watched = new TokenStore({ keyv, prefix: PREFIX, encryptionKey: KEY_A, onError: (err) => void reported.push(err) });
    const rec2 = await secure.put(newInput(), makeToken());
    const raw1 = JSON.parse((await backend.readRaw(`${PREFIX}:{app-a}:tok:${rec.id}`))!) as { value: { token: unknown } };
    const raw2 = JSON.parse((await backend.readRaw(`${PREFIX}:{app-a}:tok:${rec2.id}`))!) as { value: { token: unknown } };
    raw2.value.token = raw1.value.token;
    await backend.writeRaw(`${PREFIX}:{app-a}:tok:${rec2.id}`, JSON.stringify(raw2));
    expect(await watched.getToken(rec2.id)).toBeUndefined();
    expect(reported.map((e) => [e.code, e.field])).toEqual([[ErrorCodes.DECRYPT, 'token.binding']]);
    expect(await secure.get(rec2.id)).toBeUndefined();
    expect(await secure.getToken(rec.id)).toBe(token);
  });

  it('skips, reports and quarantines corrupt records while listing the others', async () => {
    const goodTokens = [makeToken(), makeToken(), makeToken()];
    const t0 = Date.now();
    const good = await Promise.all(goodTokens.map((tok, i) => store.put(newInput({ issuedAt: t0 + i }, t0), tok)));
    const validRaw = (await backend.readRaw(`${PREFIX}:{app-a}:tok:${good[0]!.id}`))!;
    const validValue = (JSON.parse(validRaw) as { value: Record<string, unknown> }).value;

    const badTokens = Array.from({ length: 5 }, () => makeToken());
    const bad = badTokens.map((t) => tokenId(t));
    const cases: Array<[string, string]> = [
      [bad[0]!, 'this is {not json'],
      [bad[1]!, JSON.stringify({ value: { ...validValue, id: bad[1], schema: 2 } })],
      [bad[2]!, JSON.stringify({ value: { schema: 1, id: bad[2] } })],
      [bad[3]!, validRaw.slice(0, Math.floor(validRaw.length / 2))],
      [bad[4]!, validRaw], // a record copied under another id
    ];
    for (const [id, raw] of cases) await backend.writeRaw(`${PREFIX}:{app-a}:tok:${id}`, raw);

    const listed = await store.list();
    expect(listed.map((r) => r.id)).toEqual(good.map((r) => r.id));

    expect(errors).toHaveLength(5);
    const byKey = new Map(errors.map((e) => [e.ctx.key, e]));
    const expectedFields = ['json', 'schema', 'appKeyId', 'json', 'id'];
    bad.forEach((id, i) => {
      const e = byKey.get(`${PREFIX}:{app-a}:tok:${id}`);
      expect(e?.err.code).toBe(ErrorCodes.CORRUPT_RECORD);
      expect(e?.err.field).toBe(expectedFields[i]);
      expect(e?.ctx.op).toBe('list');
    });
    for (const { err } of errors) {
      for (const tok of [...goodTokens, ...badTokens]) expect(JSON.stringify(err.toJSON())).not.toContain(tok);
    }
    for (const id of bad) {
      expect(await backend.readRaw(`${PREFIX}:{app-a}:tok:${id}`)).toBeUndefined();
      expect(await backend.readRaw(store.quarantineKey(id))).toBeDefined();
    }
    const q = await keyv.get(store.quarantineKey(bad[0]!));
    expect(q).toMatchObject({ code: ErrorCodes.CORRUPT_RECORD, field: 'json', raw: 'this is {not json' });

    // Quarantined records are gone from the list for good; nothing more is reported.
    errors.length = 0;
    expect((await store.list()).map((r) => r.id)).toEqual(good.map((r) => r.id));
    expect(errors).toEqual([]);
  });

  it('reads a corrupt record as undefined, reports and quarantines it; put then writes a fresh one', async () => {
    const token = makeToken();
    const id = tokenId(token);
    await backend.writeRaw(`${PREFIX}:{app-a}:tok:${id}`, JSON.stringify({ value: { schema: 1, id, state: 'zombie' } }));
    expect(await store.get(id)).toBeUndefined();
    expect(errors.map((e) => [e.err.code, e.ctx.op])).toEqual([[ErrorCodes.CORRUPT_RECORD, 'get']]);
    expect(await backend.readRaw(store.quarantineKey(id))).toBeDefined();

    const rec = await store.put(newInput(), token);
    expect(rec.state).toBe('active');
    expect(await store.getToken(id)).toBe(token);
  });

  it('finds the newest usable token of an app key', async () => {
    const t0 = Date.now();
    let clock = t0;
    const s = new TokenStore({ keyv, prefix: PREFIX, now: () => clock, onError });
    const tok = Array.from({ length: 5 }, () => makeToken());
    const r1 = await s.put(newInput({ issuedAt: t0 - 2 * HOUR, expiresAt: t0 + 10 * HOUR, revokeAt: t0 + 9 * HOUR }), tok[0]!);
    const r2 = await s.put(newInput({ issuedAt: t0 - HOUR, expiresAt: t0 + 5 * HOUR, revokeAt: t0 + 4 * HOUR }), tok[1]!);
    const r3 = await s.put(newInput({ issuedAt: t0 - HOUR / 2, expiresAt: t0 + 10 * HOUR, revokeAt: t0 + 9 * HOUR }), tok[2]!);
    await s.update(r3.id, { state: 'revoking', reason: 'manual' });
    await s.put(newInput({ appKeyId: 'app-b', issuedAt: t0 - 60_000 }), tok[3]!);
    await s.put(newInput({ issuedAt: t0 - 30_000, revokeAt: t0 - 1 }), tok[4]!); // due for revocation

    expect(await s.findUsable('app-a', t0)).toEqual({ record: r2, token: tok[1] });
    expect(await s.findUsable('app-a', t0 + 6 * HOUR)).toEqual({ record: r1, token: tok[0] });
    expect(await s.findUsable('app-a', t0 + 11 * HOUR)).toBeUndefined();
    expect(await s.findUsable('app-c', t0)).toBeUndefined();
    clock = t0 + 4 * HOUR; // r2's revokeAt has come
    expect((await s.findUsable('app-a', t0))?.record.id).toBe(r1.id);
    expect(errors).toEqual([]);
  });

  it('skips candidates it cannot decrypt in findUsable and reports ERR_DECRYPT', async () => {
    const t0 = Date.now();
    const a = new TokenStore({ keyv, prefix: PREFIX, encryptionKey: KEY_A });
    const b = new TokenStore({ keyv, prefix: PREFIX, encryptionKey: KEY_B, onError });
    const oldTok = makeToken();
    const old = await b.put(newInput({ issuedAt: t0 - HOUR }), oldTok);
    const newer = await a.put(newInput({ issuedAt: t0 }), makeToken());
    expect(await b.findUsable('app-a', t0)).toEqual({ record: old, token: oldTok });
    expect(errors.map((e) => [e.err.code, e.ctx.key])).toEqual([[ErrorCodes.DECRYPT, `${PREFIX}:{app-a}:tok:${newer.id}`]]);
  });

  it('stores, lists, expires and deletes meta values apart from records', async () => {
    await store.setMeta('lease:issue', { owner: 'inst-1', until: 123 }, 60_000);
    await store.setMeta('lease:revoke', 'x');
    await store.setMeta('heartbeat:inst-1', 42);
    await store.put(newInput(), makeToken());
    expect(await store.getMeta('lease:issue')).toEqual({ owner: 'inst-1', until: 123 });
    expect(await store.getMeta('nope')).toBeUndefined();
    expect(await store.listMeta('lease:')).toEqual([
      { key: 'lease:issue', value: { owner: 'inst-1', until: 123 } },
      { key: 'lease:revoke', value: 'x' },
    ]);
    expect((await store.listMeta('')).map((e) => e.key)).toEqual(['heartbeat:inst-1', 'lease:issue', 'lease:revoke']);
    expect(await store.list()).toHaveLength(1);
    if (backend.name.startsWith('redis')) {
      // Redis expires the value itself (and is the only judge of it: see skewed-expiry.test.ts).
      const ttl = await backend.nativeTtlMs(`${PREFIX}:meta:lease:issue`);
      expect(ttl).toBeGreaterThan(55_000);
      expect(ttl).toBeLessThanOrEqual(60_000);
    } else {
      fakeDateOnly();
      jest.setSystemTime(Date.now() + 61_000);
      expect(await store.getMeta('lease:issue')).toBeUndefined();
      expect((await store.listMeta('lease:')).map((e) => e.key)).toEqual(['lease:revoke']);
      jest.useRealTimers();
    }
    await store.deleteMeta('lease:revoke');
    await store.deleteMeta('never-set');
    expect(await store.getMeta('lease:revoke')).toBeUndefined();
  });

  it('rejects bad input with ERR_INVALID_OPTION naming the field and changes nothing', async () => {
    const token = makeToken();
    const badPuts: Array<[Partial<NewTokenRecord>, string]> = [
      [{ issuedAt: Number.NaN }, 'issuedAt'],
      [{ expiresAt: Number.POSITIVE_INFINITY }, 'expiresAt'],
      [{ revokeAt: '1' as unknown as number }, 'revokeAt'],
      [{ appKeyId: '' }, 'appKeyId'],
      [{ tokenType: undefined as unknown as string }, 'tokenType'],
      [{ ownerId: 5 as unknown as string }, 'ownerId'],
    ];
    for (const [over, field] of badPuts) {
      const err = await rejection(() => store.put(newInput(over), token));
      expect([err.code, err.field]).toEqual([ErrorCodes.INVALID_OPTION, field]);
    }
    const empty = await rejection(() => store.put(newInput(), ''));
    expect([empty.code, empty.field]).toEqual([ErrorCodes.INVALID_OPTION, 'rawToken']);
    expect(await store.list()).toEqual([]);

    const rec = await store.put(newInput(), token);
    const badPatches: Array<[Record<string, unknown>, string]> = [
      [{ state: 'zombie' }, 'state'],
      [{ reason: 'because' }, 'reason'],
      [{ attempts: -1 }, 'attempts'],
      [{ attempts: 1.5 }, 'attempts'],
      [{ revokeAt: Number.NaN }, 'revokeAt'],
      [{ lastError: { code: 'X' } }, 'lastError'],
      [{ id: tokenId('other') }, 'id'],
      [{ appKeyId: 'stolen' }, 'appKeyId'],
    ];
    for (const [patch, field] of badPatches) {
      const err = await rejection(() => store.update(rec.id, patch as never));
      expect([err.code, err.field]).toEqual([ErrorCodes.INVALID_OPTION, field]);
    }
    const guard = await rejection(() => store.update(rec.id, { attempts: 1 }, { expectStates: ['zombie' as never] }));
    expect(guard.field).toBe('expectStates');
    expect(await store.get(rec.id)).toEqual(rec);

    for (const call of [() => store.get('not-an-id'), () => store.getToken(token), () => store.delete('../x'), () => store.update('*', {})]) {
      const err = await rejection(call);
      expect([err.code, err.field]).toEqual([ErrorCodes.INVALID_OPTION, 'id']);
      expect(err.message).not.toContain(token);
    }
    expect((await rejection(() => store.list({ states: ['nope' as never] }))).field).toBe('states');
    expect((await rejection(() => store.setMeta('', 1))).field).toBe('key');
    expect((await rejection(() => store.setMeta('k', undefined))).field).toBe('value');
    expect((await rejection(() => store.setMeta('k', 1, 0))).field).toBe('ttlMs');
    expect(await store.list()).toEqual([rec]);
  });
});

describe('TokenStore options', () => {
  it('defaults to an in-memory keyv and the ls-token prefix', async () => {
    const store = new TokenStore();
    expect(store.prefix).toBe('ls-token');
    expect(store.encrypted).toBe(false);
    const token = makeToken();
    const rec = await store.put(newInput(), token);
    expect(store.recordKey(rec.id)).toBe(`ls-token:{app-a}:tok:${rec.id}`);
    expect(await store.keyv.get(`ls-token:{app-a}:tok:${rec.id}`)).toMatchObject({ id: rec.id, token: { alg: 'none', data: token } });
    expect(await store.getToken(rec.id)).toBe(token);
  });

  it('accepts a 32-byte key as Buffer, Uint8Array, hex or base64', () => {
    for (const key of [KEY_A, new Uint8Array(KEY_A), KEY_A.toString('hex'), KEY_A.toString('base64'), KEY_A.toString('base64url')]) {
      expect(new TokenStore({ encryptionKey: key }).encrypted).toBe(true);
      expect(parseEncryptionKey(key).equals(KEY_A)).toBe(true);
    }
  });

  it('names the bad option and never echoes a key', () => {
    const secretish = `${'ab'.repeat(31)}zz`;
    for (const encryptionKey of [randomBytes(31), randomBytes(33), secretish, 'c2hvcnQ=', randomBytes(16).toString('base64'), 42, '']) {
      const err = thrown(() => new TokenStore({ encryptionKey: encryptionKey as never }));
      expect([err.code, err.field]).toEqual([ErrorCodes.INVALID_OPTION, 'encryptionKey']);
      if (typeof encryptionKey === 'string' && encryptionKey !== '') expect(err.message).not.toContain(encryptionKey);
    }
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ prefix: '' }, 'prefix'],
      [{ prefix: 'a::b' }, 'prefix'],
      [{ prefix: 'a b' }, 'prefix'],
      [{ prefix: 'trailing:' }, 'prefix'],
      [{ prefix: 'glob*' }, 'prefix'],
      [{ retainMs: 0 }, 'retainMs'],
      [{ retainMs: -5 }, 'retainMs'],
      [{ retainMs: 1.5 }, 'retainMs'],
      [{ retainMs: Number.NaN }, 'retainMs'],
      [{ retainMs: '1000' }, 'retainMs'],
      [{ now: 5 }, 'now'],
      [{ onError: 'log' }, 'onError'],
      [{ keyv: {} }, 'keyv'],
      [{ keyv: new Map() }, 'keyv'],
      [{ keyv: new Keyv({ get: async () => undefined, set: async () => true, delete: async () => true, clear: async () => undefined } as never) }, 'keyv'],
    ];
    for (const [opts, field] of cases) {
      const err = thrown(() => new TokenStore(opts as never));
      expect([err.code, err.field]).toEqual([ErrorCodes.INVALID_OPTION, field]);
    }
  });
});

describe('TokenStore backend failures', () => {
  class BrokenMap extends Map<string, unknown> {
    override get(): never {
      throw new Error('disk on fire');
    }
    override set(): never {
      throw new Error('disk on fire');
    }
    override entries(): never {
      throw new Error('disk on fire');
    }
  }

  it('turns backend errors into retryable ERR_STORE', async () => {
    const store = new TokenStore({ keyv: new Keyv({ store: new BrokenMap(), throwOnErrors: true }) });
    for (const call of [
      () => store.put(newInput(), makeToken()),
      () => store.get(tokenId('x')),
      () => store.list(),
      () => store.setMeta('k', 1),
      () => store.getMeta('k'),
    ]) {
      const err = await rejection(call);
      expect([err.code, err.retryable]).toEqual([ErrorCodes.STORE, true]);
      expect(err.message).toContain('disk on fire');
    }
  });

  it('detects a write that keyv swallowed (throwOnErrors off)', async () => {
    class ReadOnlyMap extends Map<string, unknown> {
      override set(): never {
        throw new Error('read-only');
      }
    }
    const keyv = new Keyv({ store: new ReadOnlyMap() });
    const store = new TokenStore({ keyv });
    const err = await rejection(() => store.put(newInput(), makeToken()));
    expect([err.code, err.retryable]).toEqual([ErrorCodes.STORE, true]);
  });

  it('fails fast with ERR_STORE while Redis is unreachable', async () => {
    const keyv = createRedisKeyv(fastFailRedisOptions('redis://127.0.0.1:1'), { namespace: 'lstest-down', throwOnErrors: true });
    const store = new TokenStore({ keyv });
    try {
      for (const call of [() => store.put(newInput(), makeToken()), () => store.get(tokenId('x')), () => store.list()]) {
        const err = await rejection(call);
        expect([err.code, err.retryable]).toEqual([ErrorCodes.STORE, true]);
      }
    } finally {
      await keyv.disconnect();
    }
  });
});

describe('TokenStore key layouts', () => {
  // keyv's own iterator mangles keys in several of these layouts (no namespace, ':' in the
  // namespace); list() must find the records in every one of them.
  const sqliteFile = (): string => join(tmpdir(), `ls-token-layout-${process.pid}-${randomBytes(4).toString('hex')}.sqlite`);
  const layouts: Array<{ name: string; make: () => { keyv: Keyv; done: () => Promise<void> } }> = [
    { name: 'memory, default namespace', make: () => ({ keyv: new Keyv(), done: async () => undefined }) },
    { name: 'memory, no namespace', make: () => ({ keyv: new Keyv({ store: new Map(), namespace: undefined }), done: async () => undefined }) },
    { name: 'memory, namespace with a colon', make: () => ({ keyv: new Keyv({ store: new Map(), namespace: 'app:tokens' }), done: async () => undefined }) },
    {
      name: 'redis, new Keyv(new KeyvRedis()) (double prefix)',
      make: () => {
        const keyv = new Keyv(new KeyvRedis(fastFailRedisOptions(TEST_REDIS_URL), { throwOnErrors: true }), {
          namespace: `lstest-${randomBytes(4).toString('hex')}`,
          throwOnErrors: true,
        });
        return { keyv, done: () => keyv.disconnect() };
      },
    },
    {
      name: 'redis, createKeyv without namespace',
      make: () => {
        const keyv = createRedisKeyv(fastFailRedisOptions(TEST_REDIS_URL), { throwOnErrors: true });
        return { keyv, done: () => keyv.disconnect() };
      },
    },
    {
      name: 'sqlite, no namespace',
      make: () => {
        const file = sqliteFile();
        const keyv = new Keyv({ store: new KeyvSqlite(`sqlite://${file}`), namespace: undefined, throwOnErrors: true });
        return { keyv, done: async () => (await keyv.disconnect(), await fs.rm(file, { force: true })) };
      },
    },
    {
      name: 'sqlite, createKeyv',
      make: () => {
        const file = sqliteFile();
        const keyv = createSqliteKeyv(`sqlite://${file}`);
        return { keyv, done: async () => (await keyv.disconnect(), await fs.rm(file, { force: true })) };
      },
    },
  ];

  it.each(layouts)('lists records and meta with $name', async ({ make }) => {
    const { keyv, done } = make();
    const prefix = `lstest-${randomBytes(4).toString('hex')}:x`;
    const store = new TokenStore({ keyv, prefix });
    const neighbour = new TokenStore({ keyv, prefix: `${prefix}y` });
    const created: Array<[TokenStore, string]> = [];
    const put = async (s: TokenStore, input: NewTokenRecord) => {
      const rec = await s.put(input, makeToken());
      created.push([s, rec.id]);
      return rec;
    };
    try {
      const t0 = Date.now();
      const a = await put(store, newInput({ issuedAt: t0 }, t0));
      const b = await put(store, newInput({ issuedAt: t0 + 1 }, t0));
      const n = await put(neighbour, newInput());
      await store.setMeta('m:1', { v: 1 });
      expect((await store.list()).map((r) => r.id)).toEqual([a.id, b.id]);
      expect((await neighbour.list()).map((r) => r.id)).toEqual([n.id]);
      expect(await store.listMeta('m:')).toEqual([{ key: 'm:1', value: { v: 1 } }]);
      expect(await store.get(a.id)).toEqual(a);
      await Promise.all([store.delete(a.id), store.delete(b.id), neighbour.delete(n.id), store.deleteMeta('m:1')]);
      expect(await store.list()).toEqual([]);
    } finally {
      // Also when an assertion failed: leave nothing behind on the shared Redis.
      await Promise.allSettled([...created.map(([s, id]) => s.delete(id)), store.deleteMeta('m:1')]);
      await done();
    }
  });
});

describe('token records and the crypto box', () => {
  function storedValue(over: Record<string, unknown> = {}): Record<string, unknown> {
    const token = 'plain-token-value';
    const id = tokenId(token);
    return {
      schema: 1,
      id,
      appKeyId: 'app',
      tokenType: 'Bearer',
      issuedAt: 1,
      expiresAt: 2,
      revokeAt: 2,
      state: 'active',
      reason: null,
      attempts: 0,
      lastError: null,
      ownerId: null,
      createdAt: 1,
      updatedAt: 1,
      token: { alg: 'none', data: token },
      ...over,
    };
  }

  it('parses a valid stored value and names the first bad field otherwise, never quoting values', () => {
    const { record, sealed } = parseStoredRecord(JSON.stringify(storedValue()));
    expect(record.state).toBe('active');
    expect(record).not.toHaveProperty('token');
    expect(sealed).toEqual({ alg: 'none', data: 'plain-token-value' });
    expect(isEnded('revoked') && !isEnded('revoking')).toBe(true);

    const secret = makeToken();
    const cases: Array<[unknown, string]> = [
      ['{"truncated', 'json'],
      [[1, 2], 'record'],
      [storedValue({ schema: 2 }), 'schema'],
      [storedValue({ id: 'ABC' }), 'id'],
      [storedValue({ state: secret }), 'state'],
      [storedValue({ reason: secret }), 'reason'],
      [storedValue({ tokenType: undefined }), 'tokenType'],
      [storedValue({ attempts: '1' }), 'attempts'],
      [storedValue({ lastError: { code: 1, message: secret } }), 'lastError'],
      [storedValue({ token: undefined }), 'token'],
      [storedValue({ token: { alg: 'rot13', data: secret } }), 'token.alg'],
      [storedValue({ token: { alg: 'aes-256-gcm', iv: 'AAAA', tag: 'x', data: 'y' } }), 'token.iv'],
    ];
    for (const [raw, field] of cases) {
      const err = thrown(() => parseStoredRecord(raw));
      expect([err.code, err.field]).toEqual([ErrorCodes.CORRUPT_RECORD, field]);
      expect(err.message).not.toContain(secret);
    }
  });

  it('seals with a fresh IV, binds the record id, and detects tampering', () => {
    const token = makeToken();
    const id = tokenId(token);
    const s1 = sealToken(token, KEY_A, { id, appKeyId: APP });
    const s2 = sealToken(token, KEY_A, { id, appKeyId: APP });
    expect(s1.alg).toBe('aes-256-gcm');
    expect(s1.data).not.toBe(s2.data);
    expect(openToken(s1, KEY_A, { id, appKeyId: APP })).toBe(token);
    if (s1.alg !== 'aes-256-gcm') throw new Error('unreachable');
    const flipped = Buffer.from(s1.data, 'base64');
    flipped[0] = flipped[0]! ^ 1;
    for (const [sealed, key, aad] of [
      [s1, KEY_B, id],
      [s1, undefined, id],
      [s1, KEY_A, tokenId('other')],
      [{ ...s1, data: flipped.toString('base64') }, KEY_A, id],
    ] as const) {
      expect(thrown(() => openToken(sealed, key, { id: aad, appKeyId: APP })).code).toBe(ErrorCodes.DECRYPT);
    }
    // A plain token that does not hash to the record id is corrupt.
    expect(thrown(() => openToken({ alg: 'none', data: 'swapped' }, undefined, { id, appKeyId: APP })).code).toBe(ErrorCodes.CORRUPT_RECORD);
  });
});
