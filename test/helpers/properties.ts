/**
 * Property tests (fast-check) of the input boundaries: LS response parsing, option validation and
 * the stored-record codec. Every input must give a valid result or a typed {@link LsTokenError},
 * never another exception. Shared by `test/property.test.ts` (jest, `npm test`) and the chaos
 * runner (`npm run test:chaos`), which counts them in its summary.
 */
import fc from 'fast-check';
import { Keyv } from 'keyv';
import { ErrorCodes, LsTokenError } from '../../src/core/errors.js';
import { readJwtClaims, effectiveExpiry } from '../../src/providers/ls/jwt-claims.js';
import { LsOAuthClient } from '../../src/providers/ls/ls-client.js';
import { errorFromResponse, parseRetryAfter, parseRevokeResponse, parseTokenResponse, type RawResponse } from '../../src/providers/ls/ls-response.js';
import { RevocationScheduler } from '../../src/schedule/revocation-scheduler.js';
import { TokenLifecycle } from '../../src/lifecycle/token-lifecycle.js';
import { parseStoredRecord, TOKEN_STATES } from '../../src/store/token-record.js';
import { TokenStore } from '../../src/store/token-store.js';
import { optionalBoolean, optionalEnum, optionalInteger, optionalNumber, requireBaseUrl, requireCredential, requireObject } from '../../src/core/validate.js';

const CODES = new Set<string>(Object.values(ErrorCodes));
const SECRET = 'SENTINEL-APPSECRET-7f3a9c1e5b2d4f60';

/** Runs `fn`; a thrown LsTokenError with a known code (and `allowed`, if given) counts as a typed error. */
function typedOrValue<T>(fn: () => T, check: (v: T) => boolean, allowed?: readonly string[]): boolean {
  let value: T;
  try {
    value = fn();
  } catch (err) {
    if (!(err instanceof LsTokenError) || !CODES.has(err.code)) throw new Error(`untyped exception: ${String(err)}`, { cause: err });
    if (allowed !== undefined && !allowed.includes(err.code)) throw new Error(`unexpected code ${err.code}: ${err.message}`);
    if (err.message.includes(SECRET)) throw new Error('error message quotes the secret');
    return true;
  }
  if (!check(value)) throw new Error(`invalid result: ${JSON.stringify(value)}`);
  return true;
}

// ---- generators ---------------------------------------------------------------------------------

const b64url = (minLength: number, maxLength: number): fc.Arbitrary<string> =>
  fc.string({ unit: fc.constantFrom(...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'), minLength, maxLength });

/** JWT-shaped strings whose claims are arbitrary JSON (exp huge, negative, strings, missing...). */
const jwtLike: fc.Arbitrary<string> = fc
  .tuple(fc.dictionary(fc.constantFrom('exp', 'iat', 'nbf', 'jti', 'sub', 'x'), fc.oneof(fc.double(), fc.integer(), fc.string(), fc.constant(null), fc.jsonValue())), b64url(0, 90))
  .map(([claims, sig]) => `eyJ0eXAiOiJKV1QiLCJhbGciOiJIUzUxMiJ9.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.${sig}`);

const lifetime = fc.oneof(fc.integer(), fc.double(), fc.string(), fc.constantFrom('86400', ' 3600 ', '1e3', '-5', '0', 'NaN', ''), fc.constant(null), fc.jsonValue());
const lsCode = fc.oneof(fc.constantFrom('IGW00121', 'IGW00122', 'IGW00123', 'IGW00103', 'IGW00105', 'IGW00201', 'IGW99999', '200', 200, 0), fc.string(), fc.integer(), fc.jsonValue());

/** Token-endpoint bodies: plausible ones with any field broken, error shapes, and random text. */
const tokenBody: fc.Arbitrary<string> = fc.oneof(
  fc
    .record(
      {
        access_token: fc.oneof(jwtLike, fc.string(), fc.jsonValue(), fc.constant(`${'a'.repeat(9000)}`)),
        token_type: fc.oneof(fc.constantFrom('Bearer', 'bearer', 'MAC'), fc.jsonValue()),
        scope: fc.oneof(fc.constant('oob'), fc.jsonValue()),
        expires_in: lifetime,
        expire_in: lifetime,
      },
      { requiredKeys: [] },
    )
    .map((o) => JSON.stringify(o)),
  fc.record({ error_code: lsCode, error_description: fc.oneof(fc.string(), jwtLike, fc.jsonValue()) }, { requiredKeys: [] }).map((o) => JSON.stringify(o)),
  fc.record({ rsp_cd: lsCode, rsp_msg: fc.string() }, { requiredKeys: [] }).map((o) => JSON.stringify(o)),
  fc.json(),
  fc.string(),
  fc.constantFrom('', '{"access_tok', 'null', '[]', '{}', '"x"', '1e999'),
);

const revokeBody: fc.Arbitrary<string> = fc.oneof(
  fc.record({ code: lsCode, message: fc.oneof(fc.string(), jwtLike) }, { requiredKeys: [] }).map((o) => JSON.stringify(o)),
  fc.record({ rsp_cd: lsCode, rsp_msg: fc.string() }, { requiredKeys: [] }).map((o) => JSON.stringify(o)),
  fc.record({ error_code: lsCode, error_description: fc.string() }, { requiredKeys: [] }).map((o) => JSON.stringify(o)),
  fc.json(),
  fc.string(),
);

const response = (body: fc.Arbitrary<string>): fc.Arbitrary<RawResponse> =>
  fc.record({
    status: fc.oneof(fc.constantFrom(200, 400, 401, 403, 408, 429, 500, 502, 503), fc.integer({ min: 0, max: 999 })),
    body,
    retryAfter: fc.option(fc.oneof(fc.string(), fc.integer().map(String), fc.date({ noInvalidDate: true }).map((d) => d.toUTCString()), fc.constantFrom('1e9', '-1', 'Infinity')), { nil: undefined }),
  });

const issuedAt = fc.oneof(fc.constant(Date.now()), fc.integer({ min: 0, max: 4_102_444_800_000 }));

/** Any value an option could be given as (JSON values, odd numbers, objects, functions, null-proto). */
const anyValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.anything({ withNullPrototype: true, withBigInt: true, withDate: true, withMap: true, withSet: true, withTypedArray: true, withSparseArray: true, withBoxedValues: true }),
  fc.constantFrom(NaN, Infinity, -Infinity, -0, 0, 1, -1, 1e15, 2 ** 53, 0.5, '', ' ', 'http://127.0.0.1:1', 'https://example.com', 'ftp://x', () => 1, Symbol('s'), SECRET),
);

// ---- properties ---------------------------------------------------------------------------------

/** A named property; `run` checks it with fast-check and returns how many inputs it tried. */
export interface NamedProperty {
  readonly name: string;
  run(opts: { numRuns: number; seed?: number }): Promise<number>;
}

function sync<Ts extends [unknown, ...unknown[]]>(name: string, arbs: { [K in keyof Ts]: fc.Arbitrary<Ts[K]> }, pred: (...args: Ts) => boolean): NamedProperty {
  return {
    name,
    async run({ numRuns, seed }) {
      let n = 0;
      fc.assert(
        fc.property(...(arbs as unknown as [fc.Arbitrary<unknown>]), (...args: unknown[]) => {
          n++;
          return pred(...(args as Ts));
        }),
        { numRuns, ...(seed === undefined ? {} : { seed }) },
      );
      return n;
    },
  };
}

const isTime = (x: unknown): boolean => typeof x === 'number' && Number.isFinite(x);

export const PROPERTIES: readonly NamedProperty[] = [
  sync<[RawResponse, number]>('parseTokenResponse: an IssuedToken or a typed error', [response(tokenBody), issuedAt], (res, at) =>
    typedOrValue(
      () => parseTokenResponse(res, at),
      (t) => typeof t.accessToken === 'string' && t.accessToken.length > 0 && !/\s/.test(t.accessToken) && t.tokenType.toLowerCase() === 'bearer' && typeof t.scope === 'string' && isTime(t.expiresAt) && t.issuedAt === at,
    ),
  ),
  sync<[RawResponse, number]>('parseRevokeResponse: revoked / already-invalid or a typed error', [response(revokeBody), issuedAt], (res, at) =>
    typedOrValue(() => parseRevokeResponse(res, at), (r) => r.outcome === 'revoked' || r.outcome === 'already-invalid'),
  ),
  sync<[RawResponse, number]>('errorFromResponse: always an LsTokenError with a known code, never throws', [response(fc.oneof(tokenBody, revokeBody)), issuedAt], (res, at) => {
    const e = errorFromResponse('revoke', res, at);
    return e instanceof LsTokenError && CODES.has(e.code) && (e.retryAfterMs === undefined || (e.retryAfterMs >= 0 && e.retryAfterMs <= 300_000));
  }),
  sync<[string | undefined, number]>('parseRetryAfter: undefined or 0..300000 ms', [fc.option(fc.string(), { nil: undefined }), issuedAt], (v, now) => {
    const ms = parseRetryAfter(v, now);
    return ms === undefined || (Number.isFinite(ms) && ms >= 0 && ms <= 300_000);
  }),
  sync<[string, number, number]>('readJwtClaims / effectiveExpiry: never throw, expiry never after issuedAt + lifetime', [fc.oneof(jwtLike, fc.string()), issuedAt, fc.integer({ min: 1, max: 10_000_000 })], (tok, at, life) => {
    const claims = readJwtClaims(tok);
    if (claims !== undefined && typeof claims !== 'object') return false;
    const exp = effectiveExpiry(at, life, tok);
    return typeof exp === 'number' && !Number.isNaN(exp) && exp <= at + life * 1000;
  }),
  sync<[unknown]>('parseStoredRecord: a record or ERR_CORRUPT_RECORD', [fc.oneof(anyValue, fc.json(), fc.record({ schema: fc.oneof(fc.constant(1), anyValue), id: fc.oneof(fc.string({ unit: fc.constantFrom(...'0123456789abcdef'), minLength: 64, maxLength: 64 }), anyValue), state: fc.oneof(fc.constantFrom(...TOKEN_STATES), anyValue), token: fc.oneof(fc.record({ alg: fc.constant('none'), data: fc.string() }), anyValue) }, { requiredKeys: [] }))], (v) =>
    typedOrValue(() => parseStoredRecord(v), (r) => typeof r.record.id === 'string', [ErrorCodes.CORRUPT_RECORD]),
  ),
  sync<[string, unknown, number]>('validate.ts helpers: the value or ERR_INVALID_OPTION, never quoting a credential', [fc.constantFrom('credential', 'number', 'integer', 'enum', 'boolean', 'object', 'baseUrl'), anyValue, fc.integer({ min: 1, max: 100 })], (which, v, max) =>
    typedOrValue(
      () => {
        switch (which) {
          case 'credential':
            return requireCredential('appSecretKey', v, max);
          case 'number':
            return optionalNumber('n', v, 1, 0, max);
          case 'integer':
            return optionalInteger('n', v, 1, 0, max);
          case 'enum':
            return optionalEnum('e', v, ['a', 'b'], 'a');
          case 'boolean':
            return optionalBoolean('b', v, false);
          case 'object':
            return requireObject('o', v);
          default:
            return requireBaseUrl('baseUrl', v, 'https://default.example', false);
        }
      },
      () => true,
      [ErrorCodes.INVALID_OPTION],
    ),
  ),
  sync<[Record<string, unknown>]>('LsOAuthClient options: constructs or ERR_INVALID_OPTION', [fc.record({ appKey: fc.oneof(fc.constant('KEY'), anyValue), appSecretKey: fc.oneof(fc.constant(SECRET), anyValue), baseUrl: anyValue, timeoutMs: anyValue, allowInsecureHttp: anyValue, axios: anyValue, now: anyValue }, { requiredKeys: [] })], (o) =>
    typedOrValue(() => new LsOAuthClient(o as never).close(), () => true, [ErrorCodes.INVALID_OPTION]),
  ),
  sync<[Record<string, unknown>]>('TokenStore options: constructs or ERR_INVALID_OPTION', [fc.record({ keyv: fc.oneof(fc.constant(undefined), anyValue), prefix: fc.oneof(fc.constantFrom('ls-token', 'a:b', 'a::b', ':x'), anyValue), encryptionKey: fc.oneof(fc.constant('00'.repeat(32)), anyValue), retainMs: anyValue, now: anyValue, onError: anyValue }, { requiredKeys: [] })], (o) =>
    typedOrValue(() => new TokenStore(o as never), (s) => s instanceof TokenStore, [ErrorCodes.INVALID_OPTION]),
  ),
  sync<[Record<string, unknown>]>('RevocationScheduler options: constructs or ERR_INVALID_OPTION', [fc.record({ retry: fc.oneof(fc.record({ retries: anyValue, minDelayMs: anyValue, maxDelayMs: anyValue, factor: anyValue, maxRetryTimeMs: anyValue, rateLimitDelayMs: anyValue }, { requiredKeys: [] }), anyValue), concurrency: anyValue, revokeRatePerSec: anyValue, clockSkewMs: anyValue, maxTimerDelayMs: anyValue, storeRetryDelayMs: anyValue, tokenFor: anyValue, now: anyValue, random: anyValue, withoutStore: fc.boolean() }, { requiredKeys: [] })], (o) => {
    const { withoutStore, ...rest } = o;
    const options = { ...(withoutStore === true ? {} : { store: new TokenStore(), revoke: async () => ({ outcome: 'revoked' as const }) }), ...rest };
    return typedOrValue(() => new RevocationScheduler(options as never).close(), () => true, [ErrorCodes.INVALID_OPTION]);
  }),
  sync<[Record<string, unknown>]>('TokenLifecycle options: constructs or ERR_INVALID_OPTION', [fc.record({ appKey: fc.oneof(fc.constant('KEY'), anyValue), appSecretKey: fc.oneof(fc.constant(SECRET), anyValue), baseUrl: fc.oneof(fc.constant('http://127.0.0.1:9'), anyValue), store: fc.oneof(fc.constant(undefined), anyValue, fc.constant(new Keyv())), namespace: anyValue, encryptionKey: anyValue, retainMs: anyValue, refreshMarginMs: anyValue, revokeMarginMs: anyValue, maxLifetimeMs: anyValue, supersededGraceMs: anyValue, reuseStoredToken: anyValue, retry: anyValue, concurrency: anyValue, issueThrottle: anyValue, shutdownDeadlineMs: anyValue, revokeOnShutdown: anyValue, orphanPolicy: anyValue, instanceId: anyValue, leaseTtlMs: anyValue, sweepIntervalMs: anyValue, issueLockWaitMs: anyValue, now: anyValue }, { requiredKeys: [] })], (o) =>
    typedOrValue(() => new TokenLifecycle(o as never).client.close(), () => true, [ErrorCodes.INVALID_OPTION]),
  ),
  {
    name: 'TokenStore round trip: any error message and owner survive put/update/get unchanged',
    async run({ numRuns, seed }) {
      let n = 0;
      const store = new TokenStore();
      await fc.assert(
        fc.asyncProperty(fc.string(), fc.option(fc.string({ minLength: 1, maxLength: 256 }), { nil: null }), fc.string({ minLength: 1, maxLength: 60 }), async (message, owner, code) => {
          n++;
          const token = `eyJ0eXAi.${n}x${Math.random().toString(36).slice(2)}.sig`;
          const now = Date.now();
          const rec = await store.put({ appKeyId: 'prop', tokenType: 'Bearer', issuedAt: now, expiresAt: now + 60_000, revokeAt: now + 30_000, ownerId: owner }, token);
          const updated = await store.update(rec.id, { state: 'failed', lastError: { code: `:${code}`, message } });
          const read = await store.get(rec.id);
          const ok = read !== undefined && updated !== undefined && JSON.stringify(read) === JSON.stringify(updated) && read.lastError?.message === message.slice(0, 1000) && read.ownerId === owner && (await store.getToken(rec.id)) === token;
          await store.delete(rec.id);
          return ok;
        }),
        { numRuns, ...(seed === undefined ? {} : { seed }) },
      );
      return n;
    },
  },
];
