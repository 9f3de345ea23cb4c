/**
 * The LS Securities OAuth2 endpoints over axios: `POST /oauth2/token` and `POST /oauth2/revoke`
 * (LS's pages "접근토큰 발급" and "REST접근토큰 폐기"). {@link LsOAuthClient} is the generic
 * {@link OAuthClient} with the LS provider.
 */
import { OAuthClient } from '../oauth-client.js';
import type { LsOAuthClientOptions } from '../client-options.js';
import { lsProvider } from './ls-provider.js';

export { DEFAULT_MAX_RESPONSE_BYTES } from '../oauth-client.js';
export type { RequestOptions, TokenTypeHint } from '../oauth-client.js';

/** LS's production REST host. */
export const LS_PRODUCTION_BASE_URL = 'https://openapi.ls-sec.co.kr:8080';

/**
 * Client for the two LS OAuth2 endpoints. Stateless apart from its keep-alive agents: it does not
 * remember tokens (that is {@link TokenStore}'s job).
 *
 * - `issueToken()`: `POST /oauth2/token`, grant_type `client_credentials`, scope `oob`. LS keeps one
 *   live token per app key: issuing kills the previous token of this key.
 * - `revokeToken(token)`: `POST /oauth2/revoke`; resolves `{ outcome: 'already-invalid' }` when LS
 *   says the token is already invalid, unknown or expired (IGW00121/00122/00123).
 *
 * @example
 * ```ts
 * const client = new LsOAuthClient({ appKey, appSecretKey });
 * const token = await client.issueToken();
 * await client.revokeToken(token.accessToken);
 * ```
 */
export class LsOAuthClient extends OAuthClient {
  constructor(options: LsOAuthClientOptions) {
    super(options === null || typeof options !== 'object' ? options : { ...options, provider: lsProvider });
  }
}
