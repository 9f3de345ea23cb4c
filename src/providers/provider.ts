/**
 * What a broker is, to the library: everything broker-specific sits in one
 * {@link ProviderDefinition}, and the client, the token policy, the store keys and the CLI ask it
 * instead of knowing LS. The built-in providers are `'ls'` (LS증권), `'kis'` (한국투자증권) and
 * `'kiwoom'` (키움증권); {@link rfc7009Provider} builds one for any RFC 6749 / RFC 7009 server.
 */
import { ErrorCodes, LsTokenError, type TextScrubber } from '../core/errors.js';
import { appKeyId } from '../core/fingerprint.js';
import type { DailyCutoff, IssuedToken, RevokeResult } from './types.js';
import type { CodeClass, RawResponse } from './response-parts.js';

/** The names of the built-in providers. */
export type ProviderName = 'ls' | 'kis' | 'kiwoom';

/** The credentials a provider builds its requests from. */
export interface ProviderCredentials {
  /** The app key (the client id of an RFC 6749 server). */
  readonly appKey: string;
  /** The app secret (the client secret). Never logged. */
  readonly appSecretKey: string;
}

/** One request to send: where, the body as text, and the headers (content type included). */
export interface ProviderRequest {
  /** Path below the client's base URL, e.g. `/oauth2/tokenP`; ignored when `url` is set. */
  readonly path: string;
  /** An absolute URL instead of `baseUrl + path` (RFC 7009 servers name their endpoints). */
  readonly url?: string;
  /** The body, already encoded (form or JSON). */
  readonly body: string;
  /** Request headers with lower-case names, `content-type` included. */
  readonly headers: Readonly<Record<string, string>>;
}

/**
 * The broker's rules about tokens, which the token policy and the issuance budget follow.
 * A time rule the broker does not have is `0` (intervals), `null` (cut-off) or the longest token
 * life it issues (`lifetimeMs`).
 */
export interface TokenRules {
  /** The longest life of a token the broker issues, ms (LS and KIS: 24 h). */
  readonly lifetimeMs: number;
  /** A daily instant at which every token dies (LS: 07:00 KST), or `null`. */
  readonly dailyCutoff: DailyCutoff | null;
  /**
   * A token request within this long of the current token's issuance answers that same token
   * (KIS: 6 h; Kiwoom: while it lives, `Infinity`; LS: `0`). The policy never counts such an
   * answer as a successor.
   */
  readonly sameTokenWithinMs: number;
  /**
   * The broker's own limit on issuance, ms between two token requests of one app key (KIS: 60 s,
   * answered `EGW00133`). The lifecycle's issuance budget is never shorter, and forced re-issues
   * obey it too. `0` when the broker publishes none.
   */
  readonly minIssueIntervalMs: number;
  /**
   * Added to `minIssueIntervalMs` by the issuance budget, ms, so that a second token request
   * reaches the broker surely after its interval, whatever the network and the broker's own
   * counting (KIS: 2 s). Default `0`.
   */
  readonly issueIntervalMarginMs?: number;
  /**
   * The lifecycle's `minIssueIntervalMs` when the user sets none, ms. Default `60_000` (the storm
   * guard); `0` for a generic OAuth server, which has no such limit (`rfc7009Provider`).
   */
  readonly defaultMinIssueIntervalMs?: number;
  /** What a new token does to the app key's previous one: `killed` (LS), `kept`, or `unknown`. */
  readonly previousToken: 'killed' | 'kept' | 'unknown';
}

/** The result of a local access-token check: fine, or why the string is not such a token. */
export type AccessTokenCheck =
  | {
      /** It looks like an access token of this provider and app key. */
      readonly ok: true;
    }
  | {
      /** It does not. */
      readonly ok: false;
      /** Why, in words (never quoting the token or a claim). */
      readonly reason: string;
    };

/**
 * Everything broker-specific. A client built on it (see `OAuthClient`) sends what the provider
 * builds and believes what its parsers accept; the lifecycle takes its time rules from `rules`.
 * Parsers must throw only {@link LsTokenError}s and never quote a secret.
 */
export interface ProviderDefinition {
  /** A short id, `[a-z][a-z0-9-]*` (`ls`, `kis`, `kiwoom`, `rfc7009`): part of the store keys. */
  readonly id: string;
  /** The broker's name in messages (`LS`, `KIS`, `Kiwoom`). */
  readonly name: string;
  /** Default base URLs. */
  readonly baseUrls: {
    /** The real service (the client's default `baseUrl`). */
    readonly real: string;
    /** The broker's mock-trading (모의투자) host, if it has one of its own. */
    readonly mock: string | undefined;
  };
  /** Longest credentials accepted locally. */
  readonly credentialLimits: {
    /** Longest app key, characters (LS: 36; KIS: 36). */
    readonly appKey: number;
    /** Longest app secret, characters (LS: 36; KIS: 180). */
    readonly appSecretKey: number;
  };
  /** The broker's token rules. */
  readonly rules: TokenRules;
  /** `jwt` when access tokens are JWTs whose claims may be read (`exp`, `iat`), else `opaque`. */
  readonly tokenFormat: 'jwt' | 'opaque';
  /**
   * The shortest access token this broker issues, characters. A shorter value cannot be one of its
   * tokens, so the CLI does not register it as a secret to scrub (a typo such as `short` would
   * otherwise be redacted from every word of the message that refuses it). Default `4`.
   */
  readonly minTokenLength?: number;
  /** The issuance request (`client_credentials`). */
  issueRequest(credentials: ProviderCredentials): ProviderRequest;
  /** The revocation request for `token`. */
  revokeRequest(credentials: ProviderCredentials, token: string, hint: 'access_token' | 'refresh_token'): ProviderRequest;
  /**
   * Parses a token answer. `issuedAt` is when the request was sent (host clock).
   * @throws LsTokenError classified by the broker's code; `ERR_BAD_RESPONSE` for an answer that is
   *   not the documented one (with the raw token kept for `rejectedTokenOf` when one was handed out).
   */
  parseIssue(res: RawResponse, issuedAt: number, scrubber: TextScrubber): IssuedToken;
  /**
   * Parses a revocation answer; "already invalid" counts as done.
   * @throws LsTokenError as {@link ProviderDefinition.parseIssue}.
   */
  parseRevoke(res: RawResponse, now: number, scrubber: TextScrubber): RevokeResult;
  /** The broker's code in any answer body (token, revoke or TR call), e.g. to spot a dead token on a TR answer. */
  codeOf(body: unknown): string | undefined;
  /** What a broker code means (see {@link CodeClass}); `undefined` for one the broker does not document. */
  classifyCode(code: string): CodeClass | undefined;
  /**
   * A local check that `token` is an access token of this provider for `appKey`, before a revoke
   * request: a broker answering "already invalid" to anything it does not know would otherwise
   * turn a typo into a silent success. A shape check only (signatures cannot be verified here).
   */
  checkAccessToken(token: string, appKey: string): AccessTokenCheck;
  /**
   * The part of the store keys that tells this provider's records apart from others' in a shared
   * store: the provider and the normalised origin of the base URL the client uses (e.g.
   * `ls:https://openapi.ls-sec.co.kr:8080`, `kis:https://openapivts.koreainvestment.com:29443`),
   * so that a lifecycle pointed at another host never sees, adopts or revokes these tokens.
   */
  keyScope(baseUrl: string): string | null;
  /**
   * The scope 0.1.x used (LS: none; KIS, Kiwoom: `kis:real`/`kis:mock`...), so that a store it
   * wrote is moved to the current layout at first start. Absent: nothing to move.
   */
  legacyKeyScope?(baseUrl: string): string | null;
  /** Values besides the app key and secret to scrub from every text (e.g. an HTTP Basic credential). */
  secretsOf?(credentials: ProviderCredentials): readonly string[];
  /**
   * The app key a token names itself, when the broker's tokens say (LS and KIS: the JWT `jti`
   * claim), else `undefined`. Before a stored token is adopted, the lifecycle refuses one that
   * names another app key (a record relabelled in the store). Read, not verified.
   */
  appKeyOf?(token: string): string | undefined;
}

/**
 * `false` when the provider can tell from `token` itself ({@link ProviderDefinition.appKeyOf}) that
 * it was issued for another app key than `appKey`; `true` otherwise (also when it cannot tell).
 */
export function mayBelongTo(provider: ProviderDefinition, token: string, appKey: string): boolean {
  let named: string | undefined;
  try {
    named = provider.appKeyOf?.(token);
  } catch {
    return false; // a provider that cannot read its own token's claims does not vouch for it
  }
  return named === undefined || named === appKey;
}

/**
 * {@link ProviderDefinition.checkAccessToken} as an assertion.
 *
 * @param field the option or argument that held the token, named in the error.
 * @throws LsTokenError `ERR_INVALID_TOKEN` with `field`, saying why (never quoting the token).
 */
export function assertAccessToken(provider: ProviderDefinition, token: string, appKey: string, field = 'token'): void {
  const check = provider.checkAccessToken(token, appKey);
  if (!check.ok) throw new LsTokenError(ErrorCodes.INVALID_TOKEN, `${field} is not ${/^[AEFHILMNORSX]/.test(provider.name) ? 'an' : 'a'} ${provider.name} access token of this app key: ${check.reason}`, { field });
}

/** `'real'` or `'mock'`: whether `baseUrl` is the provider's mock-trading host. */
export function environmentOf(provider: Pick<ProviderDefinition, 'baseUrls'>, baseUrl: string): 'real' | 'mock' {
  const mock = provider.baseUrls.mock;
  if (mock === undefined) return 'real';
  try {
    return new URL(baseUrl).host === new URL(mock).host ? 'mock' : 'real';
  } catch {
    return 'real';
  }
}

/**
 * The origin of `url` as the store scopes keys by it: scheme, host and port, lower-cased, the
 * scheme's default port left out (`https://OpenAPI.ls-sec.co.kr:8080/x` ->
 * `https://openapi.ls-sec.co.kr:8080`). A string that is not a URL is returned as is.
 */
export function normalisedOrigin(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host.replace(/\.$/, '').replace(/\.:/, ':')}`.toLowerCase();
  } catch {
    return url;
  }
}

/**
 * The id the store keys of `appKey` are built from, for `provider` at `baseUrl` (default: the
 * provider's real host): {@link appKeyId} scoped by {@link ProviderDefinition.keyScope}, i.e. by
 * provider and the normalised origin of the base URL. It is the Redis hash tag of every key of
 * the app key (`${prefix}:{id}:...`).
 */
export function appKeyIdFor(provider: ProviderDefinition, appKey: string, baseUrl?: string): string {
  return appKeyId(appKey, provider.keyScope(baseUrl ?? provider.baseUrls.real));
}

/** The id 0.1.x stored the records of `appKey` under (see {@link ProviderDefinition.legacyKeyScope}), or `undefined`. */
export function legacyAppKeyIdFor(provider: ProviderDefinition, appKey: string, baseUrl?: string): string | undefined {
  if (provider.legacyKeyScope === undefined) return undefined;
  return appKeyId(appKey, provider.legacyKeyScope(baseUrl ?? provider.baseUrls.real));
}
