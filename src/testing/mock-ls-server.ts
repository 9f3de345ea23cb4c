/**
 * An LS-compatible mock of the two OAuth2 endpoints (and a stand-in TR endpoint) over `node:http`,
 * for tests, benchmarks and the demo. No dependencies beyond node built-ins.
 *
 * What it imitates (see `../shared/ls-openapi-oauth.md` (the project's API reference)):
 * - `POST /oauth2/token` issues HS512-shaped JWTs whose `jti` is the app key, with an optional
 *   daily KST cut-off; by default a new token for an app key kills that key's previous token.
 * - `POST /oauth2/revoke` kills an active token, and answers `IGW00121` (HTTP 401) for a token that
 *   is unknown, already dead, or belongs to another app key.
 * - Any other `POST` path is a TR call: it needs `authorization: Bearer <active token>`, and answers
 *   business errors with HTTP 200, as LS does.
 * - Faults can be injected per endpoint: HTTP 500, rate limit, invalid token, malformed body, hung
 *   request, connection reset.
 *
 * @module
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { createMockJwtSecret, mintMockJwt, nextCutoffMs, parseHhMm } from './mock-jwt.js';
import { ErrorCodes, LsTokenError } from '../core/errors.js';

/** Mock options are checked like the library's: a typed LsTokenError naming the field. */
function mockOptionError(field: string, message: string): LsTokenError {
  return new LsTokenError(ErrorCodes.INVALID_OPTION, `Invalid mock option "${field}": ${message}`, { field });
}

/** An app key and its secret that the mock accepts. */
export interface MockCredential {
  /** The app key (`appkey` form field). */
  appKey: string;
  /** The app secret (`appsecretkey` form field). */
  appSecretKey: string;
}

/**
 * The endpoints faults can target: `token` = `POST /oauth2/token`, `revoke` = `POST /oauth2/revoke`,
 * `tr` = any other `POST` path.
 */
export type MockEndpoint = 'token' | 'revoke' | 'tr';

/**
 * What an injected fault does to a matching request:
 * - `http500`: HTTP 500, `text/plain` body `Internal Server Error`, no LS code.
 * - `rate-limit`: HTTP 403 `{ "rsp_cd": "IGW00201", ... }`, plus `Retry-After` if `retryAfterS` is set.
 * - `invalid-token`: HTTP 401 `{ "rsp_cd": "IGW00121", ... }`. On revoke the token is NOT killed.
 * - `malformed`: HTTP 200, `application/json`, a truncated body such as `{"access_tok`.
 * - `hang`: hold the request for `hangMs`, then handle it normally; without `hangMs`, never answer
 *   (until the client gives up or the server closes).
 * - `reset`: destroy the socket without answering.
 */
export type MockFaultKind = 'http500' | 'rate-limit' | 'invalid-token' | 'malformed' | 'hang' | 'reset';

/** A fault to inject with {@link MockLsServer.inject}. */
export interface MockFault {
  /** Which endpoint it applies to; `'any'` matches every endpoint. */
  endpoint: MockEndpoint | 'any';
  /** What it does; see {@link MockFaultKind}. */
  kind: MockFaultKind;
  /**
   * Apply to the next `count` matching calls, then remove itself. Default 1 when `rate` is not
   * given; with `rate`, default unlimited (and `count` then caps how many times it fires).
   */
  count?: number;
  /** Apply to each matching call with this probability (0..1), drawn from the `random` option, until removed. */
  rate?: number;
  /** For `hang`: how long to hold the request before answering normally. Default: never answer. */
  hangMs?: number;
  /** For `rate-limit`: send `Retry-After: <retryAfterS>`. Default: no header. */
  retryAfterS?: number;
}

/** Options of {@link startMockLsServer}. Every field is optional. */
export interface MockLsServerOptions {
  /** TCP port. Default `0` (an ephemeral port; read it from {@link MockLsServer.port}). */
  port?: number;
  /** Interface to listen on. Default `'127.0.0.1'`. */
  host?: string;
  /**
   * Accepted credentials. Default `'any'`: any non-empty app key and secret of at most 36
   * characters each is accepted (a longer key answers `IGW00103`, a longer secret `IGW00105`).
   * With a list, an unknown app key answers `IGW00103` and a wrong secret `IGW00105` (both HTTP 403).
   */
  credentials?: MockCredential[] | 'any';
  /** Added before every answer (faults included), in ms. Default `0`. */
  latencyMs?: number;
  /** Token lifetime in seconds. Default `86400`. */
  tokenLifetimeS?: number;
  /**
   * Daily KST cut-off as `'HH:MM'`, e.g. `'07:00'`: a token's `exp` is the earlier of
   * `iat + tokenLifetimeS` and the next such time (KST, strictly after issuance). Default `null` (none).
   */
  cutoffKst?: string | null;
  /**
   * `'invalidate-previous'` (default, LS behaviour): issuing a token for an app key kills every
   * earlier token of that key. `'independent'`: tokens of one key coexist.
   */
  reissue?: 'invalidate-previous' | 'independent';
  /**
   * `'expires_in'` (default): the lifetime is a number under `expires_in`. `'expire_in'`: a numeric
   * string under `expire_in` (the name and type of LS's field table).
   */
  lifetimeField?: 'expires_in' | 'expire_in';
  /** Revoke success `code` as the number `200` (default, `'number'`) or the string `"200"` (`'string'`). */
  revokeCode?: 'number' | 'string';
  /**
   * Minimum interval between two successful issuances for one app key, in ms; a faster request
   * answers HTTP 403 `{ "error_code": "IGW00201", ... }` with `Retry-After`. Default `0` (off).
   */
  minIssueIntervalMs?: number;
  /** Random source in [0, 1) for fault `rate`s. Default `Math.random`; tests pass a seeded one. */
  random?: () => number;
  /** Clock in epoch ms, used for `iat`/`exp` and expiry checks. Default `Date.now`. */
  now?: () => number;
}

/** Counters of a {@link MockLsServer}; a snapshot taken by {@link MockLsServer.stats}. */
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

/** A running mock LS server; see {@link startMockLsServer}. */
export interface MockLsServer {
  /** Base URL, e.g. `http://127.0.0.1:54321` (no trailing slash). */
  readonly url: string;
  /** The port it listens on. */
  readonly port: number;
  /**
   * Stops the server: destroys every socket (keep-alive and hung requests included) and clears
   * every timer. Never hangs; safe to call more than once.
   */
  close(): Promise<void>;
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

const FAULT_ENDPOINTS: ReadonlySet<string> = new Set(['token', 'revoke', 'tr', 'any']);
const FAULT_KINDS: ReadonlySet<string> = new Set(['http500', 'rate-limit', 'invalid-token', 'malformed', 'hang', 'reset']);
const MAX_BODY_BYTES = 1024 * 1024;
const MAX_CREDENTIAL_LENGTH = 36;

const MSG = {
  IGW00102: 'appkey가 누락되었습니다.',
  IGW00103: '유효하지 않은 AppKey입니다.',
  IGW00104: 'appsecretkey가 누락되었습니다.',
  IGW00105: '유효하지 않은 AppSecret입니다.',
  IGW00109: 'scope가 누락되었습니다.',
  IGW00110: '유효하지 않은 scope입니다.',
  IGW00115: 'grant_type이 누락되었습니다.',
  IGW00116: '지원하지 않는 grant_type입니다.',
  IGW00117: '지원하지 않는 token_type_hint입니다.',
  IGW00121: '유효하지 않은 토큰입니다.',
  IGW00132: 'Content-Type이 유효하지 않습니다.',
  IGW00201: '초당 거래건수를 초과하였습니다.',
} as const;
type LsCode = keyof typeof MSG;

const TR_OK = { rsp_cd: '00000', rsp_msg: '정상적으로 조회가 완료되었습니다.' } as const;
const REVOKE_OK_MESSAGE = '접근토큰 폐기에 성공하였습니다.';
const TRUNCATED_BODY: Record<MockEndpoint, string> = {
  token: '{"access_tok',
  revoke: '{"code":20',
  tr: '{"rsp_cd":"000',
};

interface Reply {
  status: number;
  headers?: Record<string, string>;
  /** A JSON value (sent as `application/json; charset=utf-8`) or raw text with its own content type. */
  json?: unknown;
  text?: { body: string; contentType: string };
}

interface TokenRecord {
  readonly token: string;
  readonly appKey: string;
  readonly expMs: number;
  state: 'active' | 'revoked' | 'invalidated';
}

interface FaultEntry {
  readonly fault: MockFault;
  remaining: number;
}

/** Per-request state: whether the client or the server went away, and who to wake when it does. */
interface RequestContext {
  gone: boolean;
  readonly wakers: Set<() => void>;
}

function tokenError(status: number, code: LsCode, headers?: Record<string, string>): Reply {
  return { status, json: { error_code: code, error_description: MSG[code] }, ...(headers ? { headers } : {}) };
}

function rspError(status: number, code: LsCode, headers?: Record<string, string>): Reply {
  return { status, json: { rsp_cd: code, rsp_msg: MSG[code] }, ...(headers ? { headers } : {}) };
}

function isNonNegativeFinite(v: unknown): v is number {
  return typeof v === 'number' && Number.isFinite(v) && v >= 0;
}

function validateOptions(o: MockLsServerOptions): void {
  if (o.port !== undefined && !(Number.isInteger(o.port) && o.port >= 0 && o.port <= 65535)) {
    throw mockOptionError('port', `port must be an integer 0..65535, got ${String(o.port)}`);
  }
  if (o.latencyMs !== undefined && !isNonNegativeFinite(o.latencyMs)) {
    throw mockOptionError('latencyMs', `latencyMs must be a finite number >= 0, got ${String(o.latencyMs)}`);
  }
  if (o.tokenLifetimeS !== undefined && !(Number.isInteger(o.tokenLifetimeS) && o.tokenLifetimeS > 0)) {
    throw mockOptionError('tokenLifetimeS', `tokenLifetimeS must be a positive integer, got ${String(o.tokenLifetimeS)}`);
  }
  if (o.minIssueIntervalMs !== undefined && !isNonNegativeFinite(o.minIssueIntervalMs)) {
    throw mockOptionError('minIssueIntervalMs', `minIssueIntervalMs must be a finite number >= 0, got ${String(o.minIssueIntervalMs)}`);
  }
  if (o.cutoffKst !== undefined && o.cutoffKst !== null) parseHhMm(o.cutoffKst);
  if (o.reissue !== undefined && o.reissue !== 'invalidate-previous' && o.reissue !== 'independent') {
    throw mockOptionError('reissue', `reissue must be 'invalidate-previous' or 'independent', got ${String(o.reissue)}`);
  }
  if (o.lifetimeField !== undefined && o.lifetimeField !== 'expires_in' && o.lifetimeField !== 'expire_in') {
    throw mockOptionError('lifetimeField', `lifetimeField must be 'expires_in' or 'expire_in', got ${String(o.lifetimeField)}`);
  }
  if (o.revokeCode !== undefined && o.revokeCode !== 'number' && o.revokeCode !== 'string') {
    throw mockOptionError('revokeCode', `revokeCode must be 'number' or 'string', got ${String(o.revokeCode)}`);
  }
  if (o.credentials !== undefined && o.credentials !== 'any') {
    if (!Array.isArray(o.credentials)) throw mockOptionError('credentials', `credentials must be 'any' or an array`);
    for (const c of o.credentials) {
      if (typeof c?.appKey !== 'string' || c.appKey === '' || typeof c.appSecretKey !== 'string' || c.appSecretKey === '') {
        throw mockOptionError('credentials', 'every credential needs a non-empty appKey and appSecretKey');
      }
    }
  }
}

function validateFault(f: MockFault): void {
  if (typeof f !== 'object' || f === null) throw mockOptionError('fault', 'fault must be an object');
  if (!FAULT_ENDPOINTS.has(f.endpoint)) throw mockOptionError('unknown', `unknown fault endpoint ${String(f.endpoint)}`);
  if (!FAULT_KINDS.has(f.kind)) throw mockOptionError('unknown', `unknown fault kind ${String(f.kind)}`);
  if (f.count !== undefined && !(Number.isInteger(f.count) && f.count > 0)) {
    throw mockOptionError('fault', `fault count must be a positive integer, got ${String(f.count)}`);
  }
  if (f.rate !== undefined && !(typeof f.rate === 'number' && f.rate >= 0 && f.rate <= 1)) {
    throw mockOptionError('fault', `fault rate must be a number in 0..1, got ${String(f.rate)}`);
  }
  if (f.hangMs !== undefined && !isNonNegativeFinite(f.hangMs)) {
    throw mockOptionError('fault', `fault hangMs must be a finite number >= 0, got ${String(f.hangMs)}`);
  }
  if (f.retryAfterS !== undefined && !isNonNegativeFinite(f.retryAfterS)) {
    throw mockOptionError('fault', `fault retryAfterS must be a finite number >= 0, got ${String(f.retryAfterS)}`);
  }
}

function mediaType(req: IncomingMessage): string {
  return (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
}

function isForm(req: IncomingMessage): boolean {
  return mediaType(req) === 'application/x-www-form-urlencoded';
}

/** A form field, or `undefined` when absent or empty. */
function field(form: URLSearchParams, name: string): string | undefined {
  const v = form.get(name);
  return v === null || v === '' ? undefined : v;
}

/**
 * Starts a mock LS server and resolves once it listens.
 *
 * @example
 * ```ts
 * const server = await startMockLsServer({ cutoffKst: '07:00' });
 * const res = await fetch(`${server.url}/oauth2/token`, {
 *   method: 'POST',
 *   headers: { 'content-type': 'application/x-www-form-urlencoded' },
 *   body: new URLSearchParams({ grant_type: 'client_credentials', appkey: 'k', appsecretkey: 's', scope: 'oob' }),
 * });
 * server.inject({ endpoint: 'revoke', kind: 'http500', count: 2 });
 * await server.close();
 * ```
 * @throws RangeError / TypeError for invalid options (synchronously, as a rejected promise).
 */
export async function startMockLsServer(options: MockLsServerOptions = {}): Promise<MockLsServer> {
  validateOptions(options);
  const host = options.host ?? '127.0.0.1';
  const credentials = options.credentials ?? 'any';
  const latencyMs = options.latencyMs ?? 0;
  const lifetimeS = options.tokenLifetimeS ?? 86_400;
  const cutoffKst = options.cutoffKst ?? null;
  const reissue = options.reissue ?? 'invalidate-previous';
  const lifetimeField = options.lifetimeField ?? 'expires_in';
  const revokeCode = options.revokeCode ?? 'number';
  const minIssueIntervalMs = options.minIssueIntervalMs ?? 0;
  const random = options.random ?? Math.random;
  const now = options.now ?? Date.now;
  const secret = createMockJwtSecret();
  const secretsByKey = credentials === 'any' ? undefined : new Map(credentials.map((c) => [c.appKey, c.appSecretKey]));

  const tokens = new Map<string, TokenRecord>(); // insertion order = issuance order
  const liveByKey = new Map<string, Set<TokenRecord>>();
  const lastIssueByKey = new Map<string, number>();
  let faults: FaultEntry[] = [];
  const sockets = new Set<Socket>();
  const contexts = new Set<RequestContext>();
  const timers = new Set<NodeJS.Timeout>();
  let closing = false;
  let closePromise: Promise<void> | undefined;

  const counters = {
    tokenRequests: 0,
    revokeRequests: 0,
    trRequests: 0,
    issued: 0,
    revoked: 0,
    faultsInjected: 0,
    maxInflightRevokes: 0,
  };
  let inflight = 0;
  let inflightRevokes = 0;

  const alive = (r: TokenRecord): boolean => r.state === 'active' && now() < r.expMs;

  function kill(r: TokenRecord, state: 'revoked' | 'invalidated'): void {
    r.state = state;
    liveByKey.get(r.appKey)?.delete(r);
  }

  /** `undefined` when the pair is accepted, else the LS code to answer. */
  function checkCredentials(appKey: string, secretKey: string): 'IGW00103' | 'IGW00105' | undefined {
    if (secretsByKey === undefined) {
      if (appKey.length > MAX_CREDENTIAL_LENGTH) return 'IGW00103';
      if (secretKey.length > MAX_CREDENTIAL_LENGTH) return 'IGW00105';
      return undefined;
    }
    const expected = secretsByKey.get(appKey);
    if (expected === undefined) return 'IGW00103';
    if (expected !== secretKey) return 'IGW00105';
    return undefined;
  }

  /** Resolves `true` after `ms` (never, if `ms` is undefined), or `false` as soon as the client or server goes away. */
  function wait(ctx: RequestContext, ms: number | undefined): Promise<boolean> {
    if (ctx.gone || closing) return Promise.resolve(false);
    if (ms === 0) return Promise.resolve(true);
    return new Promise<boolean>((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const cleanup = (): void => {
        if (timer !== undefined) {
          clearTimeout(timer);
          timers.delete(timer);
        }
        ctx.wakers.delete(wake);
      };
      const wake = (): void => {
        cleanup();
        resolve(false);
      };
      ctx.wakers.add(wake);
      if (ms !== undefined) {
        timer = setTimeout(() => {
          cleanup();
          resolve(true);
        }, ms);
        timers.add(timer);
      }
    });
  }

  function wakeAll(ctx: RequestContext): void {
    ctx.gone = true;
    for (const w of [...ctx.wakers]) w();
  }

  function pickFault(endpoint: MockEndpoint): MockFault | undefined {
    for (const entry of faults) {
      const f = entry.fault;
      if (f.endpoint !== 'any' && f.endpoint !== endpoint) continue;
      if (f.rate !== undefined && !(random() < f.rate)) continue;
      entry.remaining -= 1;
      if (entry.remaining <= 0) faults = faults.filter((e) => e !== entry);
      counters.faultsInjected += 1;
      return f;
    }
    return undefined;
  }

  function handleToken(req: IncomingMessage, body: Buffer): Reply {
    if (!isForm(req)) return tokenError(400, 'IGW00132');
    const form = new URLSearchParams(body.toString('utf8'));
    const grantType = field(form, 'grant_type');
    if (grantType === undefined) return tokenError(400, 'IGW00115');
    if (grantType !== 'client_credentials') return tokenError(400, 'IGW00116');
    const appKey = field(form, 'appkey');
    if (appKey === undefined) return tokenError(400, 'IGW00102');
    const secretKey = field(form, 'appsecretkey');
    if (secretKey === undefined) return tokenError(400, 'IGW00104');
    const scope = field(form, 'scope');
    if (scope === undefined) return tokenError(400, 'IGW00109');
    if (scope !== 'oob') return tokenError(400, 'IGW00110');
    const bad = checkCredentials(appKey, secretKey);
    if (bad !== undefined) return tokenError(403, bad);

    const nowMs = now();
    if (minIssueIntervalMs > 0) {
      const last = lastIssueByKey.get(appKey);
      if (last !== undefined && nowMs - last < minIssueIntervalMs) {
        const waitS = Math.max(1, Math.ceil((last + minIssueIntervalMs - nowMs) / 1000));
        return tokenError(403, 'IGW00201', { 'retry-after': String(waitS) });
      }
    }

    const iatS = Math.floor(nowMs / 1000);
    let expS = iatS + lifetimeS;
    if (cutoffKst !== null) expS = Math.min(expS, Math.floor(nextCutoffMs(nowMs, cutoffKst) / 1000));
    const token = mintMockJwt({ appKey, iatS, expS, secret });
    const record: TokenRecord = { token, appKey, expMs: expS * 1000, state: 'active' };

    let live = liveByKey.get(appKey);
    if (live === undefined) {
      live = new Set();
      liveByKey.set(appKey, live);
    }
    if (reissue === 'invalidate-previous') {
      for (const prev of [...live]) kill(prev, 'invalidated');
    }
    live.add(record);
    tokens.set(token, record);
    lastIssueByKey.set(appKey, nowMs);
    counters.issued += 1;

    const lifetime = expS - iatS;
    return {
      status: 200,
      json: {
        access_token: token,
        scope: 'oob',
        token_type: 'Bearer',
        ...(lifetimeField === 'expire_in' ? { expire_in: String(lifetime) } : { expires_in: lifetime }),
      },
    };
  }

  function handleRevoke(req: IncomingMessage, body: Buffer): Reply {
    if (!isForm(req)) return rspError(400, 'IGW00132');
    const form = new URLSearchParams(body.toString('utf8'));
    const appKey = field(form, 'appkey');
    if (appKey === undefined) return rspError(400, 'IGW00102');
    const secretKey = field(form, 'appsecretkey');
    if (secretKey === undefined) return rspError(400, 'IGW00104');
    const hint = field(form, 'token_type_hint');
    if (hint !== 'access_token' && hint !== 'refresh_token') return rspError(400, 'IGW00117');
    const bad = checkCredentials(appKey, secretKey);
    if (bad !== undefined) return rspError(403, bad);
    const token = field(form, 'token');
    const record = token === undefined ? undefined : tokens.get(token);
    if (record === undefined || record.appKey !== appKey || !alive(record)) return rspError(401, 'IGW00121');
    kill(record, 'revoked');
    counters.revoked += 1;
    return { status: 200, json: { code: revokeCode === 'string' ? '200' : 200, message: REVOKE_OK_MESSAGE } };
  }

  function handleTr(req: IncomingMessage, body: Buffer): Reply {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '');
    const record = m?.[1] === undefined ? undefined : tokens.get(m[1]);
    if (record === undefined || !alive(record)) return rspError(200, 'IGW00121');
    let echo: unknown = null;
    if (body.length > 0) {
      try {
        echo = JSON.parse(body.toString('utf8'));
      } catch {
        echo = null;
      }
    }
    return { status: 200, json: { ...TR_OK, echo } };
  }

  function faultReply(fault: MockFault, endpoint: MockEndpoint): Reply {
    switch (fault.kind) {
      case 'http500':
        return { status: 500, text: { body: 'Internal Server Error', contentType: 'text/plain; charset=utf-8' } };
      case 'rate-limit':
        return rspError(403, 'IGW00201', fault.retryAfterS === undefined ? undefined : { 'retry-after': String(fault.retryAfterS) });
      case 'invalid-token':
        return rspError(401, 'IGW00121');
      case 'malformed':
        return { status: 200, text: { body: TRUNCATED_BODY[endpoint], contentType: 'application/json; charset=utf-8' } };
      default:
        throw new Error(`fault kind ${fault.kind} has no reply`);
    }
  }

  function send(res: ServerResponse, reply: Reply): void {
    if (res.destroyed || res.headersSent) return;
    const body = reply.json !== undefined ? JSON.stringify(reply.json) : (reply.text?.body ?? '');
    const contentType = reply.json !== undefined ? 'application/json; charset=utf-8' : (reply.text?.contentType ?? 'text/plain; charset=utf-8');
    res.writeHead(reply.status, {
      // LS's clock is the mock's clock (the `now` option), in the Date header too.
      date: new Date(now()).toUTCString(),
      'content-type': contentType,
      'content-length': String(Buffer.byteLength(body)),
      ...reply.headers,
    });
    res.end(body);
  }

  async function readBody(req: IncomingMessage): Promise<Buffer | 'too-large' | undefined> {
    const chunks: Buffer[] = [];
    let size = 0;
    try {
      for await (const chunk of req) {
        const buf = chunk as Buffer;
        size += buf.length;
        if (size <= MAX_BODY_BYTES) chunks.push(buf); // past the limit: drain, keep nothing
      }
    } catch {
      return undefined; // client went away mid-body
    }
    return size > MAX_BODY_BYTES ? 'too-large' : Buffer.concat(chunks);
  }

  async function handle(req: IncomingMessage, res: ServerResponse, ctx: RequestContext): Promise<void> {
    const path = (req.url ?? '/').split('?')[0]!;
    const endpoint: MockEndpoint | undefined =
      req.method !== 'POST' ? undefined : path === '/oauth2/token' ? 'token' : path === '/oauth2/revoke' ? 'revoke' : 'tr';
    if (endpoint === 'token') counters.tokenRequests += 1;
    else if (endpoint === 'revoke') {
      counters.revokeRequests += 1;
      inflightRevokes += 1;
      counters.maxInflightRevokes = Math.max(counters.maxInflightRevokes, inflightRevokes);
      res.once('close', () => {
        inflightRevokes -= 1;
      });
    } else if (endpoint === 'tr') counters.trRequests += 1;

    const body = await readBody(req);
    if (body === undefined || ctx.gone || closing) return;
    if (body === 'too-large') {
      if (await wait(ctx, latencyMs)) send(res, { status: 413, text: { body: 'Payload Too Large', contentType: 'text/plain; charset=utf-8' } });
      return;
    }
    if (endpoint === undefined) {
      if (await wait(ctx, latencyMs)) send(res, { status: 404, text: { body: 'Not Found', contentType: 'text/plain; charset=utf-8' } });
      return;
    }

    const fault = pickFault(endpoint);
    if (fault !== undefined && fault.kind !== 'hang') {
      if (!(await wait(ctx, latencyMs))) return;
      if (fault.kind === 'reset') {
        req.socket.destroy();
        return;
      }
      send(res, faultReply(fault, endpoint));
      return;
    }
    if (fault?.kind === 'hang' && !(await wait(ctx, fault.hangMs))) return;

    // The gateway does the work as the request arrives; latency delays only the answer.
    const reply = endpoint === 'token' ? handleToken(req, body) : endpoint === 'revoke' ? handleRevoke(req, body) : handleTr(req, body);
    if (!(await wait(ctx, latencyMs))) return;
    send(res, reply);
  }

  const server = createServer((req, res) => {
    inflight += 1;
    const ctx: RequestContext = { gone: false, wakers: new Set() };
    contexts.add(ctx);
    res.once('close', () => {
      inflight -= 1;
      contexts.delete(ctx);
      wakeAll(ctx);
    });
    handle(req, res, ctx).catch(() => {
      if (!res.headersSent && !res.destroyed) {
        send(res, { status: 500, text: { body: 'Internal Server Error', contentType: 'text/plain; charset=utf-8' } });
      } else {
        res.destroy();
      }
    });
  });
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  server.on('clientError', (_err, socket) => {
    socket.destroy();
  });

  await new Promise<void>((resolve, reject) => {
    const onError = (err: Error): void => reject(err);
    server.once('error', onError);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', onError);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;

  return {
    url,
    port,
    close(): Promise<void> {
      if (closePromise !== undefined) return closePromise;
      closing = true;
      closePromise = new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const ctx of [...contexts]) wakeAll(ctx);
        for (const t of timers) clearTimeout(t);
        timers.clear();
        server.closeAllConnections();
        for (const s of sockets) s.destroy();
        faults = [];
      });
      return closePromise;
    },
    isActive(token: string): boolean {
      const r = tokens.get(token);
      return r !== undefined && alive(r);
    },
    stats(): MockLsStats {
      let active = 0;
      for (const live of liveByKey.values()) for (const r of live) if (alive(r)) active += 1;
      return { ...counters, active, inflight };
    },
    inject(fault: MockFault): () => void {
      validateFault(fault);
      const entry: FaultEntry = {
        fault: { ...fault },
        remaining: fault.count ?? (fault.rate === undefined ? 1 : Number.POSITIVE_INFINITY),
      };
      faults.push(entry);
      return () => {
        faults = faults.filter((e) => e !== entry);
      };
    },
    clearFaults(): void {
      faults = [];
    },
    activeTokens(): string[] {
      return [...tokens.values()].filter(alive).map((r) => r.token);
    },
    issuedTokens(): string[] {
      return [...tokens.keys()];
    },
    revokeToken(token: string): boolean {
      const r = tokens.get(token);
      if (r === undefined || !alive(r)) return false;
      kill(r, 'revoked');
      return true;
    },
    resetStats(): void {
      counters.tokenRequests = 0;
      counters.revokeRequests = 0;
      counters.trRequests = 0;
      counters.issued = 0;
      counters.revoked = 0;
      counters.faultsInjected = 0;
      counters.maxInflightRevokes = inflightRevokes;
    },
  };
}
