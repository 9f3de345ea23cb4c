/**
 * The LS Securities OAuth2 endpoints over axios: `POST /oauth2/token` and `POST /oauth2/revoke`
 * (reference: `../shared/ls-openapi-oauth.md`; LS's revoke page: "REST접근토큰 폐기").
 */
import http from 'node:http';
import https from 'node:https';
import { inspect } from 'node:util';
import axios, { type AxiosInstance, type AxiosResponse } from 'axios';
import { ErrorCodes, LsTokenError, invalidOption } from '../core/errors.js';
import { type Clock, systemClock } from '../core/clock.js';
import { tokenFingerprint } from '../core/fingerprint.js';
import { parseRevokeResponse, parseTokenResponse, type IssuedToken, type RawResponse, type RevokeResult } from './ls-response.js';
import { optionalBoolean, optionalInteger, requireBaseUrl, requireCredential, requireObject } from '../core/validate.js';

/** LS's production REST host. */
export const LS_PRODUCTION_BASE_URL = 'https://openapi.ls-sec.co.kr:8080';

/** Options of {@link LsOAuthClient}. */
export interface LsOAuthClientOptions {
  /** App key from the LS portal (1..36 characters). Required. */
  appKey: string;
  /** App secret from the LS portal (1..36 characters). Required. Never logged. */
  appSecretKey: string;
  /** Base URL of the LS REST gateway. Default {@link LS_PRODUCTION_BASE_URL}. */
  baseUrl?: string;
  /** Deadline of each request in ms (connect + answer). Default `10_000`. */
  timeoutMs?: number;
  /** Allow plain `http://` to a non-loopback host. Default `false`: the secret travels in the body. */
  allowInsecureHttp?: boolean;
  /**
   * An axios instance to send requests with (to add proxies or interceptors). Per-request settings
   * that safety depends on (no redirects, timeout, raw body) are still set by the client.
   * Default: a private instance with keep-alive agents.
   */
  axios?: AxiosInstance;
  /** Clock for `issuedAt`. Default `Date.now`. */
  now?: Clock;
}

/** Per-call options. */
export interface RequestOptions {
  /** Aborts the request (e.g. a shutdown deadline). */
  signal?: AbortSignal;
}

/** Token types accepted by `/oauth2/revoke`. */
export type TokenTypeHint = 'access_token' | 'refresh_token';

/**
 * Client for the two LS OAuth2 endpoints. Stateless apart from its keep-alive agents: it does not
 * remember tokens (that is {@link TokenStore}'s job).
 *
 * @example
 * ```ts
 * const client = new LsOAuthClient({ appKey, appSecretKey });
 * const token = await client.issueToken();
 * await client.revokeToken(token.accessToken);
 * ```
 */
export class LsOAuthClient {
  /** The validated base URL (no trailing slash). */
  readonly baseUrl: string;
  /** The request deadline in ms. */
  readonly timeoutMs: number;
  readonly #appKey: string;
  readonly #appSecretKey: string;
  readonly #http: AxiosInstance;
  readonly #agents: { http: http.Agent; https: https.Agent } | undefined;
  readonly #now: Clock;

  constructor(options: LsOAuthClientOptions) {
    const o = requireObject('options', options);
    this.#appKey = requireCredential('appKey', o.appKey, 36);
    this.#appSecretKey = requireCredential('appSecretKey', o.appSecretKey, 36);
    const allowInsecureHttp = optionalBoolean('allowInsecureHttp', o.allowInsecureHttp, false);
    this.baseUrl = requireBaseUrl('baseUrl', o.baseUrl, LS_PRODUCTION_BASE_URL, allowInsecureHttp);
    this.timeoutMs = optionalInteger('timeoutMs', o.timeoutMs, 10_000, 1, 600_000);
    if (o.now !== undefined && typeof o.now !== 'function') throw invalidOption('now', 'must be a function');
    this.#now = (o.now as Clock | undefined) ?? systemClock;
    if (o.axios !== undefined) {
      if (typeof (o.axios as AxiosInstance).request !== 'function') throw invalidOption('axios', 'must be an axios instance');
      this.#http = o.axios as AxiosInstance;
    } else {
      // Keep-alive: revocation storms at shutdown reuse connections instead of paying TLS each time.
      // Node's agent unrefs idle sockets, so they never hold the process open.
      this.#agents = { http: new http.Agent({ keepAlive: true, maxSockets: 64 }), https: new https.Agent({ keepAlive: true, maxSockets: 64 }) };
      this.#http = axios.create({ httpAgent: this.#agents.http, httpsAgent: this.#agents.https });
    }
  }

  /**
   * Issues an access token (`POST /oauth2/token`, grant_type `client_credentials`, scope `oob`).
   * Note that LS keeps one live token per app key: issuing kills the previous token of this key.
   *
   * @throws {@link LsTokenError} `ERR_INVALID_CREDENTIALS`, `ERR_RATE_LIMITED`, `ERR_TIMEOUT`,
   * `ERR_NETWORK`, `ERR_HTTP`, `ERR_LS_REJECTED`, `ERR_BAD_RESPONSE`, `ERR_ABORTED`.
   */
  async issueToken(options: RequestOptions = {}): Promise<IssuedToken> {
    const issuedAt = this.#now();
    const res = await this.#post('token', '/oauth2/token', {
      grant_type: 'client_credentials',
      appkey: this.#appKey,
      appsecretkey: this.#appSecretKey,
      scope: 'oob',
    }, options.signal);
    return parseTokenResponse(res, issuedAt);
  }

  /**
   * Revokes a token (`POST /oauth2/revoke`). Resolves `{ outcome: 'already-invalid' }` when LS says
   * the token is already invalid, unknown or expired (IGW00121/00122/00123): the goal is reached.
   * Tokens longer than the page's 256-character field limit are sent whole (LS issues up to 1000).
   */
  async revokeToken(token: string, hint: TokenTypeHint = 'access_token', options: RequestOptions = {}): Promise<RevokeResult> {
    if (typeof token !== 'string' || token.length === 0) throw invalidOption('token', 'must be a non-empty string');
    if (/\s/.test(token)) throw invalidOption('token', 'must not contain white space');
    if (hint !== 'access_token' && hint !== 'refresh_token') throw invalidOption('hint', 'must be "access_token" or "refresh_token"');
    const res = await this.#post('revoke', '/oauth2/revoke', {
      appkey: this.#appKey,
      appsecretkey: this.#appSecretKey,
      token_type_hint: hint,
      token,
    }, options.signal, tokenFingerprint(token));
    return parseRevokeResponse(res, this.#now());
  }

  /**
   * Reads LS's clock from the `Date` header of a `HEAD /` to the gateway (no credentials, no body;
   * whatever the status). With the send and receive times it bounds the offset between this host's
   * clock and LS's, which decides when the 07:00 KST cut-off really is. `undefined` when the answer
   * has no usable `Date` header.
   *
   * @throws {@link LsTokenError} `ERR_TIMEOUT`, `ERR_NETWORK`, `ERR_ABORTED`.
   */
  async serverTime(options: RequestOptions = {}): Promise<{ sentAt: number; receivedAt: number; serverMs: number } | undefined> {
    const deadline = AbortSignal.timeout(this.timeoutMs);
    const signal = options.signal === undefined ? deadline : AbortSignal.any([deadline, options.signal]);
    const sentAt = this.#now();
    let date: unknown;
    try {
      const res = await this.#http.request({ method: 'HEAD', url: `${this.baseUrl}/`, timeout: this.timeoutMs, signal, maxRedirects: 0, validateStatus: () => true, proxy: false });
      date = res.headers['date'];
    } catch (err) {
      throw this.#transportError('LS clock probe', err, deadline, options.signal);
    }
    const receivedAt = this.#now();
    const serverMs = typeof date === 'string' ? Date.parse(date) : NaN;
    return Number.isFinite(serverMs) ? { sentAt, receivedAt, serverMs } : undefined;
  }

  /** Closes the client's own keep-alive sockets (not those of a user-supplied axios instance). */
  close(): void {
    this.#agents?.http.destroy();
    this.#agents?.https.destroy();
  }

  async #post(endpoint: string, path: string, form: Record<string, string>, userSignal?: AbortSignal, fp?: string): Promise<RawResponse> {
    const what = fp === undefined ? `LS ${endpoint}` : `LS ${endpoint} of token ${fp}`;
    if (userSignal?.aborted) throw new LsTokenError(ErrorCodes.ABORTED, `${what} was aborted before it was sent`);
    // axios `timeout` is an idle timeout; the signal makes it a real deadline.
    const deadline = AbortSignal.timeout(this.timeoutMs);
    const signal = userSignal === undefined ? deadline : AbortSignal.any([deadline, userSignal]);
    let res: AxiosResponse<string>;
    try {
      res = await this.#http.request<string>({
        method: 'POST',
        url: this.baseUrl + path,
        data: new URLSearchParams(form).toString(),
        headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
        timeout: this.timeoutMs,
        signal,
        maxRedirects: 0,
        responseType: 'text',
        transformResponse: [(d: unknown) => d],
        validateStatus: () => true,
        proxy: false,
      });
    } catch (err) {
      throw this.#transportError(what, err, deadline, userSignal);
    }
    const retryAfter = res.headers['retry-after'];
    return {
      status: res.status,
      body: typeof res.data === 'string' ? res.data : '',
      retryAfter: typeof retryAfter === 'string' ? retryAfter : undefined,
    };
  }

  // The axios error holds the request config, whose body holds the secret: keep it only as a
  // non-enumerable `cause` and build our own message from the error code.
  #transportError(what: string, err: unknown, deadline: AbortSignal, userSignal?: AbortSignal): LsTokenError {
    const code = typeof (err as { code?: unknown })?.code === 'string' ? (err as { code: string }).code : undefined;
    if (userSignal?.aborted && !deadline.aborted) {
      return new LsTokenError(ErrorCodes.ABORTED, `${what} was aborted`, { cause: err });
    }
    if (deadline.aborted || code === 'ECONNABORTED' || code === 'ETIMEDOUT') {
      return new LsTokenError(ErrorCodes.TIMEOUT, `${what} timed out after ${this.timeoutMs} ms`, { cause: err, retryable: true });
    }
    if (code !== undefined) {
      return new LsTokenError(ErrorCodes.NETWORK, `${what} failed: ${code}`, { cause: err, retryable: true });
    }
    return new LsTokenError(ErrorCodes.NETWORK, `${what} failed (${err instanceof Error ? err.name : typeof err})`, { cause: err, retryable: true });
  }

  /** Safe summary: base URL only. */
  toJSON(): {
    /** The base URL. */
    baseUrl: string;
    /** The request deadline, ms. */
    timeoutMs: number;
  } {
    return { baseUrl: this.baseUrl, timeoutMs: this.timeoutMs };
  }

  /** `util.inspect` never shows the app key or secret. */
  [inspect.custom](): string {
    return `LsOAuthClient { baseUrl: '${this.baseUrl}', timeoutMs: ${this.timeoutMs} }`;
  }
}
