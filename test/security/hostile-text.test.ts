/**
 * Issue 21, items 4 to 6: what a hostile server can still try with its error text.
 * - item 4: a code field is believed only in the broker's own code shape; anything else is message
 *   text, scrubbed; a run of 8 or more characters of a registered secret is redacted wherever it
 *   stands (a secret split between the code and the message gives nothing away);
 * - item 5: percent- and JSON-decoding repeat (bounded): a double-encoded echo is scrubbed;
 * - item 6: invisible and bidi characters are replaced like control characters, and a secret
 *   interleaved with U+200B is still recognised.
 * For LS, KIS and an RFC 7009 server, in the message, `toJSON`, inspect and the cause chain.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ErrorCodes, toLsTokenError, type LsTokenError } from '../../src/core/errors.js';
import { summarizeError } from '../../src/core/events.js';
import { MAX_DECODE_ROUNDS, SECRET_RUN_LENGTH, SecretRedactor } from '../../src/core/redact.js';
import { LsOAuthClient } from '../../src/providers/ls/ls-client.js';
import { OAuthClient } from '../../src/providers/oauth-client.js';
import { rfc7009Provider } from '../../src/providers/rfc7009.js';
import { safeServerText } from '../../src/providers/response-parts.js';
import { dumpError, leaksIn } from './leak-scan.js';
import { sendJson, startHostileServer, type HostileServer } from './hostile-server.js';
import { rejection } from '../helpers/rejection.js';

const APP_KEY = 'HOSTILEKEY0123456789abcdefghijklmno';
const SECRET = 'Hx7-secretValue+With/Odd%Chars=42';
const OPAQUE = 'opaqueTOKEN-77aa.b7c2_~+/Zq81yy==';
const ZWSP = '\u200b';

/** Every run of `SECRET_RUN_LENGTH` characters of `secret` found in `text`. */
function runsIn(text: string, secret: string): string[] {
  const out: string[] = [];
  for (let i = 0; i + SECRET_RUN_LENGTH <= secret.length; i++) {
    const run = secret.slice(i, i + SECRET_RUN_LENGTH);
    if (text.includes(run)) out.push(run);
  }
  return out;
}

const twice = (s: string): string => encodeURIComponent(encodeURIComponent(s));
const thrice = (s: string): string => encodeURIComponent(twice(s));
const interleaved = (s: string): string => [...s].join(ZWSP);

function dump(err: LsTokenError): string {
  return `${dumpError(err)}\n${JSON.stringify(err)}\n${JSON.stringify(summarizeError(err))}\n${err.lsCode ?? ''}`;
}

function expectClean(err: LsTokenError, ...secrets: string[]): void {
  const text = dump(err);
  for (const s of secrets) {
    expect(leaksIn(text, s)).toEqual([]);
    expect(runsIn(text, s)).toEqual([]);
    for (const encoded of [twice(s), thrice(s), interleaved(s)]) expect(text).not.toContain(encoded);
  }
}

describe('the redactor', () => {
  it('redacts a run of 8 characters of a secret anywhere; 7 are left (ordinary text is not mangled)', () => {
    const r = new SecretRedactor();
    r.add(SECRET);
    expect(r.scrub(`code ${SECRET.slice(3, 3 + SECRET_RUN_LENGTH)} msg`)).toBe('code [redacted] msg');
    expect(r.scrub(`x${SECRET.slice(0, -2)}|${SECRET.slice(-2)}`)).toBe(`x[redacted]|${SECRET.slice(-2)}`);
    const seven = SECRET.slice(3, 3 + SECRET_RUN_LENGTH - 1);
    expect(r.scrub(`a ${seven} b`)).toBe(`a ${seven} b`);
    r.delete(SECRET);
    expect(r.scrub(`code ${SECRET.slice(3, 11)}`)).toBe(`code ${SECRET.slice(3, 11)}`);
  });

  it(`undoes percent and JSON encodings repeatedly, up to ${MAX_DECODE_ROUNDS} rounds`, () => {
    const r = new SecretRedactor();
    r.add(SECRET);
    const json = (s: string): string => JSON.stringify(s).slice(1, -1);
    for (const echo of [twice(SECRET), thrice(SECRET), twice(SECRET).replace(/%[0-9A-F]{2}/g, (m) => m.toLowerCase()), json(twice(SECRET)), encodeURIComponent(json(encodeURIComponent(SECRET)))]) {
      const out = r.scrub(`echo [${echo}] end`);
      expect(out).toBe('echo [[redacted]] end');
    }
    // An unregistered JWT-shaped token, double-encoded, is found by its shape.
    const jwt = 'eyJhbGciOiJIUzUxMiJ9.eyJzdWIiOiJ0b2tlbiJ9.c2lnbmF0dXJl';
    expect(new SecretRedactor().scrub(`t=${twice(jwt.replace(/./g, (c) => `%${c.charCodeAt(0).toString(16)}`))}`)).toBe('t=[redacted]');
  });

  it('sees through invisible characters: a secret interleaved with U+200B (or bidi controls) is redacted', () => {
    const r = new SecretRedactor();
    r.add(SECRET);
    expect(r.scrub(`a ${interleaved(SECRET)} b`)).toBe('a [redacted] b');
    expect(r.scrub(`a \u202e${SECRET.slice(0, 10)}\u2066${SECRET.slice(10)}\ufeff b`)).not.toContain(SECRET.slice(0, 8));
    expect(r.scrub(`a ${encodeURIComponent(interleaved(SECRET))} b`)).toBe('a [redacted] b');
  });

  it('server text: invisible and bidi characters become spaces like control characters', () => {
    const text = `ok\u202ereversed\u2066iso\u2069\u200bzw\u200c\u200d\ufeffend\u202a\u202b\u202c\u202d\u2067\u2068`;
    expect(safeServerText(text, new SecretRedactor())).toBe('ok reversed iso zw end ');
  });

  it('a foreign error (a cause) quoting the secret double-encoded or interleaved is clean in message and cause', () => {
    const r = new SecretRedactor();
    r.add(SECRET);
    for (const echo of [twice(SECRET), interleaved(SECRET), `${SECRET.slice(0, 12)}`]) {
      const err = toLsTokenError(new Error(`backend said ${echo}`), ErrorCodes.STORE, 'write failed', true, r);
      expectClean(err, SECRET);
    }
  });
});

describe('hostile servers', () => {
  let server: HostileServer;
  beforeAll(async () => {
    server = await startHostileServer();
  });
  afterAll(async () => {
    await server.close();
  });

  const clients = (): Array<[string, { issueToken(): Promise<unknown>; revokeToken(token: string): Promise<unknown>; close(): void }, { code: string; message: string }]> => [
    ['LS', new LsOAuthClient({ appKey: APP_KEY, appSecretKey: SECRET, baseUrl: server.url, timeoutMs: 2_000 }), { code: 'error_code', message: 'error_description' }],
    ['KIS', new OAuthClient({ provider: 'kis', appKey: APP_KEY, appSecretKey: SECRET, baseUrl: server.url, timeoutMs: 2_000 }), { code: 'error_code', message: 'error_description' }],
    [
      'RFC 7009',
      new OAuthClient({
        provider: rfc7009Provider({ tokenEndpoint: `${server.url}/token`, revocationEndpoint: `${server.url}/revoke`, clientAuth: 'client_secret_post' }),
        appKey: APP_KEY,
        appSecretKey: SECRET,
        baseUrl: server.url,
        timeoutMs: 2_000,
      }),
      { code: 'error', message: 'error_description' },
    ],
  ];

  it('item 4: a secret split between the code field and the message is not reassembled (and not kept as a code)', async () => {
    for (const [name, client, f] of clients()) {
      server.handle((_req, res) => sendJson(res, 400, { [f.code]: SECRET.slice(0, -2), [f.message]: SECRET.slice(-2) }));
      const err = await rejection(client.issueToken());
      expect([name, err.lsCode]).toEqual([name, undefined]);
      expectClean(err, SECRET);
      client.close();
    }
  });

  it('item 4: a code of the broker\'s shape is kept; another shape is scrubbed message text', async () => {
    const cases: Array<[number, Record<string, unknown>, string | undefined, string]> = [
      [0, { error_code: 'IGW00105', error_description: 'bad secret' }, 'IGW00105', 'bad secret'],
      [0, { rsp_cd: '01234', rsp_msg: 'tr says no' }, '01234', 'tr says no'],
      [0, { error_code: 'not-a-code', error_description: 'x' }, undefined, 'not-a-code x'],
      [1, { error_code: 'EGW00103', error_description: 'bad key' }, 'EGW00103', 'bad key'],
      [1, { msg_cd: 'OPSQ0002', msg1: 'no' }, 'OPSQ0002', 'no'],
      [1, { error_code: 'EGW-00103', error_description: 'x' }, undefined, 'EGW-00103 x'],
      [2, { error: 'invalid_client', error_description: 'who?' }, 'invalid_client', 'who?'],
      [2, { error: 'Invalid Client!', error_description: 'who?' }, undefined, 'Invalid Client! who?'],
    ];
    for (const [i, body, code, text] of cases) {
      const [name, client] = clients()[i]!;
      server.handle((_req, res) => sendJson(res, 403, body));
      const err = await rejection(client.issueToken());
      expect([name, err.lsCode]).toEqual([name, code]);
      expect(err.message).toContain(text);
      client.close();
    }
  });

  it('item 5: a double- or triple-percent-encoded echo of the secret or the revoked token is scrubbed', async () => {
    for (const [name, client, f] of clients()) {
      for (const encode of [twice, thrice]) {
        server.handle((_req, res) => sendJson(res, 400, { [f.message]: `you sent ${encode(SECRET)} and ${encode(OPAQUE)}` }));
        const issued = await rejection(client.issueToken());
        expect([name, issued.message]).toEqual([name, expect.stringContaining('[redacted]')]);
        expectClean(issued, SECRET);
        const revoked = await rejection(client.revokeToken(OPAQUE));
        expectClean(revoked, SECRET, OPAQUE);
      }
      client.close();
    }
  });

  it('item 6: invisible characters in server text become spaces, and an interleaved secret is redacted', async () => {
    for (const [name, client, f] of clients()) {
      server.handle((_req, res) => sendJson(res, 400, { [f.message]: `\u202eevil\u202c line ${interleaved(SECRET)}\u2066x\u2069` }));
      const err = await rejection(client.issueToken());
      expect([name, /[\u200b-\u200d\u202a-\u202e\u2066-\u2069\ufeff]/.test(dump(err))]).toEqual([name, false]);
      expect(err.message).toMatch(/ evil +line \[redacted\] x/);
      expectClean(err, SECRET);
      client.close();
    }
  });
});
