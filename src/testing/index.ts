/**
 * Test helpers for `ls-token-lifecycle` (the `ls-token-lifecycle/testing` entry point): mocks of
 * the LS, KIS and Kiwoom token endpoints to run the library, its tests, benchmarks, demos and
 * daemons in any language against, without touching a real broker.
 *
 * - {@link createLsModel}: LS as a pure model (no socket, no timer), driven by injected `now` and
 *   `random`; {@link mockLsAxiosAdapter} puts it behind an axios instance (fake-timer friendly).
 * - {@link startMockLsServer}: the same model over HTTP, with an optional loopback-only control
 *   endpoint (`/__mock/...`); `ls-token mock-server` runs it from the command line.
 *
 * - {@link createKisModel} / {@link startMockKisServer} and {@link createKiwoomModel} /
 *   {@link startMockKiwoomServer}: KIS and Kiwoom built the same way (model, dialect, the shared
 *   HTTP shell, axios adapter and control endpoint, the same fault kinds), with an option for each
 *   question the brokers' public documents leave open.
 *
 * Each mock answers a few TRs in its broker's documented shape, with the broker's TR headers and
 * paging ({@link LS_DEFAULT_TR_ROUTES}, {@link KIS_DEFAULT_TR_ROUTES}, {@link KIWOOM_DEFAULT_TR_ROUTES});
 * the `trRoutes` option adds more.
 *
 * By default the LS mock models LS's day: every token dies at the next 07:00 KST (`cutoffKst`).
 *
 * @example
 * ```ts
 * import { startMockLsServer } from 'ls-token-lifecycle/testing';
 *
 * const server = await startMockLsServer();
 * // point the library at server.url, then:
 * server.inject({ endpoint: 'token', kind: 'rate-limit', count: 1, retryAfterS: 1 });
 * await server.close();
 * ```
 *
 * @module
 */
export { startMockLsServer } from './mock-ls-server.js';
export type { MockLsServer, MockLsServerOptions } from './mock-ls-server.js';
export { createLsModel } from './ls-model.js';
export type { LsModel, MockLsControls, MockLsState, MockLsStats } from './ls-model.js';
export type { MockControls, MockLiveTokenState, MockModel, MockStats, MockTokenInfo, MockTokenState } from './broker-model.js';
export { createKisModel } from './kis-model.js';
export type { KisModel, KisModelOptions, MockKisState, MockSameTokenStats } from './kis-model.js';
export { createKiwoomModel } from './kiwoom-model.js';
export type { KiwoomModel, KiwoomModelOptions, MockKiwoomState } from './kiwoom-model.js';
export type { KiwoomCodePlacement } from './kiwoom-dialect.js';
export { startMockKisServer, startMockKiwoomServer } from './mock-broker-servers.js';
export type { MockBrokerServer, MockKisServer, MockKisServerOptions, MockKiwoomServer, MockKiwoomServerOptions } from './mock-broker-servers.js';
export type { LsModelOptions, MockCredential } from './ls-model-options.js';
export { mockAxiosAdapter, mockLsAxiosAdapter } from './axios-adapter.js';
export type { MockAxiosAdapterOptions, MockTransportTarget } from './axios-adapter.js';
export { serveMockModel } from './http-shell.js';
export type { MockHttpOptions, MockHttpServer } from './http-shell.js';
export { handleControlRequest, isLoopbackAddress, MOCK_CONTROL_PREFIX } from './control-endpoint.js';
export type { MockControlTarget } from './control-endpoint.js';
export { FAULT_KINDS, parseFaultSpec, validateFault } from './faults.js';
export type { MockEndpoint, MockFault, MockFaultKind, MockFaultState } from './faults.js';
export { LS_DEFAULT_TR_ROUTES, LS_MOCK_ACCOUNT_NO } from './ls-tr-table.js';
export type { MockTrAnswer, MockTrCall, MockTrRoute } from './ls-tr-routes.js';
export { KIS_DEFAULT_TR_ROUTES, kisInput } from './kis-tr-routes.js';
export type { KisTrAnswer, KisTrCall, KisTrRoute } from './kis-tr-routes.js';
export { KIWOOM_DEFAULT_TR_ROUTES } from './kiwoom-tr-routes.js';
export type { KiwoomTrAnswer, KiwoomTrCall, KiwoomTrRoute } from './kiwoom-tr-routes.js';
export type { MockAnswerPlan, MockExchange, MockHangPlan, MockPlan, MockRequest, MockResetPlan, MockResponse } from './wire.js';
export { wireHeaderName } from './wire.js';
export type { CommonModelOptions } from './model-options.js';
export { nextCutoffMs, mintMockJwt, verifyMockJwt, createMockJwtSecret, parseHhMm, KST_OFFSET_MS } from './mock-jwt.js';
export type { MockJwtClaims, MintMockJwtInput } from './mock-jwt.js';
