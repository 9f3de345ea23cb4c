/**
 * An axios adapter onto a mock model: axios requests reach the model with no socket, so a test
 * can drive days of LS traffic under jest's fake timers in seconds.
 *
 * It behaves like axios's own HTTP adapter where the library depends on it:
 * - latency and `hang` faults wait on the global `setTimeout` (which fake timers control), looked
 *   up at call time; with no latency the answer comes on the next microtask, without any timer;
 * - `config.timeout` (> 0) rejects with an `AxiosError` coded `ECONNABORTED` (`ETIMEDOUT` with
 *   `transitional.clarifyTimeoutError`) and axios's message `timeout of <ms>ms exceeded`;
 * - `config.signal` (and a `cancelToken`) reject with axios's `CanceledError` (`ERR_CANCELED`);
 * - a `reset` fault rejects with an `AxiosError` coded `ECONNRESET` (`socket hang up`);
 * - the answer carries `status`, `statusText`, lower-case `headers` (as `AxiosHeaders`,
 *   `retry-after` and the TR headers included) and the raw body text as `data` (a `Buffer` for
 *   `responseType: 'arraybuffer'`), which axios then runs through `transformResponse`;
 * - `validateStatus` decides between resolve and reject, as axios's `settle` does.
 *
 * Every timer it starts is cleared when the request settles, so nothing is left pending in
 * `jest.getTimerCount()`.
 *
 * @module
 */
import { STATUS_CODES } from 'node:http';
import { AxiosError, AxiosHeaders, CanceledError, type AxiosAdapter, type AxiosResponse, type InternalAxiosRequestConfig } from 'axios';
import { mockOptionError } from './faults.js';
import type { LsModel } from './ls-model.js';
import type { MockExchange, MockRequest, MockResponse } from './wire.js';

/** Anything that takes requests the way a mock model does. */
export interface MockTransportTarget {
  /** Takes one request; see {@link MockExchange}. */
  receive(request: MockRequest): MockExchange;
}

/** Options of {@link mockAxiosAdapter} and {@link mockLsAxiosAdapter}. */
export interface MockAxiosAdapterOptions {
  /** Delay before every answer (faults included), in ms, on the global `setTimeout`. Default `0`. */
  latencyMs?: number;
}

function absoluteUrl(config: InternalAxiosRequestConfig): URL {
  const url = config.url ?? '';
  const out =
    /^[a-z][a-z\d+.-]*:\/\//i.test(url) || config.baseURL === undefined
      ? new URL(url, 'http://mock.invalid/')
      : new URL(`${config.baseURL.replace(/\/+$/, '')}/${url.replace(/^\/+/, '')}`);
  // `params` as a plain object or URLSearchParams go into the query string, as axios's http adapter puts them.
  const params: unknown = config.params;
  if (params instanceof URLSearchParams) for (const [k, v] of params) out.searchParams.append(k, v);
  else if (typeof params === 'object' && params !== null) {
    for (const [k, v] of Object.entries(params as Record<string, unknown>)) if (v !== undefined && v !== null) out.searchParams.append(k, String(v));
  }
  return out;
}

function bodyText(data: unknown): string {
  if (data === undefined || data === null) return '';
  if (typeof data === 'string') return data;
  if (data instanceof Uint8Array) return Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('utf8');
  if (data instanceof ArrayBuffer) return Buffer.from(data).toString('utf8');
  if (data instanceof URLSearchParams) return data.toString();
  return JSON.stringify(data);
}

function requestHeaders(config: InternalAxiosRequestConfig): Record<string, string> {
  const out: Record<string, string> = {};
  const raw = AxiosHeaders.from(config.headers as ConstructorParameters<typeof AxiosHeaders>[0]).toJSON() as Record<string, unknown>;
  for (const [name, value] of Object.entries(raw)) {
    if (value === undefined || value === null || value === false) continue;
    out[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : String(value);
  }
  return out;
}

/**
 * An axios adapter onto any mock model ({@link MockTransportTarget}); see the module description.
 *
 * @throws LsTokenError `ERR_INVALID_OPTION` for an invalid `latencyMs`.
 */
export function mockAxiosAdapter(target: MockTransportTarget, options: MockAxiosAdapterOptions = {}): AxiosAdapter {
  const latencyMs = options.latencyMs ?? 0;
  if (typeof latencyMs !== 'number' || !Number.isFinite(latencyMs) || latencyMs < 0) {
    throw mockOptionError('latencyMs', `latencyMs must be a finite number >= 0, got ${String(latencyMs)}`);
  }
  if (typeof target?.receive !== 'function') throw mockOptionError('model', 'the adapter needs a mock model (with receive())');

  return (config) =>
    new Promise<AxiosResponse>((resolve, reject) => {
      const url = absoluteUrl(config);
      const request = { method: (config.method ?? 'get').toUpperCase(), url: url.toString() };
      const timers: ReturnType<typeof setTimeout>[] = [];
      let exchange: MockExchange | undefined;
      let settled = false;
      const signal = config.signal;

      const finish = (): boolean => {
        if (settled) return false;
        settled = true;
        for (const t of timers) clearTimeout(t);
        signal?.removeEventListener?.('abort', onAbort);
        exchange?.end();
        return true;
      };
      const fail = (err: unknown): void => {
        if (finish()) reject(err);
      };
      function onAbort(): void {
        fail(new CanceledError(undefined, config, request));
      }
      const after = (ms: number, fn: () => void): void => {
        if (ms <= 0) void Promise.resolve().then(() => !settled && fn());
        else timers.push(setTimeout(() => !settled && fn(), ms));
      };
      const deliver = (res: MockResponse): void => {
        if (!finish()) return;
        const response: AxiosResponse = {
          data: config.responseType === 'arraybuffer' ? Buffer.from(res.body, 'utf8') : res.body,
          status: res.status,
          statusText: STATUS_CODES[res.status] ?? '',
          headers: new AxiosHeaders({ ...res.headers, 'content-length': String(Buffer.byteLength(res.body)) }),
          config,
          request,
        };
        const validate = config.validateStatus;
        if (validate === undefined || validate === null || validate(res.status)) resolve(response);
        else {
          const code = res.status >= 400 && res.status < 500 ? AxiosError.ERR_BAD_REQUEST : AxiosError.ERR_BAD_RESPONSE;
          reject(new AxiosError(`Request failed with status code ${res.status}`, code, config, request, response));
        }
      };

      if (signal?.aborted) return onAbort();
      signal?.addEventListener?.('abort', onAbort);
      void config.cancelToken?.promise.then((reason) => fail(reason ?? new CanceledError(undefined, config, request)));
      const timeout = config.timeout ?? 0;
      if (timeout > 0) {
        timers.push(
          setTimeout(() => {
            const code = config.transitional?.clarifyTimeoutError ? AxiosError.ETIMEDOUT : AxiosError.ECONNABORTED;
            fail(new AxiosError(config.timeoutErrorMessage ?? `timeout of ${timeout}ms exceeded`, code, config, request));
          }, timeout),
        );
      }

      exchange = target.receive({ method: request.method, path: url.pathname, query: url.search.replace(/^\?/, ''), headers: requestHeaders(config), body: bodyText(config.data) });
      const plan = exchange.plan;
      if (plan.kind === 'answer') after(latencyMs, () => deliver(plan.response));
      else if (plan.kind === 'reset') after(latencyMs, () => fail(new AxiosError('socket hang up', 'ECONNRESET', config, request)));
      else if (plan.ms !== undefined) {
        after(plan.ms, () => {
          const res = exchange!.resume(); // the gateway does the work when the hang ends; latency delays only the answer
          after(latencyMs, () => deliver(res));
        });
      }
      // a hang without hangMs never answers: only the timeout, the signal or the cancel token end it
    });
}

/**
 * An axios adapter onto an LS model: `LsOAuthClient` (or any axios code) talks to the model with
 * no socket. The base URL is not contacted; any URL with LS's paths works (a loopback one passes
 * the client's plain-http check).
 *
 * @example
 * ```ts
 * jest.useFakeTimers({ now: Date.UTC(2024, 2, 14, 21, 59) }); // 06:59 KST
 * const model = createLsModel({ jwtSecret: 'fixed-secret-for-replays', random: seededRandom(7) });
 * const client = new LsOAuthClient({
 *   appKey: 'k', appSecretKey: 's', baseUrl: 'http://127.0.0.1:9',
 *   axios: axios.create({ adapter: mockLsAxiosAdapter(model, { latencyMs: 20 }) }),
 * });
 * const pending = client.issueToken();
 * await jest.advanceTimersByTimeAsync(20);
 * const token = await pending; // lives 60 s: it dies at 07:00 KST
 * ```
 * @throws LsTokenError `ERR_INVALID_OPTION` for an invalid `latencyMs`.
 */
export function mockLsAxiosAdapter(model: LsModel, options: MockAxiosAdapterOptions = {}): AxiosAdapter {
  return mockAxiosAdapter(model, options);
}
