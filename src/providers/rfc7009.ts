/**
 * A provider for any standard OAuth 2.0 server: tokens from the client credentials grant
 * ([RFC 6749 section 4.4](https://www.rfc-editor.org/rfc/rfc6749#section-4.4)), revoked at a
 * token revocation endpoint ([RFC 7009](https://www.rfc-editor.org/rfc/rfc7009)). The app key and
 * secret are the client id and secret, sent as HTTP Basic (`client_secret_basic`, RFC 6749 section
 * 2.3.1) or in the form body (`client_secret_post`).
 */
import { invalidOption } from '../core/errors.js';
import { optionalBoolean, optionalEnum, optionalInteger, requireBaseUrl, requireObject } from '../core/validate.js';
import { checkTokenAnswer } from './issued-token.js';
import { normalisedOrigin, type ProviderCredentials, type ProviderDefinition, type ProviderRequest } from './provider.js';
import { B64TOKEN, JWT_ONLY, MAX_ISSUED_TOKEN_LENGTH, badResponse, codeAndMessage, codeFromBody, errorFromBody, parseJsonObject, classOf, type CodeClass, type CodeReader, type Json } from './response-parts.js';

/** Options of {@link rfc7009Provider}. */
export interface Rfc7009ProviderOptions {
  /** The token endpoint, an absolute URL. Required. */
  tokenEndpoint: string;
  /** The revocation endpoint (RFC 7009), an absolute URL. Required. */
  revocationEndpoint: string;
  /** How the client authenticates: `'client_secret_basic'` (HTTP Basic) or `'client_secret_post'` (form fields). Required. */
  clientAuth: 'client_secret_basic' | 'client_secret_post';
  /** The `scope` to ask for (space-separated). Default: none sent. */
  scope?: string;
  /**
   * The server's usual token lifetime, s, used only to predict how long a successor would live
   * (the expiry of each token comes from its `expires_in`). Default `3600`.
   */
  tokenLifetimeS?: number;
  /** The lifetime assumed when an answer has no `expires_in` (and no JWT `exp`), s. Default: none (such an answer is refused and its token revoked). */
  defaultExpiresInS?: number;
  /** Allow plain `http://` endpoints on a non-loopback host. Default `false`: the secret travels with every request. */
  allowInsecureHttp?: boolean;
  /** The provider's id in store keys and its name in messages. Default `'rfc7009'`. */
  id?: string;
}

/** RFC 6749 section 5.2 and RFC 7009 section 2.2.1 error codes, by what they mean. */
const OAUTH_ERROR_CLASSES: Readonly<Record<string, CodeClass>> = {
  invalid_client: 'bad-credentials',
  invalid_grant: 'rejected',
  unauthorized_client: 'fatal-config',
  unsupported_grant_type: 'fatal-config',
  invalid_scope: 'fatal-config',
  invalid_request: 'rejected',
  unsupported_token_type: 'rejected',
  temporarily_unavailable: 'retry-later',
  server_error: 'retry-later',
  slow_down: 'rate-limit',
};

/** RFC 6749 error codes: lower-case words joined by `_` (`invalid_client`); anything else is server text. */
const OAUTH_ERROR_PATTERN = /^[a-z][a-z0-9_]{0,39}$/;

function extractOAuthError(body: Json, scrubber = JWT_ONLY): { code?: string; message: string } {
  return codeAndMessage(typeof body.error === 'string' ? body.error : undefined, body.error_description, OAUTH_ERROR_PATTERN, scrubber);
}

/** RFC 6749 appendix B: form-urlencoding of the client id and secret before HTTP Basic. */
function basicCredential(c: ProviderCredentials): string {
  const enc = (s: string): string => new URLSearchParams({ s }).toString().slice(2);
  return `Basic ${Buffer.from(`${enc(c.appKey)}:${enc(c.appSecretKey)}`).toString('base64')}`;
}

/**
 * Builds a provider for a standard server; see the module description. The issuance budget and
 * every other lifecycle guarantee apply as for a broker; a server's tokens have no daily cut-off
 * and no same-token rule. RFC 7009 answers 200 for an unknown token too, so a revocation only ever
 * reports `revoked`.
 *
 * @example
 * ```ts
 * const provider = rfc7009Provider({
 *   tokenEndpoint: 'https://auth.example.com/oauth/token',
 *   revocationEndpoint: 'https://auth.example.com/oauth/revoke',
 *   clientAuth: 'client_secret_basic',
 *   scope: 'orders:write',
 * });
 * const lifecycle = new TokenLifecycle({ provider, appKey: clientId, appSecretKey: clientSecret });
 * ```
 * @throws LsTokenError `ERR_INVALID_OPTION` naming the option.
 */
export function rfc7009Provider(options: Rfc7009ProviderOptions): ProviderDefinition {
  const o = requireObject('options', options) as Partial<Rfc7009ProviderOptions>;
  const insecure = optionalBoolean('allowInsecureHttp', o.allowInsecureHttp, false);
  if (o.tokenEndpoint === undefined) throw invalidOption('tokenEndpoint', 'is required');
  if (o.revocationEndpoint === undefined) throw invalidOption('revocationEndpoint', 'is required');
  const tokenEndpoint = requireBaseUrl('tokenEndpoint', o.tokenEndpoint, '', insecure);
  const revocationEndpoint = requireBaseUrl('revocationEndpoint', o.revocationEndpoint, '', insecure);
  if (o.clientAuth === undefined) throw invalidOption('clientAuth', 'is required: "client_secret_basic" or "client_secret_post"');
  const clientAuth = optionalEnum('clientAuth', o.clientAuth, ['client_secret_basic', 'client_secret_post'], 'client_secret_basic');
  if (o.scope !== undefined && (typeof o.scope !== 'string' || !/^[\x21\x23-\x5b\x5d-\x7e]+( [\x21\x23-\x5b\x5d-\x7e]+)*$/.test(o.scope))) {
    throw invalidOption('scope', 'must be space-separated scope tokens (RFC 6749 section 3.3)');
  }
  const scope = o.scope;
  const lifetimeS = optionalInteger('tokenLifetimeS', o.tokenLifetimeS, 3600, 1, 31 * 86_400);
  const defaultExpiresInS = o.defaultExpiresInS === undefined ? undefined : optionalInteger('defaultExpiresInS', o.defaultExpiresInS, 3600, 1, 31 * 86_400);
  const id = o.id ?? 'rfc7009';
  if (typeof id !== 'string' || !/^[a-z][a-z0-9-]{0,31}$/.test(id)) throw invalidOption('id', 'must be 1..32 lower-case letters, digits or "-", starting with a letter');
  const reader: CodeReader = { broker: id, extract: extractOAuthError, classify: (code) => classOf(OAUTH_ERROR_CLASSES, code) };

  const request = (url: string, c: ProviderCredentials, fields: Record<string, string>): ProviderRequest => {
    const form = clientAuth === 'client_secret_post' ? { ...fields, client_id: c.appKey, client_secret: c.appSecretKey } : fields;
    return {
      path: '',
      url,
      body: new URLSearchParams(form).toString(),
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        accept: 'application/json',
        ...(clientAuth === 'client_secret_basic' ? { authorization: basicCredential(c) } : {}),
      },
    };
  };

  return Object.freeze<ProviderDefinition>({
    id,
    name: id,
    baseUrls: Object.freeze({ real: new URL(tokenEndpoint).origin, mock: undefined }),
    // RFC 6749 sets no length; these bound what is sent.
    credentialLimits: Object.freeze({ appKey: 1024, appSecretKey: 1024 }),
    rules: Object.freeze({ lifetimeMs: lifetimeS * 1000, dailyCutoff: null, sameTokenWithinMs: 0, minIssueIntervalMs: 0, defaultMinIssueIntervalMs: 0, previousToken: 'kept' }),
    tokenFormat: 'jwt',
    issueRequest: (c) => request(tokenEndpoint, c, { grant_type: 'client_credentials', ...(scope === undefined ? {} : { scope }) }),
    revokeRequest: (c, token, hint) => request(revocationEndpoint, c, { token, token_type_hint: hint }),
    parseIssue(res, issuedAt, scrubber) {
      const json = parseJsonObject(res.body);
      if (res.status !== 200 || json === undefined || typeof json.access_token !== 'string') {
        if (json !== undefined && res.status === 200 && extractOAuthError(json, scrubber).code === undefined) throw badResponse(id, 'token', res.status, 'access_token', 'is missing or not a string');
        throw errorFromBody(reader, 'token', res, issuedAt, scrubber);
      }
      const expiresIn = json.expires_in ?? defaultExpiresInS;
      return checkTokenAnswer({
        broker: id,
        status: res.status,
        tokenField: 'access_token',
        token: json.access_token,
        tokenType: json.token_type,
        scope: typeof json.scope === 'string' ? json.scope : (scope ?? ''),
        issuedAt,
        ...(expiresIn === undefined ? {} : { lifetime: { field: 'expires_in', value: expiresIn } }),
        maxLifetimeS: 31 * 86_400,
        jwt: true,
      });
    },
    parseRevoke(res, now, scrubber) {
      // RFC 7009 section 2.2: 200 whether the token was valid or not; the body is ignored.
      if (res.status === 200) return { outcome: 'revoked' };
      throw errorFromBody(reader, 'revoke', res, now, scrubber);
    },
    codeOf: (body) => codeFromBody(body, (json) => extractOAuthError(json)),
    classifyCode: (code) => classOf(OAUTH_ERROR_CLASSES, code),
    checkAccessToken(token) {
      // The server's tokens may be opaque: only their shape can be checked locally.
      if (typeof token !== 'string' || token === '') return { ok: false, reason: 'it is empty' };
      if (token.length > MAX_ISSUED_TOKEN_LENGTH) return { ok: false, reason: `it is longer than ${MAX_ISSUED_TOKEN_LENGTH} characters` };
      return B64TOKEN.test(token) ? { ok: true } : { ok: false, reason: 'it holds characters a bearer token cannot hold' };
    },
    keyScope: () => `${id}:${normalisedOrigin(tokenEndpoint)}${new URL(tokenEndpoint).pathname}`,
    legacyKeyScope: () => `${id}:${tokenEndpoint}`,
    secretsOf: (c) => (clientAuth === 'client_secret_basic' ? [basicCredential(c).slice('Basic '.length)] : []),
  });
}
