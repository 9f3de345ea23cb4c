/**
 * What already held when issue 11 was filed, kept under test: proxy environment variables are
 * ignored (the secret never goes to a proxy the environment names), the secret travels only in the
 * request body, and a body dripped one byte at a time cannot hold a call past `timeoutMs`.
 * (Redirects are never followed: test/providers/ls/ls-client.test.ts, "transport safety".)
 */
import { afterEach, describe, expect, it } from '@jest/globals';
import { ErrorCodes, LsTokenError } from '../../src/core/errors.js';
import { LsOAuthClient } from '../../src/providers/ls/ls-client.js';
import { fakeJwt, sendJson, startHostileServer } from './hostile-server.js';

const APP_KEY = 'SAFEKEY0123456789abcdefghijklmnopqr';
const SECRET = 'SafeSecret0123456789abcdefXYZ';
const PROXY_VARS = ['HTTP_PROXY', 'http_proxy', 'HTTPS_PROXY', 'https_proxy', 'ALL_PROXY', 'all_proxy', 'NO_PROXY', 'no_proxy'];

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe('transport safety', () => {
  it('ignores proxy environment variables: the request goes straight to the base URL', async () => {
    const proxy = await startHostileServer((_req, res) => sendJson(res, 502, { error: 'proxied' }));
    const token = fakeJwt({ sub: 'token', exp: Math.floor(Date.now() / 1000) + 3600 });
    const target = await startHostileServer((_req, res) => sendJson(res, 200, { access_token: token, token_type: 'Bearer', expires_in: 3600 }));
    const saved = Object.fromEntries(PROXY_VARS.map((k) => [k, process.env[k]]));
    cleanups.push(() => proxy.close(), () => target.close(), () => {
      for (const [k, v] of Object.entries(saved)) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    });
    for (const k of PROXY_VARS) delete process.env[k];
    for (const k of ['HTTP_PROXY', 'http_proxy', 'HTTPS_PROXY', 'https_proxy', 'ALL_PROXY', 'all_proxy']) process.env[k] = proxy.url;
    const client = new LsOAuthClient({ appKey: APP_KEY, appSecretKey: SECRET, baseUrl: target.url });
    cleanups.push(() => client.close());
    expect((await client.issueToken()).accessToken).toBe(token);
    expect(proxy.requests).toHaveLength(0);
    expect(target.requests).toHaveLength(1);
  });

  it('sends the secret in the form body only: not in the path, the query or a header', async () => {
    const seenHeaders: string[] = [];
    const server = await startHostileServer((req, res, raw) => {
      seenHeaders.push(JSON.stringify(raw.headers), raw.url ?? '');
      sendJson(res, 200, { code: '200', message: 'ok' });
    });
    const client = new LsOAuthClient({ appKey: APP_KEY, appSecretKey: SECRET, baseUrl: server.url });
    cleanups.push(() => server.close(), () => client.close());
    await client.revokeToken('eyJhbGciOi.eyJzdWIi.sig');
    expect(server.requests[0]!.path).toBe('/oauth2/revoke');
    expect(server.requests[0]!.form.get('appsecretkey')).toBe(SECRET);
    expect(seenHeaders.join('\n')).not.toContain(SECRET);
  });

  it('bounds a body dripped one byte at a time by timeoutMs (the axios timeout alone is an idle timeout)', async () => {
    const server = await startHostileServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      const timer = setInterval(() => res.write(' '), 50);
      res.on('close', () => clearInterval(timer));
    });
    const client = new LsOAuthClient({ appKey: APP_KEY, appSecretKey: SECRET, baseUrl: server.url, timeoutMs: 400 });
    cleanups.push(() => server.close(), () => client.close());
    const started = Date.now();
    let caught: unknown;
    try {
      await client.issueToken();
    } catch (err) {
      caught = err;
    }
    const elapsed = Date.now() - started;
    expect(caught).toBeInstanceOf(LsTokenError);
    expect((caught as LsTokenError).code).toBe(ErrorCodes.TIMEOUT);
    expect(elapsed).toBeGreaterThanOrEqual(350);
    expect(elapsed).toBeLessThan(400 + 1_500);
  });
});
