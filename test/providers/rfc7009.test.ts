/**
 * rfc7009Provider against a real standard server (oidc-provider, in this process over loopback
 * HTTP): client credentials issuance (RFC 6749 section 4.4) with either client authentication, and
 * RFC 7009 revocation checked through the server's introspection endpoint (RFC 7662).
 */
import { inspect } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ErrorCodes, LsTokenError, OAuthClient, TokenLifecycle, rfc7009Provider } from '../../src/index.js';
import { BASIC_CLIENT, POST_CLIENT, startOidcServer, type OidcServer } from './oidc-server.js';

let server: OidcServer;
beforeAll(async () => {
  server = await startOidcServer(600);
});
afterAll(async () => {
  await server.close();
});

const provider = (clientAuth: 'client_secret_basic' | 'client_secret_post', scope?: string) =>
  rfc7009Provider({ tokenEndpoint: server.tokenEndpoint, revocationEndpoint: server.revocationEndpoint, clientAuth, ...(scope === undefined ? {} : { scope }) });

describe.each([
  ['client_secret_basic', BASIC_CLIENT],
  ['client_secret_post', POST_CLIENT],
] as const)('rfc7009Provider with %s', (clientAuth, creds) => {
  it('issues with the client credentials grant, expiry from expires_in; revokes, and introspection then says inactive', async () => {
    const client = new OAuthClient({ provider: provider(clientAuth, 'orders:read'), appKey: creds.id, appSecretKey: creds.secret });
    try {
      const sentAt = Date.now();
      const t = await client.issueToken();
      expect(t.tokenType.toLowerCase()).toBe('bearer');
      expect(t.scope).toBe('orders:read');
      expect(t.lifetimeMs).toBe(600_000);
      expect(t.expiresAt).toBeGreaterThanOrEqual(sentAt + 600_000);
      expect(await server.isActive(t.accessToken)).toBe(true);
      expect(await client.revokeToken(t.accessToken)).toEqual({ outcome: 'revoked' });
      expect(await server.isActive(t.accessToken)).toBe(false);
    } finally {
      client.close();
    }
  });

  it('a wrong secret is ERR_INVALID_CREDENTIALS (invalid_client), and no error text holds a secret', async () => {
    const wrong = `${creds.secret}-wrong`;
    const client = new OAuthClient({ provider: provider(clientAuth), appKey: creds.id, appSecretKey: wrong });
    try {
      let err: unknown;
      try {
        await client.issueToken();
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(LsTokenError);
      const e = err as LsTokenError;
      expect([e.code, e.lsCode, e.retryable]).toEqual([ErrorCodes.INVALID_CREDENTIALS, 'invalid_client', false]);
      const basic = Buffer.from(`${creds.id}:${wrong}`).toString('base64');
      const printed = `${e.message} ${JSON.stringify(e)} ${inspect(e, { depth: 10 })} ${inspect(client, { depth: 10 })}`;
      expect(printed).not.toContain(wrong);
      expect(printed).not.toContain(basic);
    } finally {
      client.close();
    }
  });
});

describe('rfc7009Provider in a TokenLifecycle', () => {
  it('single flight, then every token it issued is inactive after shutdown', async () => {
    const lc = new TokenLifecycle({ provider: provider('client_secret_basic'), appKey: BASIC_CLIENT.id, appSecretKey: BASIC_CLIENT.secret, sweepIntervalMs: 0 });
    const tokens = await Promise.all(Array.from({ length: 50 }, () => lc.getAccessToken()));
    expect(new Set(tokens).size).toBe(1);
    expect(await server.isActive(tokens[0]!)).toBe(true);
    const summary = await lc.shutdown({ deadlineMs: 5_000 });
    expect(summary.revoked).toBe(1);
    expect(await server.isActive(tokens[0]!)).toBe(false);
  });

  it('checks its options, naming the field', () => {
    expect(() => rfc7009Provider({ tokenEndpoint: 'http://auth.example.com/token', revocationEndpoint: server.revocationEndpoint, clientAuth: 'client_secret_basic' })).toThrow('"tokenEndpoint"');
    expect(() => rfc7009Provider({ tokenEndpoint: server.tokenEndpoint, revocationEndpoint: server.revocationEndpoint, clientAuth: 'private_key_jwt' as never })).toThrow('"clientAuth"');
    expect(() => rfc7009Provider({ tokenEndpoint: server.tokenEndpoint, revocationEndpoint: server.revocationEndpoint, clientAuth: 'client_secret_post', scope: 'a  b' })).toThrow('"scope"');
  });
});
