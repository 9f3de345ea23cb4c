/**
 * An LS-compatible mock of the two OAuth2 endpoints and of TR calls over `node:http`, for tests,
 * benchmarks, the demo and daemons in any language. No dependencies beyond node built-ins.
 *
 * It is the LS model ({@link createLsModel}) served over HTTP: see there for the behaviour
 * (07:00 KST cut-off, one live token per app key, issue interval, credentials), `ls-tr-routes`
 * for the TR route table, {@link MockFaultKind} for the faults, and `control-endpoint` for the
 * optional `/__mock/...` control endpoint.
 *
 * - `POST /oauth2/token` issues HS512-shaped JWTs whose `jti` is the app key; a new token for an
 *   app key kills that key's previous one (by default, as LS does).
 * - `POST /oauth2/revoke` kills an active token, and answers `IGW00121` (HTTP 401) for a token that
 *   is unknown, already dead, or belongs to another app key (`IGW00123` for an expired one).
 * - Any other `POST` path is a TR call (paths under `/__mock/` excepted): it needs
 *   `authorization: Bearer <live token>` and answers with LS's `tr_cont`/`tr_cont_key` headers.
 * - Anything else answers 404.
 *
 * @module
 */
import { validateHttpOptions, type MockHttpOptions, type MockHttpServer } from './http-shell.js';
import { serveModel } from './mock-broker-servers.js';
import { createLsModel, type LsModel, type MockLsControls } from './ls-model.js';
import type { LsModelOptions } from './ls-model-options.js';

/** Options of {@link startMockLsServer}: the model's options plus the transport's. Every field is optional. */
export interface MockLsServerOptions extends LsModelOptions, MockHttpOptions {}

/** A running mock LS server; see {@link startMockLsServer}. */
export interface MockLsServer extends MockLsControls, MockHttpServer {
  /** The model behind the server (token details, clock offset, state). */
  readonly model: LsModel;
}

/**
 * Starts a mock LS server and resolves once it listens.
 *
 * @example
 * ```ts
 * const server = await startMockLsServer({ now: () => Date.UTC(2024, 2, 14, 21, 59) }); // 06:59 KST
 * const res = await fetch(`${server.url}/oauth2/token`, {
 *   method: 'POST',
 *   headers: { 'content-type': 'application/x-www-form-urlencoded' },
 *   body: new URLSearchParams({ grant_type: 'client_credentials', appkey: 'k', appsecretkey: 's', scope: 'oob' }),
 * }); // expires_in: 60 (the token dies at 07:00 KST)
 * server.inject({ endpoint: 'revoke', kind: 'http500', count: 2 });
 * await server.close();
 * ```
 * @throws LsTokenError `ERR_INVALID_OPTION` for invalid options (as a rejected promise); the
 *   listen error (e.g. `EADDRINUSE`).
 */
export async function startMockLsServer(options: MockLsServerOptions = {}): Promise<MockLsServer> {
  validateHttpOptions(options);
  const model = createLsModel(options);
  return (await serveModel(model, options)) as MockLsServer;
}
