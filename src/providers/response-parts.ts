/**
 * The parts every provider's response parser is made of: reading a JSON body, quoting server text
 * safely, the bounds a token answer must respect, turning a broker code's class into an
 * {@link LsTokenError}, and keeping the raw token of an answer that was refused after the broker
 * had handed it out (so that it can still be revoked).
 *
 * Following oauth4webapi's discipline, every field is checked before it is believed, and errors
 * are classified by the broker's code in the body, never by the HTTP status alone.
 */
import { ErrorCodes, LsTokenError, scrubTokens, type ErrorCode, type TextScrubber } from '../core/errors.js';
import { INVISIBLE_CHARS } from '../core/redact.js';

/** The default scrubber: JWT-shaped text only. */
export const JWT_ONLY: TextScrubber = { scrub: (text) => scrubTokens(text) };

/** What the transport hands to the parsers. */
export interface RawResponse {
  /** HTTP status. */
  readonly status: number;
  /** The body text. */
  readonly body: string;
  /** The `Retry-After` header, if any. */
  readonly retryAfter?: string | undefined;
}

/** A JSON object. */
export type Json = Record<string, unknown>;

/** The body as a JSON object, or `undefined` when it is not one. */
export function parseJsonObject(body: string): Json | undefined {
  try {
    const v: unknown = JSON.parse(body);
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Json) : undefined;
  } catch {
    return undefined;
  }
}

/** Reads a broker code from a parsed or raw body with `extract`; `undefined` when there is none. */
export function codeFromBody(body: unknown, extract: (json: Record<string, unknown>) => { code?: string }): string | undefined {
  const json = typeof body === 'string' ? parseJsonObject(body) : typeof body === 'object' && body !== null && !Array.isArray(body) ? (body as Record<string, unknown>) : undefined;
  return json === undefined ? undefined : extract(json).code;
}

/** A string, or a finite number as a string; else `undefined`. */
export function str(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  return undefined;
}

/**
 * Control characters, line and paragraph separators, and the invisible and bidi characters of
 * `INVISIBLE_CHARS` (zero-width, direction overrides and isolates, BOM): each run becomes a space.
 */
// eslint-disable-next-line no-control-regex
const UNPRINTABLE = new RegExp(`(?:[\\x00-\\x1f\\x7f-\\x9f\\u2028\\u2029]|${INVISIBLE_CHARS.source})+`, 'g');

/**
 * Server text is quoted in messages only after scrubbing secrets (by value and by shape), then cut
 * short; control characters and invisible or bidi characters become spaces so that a gateway
 * cannot forge log lines, send terminal escapes or make a log line read differently than it is.
 * Scrubbing comes first: it sees through the invisible characters (a secret interleaved with U+200B
 * is found whole).
 */
export function safeServerText(v: unknown, scrubber: TextScrubber): string {
  const s = typeof v === 'string' ? v : '';
  return scrubTokens(scrubber.scrub(s)).replace(UNPRINTABLE, ' ').slice(0, 120);
}

/** Broker codes look like `IGW00121`, `EGW00133`, `8005` or `200`; anything else is not believed. */
const CODE = /^[A-Za-z0-9_.-]{1,40}$/;

/**
 * `raw` when it is a short identifier of the broker's own shape (`pattern`, e.g. LS's `IGW\d{5}` or
 * a numeric `rsp_cd`) holding no secret the scrubber knows, else `undefined`.
 */
export function safeCode(raw: string | undefined, scrubber: TextScrubber, pattern: RegExp = CODE): string | undefined {
  return raw !== undefined && CODE.test(raw) && pattern.test(raw) && scrubber.scrub(raw) === raw ? raw : undefined;
}

/**
 * The code and message of an error body: the code only when it has the broker's shape
 * (`pattern`); a value in the code field of any other shape is server text like the message, so it
 * is quoted only scrubbed, in the message. A secret split between the two is redacted by its runs
 * (see `SECRET_RUN_LENGTH`).
 */
export function codeAndMessage(rawCode: string | undefined, rawMessage: unknown, pattern: RegExp, scrubber: TextScrubber): { code?: string; message: string } {
  const code = safeCode(rawCode, scrubber, pattern);
  const text = typeof rawMessage === 'string' ? rawMessage : '';
  if (code !== undefined) return { code, message: safeServerText(text, scrubber) };
  return { message: safeServerText([rawCode ?? '', text].filter((t) => t !== '').join(' '), scrubber) };
}

/** Parses a Retry-After header (seconds or an HTTP date) into ms, capped at 5 minutes. */
export function parseRetryAfter(value: string | undefined, now: number): number | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  const secs = Number(value);
  let ms: number;
  if (Number.isFinite(secs)) ms = secs * 1000;
  else {
    const at = Date.parse(value);
    if (Number.isNaN(at)) return undefined;
    ms = at - now;
  }
  return Math.min(Math.max(0, ms), 300_000);
}

/** Longest token accepted from a token endpoint (brokers document up to 1000 characters; leave room). */
export const MAX_ISSUED_TOKEN_LENGTH = 8192;

/** RFC 6750 `b64token`: what a Bearer token may hold, so that it is sent exactly as received. */
export const B64TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/;

/** Reads a lifetime in seconds: a number or a numeric string; `NaN` when it is neither. */
export function lifetimeSeconds(raw: unknown): number {
  if (typeof raw === 'number') return raw;
  return typeof raw === 'string' && /^\s*\d+(\.\d+)?\s*$/.test(raw) ? Number(raw) : Number.NaN;
}

/** An `ERR_BAD_RESPONSE` naming the field at fault (retryable: the next answer may be well-formed). */
export function badResponse(broker: string, endpoint: string, status: number, field: string, problem: string): LsTokenError {
  return new LsTokenError(ErrorCodes.BAD_RESPONSE, `${broker} ${endpoint} response field "${field}" ${problem}`, { httpStatus: status, field, retryable: true });
}

/** Raw tokens of rejected responses, keyed by their error: invisible to every printer and serialiser. */
const rejectedTokens = new WeakMap<LsTokenError, string>();

/**
 * The raw token of a token response that a client's `issueToken` rejected as `ERR_BAD_RESPONSE`
 * after the broker had handed it out (bad characters, a lifetime out of bounds, an expiry that
 * cannot be read, or a JWT `exp` not after its `iat`), or `undefined` for any other error.
 *
 * The broker may have made that token live (and, at LS, issuing it killed the previous token of
 * the app key), so revoke it: `client.revokeToken(rejectedTokenOf(err))`. The token is a secret: it
 * is kept outside the error object (no property holds it), so it never appears in `message`,
 * `JSON.stringify`, `util.inspect` or a logger's error serializer; do not log what this returns.
 */
export function rejectedTokenOf(err: unknown): string | undefined {
  return err instanceof LsTokenError ? rejectedTokens.get(err) : undefined;
}

/** Attaches `token` to `err` for {@link rejectedTokenOf}; returns `err`. */
export function withRejectedToken(err: LsTokenError, token: string): LsTokenError {
  rejectedTokens.set(err, token);
  return err;
}

/**
 * What a broker code means to a token lifecycle:
 * - `dead-token`: the token is invalid, unknown or expired (re-issue; on revoke the goal is reached);
 * - `bad-credentials`: the app key or secret is wrong (fatal);
 * - `rate-limit`: too many requests (retry after a pause; never re-issue on it);
 * - `fatal-config`: the key does not fit this host, IP or permission (fatal, fix the setup);
 * - `retry-later`: the broker failed for now;
 * - `rejected`: the request itself is wrong (a client bug, fatal).
 */
export type CodeClass = 'dead-token' | 'bad-credentials' | 'rate-limit' | 'fatal-config' | 'retry-later' | 'rejected';

/** The error code and retryability of a code class (`undefined`: a code the provider does not know). */
export function errorCodeOfClass(cls: CodeClass | undefined, httpStatus: number): { code: ErrorCode; retryable: boolean } {
  switch (cls) {
    case 'dead-token':
      return { code: ErrorCodes.INVALID_TOKEN, retryable: false };
    case 'bad-credentials':
      return { code: ErrorCodes.INVALID_CREDENTIALS, retryable: false };
    case 'rate-limit':
      return { code: ErrorCodes.RATE_LIMITED, retryable: true };
    case 'fatal-config':
      return { code: ErrorCodes.CONFIGURATION, retryable: false };
    case 'rejected':
      return { code: ErrorCodes.LS_REJECTED, retryable: false };
    case 'retry-later':
      return { code: ErrorCodes.LS_REJECTED, retryable: true };
    default:
      // Unknown codes: a server-side failure is worth retrying, a rejected request is not.
      return { code: ErrorCodes.LS_REJECTED, retryable: httpStatus >= 500 };
  }
}

/**
 * The class of `code` in a code table, or `undefined`: own keys only, so that a server's code
 * such as `toString` or `__proto__` is not found on the object's prototype.
 */
export function classOf(table: Readonly<Record<string, CodeClass>>, code: string): CodeClass | undefined {
  return Object.hasOwn(table, code) ? table[code] : undefined;
}

/** A broker's code and message, read from an error body. */
export interface ExtractedCode {
  /** The code, if the body holds a believable one. */
  readonly code?: string;
  /** The scrubbed message (may be empty). */
  readonly message: string;
}

/** How one broker reads and classifies the codes of its error bodies. */
export interface CodeReader {
  /** The broker's name in messages (`LS`, `KIS`, ...). */
  readonly broker: string;
  /** Reads the code and message from a JSON body. */
  extract(body: Json, scrubber: TextScrubber): ExtractedCode;
  /** The class of a code, `undefined` for one the broker does not document. */
  classify(code: string): CodeClass | undefined;
  /** A code that means success and is no error (`"200"` of a revoke answer). */
  readonly okCode?: string;
  /** A default pause for a code when the answer has no `Retry-After` (KIS EGW00133: 60 s). */
  retryAfterMsOf?(code: string): number | undefined;
}

/**
 * Builds the error for a response that is not a success: the broker's code classified when the
 * body holds one, `ERR_BAD_RESPONSE` for a 2xx body that is not the documented JSON, else an HTTP
 * error (`ERR_RATE_LIMITED` on 429). Server text goes through `scrubber`.
 */
export function errorFromBody(reader: CodeReader, endpoint: string, res: RawResponse, now: number, scrubber: TextScrubber = JWT_ONLY): LsTokenError {
  const json = parseJsonObject(res.body);
  let retryAfterMs = parseRetryAfter(res.retryAfter, now);
  // Server text without a believable code is still quoted (scrubbed), after the status.
  let text = '';
  if (json !== undefined) {
    const { code: brokerCode, message } = reader.extract(json, scrubber);
    text = message;
    if (brokerCode !== undefined && brokerCode !== reader.okCode) {
      const cls = reader.classify(brokerCode);
      const { code, retryable } = errorCodeOfClass(cls, res.status);
      retryAfterMs ??= reader.retryAfterMsOf?.(brokerCode);
      const hint = cls === 'fatal-config' ? ' (a setup problem: host, IP registration or permission; not retried)' : '';
      return new LsTokenError(code, `${reader.broker} ${endpoint} failed with ${brokerCode} (HTTP ${res.status})${message ? `: ${message}` : ''}${hint}`, {
        httpStatus: res.status,
        ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
        lsCode: brokerCode,
        retryable,
      });
    }
  }
  const base = { httpStatus: res.status, ...(retryAfterMs === undefined ? {} : { retryAfterMs }) };
  if (res.status >= 200 && res.status < 300) {
    return new LsTokenError(ErrorCodes.BAD_RESPONSE, `${reader.broker} ${endpoint} answered HTTP ${res.status} with a body that is not the documented JSON`, { ...base, retryable: true });
  }
  const retryable = res.status >= 500 || res.status === 429 || res.status === 408;
  const code = res.status === 429 ? ErrorCodes.RATE_LIMITED : ErrorCodes.HTTP;
  return new LsTokenError(code, `${reader.broker} ${endpoint} answered HTTP ${res.status} without ${/^[AEFHILMNORSX]/.test(reader.broker) ? 'an' : 'a'} ${reader.broker} code${text ? `: ${text}` : ''}`, { ...base, retryable });
}
