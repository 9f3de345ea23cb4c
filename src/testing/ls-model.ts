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
import { FaultTable, mockOptionError, validateFault, type MockEndpoint, type MockFault, type MockFaultState } from './faults.js';
import { bearerToken, formField, isFormRequest, lsEndpointOf, lsError, lsFaultResponse, tokenIssued, tokenRevoked } from './ls-dialect.js';
import { checkCredentials, resolveLsModelOptions, type LsModelOptions } from './ls-model-options.js';
import { buildTrRouteTable, findTrRoute, trAnswerResponse, trStandInResponse, type MockTrCall } from './ls-tr-routes.js';
import { createMockJwtSecret, mintMockJwt, mockAud, nextKstMinuteAfter } from './mock-jwt.js';
import { textResponse, type MockExchange, type MockRequest, type MockResponse } from './wire.js';

/** Counters of an LS mock; a snapshot taken by {@link MockLsControls.stats}. */
export interface MockLsStats {
  /** Requests to `POST /oauth2/token` (faulted ones included). */
  tokenRequests: number;
  /** Requests to `POST /oauth2/revoke` (faulted ones included). */
  revokeRequests: number;
  /** Requests to other `POST` paths (faulted ones included). */
  trRequests: number;
  /** Tokens successfully issued. */
  issued: number;
  /** Successful revocations through the revoke endpoint (active token → dead). */
  revoked: number;
  /** Tokens alive now: not revoked, not invalidated by a re-issue, not past `exp`. */
  active: number;
  /** Faults applied so far. */
  faultsInjected: number;
  /** Requests being handled right now. */
  inflight: number;
  /** The largest number of revoke requests handled at the same time. */
  maxInflightRevokes: number;
}

/**
 * Why a token is or is not alive: `active`; `expired` (past its `exp`); `revoked` (through the
 * revoke endpoint); `superseded` (a newer token of its app key was issued); `killed` (by
 * {@link MockLsControls.revokeToken} or the control endpoint).
 */
export type MockTokenState = 'active' | 'expired' | 'revoked' | 'superseded' | 'killed';

/** What the model knows about one token it issued. */
export interface MockTokenInfo {
  /** The app key it was issued to (its `jti`). */
  readonly appKey: string;
  /** Issue time, epoch ms (the JWT `iat`, whole seconds). */
  readonly issuedAtMs: number;
  /** Expiry, epoch ms (the JWT `exp`, whole seconds). */
  readonly expiresAtMs: number;
  /** Its state now, by the model's clock. */
  readonly state: MockTokenState;
}

/** The inspection and fault controls every LS mock offers (model and HTTP server alike). */
export interface MockLsControls {
  /** Whether `token` was issued here and is alive now. */
  isActive(token: string): boolean;
  /** A snapshot of the counters. */
  stats(): MockLsStats;
  /** Adds a fault (checked in injection order, before normal handling). Returns a function that removes it. */
  inject(fault: MockFault): () => void;
  /** Removes every fault. */
  clearFaults(): void;
  /** The raw tokens alive now, in issuance order. */
  activeTokens(): string[];
  /** Every token ever issued, in issuance order. */
  issuedTokens(): string[];
  /**
   * Kills a token server-side, as LS or another process would. Returns whether it was alive.
   * Not counted in {@link MockLsStats.revoked}.
   */
  revokeToken(token: string): boolean;
  /** Zeroes the request, issuance, revocation and fault counters (`active` and `inflight` are live values). */
  resetStats(): void;
}

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

/** One live token in a {@link MockLsState} (never the raw token). */
export interface MockLiveTokenState {
  /** The app key it was issued to. */
  readonly appKey: string;
  /** Issue time, ISO 8601. */
  readonly issuedAt: string;
  /** Expiry, ISO 8601. */
  readonly expiresAt: string;
}

/** The LS model; see the module description. */
export interface LsModel extends MockLsControls {
  /** Takes one request; see {@link MockExchange}. Never throws. */
  receive(request: MockRequest): MockExchange;
  /** What the model knows about `token`, or `undefined` if it never issued it. */
  tokenInfo(token: string): MockTokenInfo | undefined;
  /** The armed faults, in injection order. */
  faults(): MockFaultState[];
  /** Kills every live token of `appKey` (of every key when omitted), as another process issuing would. Returns how many. */
  killTokens(appKey?: string): number;
  /** The model's clock: the `now` option plus the clock offset, epoch ms. */
  now(): number;
  /** The offset added to the `now` option, ms (0 unless {@link LsModel.setClockOffset} moved it). */
  clockOffsetMs(): number;
  /** Shifts the model's clock by `offsetMs` from the `now` option (e.g. to rehearse 06:59 KST). */
  setClockOffset(offsetMs: number): void;
  /** A JSON-safe snapshot; see {@link MockLsState}. */
  state(): MockLsState;
}

interface TokenRecord {
  readonly token: string;
  readonly appKey: string;
  readonly iatMs: number;
  readonly expMs: number;
  state: 'active' | 'revoked' | 'superseded' | 'killed';
}

const NOT_FOUND = textResponse(404, 'Not Found');

function parseJson(body: string): unknown {
  if (body.length === 0) return null;
  try {
    return JSON.parse(body) as unknown;
  } catch {
    return null;
  }
}

/**
 * Creates an LS model.
 *
 * @throws LsTokenError `ERR_INVALID_OPTION` for an invalid option.
 */
export function createLsModel(options: LsModelOptions = {}): LsModel {
  const o = resolveLsModelOptions(options);
  const secret = o.jwtSecret ?? createMockJwtSecret();
  const routes = buildTrRouteTable(o.trRoutes);
  const faultTable = new FaultTable();
  const tokens = new Map<string, TokenRecord>(); // insertion order = issuance order
  const liveByKey = new Map<string, Set<TokenRecord>>();
  const lastIssueByKey = new Map<string, number>();
  let clockOffsetMs = 0;
  let minted = 0;
  let inflight = 0;
  let inflightRevokes = 0;
  const counters = { tokenRequests: 0, revokeRequests: 0, trRequests: 0, issued: 0, revoked: 0, maxInflightRevokes: 0 };

  const now = (): number => o.now() + clockOffsetMs;
  const alive = (r: TokenRecord, at = now()): boolean => r.state === 'active' && at < r.expMs;

  function kill(r: TokenRecord, state: TokenRecord['state']): void {
    r.state = state;
    liveByKey.get(r.appKey)?.delete(r);
  }

  function handleToken(req: MockRequest): MockResponse {
    if (!isFormRequest(req.headers)) return lsError('token', 400, 'IGW00132');
    const form = new URLSearchParams(req.body);
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
    const record: TokenRecord = { token, appKey, iatMs: iatS * 1000, expMs: expS * 1000, state: 'active' };
    let live = liveByKey.get(appKey);
    if (live === undefined) {
      live = new Set();
      liveByKey.set(appKey, live);
    }
    if (o.reissue === 'invalidate-previous') for (const prev of [...live]) kill(prev, 'superseded');
    live.add(record);
    tokens.set(token, record);
    lastIssueByKey.set(appKey, nowMs);
    counters.issued += 1;
    return tokenIssued(token, expS - iatS, o.lifetimeField);
  }

  function handleRevoke(req: MockRequest): MockResponse {
    if (!isFormRequest(req.headers)) return lsError('revoke', 400, 'IGW00132');
    const form = new URLSearchParams(req.body);
    const appKey = formField(form, 'appkey');
    if (appKey === undefined) return lsError('revoke', 400, 'IGW00102');
    const secretKey = formField(form, 'appsecretkey');
    if (secretKey === undefined) return lsError('revoke', 400, 'IGW00104');
    const hint = formField(form, 'token_type_hint');
    if (hint !== 'access_token' && hint !== 'refresh_token') return lsError('revoke', 400, 'IGW00117');
    const bad = checkCredentials(o.accounts, appKey, secretKey);
    if (bad !== undefined) return lsError('revoke', 403, bad);
    const token = formField(form, 'token');
    const record = token === undefined ? undefined : tokens.get(token);
    if (record === undefined || record.appKey !== appKey) return lsError('revoke', 401, 'IGW00121');
    if (!alive(record)) return lsError('revoke', 401, record.state === 'active' ? 'IGW00123' : 'IGW00121');
    kill(record, 'revoked');
    counters.revoked += 1;
    return tokenRevoked(o.revokeCode);
  }

  function handleTr(req: MockRequest): MockResponse {
    const trCode = req.headers['tr_cd'];
    const token = bearerToken(req.headers);
    const record = token === undefined ? undefined : tokens.get(token);
    // LS answers a dead token on a TR call with HTTP 200 and rsp_cd: 00121 invalid, 00123 expired.
    if (record === undefined || record.state !== 'active') return lsError('tr', 200, 'IGW00121', {}, trCode);
    const nowMs = now();
    if (!alive(record, nowMs)) return lsError('tr', 200, 'IGW00123', {}, trCode);
    const call: MockTrCall = {
      path: req.path,
      trCode,
      trCont: req.headers['tr_cont'] ?? 'N',
      trContKey: req.headers['tr_cont_key'] ?? '',
      body: parseJson(req.body),
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

  function handle(endpoint: MockEndpoint, req: MockRequest): MockResponse {
    return endpoint === 'token' ? handleToken(req) : endpoint === 'revoke' ? handleRevoke(req) : handleTr(req);
  }

  /** Every answer carries LS's clock (the model's) in its `Date` header, as a real gateway's does. */
  function dated(res: MockResponse): MockResponse {
    return { ...res, headers: { ...res.headers, date: new Date(now()).toUTCString() } };
  }

  function receive(req: MockRequest): MockExchange {
    const exchange = route(req);
    const { plan } = exchange;
    let resumed: MockResponse | undefined;
    return {
      ...exchange,
      plan: plan.kind === 'answer' ? { kind: 'answer', response: dated(plan.response) } : plan,
      resume: () => (resumed ??= dated(exchange.resume())),
    };
  }

  function route(req: MockRequest): MockExchange {
    const endpoint = lsEndpointOf(req.method, req.path);
    inflight += 1;
    if (endpoint === 'token') counters.tokenRequests += 1;
    else if (endpoint === 'tr') counters.trRequests += 1;
    else if (endpoint === 'revoke') {
      counters.revokeRequests += 1;
      inflightRevokes += 1;
      counters.maxInflightRevokes = Math.max(counters.maxInflightRevokes, inflightRevokes);
    }
    let ended = false;
    const end = (): void => {
      if (ended) return;
      ended = true;
      inflight -= 1;
      if (endpoint === 'revoke') inflightRevokes -= 1;
    };
    if (endpoint === undefined) return { endpoint, plan: { kind: 'answer', response: NOT_FOUND }, resume: () => NOT_FOUND, end };
    const fault = faultTable.pick(endpoint, o.random);
    if (fault?.kind === 'hang') {
      let later: MockResponse | undefined;
      return { endpoint, plan: { kind: 'hang', ms: fault.hangMs }, resume: () => (later ??= handle(endpoint, req)), end };
    }
    if (fault?.kind === 'reset') {
      return { endpoint, plan: { kind: 'reset' }, resume: () => lsError(endpoint, 500, 'IGW00002', {}, req.headers['tr_cd']), end };
    }
    // The gateway does the work as the request arrives; a transport's latency delays only the answer.
    const response = fault === undefined ? handle(endpoint, req) : lsFaultResponse(fault, endpoint, req.headers['tr_cd']);
    return { endpoint, plan: { kind: 'answer', response }, resume: () => response, end };
  }

  function stats(): MockLsStats {
    const at = now();
    let active = 0;
    for (const live of liveByKey.values()) for (const r of live) if (alive(r, at)) active += 1;
    return { ...counters, faultsInjected: faultTable.applied, active, inflight };
  }

  return {
    receive,
    stats,
    isActive(token: string): boolean {
      const r = tokens.get(token);
      return r !== undefined && alive(r);
    },
    tokenInfo(token: string): MockTokenInfo | undefined {
      const r = tokens.get(token);
      if (r === undefined) return undefined;
      const state: MockTokenState = r.state !== 'active' ? r.state : alive(r) ? 'active' : 'expired';
      return { appKey: r.appKey, issuedAtMs: r.iatMs, expiresAtMs: r.expMs, state };
    },
    inject(fault: MockFault): () => void {
      return faultTable.add(validateFault(fault));
    },
    clearFaults(): void {
      faultTable.clear();
    },
    faults: () => faultTable.list(),
    activeTokens(): string[] {
      const at = now();
      return [...tokens.values()].filter((r) => alive(r, at)).map((r) => r.token);
    },
    issuedTokens: () => [...tokens.keys()],
    revokeToken(token: string): boolean {
      const r = tokens.get(token);
      if (r === undefined || !alive(r)) return false;
      kill(r, 'killed');
      return true;
    },
    killTokens(appKey?: string): number {
      let n = 0;
      const at = now();
      for (const [key, live] of liveByKey) {
        if (appKey !== undefined && key !== appKey) continue;
        for (const r of [...live]) {
          if (alive(r, at)) n += 1;
          kill(r, 'killed');
        }
      }
      return n;
    },
    resetStats(): void {
      counters.tokenRequests = 0;
      counters.revokeRequests = 0;
      counters.trRequests = 0;
      counters.issued = 0;
      counters.revoked = 0;
      faultTable.applied = 0;
      counters.maxInflightRevokes = inflightRevokes;
    },
    now,
    clockOffsetMs: () => clockOffsetMs,
    setClockOffset(offsetMs: number): void {
      if (typeof offsetMs !== 'number' || !Number.isFinite(offsetMs)) throw mockOptionError('offsetMs', 'the clock offset must be a finite number of ms');
      clockOffsetMs = offsetMs;
    },
    state(): MockLsState {
      const at = now();
      const liveTokens: MockLiveTokenState[] = [];
      for (const live of liveByKey.values()) {
        for (const r of live) {
          if (alive(r, at)) liveTokens.push({ appKey: r.appKey, issuedAt: new Date(r.iatMs).toISOString(), expiresAt: new Date(r.expMs).toISOString() });
        }
      }
      return { now: new Date(at).toISOString(), clockOffsetMs, cutoffKst: o.cutoffKst, stats: stats(), faults: faultTable.list(), liveTokens };
    },
  };
}
