/**
 * The mock's control endpoint, for daemons written in any language: arm faults, read the state,
 * kill tokens and move the clock over HTTP. Off unless the server was started with `control: true`
 * (`mock-server --control`); it answers loopback callers only, whose `Host` names a loopback host
 * (a page in a local browser can rebind its own domain to 127.0.0.1, but its requests still say
 * that domain in `Host`), and its `POST`s need
 * `content-type: application/json` (so a web page cannot reach it with a "simple" cross-origin
 * request). Broker-neutral: a KIS or Kiwoom mock serves the same paths with the same bodies.
 *
 * See {@link handleControlRequest} for the requests it answers.
 *
 * @module
 */
import { parseFaultSpec, validateFault, type MockFault, type MockFaultState } from './faults.js';
import { jsonResponse, type MockRequest, type MockResponse } from './wire.js';

/** The path prefix of the control endpoint; reserved (404) when the endpoint is off. */
export const MOCK_CONTROL_PREFIX = '/__mock/';

/** What the control endpoint needs from a model. */
export interface MockControlTarget {
  /** Arms a fault. */
  inject(fault: MockFault): () => void;
  /** Disarms every fault. */
  clearFaults(): void;
  /** The armed faults. */
  faults(): MockFaultState[];
  /** Kills the live tokens of an app key (all keys when omitted); returns how many. */
  killTokens(appKey?: string): number;
  /** The model's clock, epoch ms. */
  now(): number;
  /** The current clock offset, ms. */
  clockOffsetMs(): number;
  /** Sets the clock offset, ms. */
  setClockOffset(offsetMs: number): void;
  /** A JSON-safe snapshot. */
  state(): unknown;
}

/** Whether a socket's remote address is a loopback address (127.0.0.0/8, ::1, or IPv4-mapped 127.x). */
export function isLoopbackAddress(address: string | undefined): boolean {
  if (address === undefined) return false;
  const v4 = address.startsWith('::ffff:') ? address.slice(7) : address;
  return v4.startsWith('127.') || address === '::1';
}

/**
 * Whether a `Host` header names a loopback host, with any port: `localhost` or a name under
 * `.localhost` (browsers resolve those to loopback themselves, so DNS cannot rebind them),
 * 127.0.0.0/8, or `[::1]`. Anything else, and a missing header, is not.
 */
export function isLoopbackHost(host: string | undefined): boolean {
  if (host === undefined) return false;
  const h = host.trim().toLowerCase();
  let name: string;
  if (h.startsWith('[')) {
    const m = /^\[([0-9a-f:.]+)\](?::\d{1,5})?$/.exec(h);
    if (m === null) return false;
    name = m[1]!;
    return isLoopbackAddress(name);
  }
  const m = /^([a-z0-9.-]+)(?::\d{1,5})?$/.exec(h);
  if (m === null) return false;
  name = m[1]!.replace(/\.$/, '');
  if (name === 'localhost' || name.endsWith('.localhost')) return true;
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(name);
}

function error(status: number, message: string): MockResponse {
  return jsonResponse(status, { error: message });
}

function readJson(req: MockRequest): { ok: true; value: unknown } | { ok: false; response: MockResponse } {
  const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (type !== 'application/json') return { ok: false, response: error(415, 'send the body as content-type: application/json') };
  if (req.body.trim() === '') return { ok: true, value: {} };
  try {
    return { ok: true, value: JSON.parse(req.body) as unknown };
  } catch {
    return { ok: false, response: error(400, 'the body is not valid JSON') };
  }
}

function toFaults(value: unknown): MockFault[] {
  const items = Array.isArray(value) ? value : [value];
  if (items.length === 0) throw new Error('no fault given');
  return items.map((x) => (typeof x === 'string' ? parseFaultSpec(x) : validateFault(x)));
}

function objectBody(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}

function clockBody(target: MockControlTarget, value: unknown): MockResponse {
  const b = objectBody(value);
  if (b === undefined) return error(400, 'expected { "offsetMs": n } or { "at": <ISO time or epoch ms> }');
  if (b.offsetMs !== undefined) {
    if (typeof b.offsetMs !== 'number' || !Number.isFinite(b.offsetMs)) return error(400, 'offsetMs must be a finite number');
    target.setClockOffset(b.offsetMs);
  } else if (b.at !== undefined) {
    const at = typeof b.at === 'number' ? b.at : typeof b.at === 'string' ? Date.parse(b.at) : Number.NaN;
    if (!Number.isFinite(at)) return error(400, 'at must be an ISO 8601 time or epoch ms');
    target.setClockOffset(at - (target.now() - target.clockOffsetMs()));
  } else {
    return error(400, 'expected { "offsetMs": n } or { "at": <ISO time or epoch ms> }');
  }
  return jsonResponse(200, { now: new Date(target.now()).toISOString(), clockOffsetMs: target.clockOffsetMs() });
}

function postOnly(req: MockRequest, fn: (body: unknown) => MockResponse): MockResponse {
  if (req.method !== 'POST') return error(405, `use POST on ${req.path}`);
  const body = readJson(req);
  return body.ok ? fn(body.value) : body.response;
}

/**
 * Answers one request to the control endpoint (a path under {@link MOCK_CONTROL_PREFIX}).
 * `remoteAddress` is the caller's socket address: anything but loopback gets 403, and so does a
 * request whose `Host` header is not a loopback name or address (DNS rebinding). Its `POST`s need
 * `content-type: application/json` (a web page cannot send that cross-origin without a preflight).
 *
 * | request | body | answer |
 * |---|---|---|
 * | `GET /__mock/state` | | `200` the model's state (counters, faults, live tokens, clock) |
 * | `GET /__mock/faults` | | `200 { "faults": [...] }` |
 * | `POST /__mock/faults` | a fault `{ "endpoint": "token", "kind": "http500", "count": 2 }`, a text form `"token:http500:2"`, or an array of either | `201 { "added": n, "faults": [...] }` |
 * | `DELETE /__mock/faults` | | `200 { "cleared": n }` |
 * | `POST /__mock/tokens/kill` | `{}` or `{ "appKey": "..." }` | `200 { "killed": n }`: live tokens die as if another process had issued |
 * | `POST /__mock/clock` | `{ "offsetMs": n }` or `{ "at": "2024-03-15T06:59:00+09:00" }` | `200 { "now": iso, "clockOffsetMs": n }` |
 *
 * Errors answer `{ "error": "..." }`: 400 bad body, 403 not loopback (caller or `Host`), 404 unknown path,
 * 405 wrong method, 415 not JSON.
 *
 * @example
 * ```sh
 * ls-token mock-server --control --port 8080 &
 * curl -s -X POST localhost:8080/__mock/faults -H 'content-type: application/json' -d '"revoke:http500:2"'
 * curl -s localhost:8080/__mock/state
 * ```
 */
export function handleControlRequest(target: MockControlTarget, req: MockRequest, remoteAddress: string | undefined): MockResponse {
  if (!isLoopbackAddress(remoteAddress)) return error(403, 'the mock control endpoint answers loopback callers only');
  if (!isLoopbackHost(req.headers['host'])) return error(403, 'the mock control endpoint answers requests for a loopback Host only (localhost, 127.0.0.1, [::1])');
  switch (req.path) {
    case '/__mock/state':
      return req.method === 'GET' ? jsonResponse(200, target.state()) : error(405, 'use GET on /__mock/state');
    case '/__mock/faults':
      if (req.method === 'GET') return jsonResponse(200, { faults: target.faults() });
      if (req.method === 'DELETE') {
        const cleared = target.faults().length;
        target.clearFaults();
        return jsonResponse(200, { cleared });
      }
      return postOnly(req, (value) => {
        let faults: MockFault[];
        try {
          faults = toFaults(value);
        } catch (err) {
          return error(400, err instanceof Error ? err.message : 'invalid fault');
        }
        for (const f of faults) target.inject(f);
        return jsonResponse(201, { added: faults.length, faults: target.faults() });
      });
    case '/__mock/tokens/kill':
      return postOnly(req, (value) => {
        const b = objectBody(value);
        if (b === undefined || (b.appKey !== undefined && (typeof b.appKey !== 'string' || b.appKey === ''))) {
          return error(400, 'expected {} or { "appKey": "<app key>" }');
        }
        return jsonResponse(200, { killed: target.killTokens(b.appKey as string | undefined) });
      });
    case '/__mock/clock':
      return postOnly(req, (value) => clockBody(target, value));
    default:
      return error(404, 'unknown control path (see /__mock/state, /__mock/faults, /__mock/tokens/kill, /__mock/clock)');
  }
}
