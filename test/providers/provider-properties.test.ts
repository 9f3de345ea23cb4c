/**
 * Property tests (fast-check) of every provider's parsers: whatever a server answers, the result
 * is a well-formed IssuedToken / RevokeResult or a typed LsTokenError with a known code, never
 * another exception, and never a message quoting the app secret (even when the server echoes it).
 */
import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { ErrorCodes, LsTokenError, SecretRedactor, kisProvider, kiwoomProvider, lsProvider, rfc7009Provider, type ProviderDefinition, type RawResponse } from '../../src/index.js';

const SECRET = 'SENTINEL-APPSECRET-7f3a9c1e5b2d4f60';
const CODES = new Set<string>(Object.values(ErrorCodes));
const redactor = new SecretRedactor();
redactor.add(SECRET);

const rfc = rfc7009Provider({ tokenEndpoint: 'https://auth.example.com/token', revocationEndpoint: 'https://auth.example.com/revoke', clientAuth: 'client_secret_post' });

const anyJson = fc.oneof(fc.jsonValue(), fc.constant(SECRET), fc.string(), fc.integer(), fc.double(), fc.constant(null));
const code = fc.oneof(fc.constantFrom('EGW00121', 'EGW00133', 'EGW00105', 'EGW00207', '200', 200, 0, 3, 5, 7, 8005, 1700, 'invalid_client', 'toString', '__proto__', 'constructor'), anyJson);
const msg = fc.oneof(fc.constantFrom('인증에 실패했습니다[8005:Token이 유효하지 않습니다]', '[1700:유량]', `[8001:${SECRET}]`, SECRET), fc.string());
const kst = fc.oneof(fc.constantFrom('2024-03-16 12:00:00', '20240316120000', '2024-02-30 00:00:00', '99999999999999', ''), fc.string(), fc.integer());
const token = fc.oneof(fc.constantFrom('eyJ0eXAiOiJKV1QiLCJhbGciOiJIUzUxMiJ9.eyJleHAiOjE3MTA1NTgwMDAsImlhdCI6MTcxMDQ3MTYwMH0.c2ln', 'WQJCwyqInphKnR3bSRtB9NE1lvOpaqueToken0001', 'bad token', SECRET, ''), fc.string(), anyJson);

const body: fc.Arbitrary<string> = fc.oneof(
  fc
    .record(
      {
        access_token: token,
        token,
        token_type: fc.oneof(fc.constantFrom('Bearer', 'bearer', 'MAC'), anyJson),
        expires_in: fc.oneof(fc.constantFrom(86400, '86400', 0, -1, 1e308), anyJson),
        access_token_token_expired: kst,
        expires_dt: kst,
        return_code: code,
        return_msg: msg,
        error_code: code,
        error_description: msg,
        msg_cd: code,
        msg1: msg,
        code,
        message: msg,
        error: code,
      },
      { requiredKeys: [] },
    )
    .map((o) => JSON.stringify(o)),
  fc.json(),
  fc.string(),
  fc.constantFrom('', '{"return_co', 'null', '[]', '{}'),
);

const response: fc.Arbitrary<RawResponse> = fc.record({
  status: fc.oneof(fc.constantFrom(200, 401, 403, 429, 500, 503), fc.integer({ min: 0, max: 999 })),
  body,
  retryAfter: fc.option(fc.oneof(fc.string(), fc.constantFrom('1', '60', 'Wed, 21 Oct 2015 07:28:00 GMT')), { nil: undefined }),
});

function typedOrValue<T>(fn: () => T, check: (v: T) => boolean): boolean {
  let value: T;
  try {
    value = fn();
  } catch (err) {
    if (!(err instanceof LsTokenError) || !CODES.has(err.code)) throw new Error(`untyped exception: ${String(err)}`, { cause: err });
    if (`${err.message} ${JSON.stringify(err)}`.includes(SECRET)) throw new Error(`a message quotes the secret: ${err.message}`);
    return true;
  }
  if (!check(value)) throw new Error(`invalid result: ${JSON.stringify(value)}`);
  return true;
}

describe.each([
  ['ls', lsProvider],
  ['kis', kisProvider],
  ['kiwoom', kiwoomProvider],
  ['rfc7009', rfc],
] as [string, ProviderDefinition][])('%s parsers', (_name, provider) => {
  it('parseIssue: an IssuedToken with a finite expiry, or a typed error that never quotes the secret', () => {
    fc.assert(
      fc.property(response, fc.integer({ min: 1_600_000_000_000, max: 1_900_000_000_000 }), (res, at) =>
        typedOrValue(
          () => provider.parseIssue(res, at, redactor),
          (t) => typeof t.accessToken === 'string' && t.accessToken.length > 0 && !/\s/.test(t.accessToken) && Number.isFinite(t.expiresAt) && t.issuedAt === at,
        ),
      ),
      { numRuns: 1_500 },
    );
  });

  it('parseRevoke: revoked / already-invalid, or a typed error that never quotes the secret', () => {
    fc.assert(
      fc.property(response, (res) => typedOrValue(() => provider.parseRevoke(res, Date.now(), redactor), (r) => r.outcome === 'revoked' || r.outcome === 'already-invalid')),
      { numRuns: 1_500 },
    );
  });

  it('codeOf and classifyCode never throw', () => {
    fc.assert(
      fc.property(fc.oneof(body, anyJson), (b) => {
        const c = provider.codeOf(b);
        return c === undefined || (typeof c === 'string' && (provider.classifyCode(c) === undefined || typeof provider.classifyCode(c) === 'string'));
      }),
      { numRuns: 1_000 },
    );
    expect(provider.codeOf(undefined)).toBeUndefined();
    for (const c of ['toString', '__proto__', 'constructor', 'hasOwnProperty']) expect(provider.classifyCode(c)).toBeUndefined();
  });
});
