/**
 * ls-token-lifecycle: issue, track and revoke LS Securities Open API access tokens (and those of
 * KIS, Kiwoom and any RFC 7009 server: see {@link ProviderDefinition}).
 *
 * Start with {@link TokenLifecycle}; the parts it is made of ({@link LsOAuthClient} and
 * {@link OAuthClient}, {@link TokenStore}, {@link RevocationScheduler}) are exported for custom
 * setups. Mock LS, KIS and Kiwoom servers live in `ls-token-lifecycle/testing`.
 *
 * @packageDocumentation
 */
export { TokenLifecycle } from './lifecycle/token-lifecycle.js';
export type { TokenLifecycleOptions, ShutdownOptions, ShutdownSummary, NotRevoked, LifecycleStatus, LifecycleHealth, HealthProblem, RevokeOnShutdown } from './lifecycle/token-lifecycle.js';
export type { AvailabilityCounts } from './lifecycle/availability.js';
export { logEvent } from './integrations/logger.js';
export type { LifecycleLogger } from './integrations/logger.js';
export { TokenPolicy, CUTOFF_WAIT_MS, nextCutoffAt } from './lifecycle/token-policy.js';
export type { TokenPolicyOptions, TokenTimes, IssueDecision } from './lifecycle/token-policy.js';
export type { DailyCutoff, IssuedToken, RevokeResult } from './providers/types.js';
export type { LsOAuthClientOptions } from './providers/client-options.js';
export { ClockSkew } from './lifecycle/clock-skew.js';
export type { ClockSample, ClockBounds, ClockSkewEstimate } from './lifecycle/clock-skew.js';
export type { MetricsMeter, MetricsCounter, MetricsHistogram, MetricsBatchResult, MetricsBatchCallback, MetricsInstrumentOptions, MetricAttributes } from './lifecycle/lifecycle-metrics.js';
export { LsOAuthClient, LS_PRODUCTION_BASE_URL, DEFAULT_MAX_RESPONSE_BYTES } from './providers/ls/ls-client.js';
export type { RequestOptions, TokenTypeHint } from './providers/ls/ls-client.js';
export { rejectedTokenOf, MAX_TOKEN_LIFETIME_S } from './providers/ls/ls-response.js';
export { OAuthClient } from './providers/oauth-client.js';
export type { OAuthClientOptions, ServerTimeSample } from './providers/oauth-client.js';
export { appKeyIdFor, assertAccessToken, environmentOf } from './providers/provider.js';
export type { ProviderDefinition, ProviderName, ProviderCredentials, ProviderRequest, TokenRules, AccessTokenCheck } from './providers/provider.js';
export { PROVIDERS, PROVIDER_NAMES, resolveProvider } from './providers/registry.js';
export { lsProvider, LS_DAILY_CUTOFF, LS_MAX_LIFETIME_MS } from './providers/ls/ls-provider.js';
export { kisProvider } from './providers/kis.js';
export { kiwoomProvider } from './providers/kiwoom.js';
export { rfc7009Provider } from './providers/rfc7009.js';
export type { Rfc7009ProviderOptions } from './providers/rfc7009.js';
export type { CodeClass, RawResponse } from './providers/response-parts.js';
export { TokenStore } from './store/token-store.js';
export type { TokenStoreOptions, TokenStoreErrorContext, TokenListFilter, TokenListOptions, TokenUpdateOptions, MetaEntry, IndexRepair, MigrationResult } from './store/token-store.js';
export { RECORD_SCHEMA_VERSION, ENDED_STATES, isEnded } from './store/token-record.js';
export type { TokenRecord, TokenState, NewTokenRecord, TokenRecordPatch, TokenRecordError } from './store/token-record.js';
export { RevocationScheduler } from './schedule/revocation-scheduler.js';
export type { RevocationSchedulerOptions, RetryPolicy, RevocationResult, DrainSummary, DrainOptions, EventSink, HeldTokens } from './schedule/revocation-scheduler.js';
export { attachToAxios } from './integrations/axios-attach.js';
export type { AttachOptions, TokenSource } from './integrations/axios-attach.js';
export { installExitHooks } from './integrations/exit-hooks.js';
export type { ExitHookOptions, ShutdownTarget } from './integrations/exit-hooks.js';
export { ProcessLockProvider, RedisLockProvider, lockProviderFor } from './lifecycle/issue-lock.js';
export type { IssueLockProvider, RawRedisClient } from './lifecycle/issue-lock.js';
export { redisCommandsOf } from './store/redis-commands.js';
export type { RedisCommands, RedisMode } from './store/redis-commands.js';
export type { IssueThrottleOptions } from './lifecycle/issue-throttle.js';
export { LsTokenError, ErrorCodes, isLsTokenError, ErrorCauseSummary, summarizeCause } from './core/errors.js';
export type { ErrorCode, LsTokenErrorDetails, TextScrubber } from './core/errors.js';
export { SecretRedactor, REDACTED, MIN_SECRET_LENGTH } from './core/redact.js';
export { summarizeError } from './core/events.js';
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
  RevokeReason,
} from './core/events.js';
export { tokenId, tokenFingerprint, appKeyId } from './core/fingerprint.js';
export { readJwtClaims } from './providers/ls/jwt-claims.js';
export { checkLsAccessToken, assertLsAccessToken } from './providers/ls/access-token.js';
export type { LsAccessTokenCheck, LsAccessTokenClaims } from './providers/ls/access-token.js';
export { ensurePrivateFile, isOpenToOthers, formatMode, PRIVATE_FILE_MODE } from './integrations/private-file.js';
export type { PrivateFileResult } from './integrations/private-file.js';
export type { LsTokenClaims } from './providers/ls/jwt-claims.js';
export type { Clock } from './core/clock.js';
