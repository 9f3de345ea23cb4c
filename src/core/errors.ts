import { inspect } from 'node:util';

/**
 * Stable error codes. Callers branch on these, never on message text.
 * Every error this library throws is an {@link LsTokenError} carrying one of them.
 */
export const ErrorCodes = {
  /** An option or argument is missing, malformed or out of range. `field` names it. */
  INVALID_OPTION: 'ERR_INVALID_OPTION',
  /** LS rejected the app key or secret (IGW00103, IGW00105, ...). Not retryable. */
  INVALID_CREDENTIALS: 'ERR_INVALID_CREDENTIALS',
  /** LS says the token is invalid, unknown or expired (IGW00121/00122/00123). */
  INVALID_TOKEN: 'ERR_INVALID_TOKEN',
  /** LS call-rate limit (IGW00201). Retryable after a pause. */
  RATE_LIMITED: 'ERR_RATE_LIMITED',
  /** The request did not finish within its deadline. Retryable. */
  TIMEOUT: 'ERR_TIMEOUT',
  /** Connection refused, reset or DNS failure. Retryable. */
  NETWORK: 'ERR_NETWORK',
  /** An HTTP error status without a body LS code we know. Retryable on 5xx/429. */
  HTTP: 'ERR_HTTP',
  /** LS answered with a known business error code that fits no other class. */
  LS_REJECTED: 'ERR_LS_REJECTED',
  /** The response body is not what LS documents (not JSON, fields missing or of the wrong type). */
  BAD_RESPONSE: 'ERR_BAD_RESPONSE',
  /** The token store failed (backend down, write refused). */
  STORE: 'ERR_STORE',
  /** A stored record cannot be read (bad JSON, unknown schema version, missing fields). */
  CORRUPT_RECORD: 'ERR_CORRUPT_RECORD',
  /** A stored token cannot be decrypted: wrong or missing encryption key. */
  DECRYPT: 'ERR_DECRYPT',
  /** No record with that id. */
  NOT_FOUND: 'ERR_NOT_FOUND',
  /** The lifecycle is shut down (or not started) and cannot do this. */
  CLOSED: 'ERR_CLOSED',
  /** An operation was aborted (deadline, shutdown). */
  ABORTED: 'ERR_ABORTED',
  /** Issuance refused locally: cool-down after a failure or forced re-issue cap reached. */
  ISSUE_THROTTLED: 'ERR_ISSUE_THROTTLED',
  /** Another process holds the issuance lock and did not produce a token in time. */
  LOCK_TIMEOUT: 'ERR_LOCK_TIMEOUT',
  /** A listener of a lifecycle event threw; the lifecycle carried on (reported as an `error` event). */
  LISTENER: 'ERR_LISTENER',
} as const;

/** One of the {@link ErrorCodes} values. */
export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

/** Construction details of an {@link LsTokenError}. */
export interface LsTokenErrorDetails {
  /** Whether trying the same operation again may succeed. Default `false`. */
  retryable?: boolean;
  /** The LS gateway code from the response body (e.g. `IGW00105`), if any. */
  lsCode?: string;
  /** The HTTP status of the response, if there was one. */
  httpStatus?: number;
  /** The option or field at fault (for `ERR_INVALID_OPTION`, `ERR_CORRUPT_RECORD`). */
  field?: string;
  /** Server-requested pause before retrying, in ms (from `Retry-After`), if any. */
  retryAfterMs?: number;
  /** The underlying error. Never serialised by `toJSON()` (it may hold request data). */
  cause?: unknown;
}

/**
 * The one base class of every error thrown by ls-token-lifecycle.
 *
 * Messages are written by this library and never contain the app secret or a raw token; tokens are
 * shown by their short fingerprint. `cause` is kept for debugging but left out of `toJSON()` and of
 * `util.inspect` output, because an axios error carries the request body (which holds the secret).
 */
export class LsTokenError extends Error {
  /** Stable machine-readable code, one of {@link ErrorCodes}. */
  readonly code: ErrorCode;
  /** Whether trying again may succeed. */
  readonly retryable: boolean;
  /** LS gateway code from the response body, if any. */
  readonly lsCode: string | undefined;
  /** HTTP status, if a response arrived. */
  readonly httpStatus: number | undefined;
  /** The option or field at fault, if any. */
  readonly field: string | undefined;
  /** Server-requested pause before retrying, in ms, if any. */
  readonly retryAfterMs: number | undefined;

  constructor(code: ErrorCode, message: string, details: LsTokenErrorDetails = {}) {
    super(message);
    this.name = 'LsTokenError';
    this.code = code;
    this.retryable = details.retryable ?? false;
    this.lsCode = details.lsCode;
    this.httpStatus = details.httpStatus;
    this.field = details.field;
    this.retryAfterMs = details.retryAfterMs;
    // Non-enumerable so that JSON.stringify, structured loggers and inspect skip it.
    Object.defineProperty(this, 'cause', { value: details.cause, enumerable: false, writable: true, configurable: true });
  }

  /** A plain, secret-free summary suitable for logs and events. */
  toJSON(): {
    /** Always `LsTokenError`. */
    name: string;
    /** The stable code. */
    code: ErrorCode;
    /** The secret-free message. */
    message: string;
    /** Whether trying again may succeed. */
    retryable: boolean;
    /** LS gateway code, if any. */
    lsCode?: string;
    /** HTTP status, if any. */
    httpStatus?: number;
    /** The option or field at fault, if any. */
    field?: string;
  } {
    const out: ReturnType<LsTokenError['toJSON']> = {
      name: this.name,
      code: this.code,
      message: this.message,
      retryable: this.retryable,
    };
    if (this.lsCode !== undefined) out.lsCode = this.lsCode;
    if (this.httpStatus !== undefined) out.httpStatus = this.httpStatus;
    if (this.field !== undefined) out.field = this.field;
    return out;
  }

  /** `util.inspect` shows the stack and the safe fields only, never `cause`. */
  [inspect.custom](): string {
    const extra = JSON.stringify(this.toJSON());
    return `${this.stack ?? `${this.name}: ${this.message}`}\n  ${extra}`;
  }
}

/** True when `err` is an {@link LsTokenError}, optionally with the given code. */
export function isLsTokenError(err: unknown, code?: ErrorCode): err is LsTokenError {
  return err instanceof LsTokenError && (code === undefined || err.code === code);
}

/** Shorthand for an `ERR_INVALID_OPTION` error naming the field. Never pass the value of a secret. */
export function invalidOption(field: string, problem: string): LsTokenError {
  return new LsTokenError(ErrorCodes.INVALID_OPTION, `Invalid option "${field}": ${problem}`, { field });
}

/** Replaces anything shaped like a JWT (every LS access token is one) with `replacement`. */
export function scrubTokens(text: string, replacement = '[token]'): string {
  return text.replace(/eyJ[\w-]*\.[\w-]*\.?[\w-]*/g, replacement);
}

/**
 * Wraps any thrown value as an LsTokenError. The foreign message is kept (it says what broke, e.g.
 * `ECONNREFUSED`) but cut to 200 characters and scrubbed of anything shaped like a JWT, since a
 * backend error may quote the value it failed to write.
 */
export function toLsTokenError(err: unknown, code: ErrorCode, context: string, retryable = false): LsTokenError {
  if (err instanceof LsTokenError) return err;
  const raw = err instanceof Error ? `${err.name}: ${err.message}` : typeof err;
  const safe = scrubTokens(raw).slice(0, 200);
  return new LsTokenError(code, `${context}: ${safe}`, { cause: err, retryable });
}
