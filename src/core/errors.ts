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
  /** The broker answered with a business error code that fits no other class. */
  LS_REJECTED: 'ERR_LS_REJECTED',
  /**
   * The broker refused the app's setup, not the request: no permission for the API, an IP not
   * registered, a key used on the wrong host (KIS EGW00206/EGW00207, LS IGW40342, ...). Not
   * retryable: fix the configuration at the broker's portal.
   */
  CONFIGURATION: 'ERR_CONFIGURATION',
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
  /**
   * @deprecated No longer thrown: a caller that waits too long for another process's issuance
   * (or the issuance budget, or LS's cut-off) gets `ERR_ISSUE_THROTTLED`. Kept so that code
   * comparing against it still compiles.
   */
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
  /** The broker's code from the response body (LS `IGW00105`, KIS `EGW00133`, Kiwoom `8005`, an RFC 6749 `error`), if any. */
  lsCode?: string;
  /** The HTTP status of the response, if there was one. */
  httpStatus?: number;
  /** The option or field at fault (for `ERR_INVALID_OPTION`, `ERR_CORRUPT_RECORD`). */
  field?: string;
  /** Server-requested pause before retrying, in ms (from `Retry-After`), if any. */
  retryAfterMs?: number;
  /**
   * The underlying error. Anything but an {@link LsTokenError} or an {@link ErrorCauseSummary} is
   * replaced by an `ErrorCauseSummary` of it (JWT-shaped text scrubbed): a foreign error may hold
   * request data (an axios error holds the request body, with the app secret) or quote a raw token.
   * Pass `summarizeCause(err, redactor)` yourself to scrub known secrets by value as well.
   */
  cause?: unknown;
}

/**
 * The one base class of every error thrown by ls-token-lifecycle.
 *
 * Messages are written by this library and never contain the app secret or a raw token; tokens are
 * shown by their short fingerprint. `cause` is kept for debugging as a secret-free
 * {@link ErrorCauseSummary} of the original error (never the original itself: an axios error
 * carries the request body, which holds the secret), non-enumerable, and left out of `toJSON()` and
 * of `util.inspect` output.
 */
export class LsTokenError extends Error {
  /** Stable machine-readable code, one of {@link ErrorCodes}. */
  readonly code: ErrorCode;
  /** Whether trying again may succeed. */
  readonly retryable: boolean;
  /** The broker's code from the response body (LS `IGW…`, KIS `EGW…`, Kiwoom's 4-digit code, RFC 6749 `error`), if any. */
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
    const cause = details.cause;
    const safeCause = cause === undefined || cause instanceof LsTokenError || cause instanceof ErrorCauseSummary ? cause : summarizeCause(cause);
    // Non-enumerable so that JSON.stringify and inspect skip it (pino still prints its message and
    // stack, which is why it is a scrubbed summary).
    Object.defineProperty(this, 'cause', { value: safeCause, enumerable: false, writable: true, configurable: true });
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

/** What may hold an issuance back at one broker, for the message of `ERR_ISSUE_THROTTLED` ({@link issueThrottledError}). */
export interface IssueWaitReasons {
  /** The broker's name in messages (`LS`, `KIS`, `Kiwoom`). */
  readonly broker: string;
  /** The issuance budget in force: one issuance per app key per this long, ms (`0`: none). */
  readonly budgetMs: number;
  /** The broker's own least interval between two issuances per app key, ms (`0`: none published). */
  readonly brokerMinIssueIntervalMs: number;
  /** The broker's daily cut-off as `HH:MM KST`, when all its tokens die at one (LS: `07:00 KST`). */
  readonly dailyCutoff: string | null;
}

/** `1.2 s`, `60 s`: a wait as people read it. */
function seconds(ms: number): string {
  const s = ms / 1000;
  return `${s >= 10 || Number.isInteger(s) ? Math.ceil(s) : s.toFixed(1)} s`;
}

/** Why an issuance may have to wait, in this broker's terms (no cut-off named for a broker without one). */
export function issueWaitReasons(r: IssueWaitReasons): string {
  const budget =
    r.brokerMinIssueIntervalMs > 0 && r.brokerMinIssueIntervalMs >= r.budgetMs
      ? `${r.broker} allows one issuance per app key per ${seconds(r.brokerMinIssueIntervalMs)}`
      : r.budgetMs > 0
        ? `the issuance budget of one issuance per app key per ${seconds(r.budgetMs)}`
        : undefined;
  const parts = [budget, r.dailyCutoff === null ? undefined : `${r.broker}'s ${r.dailyCutoff} cut-off`, 'another process issuing'].filter((x) => x !== undefined);
  return parts.length === 1 ? parts[0]! : `${parts.slice(0, -1).join(', ')}, or ${parts.at(-1)!}`;
}

/**
 * `ERR_ISSUE_THROTTLED` (retryable, with `retryAfterMs`) for an issuance that may not happen for
 * `waitMs`, longer than the caller waits. `howToWait` names what lets it wait longer, in the
 * caller's terms: the lifecycle's `issueLockWaitMs`, the CLI's `--deadline-ms`.
 */
export function issueThrottledError(waitMs: number, reasons: string, howToWait: string): LsTokenError {
  return new LsTokenError(ErrorCodes.ISSUE_THROTTLED, `No token may be issued for ${seconds(waitMs)} (${reasons}): longer than ${howToWait}`, {
    retryable: true,
    retryAfterMs: waitMs,
  });
}

/** Shorthand for an `ERR_INVALID_OPTION` error naming the field. Never pass the value of a secret. */
export function invalidOption(field: string, problem: string): LsTokenError {
  return new LsTokenError(ErrorCodes.INVALID_OPTION, `Invalid option "${field}": ${problem}`, { field });
}

/** Replaces anything shaped like a JWT (every LS access token is one) with `replacement`. */
export function scrubTokens(text: string, replacement = '[token]'): string {
  return text.replace(/eyJ[\w-]*\.[\w-]*\.?[\w-]*/g, replacement);
}

/** Anything that scrubs secrets out of text, e.g. a `SecretRedactor`. */
export interface TextScrubber {
  /** `text` with every secret removed. */
  scrub(text: string): string;
}

const jwtScrubber: TextScrubber = { scrub: (text) => scrubTokens(text) };

/** Longest message kept on an {@link ErrorCauseSummary}. */
const MAX_CAUSE_MESSAGE = 500;
/** How deep a cause chain is summarised. */
const MAX_CAUSE_DEPTH = 4;

/**
 * A secret-free stand-in for a foreign error kept as `cause` of an {@link LsTokenError}: the
 * original's `name`, scrubbed `message` and `stack`, its `code` when that is a short identifier
 * (`ECONNREFUSED`, `ERR_BAD_RESPONSE`), and a summary of its own `cause`. Nothing else of the
 * original is kept (no request config, no socket, no response), so it can be logged, inspected or
 * serialised as it is.
 */
export class ErrorCauseSummary extends Error {
  /** The original error's `code`, when it was a short identifier. */
  readonly code: string | undefined;

  /**
   * @param name the original error's name.
   * @param message the scrubbed message.
   * @param code the original's code, if a short identifier.
   * @param stack the scrubbed stack, if any.
   * @param cause a summary of the original's own cause, if any.
   */
  constructor(name: string, message: string, code?: string, stack?: string, cause?: ErrorCauseSummary) {
    super(message, cause === undefined ? undefined : { cause });
    Object.defineProperty(this, 'name', { value: name, enumerable: false, writable: true, configurable: true });
    this.code = code;
    if (code === undefined) delete (this as { code?: string }).code;
    Object.defineProperty(this, 'stack', { value: stack ?? `${name}: ${message}`, enumerable: false, writable: true, configurable: true });
  }
}

/**
 * Replaces a foreign error (or any thrown value) by an {@link ErrorCauseSummary}: name, message and
 * stack scrubbed with `scrubber` (default: JWT-shaped text only), string `code` kept when it is a
 * short identifier, and the same for its `cause` chain (4 levels deep). An {@link LsTokenError} or
 * a summary is returned as it is.
 */
export function summarizeCause(err: unknown, scrubber: TextScrubber = jwtScrubber): ErrorCauseSummary | LsTokenError {
  return summarize(err, scrubber, 0);
}

function summarize(err: unknown, scrubber: TextScrubber, depth: number): ErrorCauseSummary | LsTokenError {
  if (err instanceof LsTokenError || err instanceof ErrorCauseSummary) return err;
  const scrub = (text: string): string => scrubber.scrub(text);
  if (typeof err !== 'object' || err === null || typeof (err as { message?: unknown }).message !== 'string') {
    const message = typeof err === 'string' ? scrub(err).slice(0, MAX_CAUSE_MESSAGE) : `a thrown ${err === null ? 'null' : typeof err}`;
    return new ErrorCauseSummary('NonError', message);
  }
  const e = err as { name?: unknown; message: string; code?: unknown; stack?: unknown; cause?: unknown };
  const name = typeof e.name === 'string' && /^[\w$.-]{1,64}$/.test(e.name) ? e.name : 'Error';
  const message = scrub(e.message).slice(0, MAX_CAUSE_MESSAGE);
  const code = typeof e.code === 'string' && /^[\w.-]{1,64}$/.test(e.code) && scrub(e.code) === e.code ? e.code : undefined;
  const stack = typeof e.stack === 'string' ? scrub(e.stack) : undefined;
  let cause: ErrorCauseSummary | undefined;
  if (e.cause !== undefined && depth + 1 < MAX_CAUSE_DEPTH) {
    const inner = summarize(e.cause, scrubber, depth + 1);
    // An LsTokenError deeper in the chain is ours, but keep the chain one type: summarise its text.
    cause =
      inner instanceof ErrorCauseSummary
        ? inner
        : new ErrorCauseSummary(
            inner.name,
            scrub(inner.message),
            inner.code,
            inner.stack === undefined ? undefined : scrub(inner.stack),
            inner.cause instanceof ErrorCauseSummary ? inner.cause : undefined,
          );
  }
  return new ErrorCauseSummary(name, message, code, stack, cause);
}

/**
 * Wraps any thrown value as an LsTokenError. The foreign message is kept (it says what broke, e.g.
 * `ECONNREFUSED`) but scrubbed and then cut to 200 characters, since a backend error may quote the
 * value it failed to write; the error itself becomes a secret-free {@link ErrorCauseSummary} cause.
 *
 * @param scrubber removes known secrets by value (e.g. the shared `SecretRedactor`); default: only
 *   JWT-shaped text.
 */
export function toLsTokenError(err: unknown, code: ErrorCode, context: string, retryable = false, scrubber: TextScrubber = jwtScrubber): LsTokenError {
  if (err instanceof LsTokenError) return err;
  const raw = err instanceof Error ? `${err.name}: ${err.message}` : typeof err;
  const safe = scrubTokens(scrubber.scrub(raw)).slice(0, 200);
  return new LsTokenError(code, `${context}: ${safe}`, { cause: summarizeCause(err, scrubber), retryable });
}
