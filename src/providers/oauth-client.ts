/**
 * A broker's two OAuth endpoints over axios (issue and revoke), whatever the broker: what to send
 * and what to believe come from its {@link ProviderDefinition}; this client owns the transport (the
 * deadline, the bounded body, no redirects, keep-alive) and the secrets it holds.
 */
import http from 'node:http';
import https from 'node:https';
import { inspect } from 'node:util';
import axios, { type AxiosInstance, type AxiosRequestConfig, type AxiosResponse } from 'axios';
import { ErrorCodes, LsTokenError, invalidOption, summarizeCause } from '../core/errors.js';
import { type Clock, systemClock } from '../core/clock.js';
import { tokenFingerprint } from '../core/fingerprint.js';
import { SecretRedactor } from '../core/redact.js';
import type { LsOAuthClientOptions } from './client-options.js';
import type { IssuedToken, RevokeResult } from './types.js';
import type { ProviderDefinition, ProviderName, ProviderRequest } from './provider.js';
import { resolveProvider } from './registry.js';
import type { RawResponse } from './response-parts.js';
import { optionalBoolean, optionalInteger, requireBaseUrl, requireCredential, requireObject } from '../core/validate.js';

/** Default cap of a response body: 64 KiB (a token answer is under 2 KB). */
export const DEFAULT_MAX_RESPONSE_BYTES = 64 * 1024;
/** Highest accepted `maxResponseBytes`: 16 MiB. */
const MAX_MAX_RESPONSE_BYTES = 16 * 1024 * 1024;
/** Cap of a request body: it holds the key, the secret and at most one token. */
const MAX_REQUEST_BYTES = 64 * 1024;
/** Longest token `revokeToken` sends (brokers issue at most 1000 characters; the store keeps 16384). */
const MAX_REVOKE_TOKEN_LENGTH = 16_384;

/** A response body as received: the provider parses it (axios must not). */
const rawBody = (d: unknown): unknown => d;
/** Every status is an answer the provider reads (axios must not throw on it). */
const anyStatus = (): boolean => true;

/**
 * Options of {@link OAuthClient}: the connection options (named for LS, where they began; the
 * same for every broker) and the `provider`.
 */
export interface OAuthClientOptions extends LsOAuthClientOptions {
  /** The broker: `'ls'` (default), `'kis'`, `'kiwoom'`, or a {@link ProviderDefinition} (e.g. from `rfc7009Provider`). */
  provider?: ProviderName | ProviderDefinition;
}

/** Per-call options. */
export interface RequestOptions {
  /** Aborts the request (e.g. a shutdown deadline). */
  signal?: AbortSignal;
}

/**
 * One reading of the broker's clock: the `Date` header of an answer, with the host times the
 * request was sent and the answer received (the server stamped it in between).
 */
export interface ServerTimeSample {
  /** When the request was sent, epoch ms by this host's clock. */
  readonly sentAt: number;
  /** When the answer arrived, epoch ms by this host's clock. */
  readonly receivedAt: number;
  /** The broker's `Date` header, epoch ms (1 s resolution). */
  readonly serverMs: number;
}

/** Token types accepted by `/oauth2/revoke`. */
export type TokenTypeHint = 'access_token' | 'refresh_token';

/** `url` as `origin + path`, for messages: never its user, password or query. */
function safeUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.origin}${u.pathname}`;
  } catch {
    return 'an unparsable URL';
  }
}

/**
 * Client for a broker's two OAuth endpoints, as its provider describes them. Stateless apart from
 * its keep-alive agents: it does not remember tokens (that is {@link TokenStore}'s job).
 *
 * @example
 * ```ts
 * const client = new OAuthClient({ provider: 'kis', appKey, appSecretKey });
 * const token = await client.issueToken();
 * await client.revokeToken(token.accessToken);
 * ```
 */
export class OAuthClient {
  /** The broker this client talks to. */
  readonly provider: ProviderDefinition;
  /** The validated base URL (no trailing slash). */
  readonly baseUrl: string;
  /** The request deadline in ms. */
  readonly timeoutMs: number;
  /** The largest response body read, in bytes. */
  readonly maxResponseBytes: number;
  /** The redactor holding this client's secrets (the one given as option, or its own). */
  readonly redactor: SecretRedactor;
  readonly #appKey: string;
  readonly #appSecretKey: string;
  readonly #http: AxiosInstance;
  readonly #agents: { http: http.Agent; https: https.Agent } | undefined;
  readonly #now: Clock;
  readonly #timeListeners = new Set<(sample: ServerTimeSample) => void>();
  /**
   * The options every token and revoke request carries, spread into each call for a user's axios
   * instance. The client's own instance has them as its defaults (set once, not merged from a new
   * object per request, which cost the cold issue path of a stampede measurably), so this is empty.
   */
  readonly #perRequest: AxiosRequestConfig;

  constructor(options: OAuthClientOptions) {
    const o = requireObject('options', options);
    this.provider = resolveProvider(o.provider);
    const limits = this.provider.credentialLimits;
    this.#appKey = requireCredential('appKey', o.appKey, limits.appKey);
    this.#appSecretKey = requireCredential('appSecretKey', o.appSecretKey, limits.appSecretKey);
    const allowInsecureHttp = optionalBoolean('allowInsecureHttp', o.allowInsecureHttp, false);
    this.baseUrl = requireBaseUrl('baseUrl', o.baseUrl, this.provider.baseUrls.real, allowInsecureHttp);
    this.timeoutMs = optionalInteger('timeoutMs', o.timeoutMs, 10_000, 1, 600_000);
    this.maxResponseBytes = optionalInteger('maxResponseBytes', o.maxResponseBytes, DEFAULT_MAX_RESPONSE_BYTES, 1024, MAX_MAX_RESPONSE_BYTES);
    if (o.redactor !== undefined && !(o.redactor instanceof SecretRedactor)) throw invalidOption('redactor', 'must be a SecretRedactor');
    this.redactor = (o.redactor as SecretRedactor | undefined) ?? new SecretRedactor();
    if (o.now !== undefined && typeof o.now !== 'function') throw invalidOption('now', 'must be a function');
    this.#now = (o.now as Clock | undefined) ?? systemClock;
    const fixed: AxiosRequestConfig = {
      method: 'POST',
      timeout: this.timeoutMs,
      maxRedirects: 0,
      // Counted after decompression, with or without content-length: axios cuts the connection
      // and rejects with ERR_BAD_RESPONSE as soon as the body passes the cap.
      maxContentLength: this.maxResponseBytes,
      maxBodyLength: MAX_REQUEST_BYTES,
      responseType: 'text',
      transformResponse: [rawBody],
      validateStatus: anyStatus,
      proxy: false,
    };
    if (o.axios !== undefined) {
      if (typeof (o.axios as AxiosInstance).request !== 'function') throw invalidOption('axios', 'must be an axios instance');
      this.#http = o.axios as AxiosInstance;
      this.#perRequest = fixed; // a user's instance keeps its own defaults
    } else {
      // Keep-alive: revocation storms at shutdown reuse connections instead of paying TLS each time.
      // Node's agent unrefs idle sockets, so they never hold the process open.
      this.#agents = { http: new http.Agent({ keepAlive: true, maxSockets: 64 }), https: new https.Agent({ keepAlive: true, maxSockets: 64 }) };
      this.#http = axios.create({ ...fixed, httpAgent: this.#agents.http, httpsAgent: this.#agents.https });
      this.#perRequest = {};
    }
    // Registered once every option is valid, for the client's lifetime (it keeps them that long).
    this.redactor.add(this.#appSecretKey);
    this.redactor.add(this.#appKey);
    for (const extra of this.provider.secretsOf?.(this.#credentials()) ?? []) this.redactor.add(extra);
  }

  #credentials(): { appKey: string; appSecretKey: string } {
    return { appKey: this.#appKey, appSecretKey: this.#appSecretKey };
  }

  /**
   * Issues an access token (the client credentials grant at the provider's token endpoint). Note
   * that brokers keep one live token per app key: at LS issuing kills the previous token of this
   * key; KIS and Kiwoom may answer the live token again (see the provider's `rules`).
   *
   * @throws {@link LsTokenError} `ERR_INVALID_CREDENTIALS`, `ERR_RATE_LIMITED`, `ERR_TIMEOUT`,
   * `ERR_NETWORK`, `ERR_HTTP`, `ERR_LS_REJECTED`, `ERR_BAD_RESPONSE`, `ERR_ABORTED`.
   */
  async issueToken(options: RequestOptions = {}): Promise<IssuedToken> {
    const issuedAt = this.#now();
    const res = await this.#post('token', this.provider.issueRequest(this.#credentials()), options.signal);
    return this.provider.parseIssue(res, issuedAt, this.redactor);
  }

  /**
   * Revokes a token at the provider's revoke endpoint. Resolves `{ outcome: 'already-invalid' }`
   * when the broker says the token is already invalid, unknown or expired (LS IGW00121/00122/00123,
   * KIS EGW00121/00122/00123, Kiwoom 8005): the goal is reached. Tokens longer than a page's field
   * limit are sent whole (LS issues up to 1000 characters).
   */
  async revokeToken(token: string, hint: TokenTypeHint = 'access_token', options: RequestOptions = {}): Promise<RevokeResult> {
    if (typeof token !== 'string' || token.length === 0) throw invalidOption('token', 'must be a non-empty string');
    if (token.length > MAX_REVOKE_TOKEN_LENGTH) throw invalidOption('token', `must be at most ${MAX_REVOKE_TOKEN_LENGTH} characters`);
    if (/\s/.test(token)) throw invalidOption('token', 'must not contain white space');
    if (hint !== 'access_token' && hint !== 'refresh_token') throw invalidOption('hint', 'must be "access_token" or "refresh_token"');
    // A gateway may echo the token in its error text: scrub it by value for the length of the call.
    this.redactor.add(token);
    try {
      const res = await this.#post('revoke', this.provider.revokeRequest(this.#credentials(), token, hint), options.signal, tokenFingerprint(token));
      return this.provider.parseRevoke(res, this.#now(), this.redactor);
    } finally {
      this.redactor.delete(token);
    }
  }

  /**
   * Reads the broker's clock from the `Date` header of a `HEAD /` to the gateway (no credentials,
   * no body; whatever the status). With the send and receive times it bounds the offset between
   * this host's clock and the broker's, which decides when a token really ends (LS's 07:00 KST
   * cut-off, Kiwoom's `expires_dt`). `undefined` when the answer has no usable `Date` header.
   *
   * @throws {@link LsTokenError} `ERR_TIMEOUT`, `ERR_NETWORK`, `ERR_ABORTED`.
   */
  async serverTime(options: RequestOptions = {}): Promise<ServerTimeSample | undefined> {
    const deadline = AbortSignal.timeout(this.timeoutMs);
    const signal = options.signal === undefined ? deadline : AbortSignal.any([deadline, options.signal]);
    const sentAt = this.#now();
    let date: unknown;
    try {
      const res = await this.#http.request({
        method: 'HEAD',
        url: `${this.baseUrl}/`,
        timeout: this.timeoutMs,
        signal,
        maxRedirects: 0,
        // HEAD has no body, but a broken gateway may send one anyway: the same cap as every call.
        maxContentLength: this.maxResponseBytes,
        maxBodyLength: MAX_REQUEST_BYTES,
        validateStatus: () => true,
        proxy: false,
      });
      date = res.headers['date'];
    } catch (err) {
      throw this.#transportError(`${this.provider.name} clock probe`, err, deadline, options.signal, this.baseUrl);
    }
    return this.#dated(date, sentAt);
  }

  /**
   * Calls `listener` with the broker's clock read from every answer this client receives (token,
   * revoke and clock probe alike, error answers included) that carries a usable `Date` header.
   * The lifecycle keeps its estimate of the broker's clock alive this way. A listener that throws
   * is ignored. Returns a function that removes the listener.
   */
  onServerTime(listener: (sample: ServerTimeSample) => void): () => void {
    if (typeof listener !== 'function') throw invalidOption('listener', 'must be a function');
    this.#timeListeners.add(listener);
    return () => void this.#timeListeners.delete(listener);
  }

  /** The sample an answer's `Date` header gives (told to the listeners), or `undefined`. */
  #dated(date: unknown, sentAt: number): ServerTimeSample | undefined {
    const receivedAt = this.#now();
    const serverMs = typeof date === 'string' ? Date.parse(date) : NaN;
    if (!Number.isFinite(serverMs)) return undefined;
    const sample = { sentAt, receivedAt, serverMs };
    for (const listener of this.#timeListeners) {
      try {
        listener(sample);
      } catch {
        // An observer's trouble is not the request's.
      }
    }
    return sample;
  }

  /** Closes the client's own keep-alive sockets (not those of a user-supplied axios instance). */
  close(): void {
    this.#agents?.http.destroy();
    this.#agents?.https.destroy();
  }

  async #post(endpoint: string, req: ProviderRequest, userSignal?: AbortSignal, fp?: string): Promise<RawResponse> {
    const name = this.provider.name;
    const what = fp === undefined ? `${name} ${endpoint}` : `${name} ${endpoint} of token ${fp}`;
    if (userSignal?.aborted) throw new LsTokenError(ErrorCodes.ABORTED, `${what} was aborted before it was sent`);
    // axios `timeout` is an idle timeout; the signal makes it a real deadline.
    const deadline = AbortSignal.timeout(this.timeoutMs);
    const signal = userSignal === undefined ? deadline : AbortSignal.any([deadline, userSignal]);
    const sentAt = this.#now();
    let res: AxiosResponse<string>;
    try {
      res = await this.#http.request<string>({
        ...this.#perRequest,
        url: req.url ?? this.baseUrl + req.path,
        data: req.body,
        headers: { ...req.headers },
        signal,
      });
    } catch (err) {
      throw this.#transportError(what, err, deadline, userSignal, req.url ?? this.baseUrl + req.path);
    }
    this.#dated(res.headers['date'], sentAt);
    const retryAfter = res.headers['retry-after'];
    return {
      status: res.status,
      body: typeof res.data === 'string' ? res.data : '',
      retryAfter: typeof retryAfter === 'string' ? retryAfter : undefined,
    };
  }

  // The axios error holds the request config, whose body holds the secret: the cause is a scrubbed
  // summary of it (name, message, code), and our own message is built from the error code only.
  #transportError(what: string, err: unknown, deadline: AbortSignal, userSignal: AbortSignal | undefined, url: string): LsTokenError {
    const rawCode = (err as { code?: unknown } | null)?.code;
    const code = typeof rawCode === 'string' && /^[A-Z0-9_]{1,40}$/i.test(rawCode) ? rawCode : undefined;
    const cause = summarizeCause(err, this.redactor);
    if (userSignal?.aborted && !deadline.aborted) {
      return new LsTokenError(ErrorCodes.ABORTED, `${what} was aborted`, { cause });
    }
    if (code === 'ERR_BAD_RESPONSE' && /maxContentLength/.test((err as { message?: unknown }).message as string)) {
      return new LsTokenError(ErrorCodes.BAD_RESPONSE, `${what} answered with a body larger than maxResponseBytes (${this.maxResponseBytes} bytes); it was cut off unread`, {
        cause,
        retryable: true,
      });
    }
    if (deadline.aborted || code === 'ECONNABORTED' || code === 'ETIMEDOUT') {
      return new LsTokenError(ErrorCodes.TIMEOUT, `${what} timed out after ${this.timeoutMs} ms`, { cause, retryable: true });
    }
    // Which address could not be reached: origin and path only (no credentials or query a URL may carry).
    const where = safeUrl(url);
    if (code !== undefined) {
      return new LsTokenError(ErrorCodes.NETWORK, `${what} failed: ${code} (${where})`, { cause, retryable: true });
    }
    return new LsTokenError(ErrorCodes.NETWORK, `${what} failed (${err instanceof Error ? cause.name : typeof err}; ${where})`, { cause, retryable: true });
  }

  /** Safe summary: provider and base URL, never credentials. */
  toJSON(): {
    /** The provider's id. */
    provider: string;
    /** The base URL. */
    baseUrl: string;
    /** The request deadline, ms. */
    timeoutMs: number;
    /** The largest response body read, bytes. */
    maxResponseBytes: number;
  } {
    return { provider: this.provider.id, baseUrl: this.baseUrl, timeoutMs: this.timeoutMs, maxResponseBytes: this.maxResponseBytes };
  }

  /** `util.inspect` never shows the app key or secret. */
  [inspect.custom](): string {
    return `${this.constructor.name} { provider: '${this.provider.id}', baseUrl: '${this.baseUrl}', timeoutMs: ${this.timeoutMs}, maxResponseBytes: ${this.maxResponseBytes} }`;
  }
}
