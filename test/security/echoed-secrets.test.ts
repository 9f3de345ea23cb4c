/**
 * Issue 11, item 3: a server that echoes the app secret or an opaque (non-JWT) token in its error
 * text must not get it into an error message (and from there into events and stored `lastError`).
 * Scrubbing is by value, not only by JWT shape, and covers the encodings a server may use.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ErrorCodes, LsTokenError } from '../../src/core/errors.js';
import { summarizeError } from '../../src/core/events.js';
import { LsOAuthClient } from '../../src/providers/ls/ls-client.js';
import { TokenStore } from '../../src/store/token-store.js';
import { dumpError, leaksIn } from './leak-scan.js';
import { sendJson, startHostileServer, type HostileServer } from './hostile-server.js';
import { rejection } from '../helpers/rejection.js';

const APP_KEY = 'ECHOKEY0123456789abcdefghijklmnopqr';
// Printable ASCII with the characters whose encodings differ: / + " \ & % ~ =
const SECRET = 'S3cr/t+K"y\\w&th%odd~chars=Z9';
// An opaque token: b64token characters, not shaped like a JWT, so the JWT scrubber cannot see it.
const OPAQUE = 'opaqueTOKEN-4f9a.b7c2_~+/Zq81xx==';


function expectClean(err: LsTokenError, ...secrets: string[]): void {
  const dump = `${dumpError(err)}\n${JSON.stringify(summarizeError(err))}\n${err.lsCode ?? ''}`;
  for (const s of secrets) expect(leaksIn(dump, s)).toEqual([]);
}

describe('a server echoing secrets in its error text', () => {
  let server: HostileServer;
  let client: LsOAuthClient;

  beforeAll(async () => {
    server = await startHostileServer();
    client = new LsOAuthClient({ appKey: APP_KEY, appSecretKey: SECRET, baseUrl: server.url, timeoutMs: 2_000 });
  });
  afterAll(async () => {
    client.close();
    await server.close();
  });

  const echoes: Array<[string, (body: URLSearchParams, rawBody: string) => unknown]> = [
    ['the raw secret', (f) => ({ error_code: 'IGW00105', error_description: `invalid appsecretkey ${f.get('appsecretkey')}` })],
    ['the form-encoded secret as sent', (_f, raw) => ({ error_code: 'IGW00105', error_description: `bad field ${/appsecretkey=[^&]*/.exec(raw)?.[0] ?? ''}` })],
    ['the percent-encoded secret in lower-case hex', (f) => ({ rsp_cd: 'IGW00999', rsp_msg: `secret ${encodeURIComponent(f.get('appsecretkey')!).replace(/%[0-9A-F]{2}/g, (m) => m.toLowerCase())}` })],
    ['a JSON document quoting the secret', (f) => ({ error_code: 'IGW00105', error_description: JSON.stringify({ appsecretkey: f.get('appsecretkey') }) })],
    ['the secret JSON-escaped PHP style (\\/)', (f) => ({ code: 'IGW00105', message: JSON.stringify({ s: f.get('appsecretkey') }).replace(/\//g, '\\/') })],
    ['the secret JSON-escaped .NET style (\\u002B)', (f) => ({ code: 'IGW00105', message: JSON.stringify({ s: f.get('appsecretkey') }).replace(/[+&]/g, (c) => `\\u00${c.charCodeAt(0).toString(16).toUpperCase()}`) })],
    ['the secret as the error code', (f) => ({ error_code: f.get('appsecretkey'), error_description: 'no' })],
  ];

  it.each(echoes)('issueToken: %s never reaches the error', async (_name, echo) => {
    server.handle((req, res) => sendJson(res, 403, echo(req.form, req.rawBody)));
    const err = await rejection(client.issueToken());
    expect(err.httpStatus).toBe(403);
    expectClean(err, SECRET);
  });

  it.each(echoes)('revokeToken of an opaque token: %s (and the token) never reach the error', async (_name, echo) => {
    server.handle((req, res) => {
      const body = echo(req.form, req.rawBody) as Record<string, unknown>;
      sendJson(res, 400, { ...body, rsp_msg: `token ${req.form.get('token')} rejected; ${String(body['rsp_msg'] ?? '')}` });
    });
    const err = await rejection(client.revokeToken(OPAQUE));
    expect(err.httpStatus).toBe(400);
    expectClean(err, SECRET, OPAQUE);
  });

  it('an opaque token echoed in a 200 answer without a code is not quoted either', async () => {
    server.handle((req, res) => sendJson(res, 500, { error_code: 'IGW00500', error_description: `${req.form.get('token')}` }));
    const err = await rejection(client.revokeToken(OPAQUE));
    expect(err.code).toBe(ErrorCodes.LS_REJECTED);
    expectClean(err, OPAQUE);
  });
});

describe('the token store keeps tokens out of lastError', () => {
  it('scrubs the record\'s own raw token (opaque, in any encoding) from lastError.message', async () => {
    const store = new TokenStore();
    const t0 = Date.now();
    const rec = await store.put({ appKeyId: 'app', tokenType: 'Bearer', issuedAt: t0, expiresAt: t0 + 3_600_000, revokeAt: t0 + 3_000_000 }, OPAQUE);
    const message = `LS revoke failed: token ${OPAQUE} / ${encodeURIComponent(OPAQUE)} / ${JSON.stringify({ t: OPAQUE })}`;
    const updated = await store.update(rec.id, { state: 'failed', lastError: { code: ErrorCodes.LS_REJECTED, message } });
    expect(updated?.lastError?.message).toContain('LS revoke failed: token');
    expect(leaksIn(JSON.stringify(updated), OPAQUE)).toEqual([]);
    expect(leaksIn(JSON.stringify(await store.get(rec.id)), OPAQUE)).toEqual([]);
  });
});
