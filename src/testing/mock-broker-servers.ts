/**
 * The KIS and Kiwoom mocks over `node:http`, built like the LS one: the model behind the shared
 * HTTP shell, with the same controls (`inject`, `stats`, `revokeToken`, ...) and the same optional
 * loopback-only control endpoint (`/__mock/...`).
 *
 * @module
 */
import { serveMockModel, validateHttpOptions, type MockHttpOptions, type MockHttpServer } from './http-shell.js';
import type { MockControls, MockModel } from './broker-model.js';
import type { MockControlTarget } from './control-endpoint.js';
import { createKisModel, type KisModel, type KisModelOptions, type MockSameTokenStats } from './kis-model.js';
import { createKiwoomModel, type KiwoomModel, type KiwoomModelOptions } from './kiwoom-model.js';

/** A running mock server of model type `M`. */
export interface MockBrokerServer<M extends MockModel> extends MockControls, MockHttpServer {
  /** The model behind the server (token details, clock offset, state). */
  readonly model: M;
  /** A snapshot of the counters, same-token answers included. */
  stats(): MockSameTokenStats;
}

/** Options of {@link startMockKisServer}: the model's options plus the transport's. Every field is optional. */
export interface MockKisServerOptions extends KisModelOptions, MockHttpOptions {}

/** Options of {@link startMockKiwoomServer}: the model's options plus the transport's. Every field is optional. */
export interface MockKiwoomServerOptions extends KiwoomModelOptions, MockHttpOptions {}

/** A running mock KIS server; see {@link startMockKisServer}. */
export type MockKisServer = MockBrokerServer<KisModel>;

/** A running mock Kiwoom server; see {@link startMockKiwoomServer}. */
export type MockKiwoomServer = MockBrokerServer<KiwoomModel>;

/** A mock model served over HTTP, with the model's controls beside the URL (what every `startMock…Server` returns). */
export type ServedModel<M extends MockModel & MockControlTarget> = MockHttpServer & { readonly model: M } & Pick<M, 'isActive' | 'stats' | 'inject' | 'clearFaults' | 'activeTokens' | 'issuedTokens' | 'revokeToken' | 'resetStats'>;

/** Serves `model` over HTTP (see `serveMockModel`) and exposes its controls; `close()` also disarms its faults. */
export async function serveModel<M extends MockModel & MockControlTarget>(model: M, options: MockHttpOptions): Promise<ServedModel<M>> {
  const http = await serveMockModel(model, options);
  const served: ServedModel<MockModel & MockControlTarget> = {
    url: http.url,
    port: http.port,
    boundHost: http.boundHost,
    boundUrl: http.boundUrl,
    model,
    close(): Promise<void> {
      model.clearFaults();
      return http.close();
    },
    isActive: (token) => model.isActive(token),
    stats: () => model.stats(),
    inject: (fault) => model.inject(fault),
    clearFaults: () => model.clearFaults(),
    activeTokens: () => model.activeTokens(),
    issuedTokens: () => model.issuedTokens(),
    revokeToken: (token) => model.revokeToken(token),
    resetStats: () => model.resetStats(),
  };
  return served as ServedModel<M>; // `model` is M, and every control answers with M's own types
}

async function serve<M extends KisModel | KiwoomModel>(model: M, options: MockHttpOptions): Promise<MockBrokerServer<M>> {
  return (await serveModel(model, options)) as MockBrokerServer<M>;
}

/**
 * Starts a mock KIS server (see {@link createKisModel} for the behaviour) and resolves once it
 * listens.
 *
 * @example
 * ```ts
 * const server = await startMockKisServer();
 * const lifecycle = new TokenLifecycle({ provider: 'kis', appKey, appSecretKey, baseUrl: server.url });
 * ```
 * @throws LsTokenError `ERR_INVALID_OPTION` for invalid options (as a rejected promise); the listen error.
 */
export async function startMockKisServer(options: MockKisServerOptions = {}): Promise<MockKisServer> {
  validateHttpOptions(options);
  return serve(createKisModel(options), options);
}

/**
 * Starts a mock Kiwoom server (see {@link createKiwoomModel} for the behaviour) and resolves once
 * it listens.
 *
 * @example
 * ```ts
 * const server = await startMockKiwoomServer({ codePlacement: 'top-level' });
 * const lifecycle = new TokenLifecycle({ provider: 'kiwoom', appKey, appSecretKey, baseUrl: server.url });
 * ```
 * @throws LsTokenError `ERR_INVALID_OPTION` for invalid options (as a rejected promise); the listen error.
 */
export async function startMockKiwoomServer(options: MockKiwoomServerOptions = {}): Promise<MockKiwoomServer> {
  validateHttpOptions(options);
  return serve(createKiwoomModel(options), options);
}
