/**
 * axios integration: put the lifecycle's token on every broker request, and when the broker says
 * the token is dead (LS: IGW00121 invalid, IGW00122 unknown, IGW00123 expired, in the body; other
 * brokers: their provider's dead-token codes), get a fresh token once and repeat once. Classified by the LS code in the body, never by the HTTP status: LS sends its
 * codes with 200, 401, 403 or 500 alike, and a 401 with IGW40342 (no permission for this TR) is no
 * reason to re-issue (which would kill every sibling's token).
 *
 * The token goes only to the origin of the provider's base URL (plus the origins the caller
 * names): an absolute URL on the attached instance (a redirect target copied from a body, a
 * third-party endpoint called through the same instance) must not carry a bearer token that trades
 * on the account.
 */
import type { AxiosError, AxiosInstance, AxiosResponse, InternalAxiosRequestConfig } from 'axios';
import { invalidOption } from '../core/errors.js';

/** The part of a lifecycle `attach` needs. */
export interface TokenSource {
  /** The token to send now. */
  getAccessToken(): Promise<string>;
  /** Reports `token` rejected by the broker; resolves with the token to retry with. */
  invalidate(token: string): Promise<string>;
  /**
   * Whether an answer body (parsed JSON or its text) says the token is dead, by the broker's own
   * code. Default: LS's IGW00121/22/23 in `rsp_cd`, `error_code` or `code`. A lifecycle answers by
   * its provider (KIS's EGW00121/22/23, Kiwoom's codes, ...).
   */
  isDeadTokenAnswer?(body: unknown): boolean;
  /**
   * The broker's base URL (a lifecycle's `baseUrl`): the token is sent to its origin only (and to
   * {@link AttachOptions.origins}). Without it, the origin of the instance's `baseURL` at attach time.
   */
  readonly baseUrl?: string;
}

/** Options of {@link attachToAxios}. */
export interface AttachOptions {
  /**
   * Which requests get the token, among those to an allowed origin. Default: all but LS's own
   * `/oauth2/` endpoints.
   */
  filter?: (config: InternalAxiosRequestConfig) => boolean;
  /**
   * More origins (`https://host:port`; a URL is reduced to its origin) that get the token besides
   * the origin of the provider's base URL. Default: none. A request to any other origin is sent
   * without `Authorization`.
   */
  origins?: readonly string[];
}

const RETRIED = Symbol('ls-token-lifecycle.retried');
const INVALID_TOKEN_CODES = new Set(['IGW00121', 'IGW00122', 'IGW00123']);

type Marked = InternalAxiosRequestConfig & { [RETRIED]?: boolean };

/** LS's answer: a dead-token code in `rsp_cd`, `error_code` or `code`. */
function lsDeadTokenAnswer(data: unknown): boolean {
  return INVALID_TOKEN_CODES.has(bodyCode(data) ?? '');
}

function bodyCode(data: unknown): string | undefined {
  let body = data;
  if (typeof body === 'string') {
    try {
      body = JSON.parse(body);
    } catch {
      return undefined;
    }
  }
  if (typeof body !== 'object' || body === null) return undefined;
  const b = body as Record<string, unknown>;
  const code = b.rsp_cd ?? b.error_code ?? b.code;
  return typeof code === 'string' ? code : undefined;
}

/** The origin of `url`, or `undefined` for anything that is not an absolute http(s) URL. */
function originOf(url: string | undefined): string | undefined {
  if (url === undefined || url === '') return undefined;
  try {
    const u = new URL(url);
    return u.protocol === 'http:' || u.protocol === 'https:' ? u.origin : undefined;
  } catch {
    return undefined;
  }
}

/** The origins that may receive the token: checked once, at attach time. */
function allowedOrigins(source: TokenSource, instance: AxiosInstance, options: AttachOptions): ReadonlySet<string> {
  const out = new Set<string>();
  if (options.origins !== undefined) {
    if (!Array.isArray(options.origins)) throw invalidOption('origins', 'must be an array of http(s) URLs or origins');
    options.origins.forEach((o: unknown, i) => {
      const origin = typeof o === 'string' ? originOf(o) : undefined;
      if (origin === undefined) throw invalidOption(`origins[${i}]`, 'must be an absolute http(s) URL or origin');
      out.add(origin);
    });
  }
  const base = originOf(source.baseUrl) ?? originOf(instance.defaults.baseURL);
  if (base !== undefined) out.add(base);
  if (out.size === 0) throw invalidOption('origins', 'must name where the token may go: the token source has no baseUrl and the instance no baseURL');
  return out;
}

function bearerOf(config: InternalAxiosRequestConfig): string | undefined {
  const h = config.headers?.get?.('authorization') ?? (config.headers as Record<string, unknown> | undefined)?.authorization;
  return typeof h === 'string' && h.startsWith('Bearer ') ? h.slice(7) : undefined;
}

/**
 * Adds the interceptors to `instance` and returns a function that removes them.
 * Use it through `lifecycle.attach(instance)`.
 */
export function attachToAxios(source: TokenSource, instance: AxiosInstance, options: AttachOptions = {}): () => void {
  const wanted = options.filter ?? ((c: InternalAxiosRequestConfig) => !String(c.url ?? '').includes('/oauth2/'));
  const origins = allowedOrigins(source, instance, options);
  // The full URL as axios will send it (baseURL, absolute url, allowAbsoluteUrls all applied).
  const filter = (c: InternalAxiosRequestConfig): boolean => {
    let target: string | undefined;
    try {
      target = originOf(instance.getUri(c));
    } catch {
      target = undefined;
    }
    return target !== undefined && origins.has(target) && wanted(c);
  };
  const deadToken = source.isDeadTokenAnswer?.bind(source) ?? lsDeadTokenAnswer;
  const reqId = instance.interceptors.request.use(async (config) => {
    if (!filter(config)) return config;
    config.headers.set('authorization', `Bearer ${await source.getAccessToken()}`);
    return config;
  });

  const retry = async (config: Marked): Promise<AxiosResponse> => {
    const used = bearerOf(config);
    const fresh = used === undefined ? await source.getAccessToken() : await source.invalidate(used);
    config[RETRIED] = true;
    config.headers.set('authorization', `Bearer ${fresh}`);
    return instance.request(config);
  };
  const shouldRetry = (config: Marked | undefined, data: unknown): config is Marked =>
    config !== undefined && config[RETRIED] !== true && filter(config) && deadToken(data);

  const resId = instance.interceptors.response.use(
    async (res) => (shouldRetry(res.config as Marked, res.data) ? retry(res.config as Marked) : res),
    async (err: AxiosError) => {
      if (shouldRetry(err.config as Marked | undefined, err.response?.data)) return retry(err.config as Marked);
      throw err;
    },
  );
  return () => {
    instance.interceptors.request.eject(reqId);
    instance.interceptors.response.eject(resId);
  };
}
