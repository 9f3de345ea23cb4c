/**
 * ls-token-lifecycle: issue, track and revoke LS Securities Open API access tokens.
 *
 * Start with {@link TokenLifecycle}; the parts it is made of ({@link LsOAuthClient},
 * {@link TokenStore}, {@link RevocationScheduler}) are exported for custom setups.
 * The LS-compatible mock server lives in `ls-token-lifecycle/testing`.
 *
 * @packageDocumentation
 */
export { TokenLifecycle } from './token-lifecycle.js';
export type { TokenLifecycleOptions, ShutdownOptions, ShutdownSummary, LifecycleStatus, RevokeOnShutdown } from './token-lifecycle.js';
export { LsOAuthClient, LS_PRODUCTION_BASE_URL } from './ls-client.js';
export type { LsOAuthClientOptions, RequestOptions, TokenTypeHint } from './ls-client.js';
export type { IssuedToken, RevokeResult } from './ls-response.js';
export { TokenStore } from './token-store.js';
export type { TokenStoreOptions, TokenStoreErrorContext, TokenListFilter, TokenUpdateOptions, MetaEntry } from './token-store.js';
export { RECORD_SCHEMA_VERSION, ENDED_STATES, isEnded } from './token-record.js';
export type { TokenRecord, TokenState, RevokeReason, NewTokenRecord, TokenRecordPatch, TokenRecordError } from './token-record.js';
export { RevocationScheduler } from './revocation-scheduler.js';
export type { RevocationSchedulerOptions, RetryPolicy, RevocationResult, DrainSummary, DrainOptions } from './revocation-scheduler.js';
export { attachToAxios } from './axios-attach.js';
export type { AttachOptions, TokenSource } from './axios-attach.js';
export { installExitHooks } from './exit-hooks.js';
export type { ExitHookOptions, ShutdownTarget } from './exit-hooks.js';
export { ProcessLockProvider, RedisLockProvider, lockProviderFor } from './issue-lock.js';
export type { IssueLockProvider, RawRedisClient } from './issue-lock.js';
export type { IssueThrottleOptions } from './issue-throttle.js';
export { LsTokenError, ErrorCodes, isLsTokenError } from './errors.js';
export type { ErrorCode, LsTokenErrorDetails } from './errors.js';
export { summarizeError } from './events.js';
export type {
  LifecycleEvents,
  IssuedEvent,
  ScheduledEvent,
  RevokedEvent,
  RetryingEvent,
  RevokeFailedEvent,
  ExpiredEvent,
  ErrorEvent,
  ErrorSummary,
} from './events.js';
export { tokenId, tokenFingerprint, appKeyId } from './fingerprint.js';
export { readJwtClaims } from './jwt-claims.js';
export type { LsTokenClaims } from './jwt-claims.js';
export type { Clock } from './clock.js';
