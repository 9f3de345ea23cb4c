/**
 * Type tests of the public API (checked by `npm run typecheck`, never run): what must compile and
 * what must not, as p-retry's index.test-d.ts does. `@ts-expect-error` lines fail the type-check
 * if they ever compile.
 */
import type { AxiosInstance } from 'axios';
import {
  ErrorCodes,
  LsTokenError,
  TokenLifecycle,
  type ErrorCode,
  type IssuedEvent,
  type LifecycleEvents,
  type LifecycleHealth,
  type NotRevoked,
  type RevocationResult,
  type ShutdownSummary,
  type TokenLifecycleOptions,
} from '../../src/index.js';
import { startMockLsServer, type MockFault } from '../../src/testing/index.js';
import { metrics, type Meter } from '@opentelemetry/api';
import { MeterProvider } from '@opentelemetry/sdk-metrics';

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
/** Compiles only when `T` is exactly `true`. */
function assert<T extends true>(): T | void {}
function expectType<T>(value: T): T {
  return value;
}

// --- options -------------------------------------------------------------------------------------
const minimal: TokenLifecycleOptions = { appKey: 'k', appSecretKey: 's' };
expectType<TokenLifecycleOptions>({ ...minimal, refreshMarginMs: 0, minIssueIntervalMs: 60_000, revokeOnShutdown: 'last-holder', orphanPolicy: 'adopt' });
expectType<TokenLifecycleOptions>({ ...minimal, logger: { info() {}, warn() {}, error() {} } });
expectType<TokenLifecycleOptions>({ ...minimal, issueThrottle: { maxForcedReissues: 3 }, retry: { retries: 3 }, storeTimeoutMs: 5_000 });
// An OpenTelemetry Meter, from the API's global or an SDK provider, is the `meter` option as it is.
expectType<TokenLifecycleOptions>({ ...minimal, meter: metrics.getMeter('ls-token-lifecycle') });
expectType<TokenLifecycleOptions>({ ...minimal, meter: new MeterProvider().getMeter('ls-token-lifecycle') satisfies Meter });
// @ts-expect-error a meter needs the instrument factories
expectType<TokenLifecycleOptions>({ ...minimal, meter: { createCounter() {} } });
// @ts-expect-error appSecretKey is required
expectType<TokenLifecycleOptions>({ appKey: 'k' });
// @ts-expect-error revokeOnShutdown is one of three words
expectType<TokenLifecycleOptions>({ ...minimal, revokeOnShutdown: 'sometimes' });
// @ts-expect-error durations are numbers of ms
expectType<TokenLifecycleOptions>({ ...minimal, leaseTtlMs: '30s' });
// @ts-expect-error a logger needs info, warn and error
expectType<TokenLifecycleOptions>({ ...minimal, logger: { info() {} } });

// --- the events map ------------------------------------------------------------------------------
declare const lc: TokenLifecycle;
lc.on('issued', (e) => {
  assert<Equal<typeof e, IssuedEvent>>();
  assert<Equal<typeof e.source, 'issued' | 'adopted'>>();
});
lc.on('revoked', (e) => assert<Equal<typeof e.outcome, 'revoked' | 'already-invalid'>>());
lc.on('error', (e) => {
  expectType<LsTokenError>(e.error);
  expectType<string>(e.op);
});
assert<Equal<keyof LifecycleEvents, 'issued' | 'scheduled' | 'revoked' | 'retrying' | 'revokeFailed' | 'expired' | 'error'>>();
// @ts-expect-error no such event
lc.on('refreshed', () => undefined);
// @ts-expect-error an issued event has no raw token to leak
lc.on('issued', (e) => e.accessToken);

// --- results and health --------------------------------------------------------------------------
expectType<Promise<string>>(lc.getAccessToken());
expectType<Promise<ShutdownSummary>>(lc.shutdown({ deadlineMs: 1_000 }));
expectType<Promise<LifecycleHealth>>(lc.health());
declare const result: RevocationResult;
assert<Equal<typeof result.outcome, 'revoked' | 'already-invalid' | 'failed' | 'expired' | 'skipped' | 'aborted' | 'deferred' | 'owed'>>();
declare const notRevoked: NotRevoked;
expectType<string | null>(notRevoked.id);
expectType<() => void>(lc.attach({} as AxiosInstance));

// --- error codes ---------------------------------------------------------------------------------
assert<Equal<typeof ErrorCodes.ISSUE_THROTTLED, 'ERR_ISSUE_THROTTLED'>>();
assert<Equal<typeof ErrorCodes.LISTENER, 'ERR_LISTENER'>>();
declare const err: LsTokenError;
expectType<ErrorCode>(err.code);
expectType<boolean>(err.retryable);
// @ts-expect-error codes are a closed set
expectType<ErrorCode>('ERR_SOMETHING_ELSE');

// --- the testing entry point ---------------------------------------------------------------------
expectType<MockFault>({ endpoint: 'token', kind: 'http500-text', count: 2 });
// @ts-expect-error no such fault kind
expectType<MockFault>({ endpoint: 'token', kind: 'explode' });
void startMockLsServer;
