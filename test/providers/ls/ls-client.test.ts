import { inspect } from 'node:util';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { ErrorCodes, LsTokenError } from '../../../src/core/errors.js';
import { LsOAuthClient } from '../../../src/providers/ls/ls-client.js';
import { readJwtClaims } from '../../../src/providers/ls/jwt-claims.js';
import { startMockLsServer, type MockLsServer } from '../../../src/testing/index.js';
import { rejection as caught } from '../../helpers/rejection.js';

// LS's documented example credentials (from the revoke page): 36 and 32 characters.
const APP_KEY = 'PSd7orrAJnAfr202g4MpbzVxwqPBjjkvjLf2';
const APP_SECRET = 'puQoMSRYZwOHt8goiEHbOazdBqLRUyYA';


function thrown(fn: () => unknown): LsTokenError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(LsTokenError);
    return err as LsTokenError;
  }
  throw new Error('expected a throw');
}

describe('LsOAuthClient against the mock LS server', () => {
  let mock: MockLsServer;
  let client: LsOAuthClient;

  beforeAll(async () => {
    mock = await startMockLsServer({ credentials: [{ appKey: APP_KEY, appSecretKey: APP_SECRET }], cutoffKst: null });
    client = new LsOAuthClient({ appKey: APP_KEY, appSecretKey: APP_SECRET, baseUrl: mock.url, timeoutMs: 1_000 });
  });
  afterAll(async () => {
    client.close();
    await mock.close();
  });
  beforeEach(() => mock.clearFaults());

  it('issues a token with the documented response fields and a JWT expiry', async () => {
    const before = Date.now();
    const t = await client.issueToken();
    expect(t.tokenType).toBe('Bearer');
    expect(t.scope).toBe('oob');
    expect(t.issuedAt).toBeGreaterThanOrEqual(before);
    expect(mock.isActive(t.accessToken)).toBe(true);
    const claims = readJwtClaims(t.accessToken);
    expect(claims?.jti).toBe(APP_KEY);
    // 86400 s lifetime: expiry is the earlier of issuedAt + expires_in and the JWT exp.
    expect(t.expiresAt).toBeLessThanOrEqual(t.issuedAt + 86_400_000);
    expect(t.expiresAt).toBeGreaterThan(t.issuedAt + 86_400_000 - 2_000);
  });

  it('revokes a live token, then reports the dead one as already invalid (IGW00121)', async () => {
    const t = await client.issueToken();
    await expect(client.revokeToken(t.accessToken)).resolves.toEqual({ outcome: 'revoked' });
    expect(mock.isActive(t.accessToken)).toBe(false);
    await expect(client.revokeToken(t.accessToken)).resolves.toEqual({ outcome: 'already-invalid' });
  });

  it('sends a token longer than the page\'s 256-character limit whole', async () => {
    const long = `eyJ${'a'.repeat(600)}.eyJ${'b'.repeat(300)}.sig`;
    await expect(client.revokeToken(long)).resolves.toEqual({ outcome: 'already-invalid' });
  });

  it('maps wrong credentials to ERR_INVALID_CREDENTIALS (IGW00103, IGW00105), not retryable', async () => {
    const badKey = new LsOAuthClient({ appKey: 'X'.repeat(36), appSecretKey: APP_SECRET, baseUrl: mock.url });
    const badSecret = new LsOAuthClient({ appKey: APP_KEY, appSecretKey: 'wrong-secret', baseUrl: mock.url });
    const e1 = await caught(badKey.issueToken());
    expect([e1.code, e1.lsCode, e1.retryable]).toEqual([ErrorCodes.INVALID_CREDENTIALS, 'IGW00103', false]);
    const e2 = await caught(badSecret.issueToken());
    expect([e2.code, e2.lsCode, e2.retryable, e2.httpStatus]).toEqual([ErrorCodes.INVALID_CREDENTIALS, 'IGW00105', false, 403]);
    badKey.close();
    badSecret.close();
  });

  const faults = [
    { kind: 'http500', endpoint: 'token', code: ErrorCodes.LS_REJECTED, retryable: true }, // JSON body with an LS code: classified by it
    { kind: 'http500-text', endpoint: 'token', code: ErrorCodes.HTTP, retryable: true }, // no LS code: by the status
    { kind: 'rate-limit', endpoint: 'token', code: ErrorCodes.RATE_LIMITED, retryable: true },
    { kind: 'malformed', endpoint: 'token', code: ErrorCodes.BAD_RESPONSE, retryable: true },
    { kind: 'hang', endpoint: 'token', code: ErrorCodes.TIMEOUT, retryable: true },
    { kind: 'reset', endpoint: 'token', code: ErrorCodes.NETWORK, retryable: true },
    { kind: 'http500', endpoint: 'revoke', code: ErrorCodes.LS_REJECTED, retryable: true },
    { kind: 'http500-text', endpoint: 'revoke', code: ErrorCodes.HTTP, retryable: true },
    { kind: 'rate-limit', endpoint: 'revoke', code: ErrorCodes.RATE_LIMITED, retryable: true },
    { kind: 'malformed', endpoint: 'revoke', code: ErrorCodes.BAD_RESPONSE, retryable: true },
    { kind: 'hang', endpoint: 'revoke', code: ErrorCodes.TIMEOUT, retryable: true },
    { kind: 'reset', endpoint: 'revoke', code: ErrorCodes.NETWORK, retryable: true },
  ] as const;

  it.each(faults)('maps a $kind fault on $endpoint to $code (retryable: $retryable)', async ({ kind, endpoint, code, retryable }) => {
    const fast = new LsOAuthClient({ appKey: APP_KEY, appSecretKey: APP_SECRET, baseUrl: mock.url, timeoutMs: 300 });
    mock.inject({ endpoint, kind, count: 1 });
    const call = endpoint === 'token' ? fast.issueToken() : fast.revokeToken('eyJhbGciOi.eyJzdWIi.sig');
    const err = await caught(call);
    expect(err.code).toBe(code);
    expect(err.retryable).toBe(retryable);
    fast.close();
  });

  it('treats an injected IGW00121 on revoke as already invalid', async () => {
    const t = await client.issueToken();
    mock.inject({ endpoint: 'revoke', kind: 'invalid-token', count: 1 });
    await expect(client.revokeToken(t.accessToken)).resolves.toEqual({ outcome: 'already-invalid' });
  });

  it('reads Retry-After on a rate limit', async () => {
    mock.inject({ endpoint: 'revoke', kind: 'rate-limit', count: 1, retryAfterS: 3 });
    const err = await caught(client.revokeToken('eyJhbGciOi.eyJzdWIi.sig'));
    expect(err.lsCode).toBe('IGW00201');
    expect(err.retryAfterMs).toBe(3_000);
  });

  it('aborts a hanging request when the caller\'s signal fires (ERR_ABORTED, not retryable)', async () => {
    mock.inject({ endpoint: 'token', kind: 'hang', count: 1 });
    const ac = new AbortController();
    const p = client.issueToken({ signal: ac.signal });
    ac.abort();
    const err = await caught(p);
    expect(err.code).toBe(ErrorCodes.ABORTED);
    expect(err.retryable).toBe(false);
  });
});

describe('transport safety', () => {
  it('never follows a redirect (the secret is in the body)', async () => {
    const { createServer } = await import('node:http');
    let followed = 0;
    const srv = createServer((req, res) => {
      if (req.url === '/elsewhere') {
        followed++;
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"access_token":"x","expires_in":1}');
        return;
      }
      res.writeHead(307, { location: '/elsewhere' }).end();
    });
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    const { port } = srv.address() as { port: number };
    const client = new LsOAuthClient({ appKey: APP_KEY, appSecretKey: APP_SECRET, baseUrl: `http://127.0.0.1:${port}` });
    const err = await caught(client.issueToken());
    expect(err).toMatchObject({ code: ErrorCodes.HTTP, httpStatus: 307, retryable: false });
    expect(followed).toBe(0);
    client.close();
    await new Promise<void>((r) => srv.close(() => r()));
  });
});

describe('expiry rule', () => {
  it('accepts expire_in as a numeric string', async () => {
    const mock = await startMockLsServer({ lifetimeField: 'expire_in', tokenLifetimeS: 3_600 });
    const client = new LsOAuthClient({ appKey: APP_KEY, appSecretKey: APP_SECRET, baseUrl: mock.url });
    const t = await client.issueToken();
    expect(t.expiresAt - t.issuedAt).toBeGreaterThan(3_600_000 - 2_000);
    expect(t.expiresAt - t.issuedAt).toBeLessThanOrEqual(3_600_000);
    client.close();
    await mock.close();
  });

  it('cuts the lifetime at the 07:00 KST cut-off (JWT exp earlier than expires_in)', async () => {
    // 12:53:21 KST = 03:53:21 UTC; LS's own example token lives until 07:00:01 KST the next day.
    const issued = Date.UTC(2026, 10, 24, 3, 53, 21);
    let now = issued;
    const mock = await startMockLsServer({ cutoffKst: '07:00', tokenLifetimeS: 86_400, now: () => now });
    // The mock answers expires_in = seconds to the cut-off; lie to the client with a client clock
    // that is ahead, so only the JWT exp can give the right answer.
    const client = new LsOAuthClient({ appKey: APP_KEY, appSecretKey: APP_SECRET, baseUrl: mock.url, now: () => now + 3_600_000 });
    const t = await client.issueToken();
    expect(t.expiresAt).toBe(Date.UTC(2026, 10, 24, 22, 0, 0)); // 07:00 KST on the 25th
    now = Date.UTC(2026, 10, 24, 21, 59, 0); // 06:59 KST: the token lives one minute
    const client2 = new LsOAuthClient({ appKey: APP_KEY, appSecretKey: APP_SECRET, baseUrl: mock.url, now: () => now });
    const t2 = await client2.issueToken();
    expect(t2.expiresAt - t2.issuedAt).toBe(60_000);
    client.close();
    client2.close();
    await mock.close();
  });
});

describe('option validation', () => {
  const good = { appKey: APP_KEY, appSecretKey: APP_SECRET };
  it.each([
    [{ ...good, appKey: '' }, 'appKey'],
    [{ ...good, appKey: 'k'.repeat(37) }, 'appKey'],
    [{ ...good, appSecretKey: undefined }, 'appSecretKey'],
    [{ ...good, appSecretKey: 's'.repeat(37) }, 'appSecretKey'],
    [{ ...good, appSecretKey: 'has space' }, 'appSecretKey'],
    [{ ...good, baseUrl: 'ftp://example.com' }, 'baseUrl'],
    [{ ...good, baseUrl: 'not a url' }, 'baseUrl'],
    [{ ...good, baseUrl: 'http://openapi.example.com:8080' }, 'baseUrl'],
    [{ ...good, timeoutMs: 0 }, 'timeoutMs'],
  ])('rejects %j naming the field', (opts, field) => {
    const err = thrown(() => new LsOAuthClient(opts as never));
    expect(err.code).toBe(ErrorCodes.INVALID_OPTION);
    expect(err.field).toBe(field);
    expect(err.message).toContain(field);
  });

  it('allows plain http to loopback, and to other hosts only when asked', () => {
    expect(new LsOAuthClient({ ...good, baseUrl: 'http://127.0.0.1:9' }).baseUrl).toBe('http://127.0.0.1:9');
    expect(new LsOAuthClient({ ...good, baseUrl: 'http://ls.internal:80', allowInsecureHttp: true }).baseUrl).toBe('http://ls.internal');
  });

  it('never echoes a secret in a validation error', () => {
    const secret = 'S3cret-Value-That-Is-Way-Too-Long-For-LS-123456';
    const err = thrown(() => new LsOAuthClient({ appKey: APP_KEY, appSecretKey: secret }));
    expect(`${err.message} ${JSON.stringify(err)} ${inspect(err)}`).not.toContain(secret);
  });
});

describe('secrets stay out of errors', () => {
  it('no thrown error carries the app secret or a raw token in message, JSON or inspect output', async () => {
    const secret = 'SENTINEL-SECRET-0123456789abcdefgh';
    const mock = await startMockLsServer({ credentials: [{ appKey: APP_KEY, appSecretKey: secret }] });
    const client = new LsOAuthClient({ appKey: APP_KEY, appSecretKey: secret, baseUrl: mock.url, timeoutMs: 300 });
    const token = (await client.issueToken()).accessToken;
    const errors: LsTokenError[] = [];
    for (const kind of ['http500', 'rate-limit', 'malformed', 'hang', 'reset', 'invalid-token'] as const) {
      for (const endpoint of ['token', 'revoke'] as const) {
        mock.inject({ endpoint, kind, count: 1 });
        try {
          if (endpoint === 'token') await client.issueToken();
          else await client.revokeToken(token);
        } catch (err) {
          errors.push(err as LsTokenError);
        }
      }
    }
    const wrong = new LsOAuthClient({ appKey: APP_KEY, appSecretKey: `${secret.slice(0, 30)}XXXX`, baseUrl: mock.url });
    errors.push(await caught(wrong.issueToken()));
    errors.push(await caught(wrong.revokeToken(token)));
    expect(errors.length).toBeGreaterThanOrEqual(11);
    for (const err of errors) {
      const dump = `${err.message}\n${JSON.stringify(err)}\n${inspect(err, { depth: 10 })}\n${String(err)}`;
      expect(dump).not.toContain(secret);
      expect(dump).not.toContain(token);
      expect(dump).not.toContain(secret.slice(0, 30));
    }
    expect(inspect(client, { depth: 10 })).not.toContain(secret);
    expect(JSON.stringify(client)).not.toContain(secret);
    client.close();
    wrong.close();
    await mock.close();
  });
});
