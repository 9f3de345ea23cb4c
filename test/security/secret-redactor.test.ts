/**
 * SecretRedactor: scrubbing by value, in every encoding, with counted registrations so that one
 * redactor can be shared by the client, the store and the lifecycle.
 */
import { inspect } from 'node:util';
import { getHeapStatistics, setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterEach, describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { ErrorCodes, LsTokenError, toLsTokenError } from '../../src/core/errors.js';
import { summarizeError } from '../../src/core/events.js';
import { REDACTED, SecretRedactor } from '../../src/core/redact.js';
import { LsOAuthClient } from '../../src/providers/ls/ls-client.js';
import { TokenStore } from '../../src/store/token-store.js';
import { dumpError, encodedForms, leaksIn } from './leak-scan.js';
import { sendJson, startHostileServer } from './hostile-server.js';

const SECRET = 'S3cr/t+K"y\\w&th%odd~chars=Z9';
const OPAQUE = 'opaqueTOKEN-4f9a.b7c2_~+/Zq81xx==';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe('SecretRedactor.scrub', () => {
  it('scrubs an 8-character run of exactly the values registered when it scrubs, however they were added and dropped before', () => {
    const a = 'AAAA-first-secret-value-1111';
    const b = 'BBBB-second-secret-value-2222';
    const runOf = (v: string) => v.slice(5, 15); // 10 characters of it, never the whole value
    const r = new SecretRedactor();
    r.add(a);
    expect(r.scrub(`x ${runOf(a)} y`)).toBe(`x ${REDACTED} y`);
    r.delete(a);
    r.add(b);
    expect(r.scrub(`x ${runOf(a)} y`)).toBe(`x ${runOf(a)} y`); // dropped: ordinary text again
    expect(r.scrub(`x ${runOf(b)} y`)).toBe(`x ${REDACTED} y`);
    // Registered and dropped with no scrub in between (a store write), then registered twice, dropped once.
    r.add(a);
    r.delete(a);
    r.add(b);
    r.delete(b);
    expect(r.scrub(`${runOf(a)} ${runOf(b)}`)).toBe(`${runOf(a)} ${REDACTED}`);
    r.delete(b);
    expect(r.scrub(`${runOf(a)} ${runOf(b)}`)).toBe(`${runOf(a)} ${runOf(b)}`);
    // A value added while a scrub is not running is found by the next scrub.
    r.add(a);
    expect(r.scrub(`${runOf(a)}`)).toBe(REDACTED);
  });

  it('keeps nothing of a value registered and dropped with no scrub in between (every store write does that)', () => {
    // Before, each such value waited in the pending set for a scrub that a healthy daemon never
    // runs: every token ever written stayed in memory. 4,000 values of 16 KB: 64 MB if kept.
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const r = new SecretRedactor();
    gc();
    const before = getHeapStatistics().used_heap_size;
    const size = 16_384;
    for (let i = 0; i < 4_000; i++) {
      const v = `${i}:`.padEnd(size, String.fromCharCode(65 + (i % 26)));
      r.add(v);
      r.delete(v);
    }
    gc();
    const kept = getHeapStatistics().used_heap_size - before;
    expect(kept).toBeLessThan((4_000 * size) / 8); // a leak keeps the whole 64 MB
    expect(r.size).toBe(0);
    const held = 'still-held-secret-value-0001';
    r.add(held);
    expect(r.scrub(`x ${held.slice(3, 13)} y`)).toBe(`x ${REDACTED} y`);
  });

  it('replaces a registered value in every encoding a server may quote it in', () => {
    const r = new SecretRedactor();
    r.add(SECRET);
    for (const form of encodedForms(SECRET)) {
      expect(r.scrub(`before ${form} after`)).toBe(`before ${REDACTED} after`);
    }
    // A mix of encodings inside one occurrence, and upper/lower-case \u escapes.
    const mixed = `S3cr\\/t%2bK\\"y\\\\w\\u0026th%25odd~chars\\u003DZ9`;
    expect(r.scrub(`x=${mixed};`)).toBe(`x=${REDACTED};`);
  });

  it('property: any per-character mix of raw, percent (either case) and \\u escapes is scrubbed whole', () => {
    // Printable ASCII without the backslash, and '%' never raw: a raw escape character next to an
    // escape is ambiguous text that no encoder writes (it escapes '\\' and '%' themselves); the
    // all-raw forms have their own cases above.
    const char = fc.integer({ min: 0x21, max: 0x7e }).filter((c) => c !== 0x5c).map((c) => String.fromCharCode(c));
    const hex2 = (c: string, upper: boolean): string => {
      const h = c.charCodeAt(0).toString(16).padStart(2, '0');
      return upper ? h.toUpperCase() : h;
    };
    const encoders: Array<(c: string) => string> = [
      (c) => c,
      (c) => `%${hex2(c, true)}`,
      (c) => `%${hex2(c, false)}`,
      (c) => `\\u00${hex2(c, false)}`,
      (c) => `\\u00${hex2(c, true)}`,
    ];
    fc.assert(
      fc.property(fc.array(fc.tuple(char, fc.integer({ min: 0, max: encoders.length - 1 })), { minLength: 4, maxLength: 40 }), (pairs) => {
        const secret = pairs.map(([c]) => c).join('');
        const encoded = pairs.map(([c, e]) => encoders[c === '%' && e === 0 ? 1 : e]!(c)).join('');
        const r = new SecretRedactor();
        r.add(secret);
        expect(r.scrub(`before ${encoded} after`)).toBe(`before ${REDACTED} after`);
      }),
      { numRuns: 300, seed: 11 },
    );
  });

  it('replaces every occurrence, the longest secret first, and JWT-shaped text as before', () => {
    const r = new SecretRedactor();
    r.add('abcdefgh');
    r.add('abcdefgh-longer');
    expect(r.scrub('abcdefgh-longer and abcdefgh and abcdefgh')).toBe(`${REDACTED} and ${REDACTED} and ${REDACTED}`);
    expect(r.scrub('jwt eyJhbGciOi.eyJzdWIi.sig here')).toBe('jwt [token] here');
  });

  it('counts registrations: a value stays scrubbed until deleted as often as added', () => {
    const r = new SecretRedactor();
    r.add(OPAQUE);
    r.add(OPAQUE);
    r.delete(OPAQUE);
    expect(r.has(OPAQUE)).toBe(true);
    expect(r.scrub(OPAQUE)).toBe(REDACTED);
    r.delete(OPAQUE);
    expect(r.has(OPAQUE)).toBe(false);
    expect(r.scrub(OPAQUE)).toBe(OPAQUE);
    r.delete(OPAQUE); // deleting an unknown value is harmless
    expect(r.size).toBe(0);
  });

  it('ignores values too short to scrub safely, and refuses non-strings without echoing them', () => {
    const r = new SecretRedactor();
    r.add('abc');
    expect(r.size).toBe(0);
    expect(r.scrub('abc')).toBe('abc');
    let caught: unknown;
    try {
      r.add(42 as never);
    } catch (err) {
      caught = err;
    }
    expect(caught).toMatchObject({ code: ErrorCodes.INVALID_OPTION, field: 'secret' });
  });

  it('shows only its size to inspect and JSON', () => {
    const r = new SecretRedactor();
    r.add(SECRET);
    r.add(OPAQUE);
    expect(inspect(r, { depth: 10, showHidden: true })).toBe('SecretRedactor { size: 2 }');
    expect(JSON.stringify({ r })).toBe('{"r":{"size":2}}');
  });
});

describe('one redactor shared by the client, the store and the holder of a token', () => {
  it('scrubs a token the holder registered out of any client error, and the client keeps its own registrations apart', async () => {
    const redactor = new SecretRedactor();
    redactor.add(OPAQUE); // what the lifecycle does while it holds a token
    const server = await startHostileServer((req, res) =>
      sendJson(res, 500, { error_code: 'IGW00500', error_description: `held ${OPAQUE}, got ${req.form.get('token') ?? 'none'}` }),
    );
    const client = new LsOAuthClient({ appKey: 'SHAREKEY0123456789abcdefghijklmnopq', appSecretKey: SECRET, baseUrl: server.url, redactor });
    cleanups.push(() => server.close(), () => client.close());
    expect(client.redactor).toBe(redactor);
    expect(redactor.has(SECRET)).toBe(true);

    const issueErr = await client.issueToken().catch((e: unknown) => e as LsTokenError);
    expect(leaksIn(dumpError(issueErr), OPAQUE)).toEqual([]);
    // The client registers the token it revokes for the call only: the holder's registration survives.
    const other = 'another-opaque-token-0123456789';
    const revokeErr = await client.revokeToken(other).catch((e: unknown) => e as LsTokenError);
    expect(leaksIn(dumpError(revokeErr), other)).toEqual([]);
    expect(redactor.has(other)).toBe(false);
    expect(redactor.has(OPAQUE)).toBe(true);
    await client.revokeToken(OPAQUE).catch(() => undefined);
    expect(redactor.has(OPAQUE)).toBe(true);
  });

  it('the store scrubs lastError and its errors with the shared redactor', async () => {
    const redactor = new SecretRedactor();
    redactor.add(SECRET);
    const store = new TokenStore({ redactor });
    expect(store.redactor).toBe(redactor);
    const t0 = Date.now();
    const rec = await store.put({ appKeyId: 'app', tokenType: 'Bearer', issuedAt: t0, expiresAt: t0 + 3_600_000, revokeAt: t0 + 3_000_000 }, 'the-records-own-token-0123');
    // The cut at 1000 characters comes after the scrub: no prefix of the secret survives.
    const message = `${'x'.repeat(990)}${SECRET}`;
    const updated = await store.update(rec.id, { lastError: { code: ErrorCodes.NETWORK, message } });
    expect(updated?.lastError?.message).toBe(`${'x'.repeat(990)}${REDACTED}`.slice(0, 1000));
    expect(updated?.lastError?.message).not.toContain(SECRET.slice(0, 6));
  });

  it('toLsTokenError and summarizeError take the redactor', () => {
    const redactor = new SecretRedactor();
    redactor.add(OPAQUE);
    const err = toLsTokenError(new Error(`write of ${OPAQUE} failed`), ErrorCodes.STORE, 'store.put failed', true, redactor);
    expect(leaksIn(dumpError(err), OPAQUE)).toEqual([]);
    const foreign = new LsTokenError(ErrorCodes.NETWORK, `built elsewhere with ${OPAQUE}`);
    expect(summarizeError(foreign, redactor).message).toBe(`built elsewhere with ${REDACTED}`);
  });

  it('client and store refuse a redactor that is not a SecretRedactor, naming the field', () => {
    const fake = { scrub: (t: string) => t, add: () => undefined };
    for (const make of [
      () => new LsOAuthClient({ appKey: 'SHAREKEY0123456789abcdefghijklmnopq', appSecretKey: SECRET, redactor: fake as never }),
      () => new TokenStore({ redactor: fake as never }),
    ]) {
      let caught: unknown;
      try {
        make();
      } catch (err) {
        caught = err;
      }
      expect(caught).toMatchObject({ code: ErrorCodes.INVALID_OPTION, field: 'redactor' });
    }
  });
});
