/**
 * Injected faults: their types, validation, the `endpoint:kind[:count]` text form used by the
 * `mock-server` command, and the table a model picks them from. Broker-neutral: a fault names a
 * logical endpoint (`token`, `revoke`, `tr`); each broker's model decides what the fault looks like
 * on the wire.
 *
 * @module
 */
import { ErrorCodes, LsTokenError } from '../core/errors.js';

/** Mock options are checked like the library's: a typed LsTokenError naming the field. */
export function mockOptionError(field: string, message: string): LsTokenError {
  return new LsTokenError(ErrorCodes.INVALID_OPTION, `Invalid mock option "${field}": ${message}`, { field });
}

/**
 * The endpoints faults can target: `token` = the token endpoint (`POST /oauth2/token` on LS),
 * `revoke` = the revoke endpoint (`POST /oauth2/revoke`), `tr` = any other `POST` path (a TR call).
 */
export type MockEndpoint = 'token' | 'revoke' | 'tr';

/**
 * What an injected fault does to a matching request. Every JSON answer has the shape LS uses on
 * that endpoint: `{ error_code, error_description }` on the token endpoint, `{ rsp_cd, rsp_msg }`
 * on revoke and TR calls (TR answers also carry the `tr_cont`/`tr_cont_key` headers).
 * - `http500`: HTTP 500 (or `status`) with an LS JSON body. LS publishes no code for its 5xx
 *   answers; the mock sends `IGW00002` with the message "서버 에러가 발생했습니다." (server error).
 * - `http500-text`: HTTP 500 (or `status`), `text/plain` body `Internal Server Error`, no LS code:
 *   what a proxy or load balancer in front of the gateway sends.
 * - `rate-limit`: HTTP 403 with code `IGW00201`, plus `Retry-After` if `retryAfterS` is set.
 * - `invalid-token`: HTTP 401 with code `IGW00121`. On revoke the token is NOT killed.
 * - `malformed`: HTTP 200, `application/json`, a truncated body such as `{"access_tok`.
 * - `hang`: hold the request for `hangMs`, then handle it normally; without `hangMs`, never answer
 *   (until the client gives up or the server closes).
 * - `reset`: drop the connection without answering.
 */
export type MockFaultKind = 'http500' | 'http500-text' | 'rate-limit' | 'invalid-token' | 'malformed' | 'hang' | 'reset';

/** A fault to inject (with `inject`, the control endpoint or `mock-server --fault`). */
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
  /** For `http500` and `http500-text`: the HTTP status, 500..599. Default `500`. */
  status?: number;
}

/** A fault still armed, as listed by the control endpoint's state. */
export interface MockFaultState {
  /** The fault as injected. */
  readonly fault: Readonly<MockFault>;
  /** How many more times it fires (`null`: until removed). */
  readonly remaining: number | null;
}

/** Every fault kind, in documentation order. */
export const FAULT_KINDS: readonly MockFaultKind[] = ['http500', 'http500-text', 'rate-limit', 'invalid-token', 'malformed', 'hang', 'reset'];
const FAULT_ENDPOINTS: readonly string[] = ['token', 'revoke', 'tr', 'any'];
const FAULT_FIELDS: ReadonlySet<string> = new Set(['endpoint', 'kind', 'count', 'rate', 'hangMs', 'retryAfterS', 'status']);

function isNonNegativeFinite(v: unknown): v is number {
  return typeof v === 'number' && Number.isFinite(v) && v >= 0;
}

/**
 * Checks a fault (from code or from JSON) and returns a copy with only the known fields.
 *
 * @throws LsTokenError `ERR_INVALID_OPTION` naming what is wrong.
 */
export function validateFault(value: unknown): MockFault {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw mockOptionError('fault', 'a fault must be an object');
  const f = value as Record<string, unknown>;
  for (const key of Object.keys(f)) {
    if (!FAULT_FIELDS.has(key)) throw mockOptionError('fault', `unknown fault field "${key.slice(0, 40)}" (fields: ${[...FAULT_FIELDS].join(', ')})`);
  }
  if (typeof f.endpoint !== 'string' || !FAULT_ENDPOINTS.includes(f.endpoint)) {
    throw mockOptionError('fault', `fault endpoint must be one of ${FAULT_ENDPOINTS.join(', ')}, got ${JSON.stringify(f.endpoint)}`);
  }
  if (typeof f.kind !== 'string' || !(FAULT_KINDS as readonly string[]).includes(f.kind)) {
    throw mockOptionError('fault', `fault kind must be one of ${FAULT_KINDS.join(', ')}, got ${JSON.stringify(f.kind)}`);
  }
  const out: MockFault = { endpoint: f.endpoint as MockFault['endpoint'], kind: f.kind as MockFaultKind };
  if (f.count !== undefined) {
    if (!(Number.isSafeInteger(f.count) && (f.count as number) > 0)) throw mockOptionError('fault', `fault count must be a positive integer, got ${String(f.count)}`);
    out.count = f.count as number;
  }
  if (f.rate !== undefined) {
    if (!(typeof f.rate === 'number' && f.rate >= 0 && f.rate <= 1)) throw mockOptionError('fault', `fault rate must be a number in 0..1, got ${String(f.rate)}`);
    out.rate = f.rate;
  }
  if (f.hangMs !== undefined) {
    if (!isNonNegativeFinite(f.hangMs)) throw mockOptionError('fault', `fault hangMs must be a finite number >= 0, got ${String(f.hangMs)}`);
    out.hangMs = f.hangMs;
  }
  if (f.retryAfterS !== undefined) {
    if (!isNonNegativeFinite(f.retryAfterS)) throw mockOptionError('fault', `fault retryAfterS must be a finite number >= 0, got ${String(f.retryAfterS)}`);
    out.retryAfterS = f.retryAfterS;
  }
  if (f.status !== undefined) {
    if (!(Number.isInteger(f.status) && (f.status as number) >= 500 && (f.status as number) <= 599)) {
      throw mockOptionError('fault', `fault status must be an integer 500..599, got ${String(f.status)}`);
    }
    out.status = f.status as number;
  }
  return out;
}

/**
 * Parses the text form `endpoint:kind[:count]` (e.g. `token:http500:2`, `any:reset`), as given to
 * `mock-server --fault`.
 *
 * @throws LsTokenError `ERR_INVALID_OPTION`.
 */
export function parseFaultSpec(spec: string): MockFault {
  const parts = spec.trim().split(':');
  if (parts.length < 2 || parts.length > 3) throw mockOptionError('fault', `expected endpoint:kind[:count], e.g. token:http500:2, got ${JSON.stringify(spec.slice(0, 60))}`);
  const [endpoint, kind, count] = parts as [string, string, string | undefined];
  if (count !== undefined && !/^\d+$/.test(count)) throw mockOptionError('fault', `the count in ${JSON.stringify(spec.slice(0, 60))} must be a positive integer`);
  return validateFault({ endpoint, kind, ...(count === undefined ? {} : { count: Number(count) }) });
}

interface FaultEntry {
  readonly fault: MockFault;
  remaining: number;
}

/** The armed faults of one model, checked in injection order. */
export class FaultTable {
  #entries: FaultEntry[] = [];
  /** Faults applied so far. */
  applied = 0;

  /** Arms a (validated) fault; returns a function that disarms it. */
  add(fault: MockFault): () => void {
    const entry: FaultEntry = { fault: { ...fault }, remaining: fault.count ?? (fault.rate === undefined ? 1 : Number.POSITIVE_INFINITY) };
    this.#entries.push(entry);
    return () => {
      this.#entries = this.#entries.filter((e) => e !== entry);
    };
  }

  /** Disarms every fault; returns how many were armed. */
  clear(): number {
    const n = this.#entries.length;
    this.#entries = [];
    return n;
  }

  /** The first armed fault matching `endpoint` (drawing `random` for faults with a `rate`), consumed. */
  pick(endpoint: MockEndpoint, random: () => number): MockFault | undefined {
    if (this.#entries.length === 0) return undefined; // the common case costs nothing
    for (const entry of this.#entries) {
      const f = entry.fault;
      if (f.endpoint !== 'any' && f.endpoint !== endpoint) continue;
      if (f.rate !== undefined && !(random() < f.rate)) continue;
      entry.remaining -= 1;
      if (entry.remaining <= 0) this.#entries = this.#entries.filter((e) => e !== entry);
      this.applied += 1;
      return f;
    }
    return undefined;
  }

  /** The armed faults, in injection order. */
  list(): MockFaultState[] {
    return this.#entries.map((e) => ({ fault: { ...e.fault }, remaining: Number.isFinite(e.remaining) ? e.remaining : null }));
  }
}
