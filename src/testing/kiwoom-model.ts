/**
 * The Kiwoom (키움증권) REST gateway as a pure, socket-free model: `POST /oauth2/token` (au10001),
 * `POST /oauth2/revoke` (au10002) and TR calls (any other `POST` path), driven by an injected clock
 * and random source, with the same fault kinds, counters and controls as the LS model. How Kiwoom
 * words each answer lives in `kiwoom-dialect`.
 *
 * What it models (the reference's tags in brackets):
 * - opaque tokens (86 characters) whose expiry is `expires_dt`, a KST wall-clock time [doc];
 * - a token request while the app key's token lives answers that same token with its original
 *   `expires_dt` [reported, measured live] (counted in `sameTokenAnswers`, not in `issued`);
 *   the `reissue` option can turn that off;
 * - errors at HTTP 200 with the documented code inside `return_msg` [reported]; `codePlacement`
 *   moves it to `return_code` as Kiwoom's official client expects;
 * - the token lifetime (`tokenLifetimeS`, default 24 h) and the issuance rate limit
 *   (`minIssueIntervalMs`, default off; `1700` "유량=au10001" when hit) are not published;
 * - open questions as options: revoke of a dead token (`revokeDeadToken`), whether
 *   revoke-then-issue gives a full lifetime (`afterRevoke`), whether a dead token ever answers
 *   HTTP 401 (`deadTokenStatus`), and the status of a rate-limited answer (`rateLimitStatus`).
 *
 * @module
 */
import { createHmac } from 'node:crypto';
import { createBrokerCore, createBrokerModel, type MockLiveTokenState, type MockModel } from './broker-model.js';
import { mockOptionError, type MockEndpoint, type MockFaultState } from './faults.js';
import type { MockSameTokenStats } from './kis-model.js';
import {
  KIWOOM_OK_MESSAGE,
  kiwoomEndpointOf,
  kiwoomError,
  kiwoomFaultResponse,
  kiwoomOk,
  kiwoomServiceError,
  kiwoomTokenIssued,
  kiwoomTrHeaders,
  type KiwoomCodePlacement,
} from './kiwoom-dialect.js';
import { buildKiwoomTrRouteTable, findKiwoomTrRoute, type KiwoomTrCall, type KiwoomTrRoute } from './kiwoom-tr-routes.js';
import { createMockJwtSecret } from './mock-jwt.js';
import { oneOf, optionalMs, optionalSecret, optionalSeconds, resolveCommon, resolveCredentials, type CommonModelOptions } from './model-options.js';
import type { MockCredential } from './ls-model-options.js';
import { bearerToken, jsonBody, jsonResponse, jsonValue, stringField, type MockRequest, type MockResponse } from './wire.js';

/** Options of {@link createKiwoomModel} (and of `startMockKiwoomServer`). Every field is optional. */
export interface KiwoomModelOptions extends CommonModelOptions {
  /**
   * Accepted credentials (`paper` is ignored). Default `'any'`: any non-empty app key and secret key. With a list, an
   * unknown app key or a wrong secret answers `8001` (HTTP 200, `return_code` 3).
   */
  credentials?: MockCredential[] | 'any';
  /** Token lifetime in seconds (not published by Kiwoom; reports suggest about a day). Default `86400`. */
  tokenLifetimeS?: number;
  /**
   * A token request while the app key's token lives: `'same-token'` (default, as measured live)
   * answers that token with its original `expires_dt`; `'invalidate-previous'` issues a new one and
   * kills the old; `'independent'` issues a new one and keeps the old.
   */
  reissue?: 'same-token' | 'invalidate-previous' | 'independent';
  /**
   * The lifetime of a token issued after the app key's token was revoked (not known):
   * `'fresh'` (default) a full `tokenLifetimeS`; `'keep-expiry'` the revoked token's `expires_dt`.
   */
  afterRevoke?: 'fresh' | 'keep-expiry';
  /** Least time between two token answers per app key, ms; a faster request answers `1700`. Default `0` (off: Kiwoom publishes no value). */
  minIssueIntervalMs?: number;
  /** HTTP status of a rate-limited answer: `200` (default) or `429` (seen after repeated failures). */
  rateLimitStatus?: 200 | 429;
  /** Where the 4-digit code of an error goes: `'message'` (default, `[8005:...]` in `return_msg`) or `'top-level'` (`return_code` 8005). */
  codePlacement?: KiwoomCodePlacement;
  /** The answer to revoking a dead, unknown or foreign token (not documented): `'error'` (default, `8005`) or `'success'`. */
  revokeDeadToken?: 'error' | 'success';
  /** HTTP status of a dead-token answer on revoke and TR calls: `200` (default, as reported) or `401`. */
  deadTokenStatus?: 200 | 401;
  /** HMAC key tokens are derived from (at least 16 bytes). Default: 64 random bytes; fix it for replays. */
  tokenSecret?: string | Uint8Array;
  /** TRs with answers of their own, added to the built-in ones (`KIWOOM_DEFAULT_TR_ROUTES`); see {@link KiwoomTrRoute}. */
  trRoutes?: readonly KiwoomTrRoute[];
}

/** A JSON-safe snapshot of a Kiwoom model (no raw token, no secret). */
export interface MockKiwoomState {
  /** The model's clock, ISO 8601. */
  readonly now: string;
  /** Offset added to the `now` option by the control endpoint, ms. */
  readonly clockOffsetMs: number;
  /** The broker modelled: `'kiwoom'`. */
  readonly provider: 'kiwoom';
  /** The counters. */
  readonly stats: MockSameTokenStats;
  /** The armed faults. */
  readonly faults: MockFaultState[];
  /** The live tokens, in no particular order. */
  readonly liveTokens: MockLiveTokenState[];
}

/** The Kiwoom model; see the module description. */
export interface KiwoomModel extends MockModel {
  /** A snapshot of the counters. */
  stats(): MockSameTokenStats;
  /** A JSON-safe snapshot; see {@link MockKiwoomState}. */
  state(): MockKiwoomState;
}

/**
 * Creates a Kiwoom model.
 *
 * @throws LsTokenError `ERR_INVALID_OPTION` for an invalid option.
 */
export function createKiwoomModel(options: KiwoomModelOptions = {}): KiwoomModel {
  if (typeof options !== 'object' || options === null) throw mockOptionError('options', 'options must be an object');
  const common = resolveCommon(options);
  const accounts = resolveCredentials(options.credentials);
  const lifetimeS = optionalSeconds('tokenLifetimeS', options.tokenLifetimeS, 86_400);
  const reissue = oneOf('reissue', options.reissue, ['same-token', 'invalidate-previous', 'independent'], 'same-token');
  const afterRevoke = oneOf('afterRevoke', options.afterRevoke, ['fresh', 'keep-expiry'], 'fresh');
  const minIssueIntervalMs = optionalMs('minIssueIntervalMs', options.minIssueIntervalMs, 0);
  const rateLimitStatus = oneOf('rateLimitStatus', options.rateLimitStatus, [200, 429], 200);
  const placement = oneOf('codePlacement', options.codePlacement, ['message', 'top-level'], 'message');
  const revokeDeadToken = oneOf('revokeDeadToken', options.revokeDeadToken, ['error', 'success'], 'error');
  const deadTokenStatus = oneOf('deadTokenStatus', options.deadTokenStatus, [200, 401], 200);
  const secret = optionalSecret('tokenSecret', options.tokenSecret) ?? createMockJwtSecret();
  const core = createBrokerCore({ now: common.now });
  const { book, counters, now } = core;
  const lastAnswerByKey = new Map<string, number>();
  const revokedExpiryByKey = new Map<string, number>();
  const routes = buildKiwoomTrRouteTable(options.trRoutes);
  let minted = 0;

  const credentialsOk = (appKey: string, secretKey: string): boolean => accounts === undefined || accounts.get(appKey)?.secret === secretKey;

  function handleToken(req: MockRequest): MockResponse {
    const body = jsonBody(req.body);
    const grantType = stringField(body, 'grant_type');
    if (grantType === undefined) return kiwoomError(8011, placement);
    if (grantType !== 'client_credentials') return kiwoomError(8012, placement);
    const appKey = stringField(body, 'appkey');
    const secretKey = stringField(body, 'secretkey');
    if (appKey === undefined || secretKey === undefined) return kiwoomError(8020, placement);
    if (!credentialsOk(appKey, secretKey)) return kiwoomError(8001, placement);
    const nowMs = now();
    const last = lastAnswerByKey.get(appKey);
    if (minIssueIntervalMs > 0 && last !== undefined && nowMs - last < minIssueIntervalMs) return kiwoomError(1700, placement, rateLimitStatus);
    lastAnswerByKey.set(appKey, nowMs);
    const current = book.newestAlive(appKey, nowMs);
    if (current !== undefined && reissue === 'same-token') {
      counters.sameTokenAnswers += 1;
      return kiwoomTokenIssued(current.token, current.expMs);
    }
    const iatS = Math.floor(nowMs / 1000);
    const inherited = afterRevoke === 'keep-expiry' ? revokedExpiryByKey.get(appKey) : undefined;
    const expMs = inherited !== undefined && inherited > nowMs ? inherited : (iatS + lifetimeS) * 1000;
    minted += 1;
    const token = createHmac('sha512', secret).update(`kiwoom-token:${minted}`).digest('base64url');
    if (reissue === 'invalidate-previous') for (const prev of book.unended(appKey)) book.kill(prev, 'superseded');
    book.add(token, appKey, iatS * 1000, expMs);
    counters.issued += 1;
    return kiwoomTokenIssued(token, expMs);
  }

  function handleRevoke(req: MockRequest): MockResponse {
    const body = jsonBody(req.body);
    const appKey = stringField(body, 'appkey');
    const secretKey = stringField(body, 'secretkey');
    if (appKey === undefined || secretKey === undefined) return kiwoomError(8020, placement);
    if (!credentialsOk(appKey, secretKey)) return kiwoomError(8001, placement);
    const token = stringField(body, 'token');
    if (token === undefined) return kiwoomError(8016, placement);
    const record = book.get(token);
    if (record === undefined || record.appKey !== appKey || !book.alive(record)) {
      return revokeDeadToken === 'success' ? kiwoomOk() : kiwoomError(8005, placement, deadTokenStatus);
    }
    book.kill(record, 'revoked');
    revokedExpiryByKey.set(appKey, record.expMs);
    counters.revoked += 1;
    return kiwoomOk();
  }

  /** The headers of a TR answer that ends the conversation (errors, faults, stand-ins): no further page. */
  const lastPage = (req: MockRequest): Record<string, string> => kiwoomTrHeaders(req.headers['api-id'], 'N', '');

  function handleTr(req: MockRequest): MockResponse {
    const token = bearerToken(req.headers);
    const record = token === undefined ? undefined : book.get(token);
    if (record === undefined || !book.alive(record)) return kiwoomError(8005, placement, deadTokenStatus, lastPage(req));
    const apiId = req.headers['api-id'];
    const route = findKiwoomTrRoute(routes, req.path, apiId);
    if (route === undefined) return kiwoomOk({ echo: jsonBody(req.body) ?? null }, lastPage(req));
    const call: KiwoomTrCall = {
      path: req.path,
      apiId,
      contYn: req.headers['cont-yn'] ?? 'N',
      nextKey: req.headers['next-key'] ?? '',
      body: jsonValue(req.body),
      appKey: record.appKey,
      nowMs: now(),
    };
    try {
      const a = route.answer(call);
      // Kiwoom writes the TR's fields first and its envelope last.
      const body = { ...a.fields, return_code: a.returnCode ?? 0, return_msg: a.returnMsg ?? KIWOOM_OK_MESSAGE };
      return jsonResponse(a.status ?? 200, body, kiwoomTrHeaders(apiId, a.contYn ?? 'N', a.nextKey ?? ''));
    } catch {
      return kiwoomServiceError(500, lastPage(req));
    }
  }

  const parts = createBrokerModel(
    core,
    {
      endpointOf: kiwoomEndpointOf,
      handle: (endpoint: MockEndpoint, req: MockRequest) => (endpoint === 'token' ? handleToken(req) : endpoint === 'revoke' ? handleRevoke(req) : handleTr(req)),
      faultResponse: (fault, endpoint, req) => kiwoomFaultResponse(fault, endpoint, placement, rateLimitStatus, lastPage(req)),
      resetResponse: (endpoint, req) => kiwoomServiceError(500, endpoint === 'tr' ? lastPage(req) : {}),
      stateExtras: () => ({ provider: 'kiwoom' }),
    },
    common.random,
  );
  const stats = (): MockSameTokenStats => ({ ...parts.model.stats(), sameTokenAnswers: counters.sameTokenAnswers });
  return {
    ...parts.model,
    stats,
    state: () => ({ ...(parts.state() as unknown as MockKiwoomState), stats: stats() }),
  };
}
