/**
 * A real standard OAuth 2.0 server for the tests: `oidc-provider` (a certified OpenID Connect /
 * OAuth 2.0 implementation) on a free loopback port, with the client credentials grant, token
 * revocation (RFC 7009) and introspection (RFC 7662) enabled, and two confidential clients: one
 * authenticating with HTTP Basic, one with form fields.
 */
import { generateKeyPairSync } from 'node:crypto';
import type { Server } from 'node:http';
import { freePort } from '../helpers/net-and-random.js';

export const BASIC_CLIENT = { id: 'basic-client', secret: 'SENTINEL-basic-client-secret-0123456789' } as const;
export const POST_CLIENT = { id: 'post-client', secret: 'SENTINEL-post-client-secret-0123456789' } as const;

/** A running server and what the tests need from it. */
export interface OidcServer {
  readonly issuer: string;
  readonly tokenEndpoint: string;
  readonly revocationEndpoint: string;
  /** Whether the server still considers `token` active (RFC 7662 introspection, as the basic client). */
  isActive(token: string): Promise<boolean>;
  close(): Promise<void>;
}

/** oidc-provider's storage interface, in memory (its own default warns on every start). */
class MemoryAdapter {
  static readonly data = new Map<string, Record<string, unknown>>();
  readonly #name: string;
  constructor(name: string) {
    this.#name = name;
  }
  #key(id: string): string {
    return `${this.#name}:${id}`;
  }
  async upsert(id: string, payload: Record<string, unknown>): Promise<void> {
    MemoryAdapter.data.set(this.#key(id), payload);
  }
  async find(id: string): Promise<Record<string, unknown> | undefined> {
    return MemoryAdapter.data.get(this.#key(id));
  }
  async findByUid(): Promise<undefined> {
    return undefined;
  }
  async findByUserCode(): Promise<undefined> {
    return undefined;
  }
  async consume(id: string): Promise<void> {
    const p = MemoryAdapter.data.get(this.#key(id));
    if (p !== undefined) p['consumed'] = Math.floor(Date.now() / 1000);
  }
  async destroy(id: string): Promise<void> {
    MemoryAdapter.data.delete(this.#key(id));
  }
  async revokeByGrantId(grantId: string): Promise<void> {
    for (const [k, v] of MemoryAdapter.data) if (v['grantId'] === grantId) MemoryAdapter.data.delete(k);
  }
}

export async function startOidcServer(tokenTtlS = 600): Promise<OidcServer> {
  const { default: Provider } = (await import('oidc-provider')) as { default: new (issuer: string, config: Record<string, unknown>) => { listen(port: number, host: string): Server } };
  const port = await freePort();
  const issuer = `http://127.0.0.1:${port}`;
  const client = (c: { id: string; secret: string }, method: string): Record<string, unknown> => ({
    client_id: c.id,
    client_secret: c.secret,
    grant_types: ['client_credentials'],
    redirect_uris: [],
    response_types: [],
    token_endpoint_auth_method: method,
    scope: 'orders:read orders:write',
  });
  const signingKey = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'jwk' });
  const provider = new Provider(issuer, {
    adapter: MemoryAdapter,
    jwks: { keys: [{ ...signingKey, use: 'sig', kid: 'test' }] },
    clients: [client(BASIC_CLIENT, 'client_secret_basic'), client(POST_CLIENT, 'client_secret_post')],
    scopes: ['orders:read', 'orders:write'],
    cookies: { keys: ['test-cookie-key-0123456789abcdef'] },
    ttl: { ClientCredentials: tokenTtlS },
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      revocation: { enabled: true },
      introspection: { enabled: true, allowedPolicy: () => true },
    },
  });
  const server = provider.listen(port, '127.0.0.1');
  await new Promise<void>((resolve, reject) => {
    if (server.listening) resolve();
    server.once('listening', () => resolve());
    server.once('error', reject);
  });
  const basic = `Basic ${Buffer.from(`${BASIC_CLIENT.id}:${BASIC_CLIENT.secret}`).toString('base64')}`;
  return {
    issuer,
    tokenEndpoint: `${issuer}/token`,
    revocationEndpoint: `${issuer}/token/revocation`,
    async isActive(token) {
      const res = await fetch(`${issuer}/token/introspection`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic },
        body: new URLSearchParams({ token }).toString(),
      });
      if (res.status !== 200) throw new Error(`introspection answered HTTP ${res.status}`);
      return ((await res.json()) as { active?: unknown }).active === true;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections?.();
        server.close(() => resolve());
      }),
  };
}
