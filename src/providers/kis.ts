/**
 * 한국투자증권 (KIS, Korea Investment & Securities) as a provider.
 *
 * KIS facts (its portal pages 접근토큰발급(P) [인증-001] and 접근토큰폐기(P) [인증-002], its official
 * samples in `koreainvestment/open-trading-api`, and what clients report from the live service):
 * - `POST /oauth2/tokenP` with JSON `{ grant_type, appkey, appsecret }` (`appkey` up to 36
 *   characters, `appsecret` up to 180); the answer `{ access_token, access_token_token_expired:
 *   "YYYY-MM-DD HH:MM:SS", token_type, expires_in }`, the token a JWT (`iss` "unogw", the gateway
 *   LS also runs) living 24 h; `access_token_token_expired` carries no zone and is KST;
 * - within 6 h of an issuance, a token request answers the same token; one issuance a minute per
 *   app key, a faster one answered HTTP 403 `EGW00133` (since 2023-10-27);
 * - `POST /oauth2/revokeP` with JSON `{ appkey, appsecret, token }`, success `code` 200 (a number in
 *   the example and live, a String in the field table: both are accepted);
 * - errors as `{ error_code, error_description }` on the OAuth endpoints and `{ rt_cd, msg_cd, msg1 }`
 *   on TR calls, classified by the code whatever the HTTP status (EGW00123 is reported with 500,
 *   and with 200 in an official sample).
 */
import { readJwtClaims } from './ls/jwt-claims.js';
import { checkJwtShape, isSeconds } from './jwt-shape.js';
import { checkTokenAnswer } from './issued-token.js';
import { parseKstDateTime } from './kst.js';
import { environmentOf, normalisedOrigin, type ProviderDefinition } from './provider.js';
import { JWT_ONLY, badResponse, codeAndMessage, codeFromBody, errorFromBody, parseJsonObject, str, classOf, type CodeClass, type CodeReader, type Json } from './response-parts.js';

const JSON_HEADERS = { 'content-type': 'application/json; charset=UTF-8', accept: 'application/json' } as const;

/** KIS gateway codes by what they mean (KIS's FAQ error-code page, as transcribed by clients; EGW00133 added 2023-10). */
const KIS_CODE_CLASSES: Readonly<Record<string, CodeClass>> = {
  EGW00121: 'dead-token', // invalid token
  EGW00122: 'dead-token', // token not found
  EGW00123: 'dead-token', // expired token
  EGW00102: 'bad-credentials', // AppKey missing
  EGW00103: 'bad-credentials', // invalid AppKey
  EGW00104: 'bad-credentials', // AppSecret missing
  EGW00105: 'bad-credentials', // invalid AppSecret
  EGW00304: 'bad-credentials', // customer key (personal: appsecret) invalid
  EGW00133: 'rate-limit', // issuance once a minute
  EGW00201: 'rate-limit', // per-second TR limit
  EGW00206: 'fatal-config', // no API permission
  EGW00207: 'fatal-config', // IP not allowed
  EGW00115: 'rejected', // grant_type missing
  EGW00116: 'rejected', // grant_type unsupported
  EGW00117: 'rejected', // token_type unsupported
  EGW00132: 'rejected', // Content-Type invalid
  EGW00205: 'rejected', // credentials_type invalid (Bearer)
};

/** Longest lifetime believed: 92 days (affiliates' tokens live 3 months; personal ones 24 h). */
const KIS_MAX_LIFETIME_S = 92 * 86_400;

/**
 * KIS's codes: the gateway's `EGW` and five digits, a service's letters and digits (`OPSQ0002`,
 * `APBK0013`, `MCA00000`), or a number (`200`); anything else is server text.
 */
const KIS_CODE_PATTERN = /^(?:EGW\d{5}|[A-Z]{3,4}\d{4,5}|\d{1,8})$/;

function extractKisCode(body: Json, scrubber = JWT_ONLY): { code?: string; message: string } {
  return codeAndMessage(str(body.error_code) ?? str(body.msg_cd) ?? str(body.code), body.error_description ?? body.msg1 ?? body.message, KIS_CODE_PATTERN, scrubber);
}

const KIS_READER: CodeReader = {
  broker: 'KIS',
  extract: extractKisCode,
  classify: (code) => classOf(KIS_CODE_CLASSES, code),
  okCode: '200',
  // EGW00133: "1분당 1회" (once a minute); KIS sends no Retry-After.
  retryAfterMsOf: (code) => (code === 'EGW00133' ? 60_000 : undefined),
};

const KIS_BASE_URLS = Object.freeze({ real: 'https://openapi.koreainvestment.com:9443', mock: 'https://openapivts.koreainvestment.com:29443' });

/** The KIS provider (`provider: 'kis'`). */
export const kisProvider: ProviderDefinition = Object.freeze<ProviderDefinition>({
  id: 'kis',
  name: 'KIS',
  baseUrls: KIS_BASE_URLS,
  credentialLimits: Object.freeze({ appKey: 36, appSecretKey: 180 }),
  rules: Object.freeze({
    lifetimeMs: 86_400_000,
    dailyCutoff: null,
    sameTokenWithinMs: 6 * 3_600_000,
    minIssueIntervalMs: 60_000,
    // Stamped from the answer, a 60 s mark can still meet KIS a little inside its minute (EGW00133).
    issueIntervalMarginMs: 2_000,
    // After the 6 h window: not documented whether the previous token dies.
    previousToken: 'unknown',
  }),
  tokenFormat: 'jwt',
  minTokenLength: 40, // a JWT with KIS's claims is far longer
  issueRequest: (c) => ({ path: '/oauth2/tokenP', headers: JSON_HEADERS, body: JSON.stringify({ grant_type: 'client_credentials', appkey: c.appKey, appsecret: c.appSecretKey }) }),
  revokeRequest: (c, token) => ({ path: '/oauth2/revokeP', headers: JSON_HEADERS, body: JSON.stringify({ appkey: c.appKey, appsecret: c.appSecretKey, token }) }),
  parseIssue(res, issuedAt, scrubber) {
    const json = parseJsonObject(res.body);
    if (res.status !== 200 || json === undefined || typeof json.access_token !== 'string') {
      if (json !== undefined && res.status === 200 && extractKisCode(json, scrubber).code === undefined) throw badResponse('KIS', 'token', res.status, 'access_token', 'is missing or not a string');
      throw errorFromBody(KIS_READER, 'token', res, issuedAt, scrubber);
    }
    return checkTokenAnswer({
      broker: 'KIS',
      status: res.status,
      tokenField: 'access_token',
      token: json.access_token,
      tokenType: json.token_type,
      scope: '',
      issuedAt,
      ...(json.expires_in === undefined ? {} : { lifetime: { field: 'expires_in', value: json.expires_in } }),
      ...(json.access_token_token_expired === undefined ? {} : { statedExpiry: { field: 'access_token_token_expired', value: json.access_token_token_expired, parse: parseKstDateTime } }),
      maxLifetimeS: KIS_MAX_LIFETIME_S,
      jwt: true,
    });
  },
  parseRevoke(res, now, scrubber) {
    const json = parseJsonObject(res.body);
    if (json !== undefined) {
      const { code } = extractKisCode(json, scrubber);
      if (code === '200' && res.status >= 200 && res.status < 300) return { outcome: 'revoked' };
      if (code !== undefined && classOf(KIS_CODE_CLASSES, code) === 'dead-token') return { outcome: 'already-invalid' };
      if (code === undefined && res.status >= 200 && res.status < 300) throw badResponse('KIS', 'revoke', res.status, 'code', 'is missing');
    }
    throw errorFromBody(KIS_READER, 'revoke', res, now, scrubber);
  },
  codeOf: (body) => codeFromBody(body, (json) => extractKisCode(json)),
  classifyCode: (code) => classOf(KIS_CODE_CLASSES, code),
  checkAccessToken(token) {
    // KIS tokens are JWTs; their claims beyond `iss` are not documented, so only the shape and an
    // expiry are required.
    const shape = checkJwtShape(token);
    if (!shape.ok) return shape;
    if (!isSeconds(shape.claims['exp'])) return { ok: false, reason: 'it has no valid "exp" claim (not a KIS access token)' };
    return { ok: true };
  },
  // KIS runs LS's gateway product (`iss: "unogw"`), whose tokens name the app key in `jti`; a token
  // without that claim is not judged.
  appKeyOf: (token) => readJwtClaims(token)?.jti,
  keyScope: (baseUrl) => `kis:${normalisedOrigin(baseUrl)}`,
  legacyKeyScope: (baseUrl) => `kis:${environmentOf({ baseUrls: KIS_BASE_URLS }, baseUrl)}`,
});
