/**
 * The facade a daemon embeds: one `TokenLifecycle` per LS app key. It hands out the current token
 * from memory (the hot path: no I/O), runs one single flight at a time to adopt or issue the next
 * one, installs it, and has the old one revoked. The rooms it is made of: `token-policy.ts` (every
 * time decision), `issuer.ts` (adopt or issue under lock and budget), `fleet.ts` (leases,
 * heartbeat, handshake), `sweep.ts`, `shutdown.ts`, `lifecycle-options.ts`, and the
 * {@link RevocationScheduler}, which reports to this facade through a sink before anything is
 * emitted publicly.
 */
import { inspect } from 'node:util';
import { EventEmitter } from 'eventemitter3';
import type { AxiosInstance } from 'axios';
import { type Clock, systemClock } from '../core/clock.js';
import { ErrorCodes, LsTokenError, invalidOption, isLsTokenError, toLsTokenError } from '../core/errors.js';
import type { LifecycleEvents } from '../core/events.js';
import { appKeyId as hashAppKey, tokenId } from '../core/fingerprint.js';
import { optionalDuration } from '../core/validate.js';
import { attachToAxios, type AttachOptions } from '../integrations/axios-attach.js';
import { installExitHooks, type ExitHookOptions } from '../integrations/exit-hooks.js';
import { assertLsAccessToken } from '../ls/access-token.js';
import { readJwtClaims } from '../ls/jwt-claims.js';
import { LsOAuthClient } from '../ls/ls-client.js';
import { type EventSink, RevocationScheduler, type RevocationResult } from '../schedule/revocation-scheduler.js';
import type { RevokeReason, TokenRecord } from '../store/token-record.js';
import { TokenStore } from '../store/token-store.js';
import { ClockSkew, type ClockSkewEstimate } from './clock-skew.js';
import { Fleet } from './fleet.js';
import { IssueBudget } from './issue-budget.js';
import { lockProviderFor } from './issue-lock.js';
import { IssueThrottle } from './issue-throttle.js';
import { type HeldToken, Issuer, type ObtainRequest } from './issuer.js';
import { type LifecycleConfig, type TokenLifecycleOptions, parseLifecycleOptions } from './lifecycle-options.js';
import { type ShutdownOptions, type ShutdownSummary, runShutdown } from './shutdown.js';
import { runSweep } from './sweep.js';
import { LS_DAILY_CUTOFF, LS_MAX_LIFETIME_MS, TokenPolicy } from './token-policy.js';
import { TokenVault } from './token-vault.js';

export type { RevokeOnShutdown, TokenLifecycleOptions } from './lifecycle-options.js';
export type { NotRevoked, ShutdownOptions, ShutdownSummary } from './shutdown.js';

/** What {@link TokenLifecycle.status} reports. */
export interface LifecycleStatus {
  /** This process's id in the fleet. */
  readonly instanceId: string;
  /** Hash of the app key. */
  readonly appKeyId: string;
  /** Whether `start()` has completed. */
  readonly started: boolean;
  /** Whether `shutdown()` has been called. */
  readonly closed: boolean;
  /** The current token, if any (fingerprint id, never the raw token); times are epoch ms. */
  readonly current?: {
    readonly id: string;
    readonly issuedAt: number;
    readonly expiresAt: number;
    /** Handed out until then; revoked then unless it ends at LS's cut-off (then it is left to die). */
    readonly revokeAt: number;
    /** When the next token is fetched in the background (`Infinity`: never). */
    readonly refreshAt: number;
  };
  /** The estimated offset of LS's clock from this host's, or `null` before LS has answered once. */
  readonly clockSkew: ClockSkewEstimate | null;
  /** Revocations scheduled. */
  readonly scheduled: number;
  /** Revocations in flight. */
  readonly inflight: number;
}

const STORE_ID = /^[0-9a-f]{64}$/;

/**
 * Manages the whole life of the LS access tokens of one app key.
 *
 * @example
 * ```ts
 * const lifecycle = new TokenLifecycle({ appKey, appSecretKey, store: createKeyv(url, { throwOnErrors: true }) });
 * await lifecycle.start();
 * lifecycle.installExitHooks();
 * const token = await lifecycle.getAccessToken(); // from memory while valid
 * ```
 */
export class TokenLifecycle extends EventEmitter<LifecycleEvents> {
  /** This process's id in the fleet. */
  readonly instanceId: string;
  /** Hash of the app key: groups records without revealing the key. */
  readonly appKeyId: string;
  /** The token store. */
  readonly store: TokenStore;
  /** The revocation scheduler. */
  readonly scheduler: RevocationScheduler;
  /** The LS client. */
  readonly client: LsOAuthClient;

  readonly #appKey: string;
  readonly #cfg: LifecycleConfig;
  readonly #now: Clock;
  readonly #skew = new ClockSkew();
  readonly #policy: TokenPolicy;
  readonly #vault: TokenVault;
  readonly #fleet: Fleet;
  readonly #issuer: Issuer;
  readonly #closing = new AbortController();
  readonly #requests = new AbortController();
  #current: HeldToken | undefined;
  #nextRefreshAt = Infinity;
  #flight: Promise<void> | undefined;
  #acquiring: Promise<string> | undefined;
  #starting: Promise<void> | undefined;
  #shutdownPromise: Promise<ShutdownSummary> | undefined;
  #started = false;
  #sweeping: Promise<void> | undefined;
  readonly #timers: { refresh?: NodeJS.Timeout; heartbeat?: NodeJS.Timeout; sweep?: NodeJS.Timeout } = {};

  constructor(options: TokenLifecycleOptions) {
    super();
    const cfg = parseLifecycleOptions(options);
    this.#cfg = cfg;
    this.client = new LsOAuthClient(options); // validates the connection options (and `now`)
    this.#now = options.now ?? systemClock;
    this.#appKey = options.appKey;
    this.appKeyId = hashAppKey(options.appKey);
    this.instanceId = cfg.instanceId;
    const c = cfg.store;
    const onStoreError = (error: LsTokenError, ctx: { op: string }): void => this.#emit('error', { error, op: `store.${ctx.op}` });
    this.store =
      c.kind === 'given'
        ? c.store
        : new TokenStore({
            // Absent keys are left out: keyv 5 breaks on `{ store: undefined }`-style objects.
            ...(c.keyv === undefined ? {} : { keyv: c.keyv }),
            ...(c.prefix === undefined ? {} : { prefix: c.prefix }),
            ...(c.encryptionKey === undefined ? {} : { encryptionKey: c.encryptionKey }),
            ...(c.retainMs === undefined ? {} : { retainMs: c.retainMs }),
            now: this.#now,
            onError: onStoreError,
          });
    this.#policy = new TokenPolicy(
      { refreshMarginMs: cfg.refreshMarginMs, revokeMarginMs: cfg.revokeMarginMs, maxLifetimeMs: cfg.maxLifetimeMs, lifetimeMs: LS_MAX_LIFETIME_MS, cutoff: LS_DAILY_CUTOFF, cutoffJitterMs: Math.floor(cfg.random() * 250) },
      () => this.#skew.bounds(),
    );
    this.#vault = new TokenVault();
    const onError = (err: unknown, op: string, id?: string): void => this.#emit('error', { error: toLsTokenError(err, ErrorCodes.STORE, `${op} failed`, true), op, id });
    const base = { store: this.store, appKeyId: this.appKeyId, instanceId: this.instanceId, storeTimeoutMs: cfg.storeTimeoutMs, now: this.#now };
    this.#fleet = new Fleet({ ...base, leaseTtlMs: cfg.leaseTtlMs, onError });
    const s = cfg.scheduler;
    this.scheduler = new RevocationScheduler({
      store: this.store,
      revoke: (token, signal) => this.client.revokeToken(token, 'access_token', { signal }),
      vault: this.#vault,
      sink: this.#sink,
      storeTimeoutMs: cfg.storeTimeoutMs,
      now: this.#now,
      random: cfg.random,
      ...(s.retry === undefined ? {} : { retry: s.retry }),
      ...(s.concurrency === undefined ? {} : { concurrency: s.concurrency }),
      ...(s.revokeRatePerSec === undefined ? {} : { revokeRatePerSec: s.revokeRatePerSec }),
    });
    this.#issuer = new Issuer({
      ...base,
      client: this.client,
      vault: this.#vault,
      fleet: this.#fleet,
      policy: this.#policy,
      skew: this.#skew,
      budget: new IssueBudget({ ...base, intervalMs: cfg.minIssueIntervalMs }),
      throttle: new IssueThrottle(cfg.throttle, this.#now),
      lock: cfg.issueLock ?? lockProviderFor(this.store.keyv),
      lockKey: `${this.store.prefix}:lock:issue:${this.appKeyId}`,
      lockTtlMs: this.client.timeoutMs + 5_000,
      reuseStoredToken: cfg.reuseStoredToken,
      issueLockWaitMs: cfg.issueLockWaitMs,
      closing: this.#closing.signal,
      abortRequests: this.#requests.signal,
      isRevoking: (id) => this.scheduler.isRevoking(id),
      discard: (held) => void this.scheduler.revoke(held.id, 'recovery', held.times.expiresAt),
      onError,
    });
  }

  /**
   * Starts the lifecycle: reads LS's clock once, sweeps the store (revokes due and owed tokens,
   * schedules the others) and starts the heartbeat and periodic sweep timers (all `unref()`ed).
   * Idempotent. `getAccessToken()` calls it on first use.
   */
  start(): Promise<void> {
    if (this.#closing.signal.aborted) return Promise.reject(closedError());
    this.#starting ??= (async () => {
      void this.#probeClock();
      await this.sweep();
      if (this.#closing.signal.aborted) return; // shut down meanwhile: arm nothing
      this.#started = true;
      this.#timers.heartbeat = setInterval(() => void this.#heartbeat(), Math.max(100, Math.floor(this.#cfg.leaseTtlMs / 3))).unref();
      await this.#heartbeat();
      if (this.#closing.signal.aborted || this.#cfg.sweepIntervalMs === 0) return; // shut down during the first beat: no timer may outlive it
      this.#timers.sweep = setInterval(() => void this.sweep(), this.#cfg.sweepIntervalMs).unref();
    })();
    return this.#starting;
  }

  /**
   * The access token to put in `authorization: Bearer ...`. While the current token is usable this
   * answers from memory with no store or network I/O; at its refresh time a successor is fetched
   * in the background while callers keep the current token. Concurrent callers with no usable
   * token share one flight (which also joins a refresh in progress).
   *
   * @throws {@link LsTokenError} from issuance (`ERR_INVALID_CREDENTIALS`, `ERR_NETWORK`, ...),
   * `ERR_ISSUE_THROTTLED` (cool-down, issuance budget, forced re-issue cap), `ERR_CLOSED` after shutdown.
   */
  getAccessToken(): Promise<string> {
    const cur = this.#current;
    if (cur !== undefined) {
      const now = this.#now();
      if (now < cur.times.revokeAt) {
        if (now >= this.#nextRefreshAt && this.#flight === undefined) this.#refresh();
        return cur.resolved;
      }
    }
    return this.#acquiring ?? this.#acquire({ forced: false, rejected: undefined, current: undefined });
  }

  /**
   * Tells the lifecycle that LS rejected `token` (IGW00121/IGW00123 on a TR call). The store is
   * re-read first: if another process stored a newer token it is adopted, since issuing would kill
   * it; otherwise a new token is issued past the budget (at most `issueThrottle.maxForcedReissues`
   * per window). The rejected token is never adopted again. Returns the token to retry with.
   */
  async invalidate(token: string): Promise<string> {
    if (typeof token !== 'string' || token === '') throw invalidOption('token', 'must be a non-empty string');
    const id = tokenId(token);
    if (this.#current !== undefined && this.#current.id !== id) return this.getAccessToken();
    if (this.#current?.id === id) this.#setCurrent(undefined);
    this.#vault.forget(id); // LS says it is dead
    await this.store.update(id, { state: 'revoked', reason: 'superseded', lastError: { code: ErrorCodes.INVALID_TOKEN, message: 'LS reported the token invalid' } }, { expectStates: ['active'] }).catch((err: unknown) => this.#report(err, 'store.update', id));
    return this.#acquiring ?? this.#acquire({ forced: true, rejected: id, current: undefined });
  }

  /** Revokes every token this process holds (reason `logout`). The next `getAccessToken()` obtains a new one. */
  async logout(): Promise<RevocationResult[]> {
    this.#setCurrent(undefined);
    return Promise.all(this.#vault.ids().map((id) => this.scheduler.revoke(id, 'logout')));
  }

  /**
   * Revokes one token now, given as the raw token or its id (64 hex digits). Tokens not held here
   * are read from the store; a raw token unknown to the store is still sent. A string that is not
   * an LS access token of this app key is refused with `ERR_INVALID_TOKEN` (LS would answer
   * "already invalid" to it, which reads as success while the real token lives on).
   */
  async revoke(tokenOrId: string, reason: RevokeReason = 'manual'): Promise<RevocationResult> {
    if (typeof tokenOrId !== 'string' || tokenOrId === '') throw invalidOption('tokenOrId', 'must be a non-empty string');
    const isId = STORE_ID.test(tokenOrId);
    const id = isId ? tokenOrId : tokenId(tokenOrId);
    if (!isId) {
      // LS answers IGW00121 ("already invalid") for anything it does not know: a typo, a truncated
      // paste or another app key's token would read as revoked while the real token lives on.
      assertLsAccessToken(tokenOrId, this.#appKey, 'tokenOrId');
      this.#vault.hold(id, tokenOrId);
    }
    if (this.#current?.id === id) this.#setCurrent(undefined);
    return this.scheduler.revoke(id, reason);
  }

  /** The records of this app key in the store (no raw tokens). */
  async list(): Promise<TokenRecord[]> {
    return this.store.list({ appKeyId: this.appKeyId });
  }

  /** A snapshot of what this lifecycle holds and will do. */
  status(): LifecycleStatus {
    const cur = this.#current;
    return {
      instanceId: this.instanceId,
      appKeyId: this.appKeyId,
      started: this.#started,
      closed: this.#closing.signal.aborted,
      ...(cur === undefined ? {} : { current: { id: cur.id, issuedAt: cur.times.issuedAt, expiresAt: cur.times.expiresAt, revokeAt: cur.times.revokeAt, refreshAt: this.#nextRefreshAt } }),
      clockSkew: this.#skew.estimate(),
      scheduled: this.scheduler.size,
      inflight: this.scheduler.inflight,
    };
  }

  /**
   * Stops the lifecycle within `deadlineMs` (see the phases in `shutdown.ts`): nothing issues or is
   * handed out afterwards, and every token this process issued or held alone is revoked or listed
   * in `notRevoked` with why. Idempotent: a second call returns the first call's promise.
   */
  shutdown(options: ShutdownOptions = {}): Promise<ShutdownSummary> {
    if (this.#shutdownPromise !== undefined) return this.#shutdownPromise;
    const deadlineMs = optionalDuration('deadlineMs', options.deadlineMs, this.#cfg.shutdownDeadlineMs);
    this.#closing.abort(closedError());
    for (const t of Object.values(this.#timers)) clearTimeout(t);
    const flight = this.#flight;
    const current = this.#current;
    this.#current = undefined;
    this.#shutdownPromise = runShutdown({
      now: this.#now,
      deadlineMs,
      inFlight: [flight, this.#sweeping],
      abortRequests: () => this.#requests.abort(closedError()),
      requestInFlight: () => this.#issuer.requesting,
      fleet: this.#fleet,
      vault: this.#vault,
      scheduler: this.scheduler,
      currentId: () => current?.id,
      revokeOnShutdown: this.#cfg.revokeOnShutdown,
    }).finally(() => {
      this.scheduler.close();
      this.client.close();
    });
    return this.#shutdownPromise;
  }

  /** Hooks shutdown into process signals, `beforeExit` and uncaught exceptions; returns an uninstall function. */
  installExitHooks(options: ExitHookOptions = {}): () => void {
    return installExitHooks(this, options);
  }

  /**
   * Puts `authorization: Bearer <token>` on every request of an axios instance used for LS TR
   * calls, and when LS answers that the token is dead (IGW00121/22/23 in the body) takes a
   * fresh token once and repeats the request once. Returns a function that detaches.
   */
  attach(instance: AxiosInstance, options: AttachOptions = {}): () => void {
    return attachToAxios(this, instance, options);
  }

  /**
   * Sweeps the store once: revokes this app key's tokens that are due, owed (`revoking`) or
   * orphaned, and schedules the rest. Runs at start and every `sweepIntervalMs`. Never rejects.
   */
  sweep(): Promise<void> {
    this.#sweeping ??= runSweep({
      store: this.store,
      appKeyId: this.appKeyId,
      instanceId: this.instanceId,
      fleet: this.#fleet,
      scheduler: this.scheduler,
      policy: this.#policy,
      vault: this.#vault,
      currentId: () => this.#current?.id,
      closing: this.#closing.signal,
      cfg: this.#cfg,
      now: this.#now,
      onError: (err, op, id) => this.#report(err, op, id),
    }).finally(() => {
      this.#sweeping = undefined;
    });
    return this.#sweeping;
  }

  /** Safe summary for logs. */
  toJSON(): LifecycleStatus {
    return this.status();
  }

  /** `util.inspect` shows the status, never credentials or tokens. */
  [inspect.custom](): string {
    return `TokenLifecycle ${inspect(this.status())}`;
  }

  // --- the single flight ---------------------------------------------------------------------

  #acquire(req: ObtainRequest): Promise<string> {
    if (this.#closing.signal.aborted) return Promise.reject(closedError());
    const p = (async () => {
      if (!this.#started) await this.start();
      // A refresh in flight is joined, never raced by a second issuance.
      if (this.#flight !== undefined) {
        await this.#flight;
        const cur = this.#current;
        if (cur !== undefined && cur.id !== req.rejected && this.#now() < cur.times.revokeAt) return cur.token;
      }
      return this.#fly(req);
    })().finally(() => {
      if (this.#acquiring === p) this.#acquiring = undefined;
    });
    this.#acquiring = p;
    return p;
  }

  #refresh(): void {
    const from = this.#current;
    if (from === undefined || this.#closing.signal.aborted) return;
    void this.#fly({ forced: false, rejected: undefined, current: from }).catch((err: unknown) => {
      const wait = isLsTokenError(err) && err.retryAfterMs !== undefined ? err.retryAfterMs : 5_000;
      if (this.#current === from) this.#armRefresh(this.#now() + Math.max(1_000, wait));
      if (!isLsTokenError(err, ErrorCodes.CLOSED)) this.#report(err, 'refresh', from.id);
    });
  }

  /** One flight of the issuer; installs what it brings. Resolves with the token to hand out. */
  async #fly(req: ObtainRequest): Promise<string> {
    let release!: () => void;
    const flight = new Promise<void>((r) => (release = r));
    this.#flight = flight;
    try {
      const out = await this.#issuer.obtain(req);
      if (this.#closing.signal.aborted) throw closedError(); // landed during shutdown: the vault has it, shutdown revokes it
      if (out.kind === 'keep') {
        this.#armRefresh(out.retryAt);
        if (req.current === undefined) throw new LsTokenError(ErrorCodes.ISSUE_THROTTLED, 'No token may be issued now', { retryable: true });
        return req.current.token;
      }
      this.#install(out.held, out.source);
      // Our lease on it is written before anyone uses it: a sibling's sweep must see it held.
      await this.#heartbeat();
      return out.held.token;
    } catch (err) {
      if (isLsTokenError(err, ErrorCodes.ISSUE_THROTTLED) && req.current === undefined) this.#report(err, 'acquire');
      throw err;
    } finally {
      if (this.#flight === flight) this.#flight = undefined;
      release();
    }
  }

  #install(held: HeldToken, source: 'issued' | 'adopted'): void {
    const previous = this.#current;
    if (previous?.id === held.id) {
      // The same token again (a broker answering a re-issue with the live token): nothing to replace.
      this.#setCurrent({ ...held, times: previous.times });
      this.#armRefresh(Math.max(previous.times.refreshAt, this.#now() + this.#cfg.refreshMarginMs / 2));
      return;
    }
    this.#setCurrent(held);
    // Scheduled before anyone hears of it: a throwing listener cannot leave it unscheduled.
    if (!this.scheduler.isScheduled(held.id)) this.scheduler.schedule({ id: held.id, revokeAt: held.times.revokeAt, expiresAt: held.times.expiresAt }, 'expiry');
    this.#emit('issued', { id: held.id, appKeyId: this.appKeyId, issuedAt: held.times.issuedAt, expiresAt: held.times.expiresAt, revokeAt: held.times.revokeAt, source });
    if (previous !== undefined) {
      // Replaced: revoked after a grace period (requests in flight finish), unless it dies first.
      this.scheduler.schedule({ id: previous.id, revokeAt: previous.times.revokeAt, expiresAt: previous.times.expiresAt }, 'superseded', Math.min(this.#now() + this.#cfg.supersededGraceMs, previous.times.revokeAt));
      void this.#fleet.release(previous.id);
    }
  }

  #setCurrent(held: HeldToken | undefined): void {
    this.#current = held;
    this.#armRefresh(held === undefined ? Infinity : held.times.refreshAt);
  }

  /** One timer for the next refresh (re-armed in chunks: node cannot wait 2^31 ms or more). */
  #armRefresh(at: number): void {
    this.#nextRefreshAt = at;
    clearTimeout(this.#timers.refresh);
    this.#timers.refresh = undefined;
    if (at === Infinity || this.#closing.signal.aborted || this.#current === undefined) return;
    const delay = Math.max(0, at - this.#now());
    this.#timers.refresh = setTimeout(() => {
      if (this.#now() < this.#nextRefreshAt) return this.#armRefresh(this.#nextRefreshAt);
      const cur = this.#current;
      if (this.#flight !== undefined || cur === undefined) return;
      // At LS's cut-off the token has ended: fetch the next one now, so the next caller has it.
      if (this.#now() < cur.times.revokeAt) this.#refresh();
      else void this.#acquire({ forced: false, rejected: undefined, current: undefined }).catch((err: unknown) => this.#report(err, 'refresh', cur.id));
    }, Math.min(delay, 2_147_483_647)).unref();
  }

  // --- fleet, clock, events -------------------------------------------------------------------

  #heartbeat(): Promise<void> {
    return this.#fleet.heartbeat(() => {
      const cur = this.#current;
      if (cur === undefined) return undefined;
      const r = cur.record;
      return { id: cur.id, token: cur.token, input: { appKeyId: r.appKeyId, tokenType: r.tokenType, issuedAt: r.issuedAt, expiresAt: r.expiresAt, revokeAt: r.revokeAt, ownerId: this.instanceId } };
    });
  }

  /** Reads LS's clock once when nothing has yet; then re-times the current token by it. */
  async #probeClock(): Promise<void> {
    if (this.#skew.estimate() !== null) return;
    const sample = await this.client.serverTime({ signal: this.#requests.signal }).catch(() => undefined);
    // An issuance meanwhile gave a better sample (its JWT iat): keep that one.
    if (sample === undefined || this.#skew.estimate() !== null || !this.#skew.sample({ ...sample, resolutionMs: 1000 })) return;
    const cur = this.#current;
    const exp = cur === undefined ? undefined : readJwtClaims(cur.token)?.exp;
    if (cur === undefined || exp === undefined || this.#closing.signal.aborted) return;
    this.#setCurrent({ ...cur, times: this.#policy.times(cur.times.issuedAt, this.#policy.expiryOf(cur.times.issuedAt, undefined, exp)) });
  }

  /** Bookkeeping first (from the scheduler), then the public event. */
  readonly #sink: EventSink = (name, event) => {
    const id = (event as { id?: string }).id;
    if (id !== undefined && (name === 'revoked' || name === 'expired')) this.#vault.forget(id); // revoked or dead
    if (id !== undefined && id === this.#current?.id && (name === 'revoked' || name === 'expired' || name === 'revokeFailed')) this.#setCurrent(undefined);
    this.#emit(name, event);
  };

  /** Emits to the public listeners; a listener that throws is reported, never breaks the lifecycle. */
  #emit<K extends keyof LifecycleEvents>(name: K, event: Parameters<LifecycleEvents[K]>[0]): void {
    try {
      (this.emit as (n: K, e: unknown) => boolean)(name, event);
    } catch (err) {
      if (name === 'error') return;
      try {
        this.emit('error', { error: toLsTokenError(err, ErrorCodes.LISTENER, `a listener of "${name}" threw`), op: 'listener' });
      } catch {
        // An error listener that throws as well: nothing left to tell.
      }
    }
  }

  #report(err: unknown, op: string, id?: string): void {
    this.#emit('error', { error: toLsTokenError(err, ErrorCodes.STORE, `${op} failed`, true), op, id });
  }
}

function closedError(): LsTokenError {
  return new LsTokenError(ErrorCodes.CLOSED, 'The token lifecycle is shut down');
}
