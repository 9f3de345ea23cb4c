/**
 * The KIS (한국투자증권) gateway as a pure, socket-free model: `POST /oauth2/tokenP`,
 * `POST /oauth2/revokeP` and TR calls under `/uapi/`, driven by an injected clock and random
 * source, with the same fault kinds, counters and controls as the LS model. How KIS words each
 * answer lives in `kis-dialect`.
 *
 * What it models (KIS's portal pages and official samples; the reference's tags in brackets):
 * - tokens live 24 h (`expires_in` 86400) [doc]; no daily cut-off;
 * - one issuance a minute per app key: a faster request answers HTTP 403 `EGW00133` [reported];
 * - within 6 h of a token's issuance, a token request answers that same token, with its own
 *   expiry [doc] (counted in `sameTokenAnswers`, not in `issued`);
 * - after 6 h a new token is issued; what happens to the previous one is not documented: the
 *   `afterWindow` option picks (open question);
 * - revoke of a live token: `code` 200; of a dead or unknown one: not documented, the
 *   `revokeDeadToken` option picks (open question);
 * - TR calls with a dead token answer `rt_cd` "1" with EGW00121 (unknown, revoked or superseded)
 *   or EGW00123 (expired); HTTP 500 as reported, or 200 with `trDeadTokenStatus` (open question).
 *
 * Tokens are HS512 JWTs with the claim set LS's gateway (the same product, `iss` "unogw") uses.
 *
 * @module
 */
import { createBrokerCore, createBrokerModel, type MockModel, type MockLiveTokenState, type MockStats } from './broker-model.js';
import { mockOptionError, type MockEndpoint, type MockFaultState } from './faults.js';
import {
  KIS_MAX_APPKEY_LENGTH,
  KIS_MAX_APPSECRET_LENGTH,
  kisEndpointOf,
  kisError,
  kisFaultResponse,
  kisOAuthError,
  kisTokenIssued,
  kisTokenRevoked,
  kisTrError,
  kisTrHeaders,
  kisTrOk,
  KIS_TR_OK,
} from './kis-dialect.js';
import { buildKisTrRouteTable, type KisTrCall, type KisTrRoute } from './kis-tr-routes.js';
import { createMockJwtSecret, mintMockJwt, mockAud } from './mock-jwt.js';
import { oneOf, optionalMs, optionalSecret, optionalSeconds, resolveCommon, resolveCredentials, type CommonModelOptions } from './model-options.js';
import type { MockCredential } from './ls-model-options.js';
import { bearerToken, isJsonRequest, jsonBody, jsonResponse, jsonValue, stringField, type MockRequest, type MockResponse } from './wire.js';

/** Options of {@link createKisModel} (and of `startMockKisServer`). Every field is optional. */
export interface KisModelOptions extends CommonModelOptions {
  /**
   * Accepted credentials (`paper` is ignored). Default `'any'`: any non-empty app key of at most 36 characters and
   * secret of at most 180 (a longer key answers `EGW00103`, a longer secret `EGW00105`). With a
   * list, an unknown app key answers `EGW00103` and a wrong secret `EGW00105` (both HTTP 403).
   */
  credentials?: MockCredential[] | 'any';
  /** Token lifetime in seconds. Default `86400` (KIS: 24 h for personal keys). */
  tokenLifetimeS?: number;
  /** Least time between two issuance answers for one app key, ms; a faster request answers HTTP 403 `EGW00133`. Default `60_000`; `0` turns it off. */
  minIssueIntervalMs?: number;
  /** Within this long after a token's issuance, a token request answers that same token, ms. Default `21_600_000` (6 h); `0` turns it off. */
  sameTokenWindowMs?: number;
  /**
   * What a new token (past the same-token window) does to the app key's previous one; not
   * documented by KIS. `'invalidate-previous'` (default, as LS's gateway does): it dies.
   * `'independent'`: it lives on until its own expiry.
   */
  afterWindow?: 'invalidate-previous' | 'independent';
  /** Revoke success `code` as the number `200` (default, `'number'`) or the string `"200"` (`'string'`). */
  revokeCode?: 'number' | 'string';
  /**
   * The answer to revoking a dead, unknown or foreign token; not documented by KIS.
   * `'error'` (default): HTTP 403 `EGW00121` (`EGW00123` for an expired one). `'success'`: `code` 200.
   */
  revokeDeadToken?: 'error' | 'success';
  /** HTTP status of a TR call's token error (EGW00121/EGW00123): `500` (default, as reported) or `200`. */
  trDeadTokenStatus?: 500 | 200;
  /** HMAC key the JWTs are signed with (at least 16 bytes). Default: 64 random bytes; fix it for replays. */
  jwtSecret?: string | Uint8Array;
  /** TRs with answers of their own, added to the built-in ones (`KIS_DEFAULT_TR_ROUTES`); see {@link KisTrRoute}. */
  trRoutes?: readonly KisTrRoute[];
}

/** Counters of a KIS or Kiwoom mock: the common ones, plus the same-token answers. */
export interface MockSameTokenStats extends MockStats {
  /** Token requests answered with the app key's live token (not counted in `issued`). */
  sameTokenAnswers: number;
}

/** A JSON-safe snapshot of a KIS model (no raw token, no secret). */
export interface MockKisState {
  /** The model's clock, ISO 8601. */
  readonly now: string;
  /** Offset added to the `now` option by the control endpoint, ms. */
  readonly clockOffsetMs: number;
  /** The broker modelled: `'kis'`. */
  readonly provider: 'kis';
  /** The counters. */
  readonly stats: MockSameTokenStats;
  /** The armed faults. */
  readonly faults: MockFaultState[];
  /** The live tokens, in no particular order. */
  readonly liveTokens: MockLiveTokenState[];
}

/** The KIS model; see the module description. */
export interface KisModel extends MockModel {
  /** A snapshot of the counters. */
  stats(): MockSameTokenStats;
  /** A JSON-safe snapshot; see {@link MockKisState}. */
  state(): MockKisState;
}

/**
 * Creates a KIS model.
 *
 * @throws LsTokenError `ERR_INVALID_OPTION` for an invalid option.
 */
export function createKisModel(options: KisModelOptions = {}): KisModel {
  if (typeof options !== 'object' || options === null) throw mockOptionError('options', 'options must be an object');
  const common = resolveCommon(options);
  const accounts = resolveCredentials(options.credentials);
  const lifetimeS = optionalSeconds('tokenLifetimeS', options.tokenLifetimeS, 86_400);
  const minIssueIntervalMs = optionalMs('minIssueIntervalMs', options.minIssueIntervalMs, 60_000);
  const sameTokenWindowMs = optionalMs('sameTokenWindowMs', options.sameTokenWindowMs, 21_600_000);
  const afterWindow = oneOf('afterWindow', options.afterWindow, ['invalidate-previous', 'independent'], 'invalidate-previous');
  const revokeCode = oneOf('revokeCode', options.revokeCode, ['number', 'string'], 'number');
  const revokeDeadToken = oneOf('revokeDeadToken', options.revokeDeadToken, ['error', 'success'], 'error');
  const trDeadTokenStatus = oneOf('trDeadTokenStatus', options.trDeadTokenStatus, [500, 200], 500);
  const secret = optionalSecret('jwtSecret', options.jwtSecret) ?? createMockJwtSecret();
  const core = createBrokerCore({ now: common.now });
  const { book, counters, now } = core;
  const lastAnswerByKey = new Map<string, number>();
  const routes = buildKisTrRouteTable(options.trRoutes);
  let minted = 0;
  let trCalls = 0;

  function credentialsError(appKey: string, secretKey: string): MockResponse | undefined {
    if (accounts === undefined) {
      if (appKey.length > KIS_MAX_APPKEY_LENGTH) return kisOAuthError(403, 'EGW00103');
      if (secretKey.length > KIS_MAX_APPSECRET_LENGTH) return kisOAuthError(403, 'EGW00105');
      return undefined;
    }
    const account = accounts.get(appKey);
    if (account === undefined) return kisOAuthError(403, 'EGW00103');
    return account.secret === secretKey ? undefined : kisOAuthError(403, 'EGW00105');
  }

  function handleToken(req: MockRequest): MockResponse {
    if (!isJsonRequest(req.headers)) return kisOAuthError(403, 'EGW00132');
    const body = jsonBody(req.body);
    const grantType = stringField(body, 'grant_type');
    if (grantType === undefined) return kisOAuthError(403, 'EGW00115');
    if (grantType !== 'client_credentials') return kisOAuthError(403, 'EGW00116');
    const appKey = stringField(body, 'appkey');
    if (appKey === undefined) return kisOAuthError(403, 'EGW00102');
    const secretKey = stringField(body, 'appsecret');
    if (secretKey === undefined) return kisOAuthError(403, 'EGW00104');
    const bad = credentialsError(appKey, secretKey);
    if (bad !== undefined) return bad;

    const nowMs = now();
    const last = lastAnswerByKey.get(appKey);
    if (minIssueIntervalMs > 0 && last !== undefined && nowMs - last < minIssueIntervalMs) return kisOAuthError(403, 'EGW00133');
    lastAnswerByKey.set(appKey, nowMs);
    const current = book.newestAlive(appKey, nowMs);
    if (current !== undefined && nowMs - current.iatMs < sameTokenWindowMs) {
      counters.sameTokenAnswers += 1;
      return kisTokenIssued(current.token, current.expMs, lifetimeS);
    }
    const iatS = Math.floor(nowMs / 1000);
    const expS = iatS + lifetimeS;
    minted += 1;
    const token = mintMockJwt({ appKey, iatS, expS, secret, aud: mockAud(secret, minted) });
    if (afterWindow === 'invalidate-previous') for (const prev of book.unended(appKey)) book.kill(prev, 'superseded');
    book.add(token, appKey, iatS * 1000, expS * 1000);
    counters.issued += 1;
    return kisTokenIssued(token, expS * 1000, lifetimeS);
  }

  function handleRevoke(req: MockRequest): MockResponse {
    if (!isJsonRequest(req.headers)) return kisOAuthError(403, 'EGW00132');
    const body = jsonBody(req.body);
    const appKey = stringField(body, 'appkey');
    if (appKey === undefined) return kisOAuthError(403, 'EGW00102');
    const secretKey = stringField(body, 'appsecret');
    if (secretKey === undefined) return kisOAuthError(403, 'EGW00104');
    const bad = credentialsError(appKey, secretKey);
    if (bad !== undefined) return bad;
    const token = stringField(body, 'token');
    const record = token === undefined ? undefined : book.get(token);
    if (record === undefined || record.appKey !== appKey || !book.alive(record)) {
      if (revokeDeadToken === 'success') return kisTokenRevoked(revokeCode);
      return kisOAuthError(403, record !== undefined && record.state === 'active' && record.appKey === appKey ? 'EGW00123' : 'EGW00121');
    }
    book.kill(record, 'revoked');
    counters.revoked += 1;
    return kisTokenRevoked(revokeCode);
  }

  /** The headers of a TR answer that ends the conversation (errors, faults, stand-ins): the last page. */
  function lastPage(req: MockRequest): Record<string, string> {
    return kisTrHeaders(req.headers['tr_id'], 'D', gtUid());
  }

  /** A global transaction id: 32 hex digits from the clock and a counter, unique per answer. */
  function gtUid(): string {
    trCalls += 1;
    return (Math.floor(now()).toString(16).padStart(16, '0') + trCalls.toString(16).padStart(16, '0')).toUpperCase();
  }

  function handleTr(req: MockRequest): MockResponse {
    const route = routes.get(req.path);
    let appKey = req.headers['appkey'] ?? '';
    if (route?.needsToken !== false) {
      const token = bearerToken(req.headers);
      const record = token === undefined ? undefined : book.get(token);
      if (record === undefined || record.state !== 'active') return kisTrError(trDeadTokenStatus, 'EGW00121', lastPage(req));
      if (!book.alive(record)) return kisTrError(trDeadTokenStatus, 'EGW00123', lastPage(req));
      appKey = record.appKey;
    }
    if (route === undefined) return kisTrOk(jsonBody(req.body) ?? null, lastPage(req));
    const gt = gtUid();
    const call: KisTrCall = {
      method: req.method,
      path: req.path,
      trId: req.headers['tr_id'],
      trCont: req.headers['tr_cont'] ?? '',
      query: Object.fromEntries(new URLSearchParams(req.query ?? '')),
      body: jsonValue(req.body),
      appKey,
      nowMs: now(),
      seq: trCalls,
    };
    try {
      const a = route.answer(call);
      const body = { rt_cd: a.rtCd ?? '0', msg_cd: a.msgCd ?? KIS_TR_OK.msg_cd, msg1: a.msg1 ?? KIS_TR_OK.msg1, ...a.fields };
      return jsonResponse(a.status ?? 200, body, kisTrHeaders(call.trId, a.trCont ?? 'D', gt));
    } catch {
      return kisTrError(500, 'EGW00002', lastPage(req));
    }
  }

  const parts = createBrokerModel(
    core,
    {
      endpointOf: kisEndpointOf,
      handle: (endpoint: MockEndpoint, req: MockRequest) => (endpoint === 'token' ? handleToken(req) : endpoint === 'revoke' ? handleRevoke(req) : handleTr(req)),
      faultResponse: (fault, endpoint, req) => kisFaultResponse(fault, endpoint, endpoint === 'tr' ? lastPage(req) : {}),
      resetResponse: (endpoint, req) => kisError(endpoint, 500, 'EGW00002', endpoint === 'tr' ? lastPage(req) : {}),
      stateExtras: () => ({ provider: 'kis' }),
    },
    common.random,
  );
  const stats = (): MockSameTokenStats => ({ ...parts.model.stats(), sameTokenAnswers: counters.sameTokenAnswers });
  return {
    ...parts.model,
    stats,
    state: () => ({ ...(parts.state() as unknown as MockKisState), stats: stats() }),
  };
}
