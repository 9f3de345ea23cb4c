/**
 * LS증권 (LS Securities) as a provider: `POST /oauth2/token` and `POST /oauth2/revoke`, form
 * bodies, `appsecretkey`, `scope=oob`, tokens that die at 07:00 KST, and one live token per app key
 * (a new one kills the previous one). The parsing is LS's own (`ls-response`), unchanged.
 */
import { readJwtClaims } from './jwt-claims.js';
import { checkLsAccessToken } from './access-token.js';
import { extractLsCode, lsCodeClass, parseRevokeResponse, parseTokenResponse } from './ls-response.js';
import { normalisedOrigin, type ProviderDefinition } from '../provider.js';
import { JWT_ONLY, codeFromBody } from '../response-parts.js';
import type { DailyCutoff } from '../types.js';

/** LS's cut-off: 07:00 KST (UTC+9, no daylight saving). */
export const LS_DAILY_CUTOFF: DailyCutoff = Object.freeze({ hour: 7, minute: 0, utcOffsetMinutes: 540 });

/** LS's longest token life: `expires_in` 86400 s. */
export const LS_MAX_LIFETIME_MS = 86_400_000;

const FORM = { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' } as const;

/** The LS provider (`provider: 'ls'`, the default). */
export const lsProvider: ProviderDefinition = Object.freeze<ProviderDefinition>({
  id: 'ls',
  name: 'LS',
  // No separate REST sandbox host: paper trading uses the same host with a paper app key.
  baseUrls: Object.freeze({ real: 'https://openapi.ls-sec.co.kr:8080', mock: undefined }),
  // LS's token page: appkey and appsecretkey are at most 36 characters.
  credentialLimits: Object.freeze({ appKey: 36, appSecretKey: 36 }),
  rules: Object.freeze({
    lifetimeMs: LS_MAX_LIFETIME_MS,
    dailyCutoff: LS_DAILY_CUTOFF,
    sameTokenWithinMs: 0,
    // LS publishes no issuance limit; the lifecycle's own budget (one a minute) applies.
    minIssueIntervalMs: 0,
    previousToken: 'killed',
  }),
  tokenFormat: 'jwt',
  minTokenLength: 40, // a JWT with LS's claims (its jti alone is the 36-character app key) is far longer
  issueRequest: (c) => ({ path: '/oauth2/token', headers: FORM, body: new URLSearchParams({ grant_type: 'client_credentials', appkey: c.appKey, appsecretkey: c.appSecretKey, scope: 'oob' }).toString() }),
  revokeRequest: (c, token, hint) => ({ path: '/oauth2/revoke', headers: FORM, body: new URLSearchParams({ appkey: c.appKey, appsecretkey: c.appSecretKey, token_type_hint: hint, token }).toString() }),
  parseIssue: parseTokenResponse,
  parseRevoke: parseRevokeResponse,
  codeOf: (body) => codeFromBody(body, (json) => extractLsCode(json, JWT_ONLY)),
  classifyCode: lsCodeClass,
  checkAccessToken: checkLsAccessToken,
  // LS tokens name their app key in `jti` (see src/ls/access-token.ts).
  appKeyOf: (token) => readJwtClaims(token)?.jti,
  keyScope: (baseUrl) => `ls:${normalisedOrigin(baseUrl)}`,
  legacyKeyScope: () => null,
});
