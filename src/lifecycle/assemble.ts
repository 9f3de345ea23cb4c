/**
 * Builds the rooms a lifecycle is made of from its options: the client (which validates the
 * connection options), the store, the token policy with its clock estimate, the vault, the fleet,
 * the scheduler (reporting to the lifecycle's sink) and the issuer. One place wires them, so the
 * facade only holds them. The provider decides the client's endpoints, the policy's time rules
 * (lifetime, daily cut-off, same-token window), the broker's own issuance limit, and the scope of
 * every store key (through the app key's id).
 */
import { type Clock, systemClock } from '../core/clock.js';
import { type LsTokenError } from '../core/errors.js';
import type { SecretRedactor } from '../core/redact.js';
import { LsOAuthClient } from '../providers/ls/ls-client.js';
import { lsProvider } from '../providers/ls/ls-provider.js';
import { OAuthClient } from '../providers/oauth-client.js';
import { appKeyIdFor, type ProviderDefinition } from '../providers/provider.js';
import { type EventSink, RevocationScheduler } from '../schedule/revocation-scheduler.js';
import { TokenStore } from '../store/token-store.js';
import { ClockSkew } from './clock-skew.js';
import { Fleet } from './fleet.js';
import { IssueBudget } from './issue-budget.js';
import { lockProviderFor } from './issue-lock.js';
import { IssueThrottle } from './issue-throttle.js';
import { Issuer } from './issuer.js';
import { type LifecycleConfig, type TokenLifecycleOptions, parseLifecycleOptions } from './lifecycle-options.js';
import { TokenPolicy } from './token-policy.js';
import { TokenVault } from './token-vault.js';

/** Everything a lifecycle holds. */
export interface LifecycleParts {
  readonly cfg: LifecycleConfig;
  readonly provider: ProviderDefinition;
  readonly appKey: string;
  readonly appKeyId: string;
  readonly now: Clock;
  readonly client: OAuthClient;
  /** Knows every secret of this lifecycle (app secret and key, held tokens); scrubs them from any text. */
  readonly redactor: SecretRedactor;
  readonly store: TokenStore;
  readonly skew: ClockSkew;
  readonly policy: TokenPolicy;
  readonly vault: TokenVault;
  readonly fleet: Fleet;
  readonly scheduler: RevocationScheduler;
  readonly issuer: Issuer;
}

/** What the parts report to, and listen to. */
export interface AssemblyHooks {
  /** The scheduler's outcomes (bookkeeping first, then the public event). */
  readonly sink: EventSink;
  /** Store trouble and other errors the parts survived. */
  readonly onError: (err: unknown, op: string, id?: string) => void;
  /** Corrupt or undecryptable records found by the store. */
  readonly onStoreError: (error: LsTokenError, op: string) => void;
  /** Aborted when the lifecycle closes. */
  readonly closing: AbortSignal;
  /** Aborted when shutdown gives up on a request in flight. */
  readonly requests: AbortSignal;
}

/** Builds the parts; throws `ERR_INVALID_OPTION` (naming the field) for bad options. */
export function assembleLifecycle(options: TokenLifecycleOptions, hooks: AssemblyHooks): LifecycleParts {
  const cfg = parseLifecycleOptions(options);
  // One redactor for the client, the store, the scheduler and every message the lifecycle builds:
  // it knows the app secret and key, and every raw token while this process holds it.
  const given = cfg.store.kind === 'given' ? cfg.store.store : undefined;
  const provider = cfg.provider;
  const clientOptions = given !== undefined && options.redactor === undefined ? { ...options, redactor: given.redactor } : options;
  // Validates the connection options (and `now`). LS keeps its own client class.
  const client = provider === lsProvider ? new LsOAuthClient(clientOptions) : new OAuthClient({ ...clientOptions, provider });
  const redactor = client.redactor;
  const now = options.now ?? systemClock;
  const appKeyId = appKeyIdFor(provider, options.appKey, client.baseUrl);
  const rules = provider.rules;
  const c = cfg.store;
  const store =
    c.kind === 'given'
      ? c.store
      : new TokenStore({
          // Absent keys are left out: keyv 5 breaks on `{ store: undefined }`-style objects.
          ...(c.keyv === undefined ? {} : { keyv: c.keyv }),
          ...(c.prefix === undefined ? {} : { prefix: c.prefix }),
          ...(c.encryptionKey === undefined ? {} : { encryptionKey: c.encryptionKey }),
          ...(c.retainMs === undefined ? {} : { retainMs: c.retainMs }),
          acceptPlaintextRecords: c.acceptPlaintextRecords,
          redactor,
          now,
          onError: (error, ctx) => hooks.onStoreError(error, ctx.op),
        });
  const skew = new ClockSkew();
  const policy = new TokenPolicy(
    {
      refreshMarginMs: cfg.refreshMarginMs,
      revokeMarginMs: cfg.revokeMarginMs,
      maxLifetimeMs: cfg.maxLifetimeMs,
      lifetimeMs: rules.lifetimeMs,
      cutoff: rules.dailyCutoff,
      sameTokenWithinMs: rules.sameTokenWithinMs,
      cutoffJitterMs: Math.floor(cfg.random() * 250),
    },
    () => skew.bounds(),
  );
  const vault = new TokenVault({ onHold: (t) => redactor.add(t), onForget: (t) => redactor.delete(t) });
  const base = { store, appKeyId, instanceId: cfg.instanceId, storeTimeoutMs: cfg.storeTimeoutMs, now };
  const fleet = new Fleet({ ...base, leaseTtlMs: cfg.leaseTtlMs, scrubber: redactor, onError: hooks.onError });
  const s = cfg.scheduler;
  const scheduler = new RevocationScheduler({
    store,
    revoke: (token, signal) => client.revokeToken(token, 'access_token', { signal }),
    vault,
    sink: hooks.sink,
    redactor,
    storeTimeoutMs: cfg.storeTimeoutMs,
    now,
    random: cfg.random,
    ...(s.retry === undefined ? {} : { retry: s.retry }),
    ...(s.concurrency === undefined ? {} : { concurrency: s.concurrency }),
    ...(s.revokeRatePerSec === undefined ? {} : { revokeRatePerSec: s.revokeRatePerSec }),
  });
  const issuer = new Issuer({
    ...base,
    client,
    serverTime: (signal) => client.serverTime({ signal }),
    vault,
    fleet,
    policy,
    skew,
    // Never shorter than the broker's own limit: a second issuance inside it would only be refused.
    budget: new IssueBudget({ ...base, intervalMs: Math.max(cfg.minIssueIntervalMs, rules.minIssueIntervalMs) }),
    brokerBudget: rules.minIssueIntervalMs > 0 ? new IssueBudget({ ...base, intervalMs: rules.minIssueIntervalMs }) : undefined,
    sameTokenAnswers: rules.sameTokenWithinMs > 0,
    brokerName: provider.name,
    throttle: new IssueThrottle(cfg.throttle, now),
    lock: cfg.issueLock ?? lockProviderFor(store.keyv),
    lockKey: `${store.prefix}:lock:issue:${appKeyId}`,
    lockTtlMs: client.timeoutMs + 5_000,
    reuseStoredToken: cfg.reuseStoredToken,
    issueLockWaitMs: cfg.issueLockWaitMs,
    closing: hooks.closing,
    abortRequests: hooks.requests,
    isRevoking: (id) => scheduler.isRevoking(id),
    discard: (id, expiresAt) => void scheduler.revoke(id, 'recovery', expiresAt),
    onError: hooks.onError,
  });
  return { cfg, provider, appKey: options.appKey, appKeyId, now, client, redactor, store, skew, policy, vault, fleet, scheduler, issuer };
}
