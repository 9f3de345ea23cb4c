/**
 * Plumbing shared by the examples, kept out of them so that each example shows only the library:
 * where LS is (its own mock server unless `LS_BASE_URL` is set), the credentials, `--duration S`,
 * a paced work loop and one sample TR call. Not an example itself.
 */
import { parseArgs } from 'node:util';
import type { AxiosInstance } from 'axios';
import { startMockLsServer, type MockLsServer, type MockLsServerOptions } from '../src/testing/index.js';

/** Where an example runs and for how long. */
export interface ExampleSetup {
  /** LS (or mock) base URL. */
  readonly baseUrl: string;
  /** App key: `LS_APPKEY`, or a demo key for the mock. */
  readonly appKey: string;
  /** App secret: `LS_APPSECRETKEY`, or a demo secret for the mock. */
  readonly appSecretKey: string;
  /** The example's own mock server, when `LS_BASE_URL` is not set. */
  readonly mock: MockLsServer | undefined;
  /** `--duration S` in ms; `undefined` runs until Ctrl-C. */
  readonly durationMs: number | undefined;
  /** The other command-line options the example declared. */
  readonly values: Readonly<Record<string, string | boolean | undefined>>;
  /** Prints `[name] message` on stderr (stdout is left to the example's own output). */
  log(message: string): void;
  /** Closes the mock server, if the example started one. */
  close(): Promise<void>;
}

/** Extra options an example declares (all take a string value). */
export type ExtraOptions = Record<string, { type: 'string' | 'boolean' }>;

/**
 * Reads `--duration S` (and `extra` options), then starts a mock LS server with `mock` options
 * unless `LS_BASE_URL` is set, in which case `LS_APPKEY` and `LS_APPSECRETKEY` are required.
 */
export async function setUp(name: string, options: { mock?: MockLsServerOptions; extra?: ExtraOptions } = {}): Promise<ExampleSetup> {
  const log = (message: string): void => void process.stderr.write(`[${name}] ${message}\n`);
  const { values } = parseArgs({ options: { duration: { type: 'string' }, ...options.extra }, strict: true, allowPositionals: false });
  const duration = values.duration === undefined ? undefined : Number(values.duration);
  if (duration !== undefined && !(Number.isFinite(duration) && duration > 0)) {
    log('--duration takes a number of seconds, e.g. --duration 5');
    process.exit(2);
  }
  const env = process.env;
  let mock: MockLsServer | undefined;
  let baseUrl = env['LS_BASE_URL'];
  let appKey = env['LS_APPKEY'];
  let appSecretKey = env['LS_APPSECRETKEY'];
  if (baseUrl === undefined || baseUrl === '') {
    // LS's 07:00 KST cut-off is off unless an example asks for it: an example must show the same
    // thing at any hour (examples/trading-day.ts rehearses the cut-off on a pinned clock).
    mock = await startMockLsServer({ cutoffKst: null, ...options.mock });
    baseUrl = mock.url;
    appKey = 'demo-app-key';
    appSecretKey = 'demo-app-secret';
    log(`LS mock server at ${mock.url} (set LS_BASE_URL, LS_APPKEY, LS_APPSECRETKEY to use real LS)`);
  } else if (!appKey || !appSecretKey) {
    log('LS_BASE_URL is set: LS_APPKEY and LS_APPSECRETKEY are required too');
    process.exit(2);
  }
  return {
    baseUrl,
    appKey: appKey!,
    appSecretKey: appSecretKey!,
    mock,
    durationMs: duration === undefined ? undefined : duration * 1000,
    values: values as Record<string, string | boolean | undefined>,
    log,
    close: async () => mock?.close(),
  };
}

/**
 * Calls `fn` every `intervalMs` until `durationMs` has passed (if given) or `stop()` says so.
 * Errors of `fn` are handed to `onError`; the loop goes on.
 */
export async function every(
  intervalMs: number,
  fn: () => Promise<void>,
  opts: { durationMs: number | undefined; stop?: () => boolean; onError?: (err: unknown) => void },
): Promise<void> {
  const endAt = opts.durationMs === undefined ? Infinity : Date.now() + opts.durationMs;
  while (Date.now() < endAt && opts.stop?.() !== true) {
    try {
      await fn();
    } catch (err) {
      opts.onError?.(err);
    }
    await new Promise((r) => setTimeout(r, Math.max(0, Math.min(intervalMs, endAt - Date.now()))));
  }
}

/**
 * One sample TR call, t1102 (current price of Samsung Electronics, 005930), through an axios
 * instance the lifecycle is attached to. Returns LS's `rsp_cd` (`00000` is success).
 */
export async function sampleTrCall(http: AxiosInstance): Promise<string> {
  const res = await http.post<{ rsp_cd?: string }>(
    '/stock/market-data',
    { t1102InBlock: { shcode: '005930' } },
    { headers: { tr_cd: 't1102', tr_cont: 'N', tr_cont_key: '' } },
  );
  return String(res.data.rsp_cd ?? `HTTP ${res.status}`);
}

/** The first 12 hex digits of a token id, as logs and `ls-token list` show it. */
export function short(id: string | undefined): string {
  return id === undefined ? '-' : id.slice(0, 12);
}
