/**
 * 키움증권 (Kiwoom Securities) REST API as a provider.
 *
 * Kiwoom facts (its API guide and the spec file of au10001/au10002 in
 * `Kiwoom-Securities/Kiwoom-REST-API`, its official client, and what users report live):
 * - `POST /oauth2/token` (api-id `au10001`) with JSON `{ grant_type, appkey, secretkey }` (the
 *   secret field is `secretkey`, not `appsecret`); the answer `{ expires_dt: "YYYYMMDDHHMMSS",
 *   token_type, token, return_code: 0, return_msg }`: an opaque token, its expiry a KST wall-clock
 *   time and nothing else (no lifetime field);
 * - a token request while the app key's token lives answers that same token with its original
 *   `expires_dt` (measured live), so the expiry is never counted from our request;
 * - `POST /oauth2/revoke` (api-id `au10002`) with `{ appkey, secretkey, token }`, success
 *   `return_code` 0; a missing `return_code` is a failure (as Kiwoom's own client treats it);
 * - errors usually at HTTP 200: `return_code` is a small category (3 authentication, 5 rate
 *   limit, 7 service), the documented 4-digit code in brackets inside `return_msg`
 *   (`...[8005:Token이 유효하지 않습니다]`); Kiwoom's own client reads a 4-digit `return_code`, so
 *   both places are read: a top-level `return_code` >= 1000, else the first `[NNNN` of `return_msg`.
 */
import { checkTokenAnswer } from './issued-token.js';
import { parseKstCompact } from './kst.js';
import { environmentOf, normalisedOrigin, type ProviderDefinition } from './provider.js';
import { B64TOKEN, JWT_ONLY, MAX_ISSUED_TOKEN_LENGTH, badResponse, codeFromBody, errorFromBody, parseJsonObject, safeServerText, withRejectedToken, classOf, type CodeClass, type CodeReader, type Json } from './response-parts.js';

/** Kiwoom's documented codes by what they mean (its spec's error table; the official client's groups). */
const KIWOOM_CODE_CLASSES: Readonly<Record<string, CodeClass>> = {
  '8003': 'dead-token', // access-token lookup failed
  '8005': 'dead-token', // token invalid (expired or revoked)
  '8001': 'bad-credentials', // App Key + Secret Key verification failed (also reported for an unregistered IP)
  '8002': 'bad-credentials',
  '8020': 'bad-credentials', // appkey or secretkey missing
  '1700': 'rate-limit', // per-API request limit ("유량=au10001" seen on issuance)
  '1701': 'rate-limit', // total request limit
  '1702': 'rate-limit', // group request limit
  '8010': 'fatal-config', // token issued to another IP
  '8030': 'fatal-config', // real/mock mismatch (appkey)
  '8031': 'fatal-config', // real/mock mismatch (token)
  '8040': 'fatal-config', // device authentication
  '8050': 'fatal-config', // designated-device authentication
  '8103': 'fatal-config', // token or device authentication
  '8006': 'retry-later', // token creation failed
  '8009': 'retry-later', // token issuance failed
  '8011': 'rejected', // grant_type missing
  '8012': 'rejected', // grant_type wrong
  '8015': 'rejected', // revoke failed (with a reason)
  '8016': 'rejected', // no token in the revoke request
};

/** The `return_code` categories, for an error whose message holds no documented code. */
const CATEGORY_CLASSES: Readonly<Record<string, CodeClass>> = { 2: 'rejected', 3: 'rejected', 5: 'rate-limit', 7: 'retry-later' };

/** Longest lifetime believed: 31 days (reported lifetimes are about a day). */
const KIWOOM_MAX_LIFETIME_S = 31 * 86_400;

/** `return_code` as a number (it is a number; a numeric string is accepted), else `undefined`. */
function returnCode(body: Json): number | undefined {
  const v = body.return_code;
  if (typeof v === 'number' && Number.isInteger(v)) return v;
  return typeof v === 'string' && /^\d{1,6}$/.test(v) ? Number(v) : undefined;
}

/**
 * The error code of a Kiwoom body: the documented 4-digit code (top-level `return_code` >= 1000, or
 * the first `[NNNN` of `return_msg`), else `return_code` itself as the category.
 */
function extractKiwoomCode(body: Json, scrubber = JWT_ONLY): { code?: string; message: string } {
  const rc = returnCode(body);
  const msg = typeof body.return_msg === 'string' ? body.return_msg : '';
  const doc = rc !== undefined && rc >= 1000 ? String(rc) : /\[(\d{4})/.exec(msg)?.[1];
  const code = doc ?? (rc === undefined || rc === 0 ? undefined : String(rc));
  return { ...(code === undefined ? {} : { code }), message: safeServerText(msg, scrubber) };
}

function classify(code: string): CodeClass | undefined {
  return classOf(KIWOOM_CODE_CLASSES, code) ?? (code.length < 4 ? classOf(CATEGORY_CLASSES, code) : undefined);
}

const KIWOOM_READER: CodeReader = { broker: 'Kiwoom', extract: extractKiwoomCode, classify };

const KIWOOM_BASE_URLS = Object.freeze({ real: 'https://api.kiwoom.com', mock: 'https://mockapi.kiwoom.com' });
const headers = (apiId: string): Record<string, string> => ({ 'content-type': 'application/json;charset=UTF-8', accept: 'application/json', 'api-id': apiId });

/** The Kiwoom provider (`provider: 'kiwoom'`). */
export const kiwoomProvider: ProviderDefinition = Object.freeze<ProviderDefinition>({
  id: 'kiwoom',
  name: 'Kiwoom',
  baseUrls: KIWOOM_BASE_URLS,
  // Kiwoom publishes no field lengths; these are generous bounds, not Kiwoom's.
  credentialLimits: Object.freeze({ appKey: 256, appSecretKey: 256 }),
  rules: Object.freeze({
    // Not published; reports say about a day. The expiry always comes from expires_dt.
    lifetimeMs: 86_400_000,
    dailyCutoff: null,
    // A re-issue answers the live token with its original expiry, for as long as it lives.
    sameTokenWithinMs: Infinity,
    minIssueIntervalMs: 0,
    previousToken: 'kept',
  }),
  tokenFormat: 'opaque',
  minTokenLength: 20, // as its local check before a revoke
  // api-id is listed in Kiwoom's spec table; the portal sample omits it, and both work.
  issueRequest: (c) => ({ path: '/oauth2/token', headers: headers('au10001'), body: JSON.stringify({ grant_type: 'client_credentials', appkey: c.appKey, secretkey: c.appSecretKey }) }),
  revokeRequest: (c, token) => ({ path: '/oauth2/revoke', headers: headers('au10002'), body: JSON.stringify({ appkey: c.appKey, secretkey: c.appSecretKey, token }) }),
  parseIssue(res, issuedAt, scrubber) {
    const json = parseJsonObject(res.body);
    // HTTP 200 alone means nothing: success is return_code 0 with a token.
    if (res.status !== 200 || json === undefined || returnCode(json) !== 0) {
      if (res.status === 200 && json !== undefined && json.return_code === undefined) {
        const handedOut = json.token;
        const err = badResponse('Kiwoom', 'token', res.status, 'return_code', 'is missing (success is return_code 0)');
        throw typeof handedOut === 'string' && handedOut !== '' && handedOut.length <= MAX_ISSUED_TOKEN_LENGTH && B64TOKEN.test(handedOut) ? withRejectedToken(err, handedOut) : err;
      }
      throw errorFromBody(KIWOOM_READER, 'token', res, issuedAt, scrubber);
    }
    if (typeof json.token !== 'string') throw badResponse('Kiwoom', 'token', res.status, 'token', 'is missing or not a string');
    return checkTokenAnswer({
      broker: 'Kiwoom',
      status: res.status,
      tokenField: 'token',
      token: json.token,
      tokenType: json.token_type,
      scope: '',
      issuedAt,
      statedExpiry: { field: 'expires_dt', value: json.expires_dt, parse: parseKstCompact },
      maxLifetimeS: KIWOOM_MAX_LIFETIME_S,
      jwt: false,
    });
  },
  parseRevoke(res, now, scrubber) {
    const json = parseJsonObject(res.body);
    if (json !== undefined) {
      if (returnCode(json) === 0 && res.status >= 200 && res.status < 300) return { outcome: 'revoked' };
      const { code } = extractKiwoomCode(json, scrubber);
      if (code !== undefined && classOf(KIWOOM_CODE_CLASSES, code) === 'dead-token') return { outcome: 'already-invalid' };
      if (json.return_code === undefined && res.status >= 200 && res.status < 300) throw badResponse('Kiwoom', 'revoke', res.status, 'return_code', 'is missing');
    }
    throw errorFromBody(KIWOOM_READER, 'revoke', res, now, scrubber);
  },
  codeOf: (body) => codeFromBody(body, (json) => extractKiwoomCode(json)),
  classifyCode: classify,
  checkAccessToken(token) {
    // Kiwoom tokens are opaque: only their shape can be checked, and a JWT is another broker's.
    if (typeof token !== 'string' || token === '') return { ok: false, reason: 'it is empty' };
    if (token.length > MAX_ISSUED_TOKEN_LENGTH) return { ok: false, reason: `it is longer than ${MAX_ISSUED_TOKEN_LENGTH} characters` };
    if (!B64TOKEN.test(token)) return { ok: false, reason: 'it holds characters a bearer token cannot hold' };
    if (token.split('.').length === 3) return { ok: false, reason: 'it is a JWT (Kiwoom tokens are opaque: another broker\'s token?)' };
    if (token.length < 20) return { ok: false, reason: 'it is too short to be a Kiwoom token (truncated?)' };
    return { ok: true };
  },
  keyScope: (baseUrl) => `kiwoom:${normalisedOrigin(baseUrl)}`,
  legacyKeyScope: (baseUrl) => `kiwoom:${environmentOf({ baseUrls: KIWOOM_BASE_URLS }, baseUrl)}`,
});
