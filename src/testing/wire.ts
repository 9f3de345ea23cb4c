/**
 * The transport-neutral request and answer a mock broker model deals in, and the steps a
 * transport (the HTTP server, the axios adapter) follows to deliver an answer. Nothing here is
 * specific to LS: a KIS or Kiwoom model answers the same types, so the same server, adapter and
 * control endpoint can carry it.
 *
 * A broker's mock is a `<broker>-dialect.ts` holding everything the broker says its own way
 * (paths, form or JSON fields, codes and messages, error body shape per endpoint, TR headers) and
 * a `<broker>-model.ts` that handles each logical endpoint (`token`/`revoke`/`tr`, the TRs through
 * the broker's route table in `<broker>-tr-routes.ts`) on the shared
 * core of `broker-model.ts` (the token book, counters, fault table, clock offset and exchanges).
 * LS, KIS and Kiwoom are built so; all share `serveMockModel` (HTTP), `mockAxiosAdapter` (no
 * sockets), `handleControlRequest` (`/__mock/...`) and the fault kinds and their
 * `endpoint:kind[:count]` text form.
 *
 * @module
 */

/** One request as a transport hands it to a model. */
export interface MockRequest {
  /** HTTP method, upper case (`POST`). */
  readonly method: string;
  /** The path without query string, e.g. `/oauth2/token`. */
  readonly path: string;
  /**
   * The query string without its `?` (`''` or absent when there is none), e.g. `appkey=k&scope=oob`.
   * LS's OAuth endpoints read their form from it when the body has none; KIS's GET TRs take their input there.
   */
  readonly query?: string;
  /** Request headers with lower-case names. */
  readonly headers: Readonly<Record<string, string | undefined>>;
  /** The body as UTF-8 text (`''` when there is none). */
  readonly body: string;
}

/**
 * One answer: status, headers and the body text, sent as is. Standard HTTP headers have lower-case
 * names here (`content-type`, `date`, `retry-after`); the HTTP shell writes them in canonical case
 * (see {@link wireHeaderName}). A broker's own headers are named as the broker spells them
 * (`tr_id`, `tr_cont`, `gt_uid`, `tr_cd`, `tr_cont_key`, `api-id`, `cont-yn`, `next-key`) and go out
 * unchanged.
 */
export interface MockResponse {
  /** HTTP status. */
  readonly status: number;
  /** Response headers: standard ones with lower-case names, `content-type` included; the broker's as it spells them. */
  readonly headers: Readonly<Record<string, string>>;
  /** The body text (UTF-8). */
  readonly body: string;
}

/**
 * What the transport does with a request, decided when the request arrives:
 * - `answer`: send `response` (after the transport's latency);
 * - `reset`: drop the connection without an answer (after the transport's latency);
 * - `hang`: hold the request for `ms` (forever when `undefined`), then call
 *   {@link MockExchange.resume} for the normal answer and send it (after the latency).
 */
export type MockPlan = MockAnswerPlan | MockResetPlan | MockHangPlan;

/** Send `response` (after the transport's latency). */
export interface MockAnswerPlan {
  /** Discriminant. */
  readonly kind: 'answer';
  /** The answer. */
  readonly response: MockResponse;
}

/** Drop the connection without an answer (after the transport's latency). */
export interface MockResetPlan {
  /** Discriminant. */
  readonly kind: 'reset';
}

/** Hold the request, then answer normally; see {@link MockExchange.resume}. */
export interface MockHangPlan {
  /** Discriminant. */
  readonly kind: 'hang';
  /** How long to hold it, ms; `undefined`: until the client or the server gives up. */
  readonly ms: number | undefined;
}

/** A request a model has received; see {@link MockPlan}. */
export interface MockExchange {
  /** The logical endpoint the request went to, or `undefined` for a path the model does not serve. */
  readonly endpoint: 'token' | 'revoke' | 'tr' | undefined;
  /** What to do with it. */
  readonly plan: MockPlan;
  /**
   * For a `hang` plan, once the hang is over: handles the request now (tokens are issued or
   * revoked at this moment, by the model's clock) and returns the answer. For other plans, returns
   * their answer (or a 500 for `reset`, which has none).
   */
  resume(): MockResponse;
  /** The transport is done with the request (answered, reset, or the client went away). Idempotent. */
  end(): void;
}

/** The standard headers the mocks send, by their lower-case name, in the canonical case gateways write them. */
const CANONICAL_HEADER_NAMES: Readonly<Record<string, string>> = {
  'content-type': 'Content-Type',
  'content-length': 'Content-Length',
  date: 'Date',
  'retry-after': 'Retry-After',
  allow: 'Allow',
  location: 'Location',
};

/**
 * The name a header goes out under: the canonical case for a standard HTTP header (`Content-Type`,
 * `Content-Length`, `Date`, `Retry-After`), any other name as given. Gateways write theirs so, and
 * clients rely on it: KIS's official sample turns every all-lower-case answer header into a
 * namedtuple field and expects only KIS's own (`tr_id`, `tr_cont`, `gt_uid`) there.
 */
export function wireHeaderName(name: string): string {
  return CANONICAL_HEADER_NAMES[name.toLowerCase()] ?? name;
}

/** The content type of every JSON answer the mocks send. */
export const JSON_CONTENT_TYPE = 'application/json; charset=utf-8';

/** A JSON answer. */
export function jsonResponse(status: number, value: unknown, headers: Readonly<Record<string, string>> = {}): MockResponse {
  return { status, headers: { 'content-type': JSON_CONTENT_TYPE, ...headers }, body: JSON.stringify(value) };
}

/** A plain-text answer (what a proxy or load balancer in front of the gateway sends). */
export function textResponse(status: number, text: string, contentType = 'text/plain; charset=utf-8'): MockResponse {
  return { status, headers: { 'content-type': contentType }, body: text };
}

/** Whether the request body is declared JSON, as both OAuth endpoints require (else EGW00132). */
export function isJsonRequest(headers: Readonly<Record<string, string | undefined>>): boolean {
  return (headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase() === 'application/json';
}

/** The JSON object of a request body, or `undefined`. */
export function jsonBody(body: string): Record<string, unknown> | undefined {
  try {
    const v: unknown = JSON.parse(body);
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** A body parsed as JSON (any value), or `null` when it is empty or not JSON. */
export function jsonValue(body: string): unknown {
  if (body.length === 0) return null;
  try {
    return JSON.parse(body) as unknown;
  } catch {
    return null;
  }
}

/** A non-empty string field of a JSON body, else `undefined`. */
export function stringField(body: Record<string, unknown> | undefined, name: string): string | undefined {
  const v = body?.[name];
  return typeof v === 'string' && v !== '' ? v : undefined;
}

/** The bearer token of a request (`authorization: Bearer <token>`), if any. */
export function bearerToken(headers: Readonly<Record<string, string | undefined>>): string | undefined {
  const m = /^Bearer\s+(\S+)\s*$/i.exec(headers['authorization'] ?? '');
  return m?.[1];
}
