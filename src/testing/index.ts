/**
 * Test helpers for `ls-token-lifecycle` (the `ls-token-lifecycle/testing` entry point): an
 * LS-compatible mock server to run the library, its tests, benchmarks and demos against, without
 * touching the real LS Open API.
 *
 * @example
 * ```ts
 * import { startMockLsServer } from 'ls-token-lifecycle/testing';
 *
 * const server = await startMockLsServer({ cutoffKst: '07:00' });
 * // point the library at server.url, then:
 * server.inject({ endpoint: 'token', kind: 'rate-limit', count: 1, retryAfterS: 1 });
 * await server.close();
 * ```
 *
 * @module
 */
export { startMockLsServer } from './mock-ls-server.js';
export type {
  MockCredential,
  MockEndpoint,
  MockFault,
  MockFaultKind,
  MockLsServer,
  MockLsServerOptions,
  MockLsStats,
} from './mock-ls-server.js';
export { nextCutoffMs, mintMockJwt, verifyMockJwt, createMockJwtSecret, parseHhMm, KST_OFFSET_MS } from './mock-jwt.js';
export type { MockJwtClaims, MintMockJwtInput } from './mock-jwt.js';
