/**
 * The options of {@link TokenLifecycle}, parsed once into one frozen, typed {@link LifecycleConfig}.
 * Nothing downstream re-validates or casts them. Options of the parts the lifecycle is made of are
 * validated by those parts alone: the connection options by the client, `retry`, `concurrency`
 * and `revokeRatePerSec` by the scheduler, the store options by the store.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import Keyv from 'keyv';
import { invalidOption } from '../core/errors.js';
import { optionalBoolean, optionalDuration, optionalEnum, optionalInteger, requireObject } from '../core/validate.js';
import type { OAuthClientOptions } from '../providers/oauth-client.js';
import type { ProviderDefinition } from '../providers/provider.js';
import { resolveProvider } from '../providers/registry.js';
import type { RetryPolicy } from '../schedule/revocation-scheduler.js';
import { TokenStore } from '../store/token-store.js';
import type { IssueLockProvider } from './issue-lock.js';
import type { IssueThrottleOptions } from './issue-throttle.js';
import { isLifecycleLogger, type LifecycleLogger } from '../integrations/logger.js';
import { isMetricsMeter, type MetricsMeter } from './lifecycle-metrics.js';

/** What to do with the shared token at shutdown. */
export type RevokeOnShutdown = 'last-holder' | 'always' | 'never';

/**
 * Options of {@link TokenLifecycle}. Durations are in ms and at most 2^31 - 1 (the longest delay a
 * node timer can hold). The connection options (`provider`, `appKey`, `appSecretKey`, `baseUrl`,
 * `timeoutMs`, `allowInsecureHttp`, `axios`, `maxResponseBytes`, `redactor`, `now`) are those of
 * {@link OAuthClientOptions}, documented there.
 *
 * `provider` (default `'ls'`) picks the broker: `'ls'`, `'kis'`, `'kiwoom'`, or a
 * {@link ProviderDefinition} such as `rfc7009Provider(...)`. It decides the endpoints, the token
 * rules the policy follows (LS's 07:00 KST cut-off, KIS's 6 h same-token window and one issuance a
 * minute, Kiwoom's same token until `expires_dt`), and the store keys: one store can serve
 * lifecycles of several providers and environments at once.
 */
export interface TokenLifecycleOptions extends OAuthClientOptions {
  /**
   * Where tokens are tracked: a keyv 5 instance (`@keyv/redis`, `@keyv/sqlite`, ...) or a ready
   * {@link TokenStore}. Default: an in-memory keyv (tokens are then forgotten with the process, so
   * use a persistent store in production: a crash would otherwise leave tokens unrevoked).
   */
  store?: Keyv | TokenStore;
  /** Key prefix inside the store, so several apps can share one Redis. Default `'ls-token'`. Not with a `TokenStore`. */
  namespace?: string;
  /** 32-byte key to encrypt raw tokens at rest (AES-256-GCM): Buffer, 64 hex chars or base64. Default: none. Not with a `TokenStore`. */
  encryptionKey?: Buffer | Uint8Array | string;
  /** How long records of ended tokens are kept for audit. Default 7 days. Not with a `TokenStore`. */
  retainMs?: number;
  /**
   * With `encryptionKey` set, also read records stored in plain text (and seal them when next
   * written): for a migration window only. Otherwise a plaintext record is refused (`ERR_DECRYPT`,
   * an `error` event), so a token planted in the store is never adopted. Default `false`.
   */
  acceptPlaintextRecords?: boolean;
  /**
   * A successor is fetched in the background this long before the current token's `revokeAt`,
   * when it would outlive the current token by at least this much; otherwise just after LS's
   * 07:00 KST cut-off. `0` turns background refresh off: the first call after `revokeAt` obtains a
   * new token. Default `300_000` (5 min).
   */
  refreshMarginMs?: number;
  /**
   * Tokens are revoked this long before they expire, so that the successor takes over first. A
   * token no successor could outlive (it ends at the 07:00 KST cut-off) is used until it expires
   * and then left to die. Default `60_000`.
   */
  revokeMarginMs?: number;
  /** Policy lifetime: revoke a token this long after issue even if LS would accept it longer. Default: none. */
  maxLifetimeMs?: number;
  /** A replaced token is revoked this long after its successor arrives (requests in flight finish). Default `30_000`. */
  supersededGraceMs?: number;
  /** Reuse a valid stored token of the same app key instead of issuing (LS issuance kills the previous token). Default `true`. */
  reuseStoredToken?: boolean;
  /**
   * The issuance budget: at most one issuance per app key per this interval, shared by the fleet
   * through the store (brokers on LS's gateway allow one a minute). Never shorter than the
   * provider's own limit (KIS: 60 s), which forced re-issues obey too. A refresh that would break it
   * keeps the current token; a caller with no usable token waits up to `issueLockWaitMs` for it,
   * then fails with `ERR_ISSUE_THROTTLED`. Forced re-issues (after LS rejected the token) have
   * their own cap (`issueThrottle`). The interval runs from the broker's answer. Default `60_000`
   * (`0` for `rfc7009Provider`: a generic OAuth server has no issuance limit).
   */
  minIssueIntervalMs?: number;
  /** Revocation backoff. Defaults: 5 retries, 500 ms doubling to 30 s, 2 min budget, 5 s after a rate limit. */
  retry?: RetryPolicy;
  /** Revocations in flight at once. Default `8`. */
  concurrency?: number;
  /** Most revoke requests per second; `0` = unlimited. Default `0`. */
  revokeRatePerSec?: number;
  /** Issuance brakes of this process: cool-down after a failure and the forced re-issue cap. */
  issueThrottle?: IssueThrottleOptions;
  /** Default deadline of {@link TokenLifecycle.shutdown}. Default `10_000`. */
  shutdownDeadlineMs?: number;
  /**
   * Close the store's connection (keyv's `disconnect()`: the Redis client of `@keyv/redis`, the
   * SQLite handle) once `shutdown()` has revoked what it revokes, so that a script ends by itself
   * after `shutdown()`. Off by default: the store is yours, and may serve other code; then close it
   * yourself (`await keyv.disconnect()`) after `shutdown()`. Default `false`.
   */
  closeStoreOnShutdown?: boolean;
  /** Whether shutdown revokes the shared token: only when no other live process holds it (`'last-holder'`), `'always'` or `'never'`. Default `'last-holder'`. */
  revokeOnShutdown?: RevokeOnShutdown;
  /**
   * What a sweep does with the fleet's token (the app key's newest valid token) while no live
   * process holds it, e.g. one `ls-token issue` just issued: `'adopt'` keeps it until its
   * `revokeAt` for the next caller to adopt, `'revoke'` revokes it (reason `recovery`). Older tokens
   * nobody holds are revoked either way. Default `'adopt'`.
   */
  orphanPolicy?: 'adopt' | 'revoke';
  /** This process's id in the fleet. Default: host, pid and a random suffix. */
  instanceId?: string;
  /** Lifetime of a heartbeat lease; a crashed holder stops counting after this. Default `30_000`. */
  leaseTtlMs?: number;
  /** How often the store is swept for due, owed and orphaned tokens. `0` disables the periodic sweep. Default `60_000`. */
  sweepIntervalMs?: number;
  /** How long a caller waits for another process's issuance, the issuance budget or LS's cut-off before giving up. Default `15_000`. */
  issueLockWaitMs?: number;
  /**
   * Longest wait for one store operation, ms. A store that does not answer in time counts as down:
   * the token is kept and revoked from memory, and the record is written again later. Default `5_000`.
   */
  storeTimeoutMs?: number;
  /**
   * `health()` reports the problem `clock-skew` while the broker's clock, as estimated from its
   * answers, is more than this far from the host's (either way). The lifecycle keeps its cut-off
   * and expiry decisions right whatever the offset; a large one means the host's NTP is broken.
   * Default `60_000`.
   */
  maxClockSkewMs?: number;
  /** Issuance lock provider. Default: Redis `SET NX PX` on an `@keyv/redis` store, in-process otherwise. */
  issueLock?: IssueLockProvider;
  /** Random source in [0, 1), for the jitters. Default `Math.random`; simulations pass a seeded one. */
  random?: () => number;
  /**
   * A pino-compatible logger (`info/warn/error(obj, msg)`, `debug` optional). Every event is logged
   * once at a fitting level (issued/revoked/expired: info, scheduled: debug, retrying: warn,
   * revokeFailed/error: error), secret-free. Default: none (silent).
   */
  logger?: LifecycleLogger;
  /**
   * An OpenTelemetry `Meter` (`@opentelemetry/api` 1.x, an optional peer dependency): the lifecycle
   * then records counters, histograms and observable gauges under `ls_token.*` (see
   * docs/observability.md). The hot path records nothing. Default: none (no metrics work at all).
   */
  meter?: MetricsMeter;
}

/** How the lifecycle gets its store. */
export type StoreChoice =
  | { readonly kind: 'given'; readonly store: TokenStore }
  | {
      readonly kind: 'keyv';
      readonly keyv: Keyv | undefined;
      readonly prefix: string | undefined;
      readonly encryptionKey: Buffer | Uint8Array | string | undefined;
      readonly retainMs: number | undefined;
      readonly acceptPlaintextRecords: boolean;
    };

/** The lifecycle's own options, validated, with defaults applied. */
export interface LifecycleConfig {
  readonly provider: ProviderDefinition;
  readonly refreshMarginMs: number;
  readonly revokeMarginMs: number;
  readonly maxLifetimeMs: number;
  readonly supersededGraceMs: number;
  readonly reuseStoredToken: boolean;
  readonly minIssueIntervalMs: number;
  readonly shutdownDeadlineMs: number;
  readonly closeStoreOnShutdown: boolean;
  readonly revokeOnShutdown: RevokeOnShutdown;
  readonly orphanPolicy: 'adopt' | 'revoke';
  readonly instanceId: string;
  readonly leaseTtlMs: number;
  readonly sweepIntervalMs: number;
  readonly issueLockWaitMs: number;
  readonly storeTimeoutMs: number;
  readonly maxClockSkewMs: number;
  readonly throttle: Readonly<Required<IssueThrottleOptions>>;
  readonly issueLock: IssueLockProvider | undefined;
  readonly random: () => number;
  readonly logger: LifecycleLogger | undefined;
  readonly meter: MetricsMeter | undefined;
  readonly store: StoreChoice;
  /** Passed to the scheduler, which validates them. */
  readonly scheduler: { readonly retry: RetryPolicy | undefined; readonly concurrency: number | undefined; readonly revokeRatePerSec: number | undefined };
}

function randomInstanceId(): string {
  return `${hostname().replace(/[^\w.-]/g, '_').slice(0, 40)}-${process.pid}-${randomBytes(4).toString('hex')}`;
}

function invalid(field: string, problem: string): never {
  throw invalidOption(field, problem);
}

function optionalFunction<T>(field: string, value: unknown): T | undefined {
  if (value !== undefined && typeof value !== 'function') throw invalidOption(field, 'must be a function');
  return value as T | undefined;
}

function storeChoice(o: TokenLifecycleOptions): StoreChoice {
  if (o.store instanceof TokenStore) {
    // These configure a store the lifecycle would build; silently ignoring them would leave tokens
    // unencrypted or in another namespace than the user believes.
    for (const field of ['encryptionKey', 'namespace', 'retainMs', 'acceptPlaintextRecords'] as const) {
      if (o[field] !== undefined) throw invalidOption(field, 'give it to the TokenStore you pass as "store"');
    }
    return { kind: 'given', store: o.store };
  }
  if (o.store !== undefined && !(o.store instanceof Keyv)) throw invalidOption('store', 'must be a Keyv instance or a TokenStore');
  return { kind: 'keyv', keyv: o.store, prefix: o.namespace, encryptionKey: o.encryptionKey, retainMs: o.retainMs, acceptPlaintextRecords: optionalBoolean('acceptPlaintextRecords', o.acceptPlaintextRecords, false) };
}

/**
 * Validates the lifecycle's own options (naming the field, never echoing a value) and applies the
 * defaults.
 *
 * @throws {@link LsTokenError} `ERR_INVALID_OPTION`.
 */
export function parseLifecycleOptions(options: TokenLifecycleOptions): LifecycleConfig {
  const o = requireObject('options', options) as unknown as TokenLifecycleOptions;
  if (o.instanceId !== undefined && (typeof o.instanceId !== 'string' || !/^[\w.:-]{1,128}$/.test(o.instanceId))) {
    throw invalidOption('instanceId', 'must be 1..128 characters of letters, digits, "_", ".", ":" or "-"');
  }
  const t = requireObject('issueThrottle', o.issueThrottle) as IssueThrottleOptions;
  const issueLock = o.issueLock;
  if (issueLock !== undefined && (typeof issueLock !== 'object' || issueLock === null || typeof issueLock.tryAcquire !== 'function')) {
    throw invalidOption('issueLock', 'must implement IssueLockProvider');
  }
  const leaseTtlMs = optionalDuration('leaseTtlMs', o.leaseTtlMs, 30_000, 300);
  const provider = resolveProvider(o.provider);
  return Object.freeze({
    provider,
    refreshMarginMs: optionalDuration('refreshMarginMs', o.refreshMarginMs, 300_000),
    revokeMarginMs: optionalDuration('revokeMarginMs', o.revokeMarginMs, 60_000),
    maxLifetimeMs: optionalDuration('maxLifetimeMs', o.maxLifetimeMs, Infinity, 1),
    supersededGraceMs: optionalDuration('supersededGraceMs', o.supersededGraceMs, 30_000),
    reuseStoredToken: optionalBoolean('reuseStoredToken', o.reuseStoredToken, true),
    minIssueIntervalMs: optionalDuration('minIssueIntervalMs', o.minIssueIntervalMs, provider.rules.defaultMinIssueIntervalMs ?? 60_000),
    shutdownDeadlineMs: optionalDuration('shutdownDeadlineMs', o.shutdownDeadlineMs, 10_000),
    closeStoreOnShutdown: optionalBoolean('closeStoreOnShutdown', o.closeStoreOnShutdown, false),
    revokeOnShutdown: optionalEnum('revokeOnShutdown', o.revokeOnShutdown, ['last-holder', 'always', 'never'], 'last-holder'),
    orphanPolicy: optionalEnum('orphanPolicy', o.orphanPolicy, ['adopt', 'revoke'], 'adopt'),
    instanceId: o.instanceId ?? randomInstanceId(),
    leaseTtlMs,
    sweepIntervalMs: optionalDuration('sweepIntervalMs', o.sweepIntervalMs, 60_000),
    issueLockWaitMs: optionalDuration('issueLockWaitMs', o.issueLockWaitMs, 15_000),
    storeTimeoutMs: optionalDuration('storeTimeoutMs', o.storeTimeoutMs, 5_000, 1),
    maxClockSkewMs: optionalDuration('maxClockSkewMs', o.maxClockSkewMs, 60_000, 1),
    throttle: Object.freeze({
      cooldownMs: optionalDuration('issueThrottle.cooldownMs', t.cooldownMs, 1_000),
      maxCooldownMs: optionalDuration('issueThrottle.maxCooldownMs', t.maxCooldownMs, 60_000),
      maxForcedReissues: optionalInteger('issueThrottle.maxForcedReissues', t.maxForcedReissues, 3, 0, 1_000),
      forcedReissueWindowMs: optionalDuration('issueThrottle.forcedReissueWindowMs', t.forcedReissueWindowMs, 600_000),
    }),
    issueLock,
    random: optionalFunction<() => number>('random', o.random) ?? Math.random,
    logger: o.logger === undefined ? undefined : isLifecycleLogger(o.logger) ? o.logger : invalid('logger', 'must have info, warn and error methods (a pino-compatible logger)'),
    meter: o.meter === undefined ? undefined : isMetricsMeter(o.meter) ? o.meter : invalid('meter', 'must be an OpenTelemetry Meter (createCounter, createHistogram, createObservableGauge, addBatchObservableCallback)'),
    store: storeChoice(o),
    scheduler: Object.freeze({ retry: o.retry, concurrency: o.concurrency, revokeRatePerSec: o.revokeRatePerSec }),
  });
}
