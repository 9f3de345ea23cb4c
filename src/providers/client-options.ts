/**
 * The connection options of every provider's OAuth client: {@link LsOAuthClient} takes them as
 * they are, the generic {@link OAuthClient} adds `provider`. Broker-neutral, in the providers
 * layer, so that the generic client and the LS client both build on them.
 */
import type { AxiosInstance } from 'axios';
import type { Clock } from '../core/clock.js';
import type { SecretRedactor } from '../core/redact.js';

/**
 * Options of {@link LsOAuthClient}, and the connection options of every provider's
 * {@link OAuthClient} (which adds `provider`).
 */
export interface LsOAuthClientOptions {
  /** App key from the broker's portal (LS: 1..36 characters; KIS: 1..36). Required. */
  appKey: string;
  /** App secret from the broker's portal (LS: 1..36 characters; KIS: 1..180). Required. Never logged. */
  appSecretKey: string;
  /** Base URL of the broker's REST gateway. Default: the provider's real host (LS: `https://openapi.ls-sec.co.kr:8080`). */
  baseUrl?: string;
  /** Deadline of each request in ms (connect + answer). Default `10_000`. */
  timeoutMs?: number;
  /** Allow plain `http://` to a non-loopback host. Default `false`: the secret travels in the body. */
  allowInsecureHttp?: boolean;
  /**
   * An axios instance to send requests with (to add proxies or interceptors). Per-request settings
   * that safety depends on (no redirects, timeout, raw body) are still set by the client.
   * Default: a private instance with keep-alive agents.
   */
  axios?: AxiosInstance;
  /** Clock for `issuedAt`. Default `Date.now`. */
  now?: Clock;
  /**
   * Largest response body read, in bytes (1024 to 16 MiB). A bigger answer (counted after
   * decompression, with or without content-length) is cut off and fails with `ERR_BAD_RESPONSE`,
   * unparsed, so a hostile or broken gateway cannot exhaust memory. Default 65536 (64 KiB).
   */
  maxResponseBytes?: number;
  /**
   * Where the client registers its secrets (the app key and secret for its lifetime, each token
   * for the length of its revoke call) and what it scrubs server text with before quoting it in an
   * error. Share one {@link SecretRedactor} with the {@link TokenStore} and everything that holds
   * raw tokens. Default: a private redactor.
   */
  redactor?: SecretRedactor;
}
