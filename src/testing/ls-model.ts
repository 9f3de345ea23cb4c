/**
 * The LS gateway as a pure, socket-free model: token issuance, revocation and TR calls, the
 * credentials, the issue interval, the 07:00 KST cut-off, re-issue behaviour, injected faults and
 * the counters, all driven by an injected clock (`now`) and random source (`random`). It owns no
 * timer and no socket, so it runs the same under jest's fake timers as over HTTP.
 *
 * Transports carry it: `startMockLsServer` serves it over `node:http`, and
 * {@link mockLsAxiosAdapter} hands it axios requests directly. How LS words each answer lives in
 * `ls-dialect` (OAuth) and `ls-tr-routes` (TRs).
 *
 * @example A simulated LS day under fake timers
 * ```ts
 * const model = createLsModel({ jwtSecret: 'a fixed secret for replays', random: seeded });
 * const client = new LsOAuthClient({ appKey, appSecretKey, baseUrl: 'http://127.0.0.1:9',
 *   axios: axios.create({ adapter: mockLsAxiosAdapter(model, { latencyMs: 20 }) }) });
 * ```
 *
 * @module
 */
import { createBrokerCore, createBrokerModel, type MockControls, type MockModel, type MockStats, type MockLiveTokenState } from './broker-model.js';
import type { MockEndpoint, MockFaultState } from './faults.js';
import { bearerToken, formField, isFormRequest, LS_REVOKE_FIELDS, LS_TOKEN_FIELDS, lsEndpointOf, lsError, lsFaultResponse, lsForm, tokenIssued, tokenRevoked } from './ls-dialect.js';
import { checkCredentials, resolveLsModelOptions, type LsModelOptions } from './ls-model-options.js';
import { buildTrRouteTable, findTrRoute, trAnswerResponse, trStandInResponse, type MockTrCall } from './ls-tr-routes.js';
import { LS_DEFAULT_TR_ROUTES } from './ls-tr-table.js';
import { createMockJwtSecret, mintMockJwt, mockAud, nextKstMinuteAfter } from './mock-jwt.js';
import { jsonValue, type MockRequest, type MockResponse } from './wire.js';

export type { MockLiveTokenState, MockTokenInfo, MockTokenState } from './broker-model.js';

/** Counters of an LS mock; a snapshot taken by {@link MockLsControls.stats}. */
export type MockLsStats = MockStats;

/** The inspection and fault controls every LS mock offers (model and HTTP server alike). */
export type MockLsControls = MockControls;

/** A JSON-safe snapshot of a model, as `GET /__mock/state` answers it (no raw token, no secret). */
export interface MockLsState {
  /** The model's clock, ISO 8601. */
  readonly now: string;
  /** Offset added to the `now` option by the control endpoint, ms. */
  readonly clockOffsetMs: number;
  /** The daily cut-off (`'HH:MM'` KST) or `null`. */
  readonly cutoffKst: string | null;
  /** The counters. */
  readonly stats: MockLsStats;
  /** The armed faults. */
  readonly faults: MockFaultState[];
  /** The live tokens, in no particular order. */
  readonly liveTokens: MockLiveTokenState[];
}

/** The LS model; see the module description. */
export interface LsModel extends MockModel {
  /** A JSON-safe snapshot; see {@link MockLsState}. */
  state(): MockLsState;
}

/**
 * Creates an LS model.
 *
 * @throws LsTokenError `ERR_INVALID_OPTION` for an invalid option.
 */
export function createLsModel(options: LsModelOptions = {}): LsModel {
  const o = resolveLsModelOptions(options);
  const secret = o.jwtSecret ?? createMockJwtSecret();
  const routes = buildTrRouteTable(LS_DEFAULT_TR_ROUTES, o.trRoutes);
  const core = createBrokerCore({ now: o.now });
  const { book, counters, now } = core;
  const lastIssueByKey = new Map<string, number>();
  let minted = 0;

  function handleToken(req: MockRequest): MockResponse {
    if (!isFormRequest(req.headers)) return lsError('token', 400, 'IGW00132');
    const form = lsForm(req.body, req.query, LS_TOKEN_FIELDS);
    const grantType = formField(form, 'grant_type');
    if (grantType === undefined) return lsError('token', 400, 'IGW00115');
    if (grantType !== 'client_credentials') return lsError('token', 400, 'IGW00116');
    const appKey = formField(form, 'appkey');
    if (appKey === undefined) return lsError('token', 400, 'IGW00102');
    const secretKey = formField(form, 'appsecretkey');
    if (secretKey === undefined) return lsError('token', 400, 'IGW00104');
    const scope = formField(form, 'scope');
    if (scope === undefined) return lsError('token', 400, 'IGW00109');
    if (scope !== 'oob') return lsError('token', 400, 'IGW00110');
    const bad = checkCredentials(o.accounts, appKey, secretKey);
    if (bad !== undefined) return lsError('token', 403, bad);

    const nowMs = now();
    if (o.minIssueIntervalMs > 0) {
      const last = lastIssueByKey.get(appKey);
      if (last !== undefined && nowMs - last < o.minIssueIntervalMs) {
        const waitS = Math.max(1, Math.ceil((last + o.minIssueIntervalMs - nowMs) / 1000));
        return lsError('token', 403, 'IGW00201', { 'retry-after': String(waitS) });
      }
    }

    // LS: a token lives until the earlier of its lifetime and the next cut-off (07:00 KST).
    const iatS = Math.floor(nowMs / 1000);
    let expS = iatS + o.lifetimeS;
    if (o.cutoffMinutes !== null) expS = Math.min(expS, Math.floor(nextKstMinuteAfter(nowMs, o.cutoffMinutes) / 1000));
    minted += 1;
    const token = mintMockJwt({ appKey, iatS, expS, secret, aud: mockAud(secret, minted) });
    if (o.reissue === 'invalidate-previous') for (const prev of book.unended(appKey)) book.kill(prev, 'superseded');
    book.add(token, appKey, iatS * 1000, expS * 1000);
    lastIssueByKey.set(appKey, nowMs);
    counters.issued += 1;
    return tokenIssued(token, expS - iatS, o.lifetimeField);
  }

  function handleRevoke(req: MockRequest): MockResponse {
    if (!isFormRequest(req.headers)) return lsError('revoke', 400, 'IGW00132');
    const form = lsForm(req.body, req.query, LS_REVOKE_FIELDS);
    const appKey = formField(form, 'appkey');
    if (appKey === undefined) return lsError('revoke', 400, 'IGW00102');
    const secretKey = formField(form, 'appsecretkey');
    if (secretKey === undefined) return lsError('revoke', 400, 'IGW00104');
    const hint = formField(form, 'token_type_hint');
    if (hint !== 'access_token' && hint !== 'refresh_token') return lsError('revoke', 400, 'IGW00117');
    const bad = checkCredentials(o.accounts, appKey, secretKey);
    if (bad !== undefined) return lsError('revoke', 403, bad);
    const token = formField(form, 'token');
    const record = token === undefined ? undefined : book.get(token);
    if (record === undefined || record.appKey !== appKey) return lsError('revoke', 401, 'IGW00121');
    if (!book.alive(record)) return lsError('revoke', 401, record.state === 'active' ? 'IGW00123' : 'IGW00121');
    book.kill(record, 'revoked');
    counters.revoked += 1;
    return tokenRevoked(o.revokeCode);
  }

  function handleTr(req: MockRequest): MockResponse {
    const trCode = req.headers['tr_cd'];
    const token = bearerToken(req.headers);
    const record = token === undefined ? undefined : book.get(token);
    // LS answers a dead token on a TR call with HTTP 200 and rsp_cd: 00121 invalid, 00123 expired.
    if (record === undefined || record.state !== 'active') return lsError('tr', 200, 'IGW00121', {}, trCode);
    const nowMs = now();
    if (!book.alive(record, nowMs)) return lsError('tr', 200, 'IGW00123', {}, trCode);
    const call: MockTrCall = {
      path: req.path,
      trCode,
      trCont: req.headers['tr_cont'] ?? 'N',
      trContKey: req.headers['tr_cont_key'] ?? '',
      body: jsonValue(req.body),
      appKey: record.appKey,
      paper: o.accounts?.get(record.appKey)?.paper === true,
      nowMs,
    };
    const route = findTrRoute(routes, req.path, trCode);
    if (route === undefined) return trStandInResponse(call);
    try {
      return trAnswerResponse(call, route.answer(call));
    } catch {
      return lsError('tr', 500, 'IGW00002', {}, trCode);
    }
  }

  const parts = createBrokerModel(
    core,
    {
      endpointOf: lsEndpointOf,
      handle: (endpoint: MockEndpoint, req: MockRequest) => (endpoint === 'token' ? handleToken(req) : endpoint === 'revoke' ? handleRevoke(req) : handleTr(req)),
      faultResponse: (fault, endpoint, req) => lsFaultResponse(fault, endpoint, req.headers['tr_cd']),
      resetResponse: (endpoint, req) => lsError(endpoint, 500, 'IGW00002', {}, req.headers['tr_cd']),
      stateExtras: () => ({ cutoffKst: o.cutoffKst }),
    },
    o.random,
  );
  return { ...parts.model, state: () => parts.state() as unknown as MockLsState };
}
