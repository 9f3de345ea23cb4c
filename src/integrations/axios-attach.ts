/**
 * axios integration: put the lifecycle's token on every broker request, and when the broker says
 * the token is dead (LS: IGW00121 invalid, IGW00122 unknown, IGW00123 expired, in the body; other
 * brokers: their provider's dead-token codes), get a fresh token once and repeat once. Classified by the LS code in the body, never by the HTTP status: LS sends its
 * codes with 200, 401, 403 or 500 alike, and a 401 with IGW40342 (no permission for this TR) is no
 * reason to re-issue (which would kill every sibling's token).
 */
import type { AxiosError, AxiosInstance, AxiosResponse, InternalAxiosRequestConfig } from 'axios';

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
}

/** Options of {@link attachToAxios}. */
export interface AttachOptions {
  /** Which requests get the token. Default: all but LS's own `/oauth2/` endpoints. */
  filter?: (config: InternalAxiosRequestConfig) => boolean;
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

function bearerOf(config: InternalAxiosRequestConfig): string | undefined {
  const h = config.headers?.get?.('authorization') ?? (config.headers as Record<string, unknown> | undefined)?.authorization;
  return typeof h === 'string' && h.startsWith('Bearer ') ? h.slice(7) : undefined;
}

/**
 * Adds the interceptors to `instance` and returns a function that removes them.
 * Use it through `lifecycle.attach(instance)`.
 */
export function attachToAxios(source: TokenSource, instance: AxiosInstance, options: AttachOptions = {}): () => void {
  const filter = options.filter ?? ((c: InternalAxiosRequestConfig) => !String(c.url ?? '').includes('/oauth2/'));
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
