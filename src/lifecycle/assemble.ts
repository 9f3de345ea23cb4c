/**
 * Builds the rooms a lifecycle is made of from its options: the client (which validates the
 * connection options), the store, the token policy with its clock estimate, the vault, the fleet,
 * the scheduler (reporting to the lifecycle's sink) and the issuer. One place wires them, so the
 * facade only holds them. The provider decides the client's endpoints, the policy's time rules
 * (lifetime, daily cut-off, same-token window), the broker's own issuance limit, and the scope of
 * every store key (through the app key's id).
 */
import { type Clock, systemClock } from '../core/clock.js';
import { ErrorCodes, LsTokenError, issueWaitReasons } from '../core/errors.js';
import { tokenFingerprint } from '../core/fingerprint.js';
import type { SecretRedactor } from '../core/redact.js';
import { LsOAuthClient } from '../providers/ls/ls-client.js';
import { lsProvider } from '../providers/ls/ls-provider.js';
import { OAuthClient } from '../providers/oauth-client.js';
import { appKeyIdFor, legacyAppKeyIdFor, mayBelongTo, type ProviderDefinition } from '../providers/provider.js';
import { type EventSink, RevocationScheduler } from '../schedule/revocation-scheduler.js';
import { TokenStore } from '../store/token-store.js';
import { adapterEnforcesTtl } from '../store/keyv-access.js';
import { ClockSkew } from './clock-skew.js';
import { ClockWatch } from './clock-watch.js';
import { Fleet } from './fleet.js';
import { IssueBudget } from './issue-budget.js';
import { lockProviderFor } from './issue-lock.js';
import { IssueThrottle } from './issue-throttle.js';
import { Issuer } from './issuer.js';
import { type LifecycleConfig, type TokenLifecycleOptions, parseLifecycleOptions } from './lifecycle-options.js';
import { TokenPolicy, type TokenTimes } from './token-policy.js';
import { TokenVault } from './token-vault.js';

/** Everything a lifecycle holds. */
export interface LifecycleParts {
  readonly cfg: LifecycleConfig;
  readonly provider: ProviderDefinition;
  readonly appKey: string;
  readonly appKeyId: string;
  /** The id 0.1.x stored this app key's records under, to move them at first start; `undefined`: nothing to move. */
  readonly legacyAppKeyId: string | undefined;
  readonly now: Clock;
  readonly client: OAuthClient;
  /** Knows every secret of this lifecycle (app secret and key, held tokens); scrubs them from any text. */
  readonly redactor: SecretRedactor;
  readonly store: TokenStore;
  readonly skew: ClockSkew;
  /** Feeds the estimate from every broker answer and keeps it alive (probes). */
  readonly clock: ClockWatch;
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
  /** Times each token request (metrics); called only when the `meter` option is set. */
  readonly timeRequest: <T>(request: () => Promise<T>) => Promise<T>;
  /** The clock estimate moved: re-time the token handed out. */
  readonly onClockMoved: () => void;
  /** The times of the token handed out, if it is `id`. */
  readonly heldTimes: (id: string) => TokenTimes | undefined;
}

/**
 * What may hold an issuance back at `provider` with an issuance budget of `budgetMs`, in the words
 * `ERR_ISSUE_THROTTLED` uses (the CLI words its own error with the same reasons).
 */
export function waitReasonsOf(provider: ProviderDefinition, budgetMs: number): string {
  const c = provider.rules.dailyCutoff;
  const pad = (n: number): string => String(n).padStart(2, '0');
  const zone = c === null ? '' : c.utcOffsetMinutes === 540 ? 'KST' : `UTC${c.utcOffsetMinutes >= 0 ? '+' : '-'}${pad(Math.floor(Math.abs(c.utcOffsetMinutes) / 60))}:${pad(Math.abs(c.utcOffsetMinutes) % 60)}`;
  return issueWaitReasons({
    broker: provider.name,
    budgetMs,
    brokerMinIssueIntervalMs: provider.rules.minIssueIntervalMs,
    dailyCutoff: c === null ? null : `${pad(c.hour)}:${pad(c.minute)} ${zone}`,
  });
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
  const shared =
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
  // Every part works on this app key's view: its keys, its index, its meta values.
  const store = shared.forAppKey(appKeyId);
  const skew = new ClockSkew();
  const clock = new ClockWatch({ skew, probe: (signal) => client.serverTime({ signal }), now, closing: hooks.closing, requests: hooks.requests, onMoved: hooks.onClockMoved, random: cfg.random });
  // Every answer of the broker (token, revoke, probe) is a reading of its clock.
  client.onServerTime((sample) => clock.serverTime(sample));
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
  // Redis can lose its data under a running fleet (FLUSHALL, failover): watch its epoch mark.
  const fleet = new Fleet({ ...base, leaseTtlMs: cfg.leaseTtlMs, scrubber: redactor, onError: hooks.onError, watchEpoch: adapterEnforcesTtl(store.keyv) });
  const s = cfg.scheduler;
  const scheduler = new RevocationScheduler({
    store,
    // A stored token that names another app key (a relabelled record) is not sent with this key's
    // credentials: the broker would refuse it or call it "already invalid" while it lives on.
    revoke: (token, signal) =>
      mayBelongTo(provider, token, options.appKey)
        ? client.revokeToken(token, 'access_token', { signal })
        : Promise.reject(new LsTokenError(ErrorCodes.INVALID_TOKEN, `Token ${tokenFingerprint(token)} names another app key: not revoked with this one`, { field: 'token' })),
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
  // The broker's own limit, with the provider's margin (clocks and networks differ by a little).
  const local = { at: -Infinity }; // this process's last issuance, for both budgets
  const brokerIntervalMs = rules.minIssueIntervalMs > 0 ? rules.minIssueIntervalMs + (rules.issueIntervalMarginMs ?? 0) : 0;
  const issuer = new Issuer({
    ...base,
    // With a meter, every token request is counted and timed; without one the client is used as it is.
    client: cfg.meter === undefined ? client : { issueToken: (o) => hooks.timeRequest(() => client.issueToken(o)) },
    sampleClock: (sample) => clock.sample(sample),
    vault,
    fleet,
    policy,
    skew,
    // Never shorter than the broker's own limit: a second issuance inside it would only be refused.
    budget: new IssueBudget({ ...base, local, intervalMs: Math.max(cfg.minIssueIntervalMs, brokerIntervalMs) }),
    brokerBudget: brokerIntervalMs > 0 ? new IssueBudget({ ...base, local, intervalMs: brokerIntervalMs }) : undefined,
    sameTokenAnswers: rules.sameTokenWithinMs > 0,
    brokerName: provider.name,
    waitReasons: waitReasonsOf(provider, Math.max(cfg.minIssueIntervalMs, rules.minIssueIntervalMs)),
    throttle: new IssueThrottle(cfg.throttle, now),
    lock: cfg.issueLock ?? lockProviderFor(store.keyv),
    lockKey: store.issueLockKey(),
    lockTtlMs: client.timeoutMs + 5_000,
    reuseStoredToken: cfg.reuseStoredToken,
    mayAdopt: (token) => mayBelongTo(provider, token, options.appKey),
    issueLockWaitMs: cfg.issueLockWaitMs,
    requestTimeoutMs: client.timeoutMs,
    closing: hooks.closing,
    abortRequests: hooks.requests,
    heldTimes: hooks.heldTimes,
    isRevoking: (id) => scheduler.isRevoking(id),
    discard: (id, expiresAt) => void scheduler.revoke(id, 'recovery', expiresAt),
    onError: hooks.onError,
  });
  const legacy = legacyAppKeyIdFor(provider, options.appKey, client.baseUrl);
  return { cfg, provider, appKey: options.appKey, appKeyId, legacyAppKeyId: legacy, now, client, redactor, store, skew, clock, policy, vault, fleet, scheduler, issuer };
}
