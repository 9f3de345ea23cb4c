/**
 * The facade a daemon embeds: one `TokenLifecycle` per LS app key. It hands out the current token
 * from memory, issues (or adopts) tokens when needed, records every token in the {@link TokenStore},
 * and has the {@link RevocationScheduler} revoke each one at expiry, logout, shutdown or when it is
 * replaced. Every outcome is an event.
 */
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { inspect } from 'node:util';
import { EventEmitter } from 'eventemitter3';
import Keyv from 'keyv';
import type { AxiosInstance } from 'axios';
import { type Clock, systemClock } from '../core/clock.js';
import { ErrorCodes, LsTokenError, invalidOption, isLsTokenError, toLsTokenError } from '../core/errors.js';
import type { LifecycleEvents } from '../core/events.js';
import { appKeyId as hashAppKey, shortId, tokenId } from '../core/fingerprint.js';
import { readJwtClaims } from '../ls/jwt-claims.js';
import { type IssueLockProvider, lockProviderFor } from './issue-lock.js';
import { IssueThrottle, type IssueThrottleOptions } from './issue-throttle.js';
import { LsOAuthClient, type LsOAuthClientOptions } from '../ls/ls-client.js';
import type { IssuedToken } from '../ls/ls-response.js';
import { type DrainSummary, RevocationScheduler, type RetryPolicy, type RevocationResult } from '../schedule/revocation-scheduler.js';
import { type RevokeReason, type TokenRecord, isEnded } from '../store/token-record.js';
import { TokenStore } from '../store/token-store.js';
import { optionalEnum, optionalInteger, optionalNumber, requireObject } from '../core/validate.js';
import { installExitHooks, type ExitHookOptions } from '../integrations/exit-hooks.js';
import { attachToAxios, type AttachOptions } from '../integrations/axios-attach.js';

/** What to do with the shared token at shutdown. */
export type RevokeOnShutdown = 'last-holder' | 'always' | 'never';

/**
 * Options of {@link TokenLifecycle}. Durations are in ms. The connection options (`appKey`,
 * `appSecretKey`, `baseUrl`, `timeoutMs`, `allowInsecureHttp`, `axios`, `now`) are those of
 * {@link LsOAuthClientOptions}, documented there, and are passed to the lifecycle's client as given.
 */
export interface TokenLifecycleOptions extends LsOAuthClientOptions {
  /**
   * Where tokens are tracked: a keyv 5 instance (`@keyv/redis`, `@keyv/sqlite`, ...) or a ready
   * {@link TokenStore}. Default: an in-memory keyv (tokens are then forgotten with the process, so
   * use a persistent store in production: a crash would otherwise leave tokens unrevoked).
   */
  store?: Keyv | TokenStore;
  /** Key prefix inside the store, so several apps can share one Redis. Default `'ls-token'`. */
  namespace?: string;
  /** 32-byte key to encrypt raw tokens at rest (AES-256-GCM): Buffer, 64 hex chars or base64. Default: none. */
  encryptionKey?: Buffer | Uint8Array | string;
  /** How long records of ended tokens are kept for audit. Default 7 days. */
  retainMs?: number;
  /**
   * A successor is issued in the background this long before the current token's `revokeAt`
   * (its expiry minus `revokeMarginMs`, or its policy lifetime end). `0` turns background refresh
   * off: the first call after `revokeAt` issues afresh. Default `300_000` (5 min).
   */
  refreshMarginMs?: number;
  /** Tokens are revoked this long before they expire. Default `60_000`. */
  revokeMarginMs?: number;
  /** Policy lifetime: revoke a token this long after issue even if LS would accept it longer. Default: none. */
  maxLifetimeMs?: number;
  /** A replaced token is revoked this long after its successor arrives (requests in flight finish). Default `30_000`. */
  supersededGraceMs?: number;
  /** Reuse a valid stored token of the same app key instead of issuing (LS issuance kills the previous token). Default `true`. */
  reuseStoredToken?: boolean;
  /** Revocation backoff. Defaults: 5 retries, 500 ms doubling to 30 s, 2 min budget, 5 s after a rate limit. */
  retry?: RetryPolicy;
  /** Revocations in flight at once. Default `8`. */
  concurrency?: number;
  /** Most revoke requests per second; `0` = unlimited. Default `0`. */
  revokeRatePerSec?: number;
  /** Issuance brakes: cool-down after a failure and the forced re-issue cap. */
  issueThrottle?: IssueThrottleOptions;
  /** Default deadline of {@link TokenLifecycle.shutdown}. Default `10_000`. */
  shutdownDeadlineMs?: number;
  /** Whether shutdown revokes the shared token: only when no other live process holds it (`'last-holder'`), `'always'` or `'never'`. Default `'last-holder'`. */
  revokeOnShutdown?: RevokeOnShutdown;
  /** What a starting process does with a valid token no live process holds: `'adopt'` it or `'revoke'` it. Default `'adopt'`. */
  orphanPolicy?: 'adopt' | 'revoke';
  /** This process's id in the fleet. Default: host, pid and a random suffix. */
  instanceId?: string;
  /** Lifetime of a heartbeat lease; a crashed holder stops counting after this. Default `30_000`. */
  leaseTtlMs?: number;
  /** How often the store is swept for due, owed and orphaned tokens. `0` disables the periodic sweep. Default `60_000`. */
  sweepIntervalMs?: number;
  /** How long a process waits for another's issuance before issuing itself. Default `15_000`. */
  issueLockWaitMs?: number;
  /** Issuance lock provider. Default: Redis `SET NX PX` on an `@keyv/redis` store, in-process otherwise. */
  issueLock?: IssueLockProvider;
}

/** A token this lifecycle holds in memory. */
interface Held {
  readonly id: string;
  readonly token: string;
  /** The token as an already-resolved promise, so the hot path allocates nothing. */
  readonly resolved: Promise<string>;
  readonly record: TokenRecord;
  readonly refreshAt: number;
}

/** A token just obtained, and how. */
interface Got {
  readonly held: Held;
  readonly source: 'issued' | 'adopted';
}

/** Options of {@link TokenLifecycle.shutdown}. */
export interface ShutdownOptions {
  /** Hard deadline, ms. Default: the `shutdownDeadlineMs` option (10 s). */
  deadlineMs?: number;
}

/** Result of {@link TokenLifecycle.shutdown}. */
export interface ShutdownSummary extends DrainSummary {
  /** Tokens left alive on purpose (another live process holds them, or `revokeOnShutdown: 'never'`). */
  readonly keptForOthers: number;
}

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
  /** The current token, if any (fingerprint id, never the raw token). */
  readonly current?: {
    /** The token's id. */
    readonly id: string;
    /** When it was issued, epoch ms. */
    readonly issuedAt: number;
    /** When it expires, epoch ms. */
    readonly expiresAt: number;
    /** When it will be revoked, epoch ms. */
    readonly revokeAt: number;
    /** When a successor will be fetched in the background, epoch ms. */
    readonly refreshAt: number;
  };
  /** Revocations scheduled. */
  readonly scheduled: number;
  /** Revocations in flight. */
  readonly inflight: number;
}

const STORE_ID = /^[0-9a-f]{64}$/;

function randomInstanceId(): string {
  return `${hostname().replace(/[^\w.-]/g, '_').slice(0, 40)}-${process.pid}-${randomBytes(4).toString('hex')}`;
}

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

  readonly #now: Clock;
  readonly #refreshMarginMs: number;
  readonly #revokeMarginMs: number;
  readonly #maxLifetimeMs: number;
  readonly #supersededGraceMs: number;
  readonly #reuse: boolean;
  readonly #shutdownDeadlineMs: number;
  readonly #revokeOnShutdown: RevokeOnShutdown;
  readonly #orphanPolicy: 'adopt' | 'revoke';
  readonly #leaseTtlMs: number;
  readonly #sweepIntervalMs: number;
  readonly #issueLockWaitMs: number;
  readonly #lock: IssueLockProvider;
  readonly #throttle: IssueThrottle;

  #current: Held | undefined;
  /** Raw tokens this process holds and has not seen end (for revocation without a store read). */
  readonly #tokens = new Map<string, string>();
  #acquiring: Promise<string> | undefined;
  #refreshing: Promise<void> | undefined;
  /** After a failed background refresh, the next one waits until then (no error flood on the hot path). */
  #refreshRetryAt = 0;
  #starting: Promise<void> | undefined;
  #shutdownPromise: Promise<ShutdownSummary> | undefined;
  #started = false;
  #closed = false;
  #refreshTimer: NodeJS.Timeout | undefined;
  #heartbeatTimer: NodeJS.Timeout | undefined;
  #sweepTimer: NodeJS.Timeout | undefined;
  #sweeping: Promise<void> | undefined;
  /** The heartbeat write in flight: shutdown waits for it, so no lease is re-written after it was dropped. */
  #beating: Promise<void> | undefined;
  #beatAgain = false;

  constructor(options: TokenLifecycleOptions) {
    super();
    const o = requireObject('options', options);
    if (o.now !== undefined && typeof o.now !== 'function') throw invalidOption('now', 'must be a function');
    this.#now = (o.now as Clock | undefined) ?? systemClock;
    // The client validates its own options (and names the field); it shares the lifecycle's clock.
    this.client = new LsOAuthClient({ ...(o as unknown as LsOAuthClientOptions), now: this.#now });
    this.appKeyId = hashAppKey(o.appKey as string);
    this.#refreshMarginMs = optionalNumber('refreshMarginMs', o.refreshMarginMs, 300_000, 0);
    this.#revokeMarginMs = optionalNumber('revokeMarginMs', o.revokeMarginMs, 60_000, 0);
    this.#maxLifetimeMs = optionalNumber('maxLifetimeMs', o.maxLifetimeMs, Infinity, 1, Infinity);
    this.#supersededGraceMs = optionalNumber('supersededGraceMs', o.supersededGraceMs, 30_000, 0);
    this.#reuse = o.reuseStoredToken === undefined ? true : o.reuseStoredToken === true;
    if (o.reuseStoredToken !== undefined && typeof o.reuseStoredToken !== 'boolean') throw invalidOption('reuseStoredToken', 'must be a boolean');
    this.#shutdownDeadlineMs = optionalNumber('shutdownDeadlineMs', o.shutdownDeadlineMs, 10_000, 0);
    this.#revokeOnShutdown = optionalEnum('revokeOnShutdown', o.revokeOnShutdown, ['last-holder', 'always', 'never'], 'last-holder');
    this.#orphanPolicy = optionalEnum('orphanPolicy', o.orphanPolicy, ['adopt', 'revoke'], 'adopt');
    this.#leaseTtlMs = optionalInteger('leaseTtlMs', o.leaseTtlMs, 30_000, 100);
    this.#sweepIntervalMs = optionalInteger('sweepIntervalMs', o.sweepIntervalMs, 60_000, 0);
    this.#issueLockWaitMs = optionalInteger('issueLockWaitMs', o.issueLockWaitMs, 15_000, 0);
    if (o.instanceId !== undefined && (typeof o.instanceId !== 'string' || !/^[\w.:-]{1,128}$/.test(o.instanceId))) {
      throw invalidOption('instanceId', 'must be 1..128 characters of letters, digits, "_", ".", ":" or "-"');
    }
    this.instanceId = (o.instanceId as string | undefined) ?? randomInstanceId();
    const t = requireObject('issueThrottle', o.issueThrottle);
    this.#throttle = new IssueThrottle(
      {
        cooldownMs: optionalNumber('issueThrottle.cooldownMs', t.cooldownMs, 1_000, 0),
        maxCooldownMs: optionalNumber('issueThrottle.maxCooldownMs', t.maxCooldownMs, 60_000, 0),
        maxForcedReissues: optionalInteger('issueThrottle.maxForcedReissues', t.maxForcedReissues, 3, 0),
        forcedReissueWindowMs: optionalNumber('issueThrottle.forcedReissueWindowMs', t.forcedReissueWindowMs, 600_000, 0),
      },
      this.#now,
    );

    if (o.store instanceof TokenStore) {
      if (o.encryptionKey !== undefined) throw invalidOption('encryptionKey', 'give it to the TokenStore you pass as "store"');
      this.store = o.store;
    } else {
      if (o.store !== undefined && !(o.store instanceof Keyv)) throw invalidOption('store', 'must be a Keyv instance or a TokenStore');
      // Build the options without absent keys: keyv 5 breaks on `{ store: undefined }`-style objects.
      this.store = new TokenStore({
        ...(o.store === undefined ? {} : { keyv: o.store as Keyv }),
        ...(o.namespace === undefined ? {} : { prefix: o.namespace as string }),
        ...(o.encryptionKey === undefined ? {} : { encryptionKey: o.encryptionKey as string }),
        ...(o.retainMs === undefined ? {} : { retainMs: o.retainMs as number }),
        now: this.#now,
        onError: (error, ctx) => this.emit('error', { error, op: `store.${ctx.op}` }),
      });
    }
    this.#lock = (o.issueLock as IssueLockProvider | undefined) ?? lockProviderFor(this.store.keyv);

    this.scheduler = new RevocationScheduler({
      store: this.store,
      revoke: (token, signal) => this.client.revokeToken(token, 'access_token', { signal }),
      tokenFor: (id) => this.#tokens.get(id),
      events: this,
      ...(o.retry === undefined ? {} : { retry: o.retry as RetryPolicy }),
      ...(o.concurrency === undefined ? {} : { concurrency: o.concurrency as number }),
      ...(o.revokeRatePerSec === undefined ? {} : { revokeRatePerSec: o.revokeRatePerSec as number }),
      now: this.#now,
    });
    // Forget raw tokens once they have ended, and never hand out an ended token.
    const forget = ({ id }: { id: string }): void => {
      this.#tokens.delete(id);
      if (this.#current?.id === id) this.#setCurrent(undefined);
    };
    this.on('revoked', forget);
    this.on('expired', forget);
    this.on('revokeFailed', forget);
  }

  // ---------------------------------------------------------------------------------------------
  // Public API

  /**
   * Starts the lifecycle: sweeps the store once (revokes due and owed tokens, schedules the
   * others) and starts the heartbeat and periodic sweep timers (all `unref()`ed). Idempotent.
   * `getAccessToken()` calls it on first use.
   */
  start(): Promise<void> {
    if (this.#closed) return Promise.reject(this.#closedError());
    this.#starting ??= (async () => {
      await this.sweep();
      if (this.#closed) return; // shut down meanwhile: arm nothing (no lease may appear after shutdown)
      this.#started = true;
      this.#heartbeatTimer = setInterval(() => void this.#heartbeat(), Math.max(50, Math.floor(this.#leaseTtlMs / 3)));
      this.#heartbeatTimer.unref();
      await this.#heartbeat();
      if (this.#sweepIntervalMs > 0) {
        this.#sweepTimer = setInterval(() => void this.sweep(), this.#sweepIntervalMs);
        this.#sweepTimer.unref();
      }
    })();
    return this.#starting;
  }

  /**
   * The access token to put in `authorization: Bearer ...`. While the current token is valid this
   * answers from memory with no store or network I/O; inside the refresh margin a successor is
   * fetched in the background while callers keep the current token. Concurrent callers with no
   * valid token share one issuance.
   *
   * @throws {@link LsTokenError} from issuance (`ERR_INVALID_CREDENTIALS`, `ERR_NETWORK`, ...),
   * `ERR_ISSUE_THROTTLED` while cooling down after a failed issuance, `ERR_CLOSED` after shutdown.
   */
  getAccessToken(): Promise<string> {
    const cur = this.#current;
    if (cur !== undefined) {
      const now = this.#now();
      if (now < cur.record.revokeAt) {
        if (now >= cur.refreshAt && this.#refreshing === undefined && now >= this.#refreshRetryAt) this.#refreshInBackground();
        return cur.resolved;
      }
    }
    return this.#acquiring ?? this.#acquire();
  }

  /**
   * Tells the lifecycle that LS rejected `token` as invalid (IGW00121/IGW00123 on a TR call). The
   * store is re-read first (whatever `reuseStoredToken` says): if another process has stored a
   * newer token it is adopted, since issuing would kill it; otherwise a new token is issued (at
   * most `issueThrottle.maxForcedReissues` per window, counted only when one is really issued).
   * The rejected token is never adopted again. Returns the token to retry with.
   */
  async invalidate(token: string): Promise<string> {
    if (typeof token !== 'string' || token === '') throw invalidOption('token', 'must be a non-empty string');
    const id = tokenId(token);
    if (this.#current !== undefined && this.#current.id !== id) return this.getAccessToken();
    if (this.#current?.id === id) this.#setCurrent(undefined);
    this.#tokens.delete(id);
    try {
      await this.store.update(id, { state: 'revoked', reason: 'superseded', lastError: { code: ErrorCodes.INVALID_TOKEN, message: 'LS reported the token invalid' } }, { expectStates: ['active'] });
    } catch (err) {
      this.#emitError(err, 'store.update', id);
    }
    return this.#acquiring ?? this.#acquire({ forced: true, rejected: id });
  }

  /** Revokes every token this process holds (reason `logout`). The next `getAccessToken()` issues a new one. */
  async logout(): Promise<RevocationResult[]> {
    this.#setCurrent(undefined);
    const ids = [...this.#tokens.keys()];
    return Promise.all(ids.map((id) => this.scheduler.revoke(id, 'logout')));
  }

  /**
   * Revokes one token now, given as the raw token or its fingerprint id (64 hex digits). Tokens
   * not issued here are looked up in the store; a raw token unknown to the store is still sent.
   */
  async revoke(tokenOrId: string, reason: RevokeReason = 'manual'): Promise<RevocationResult> {
    if (typeof tokenOrId !== 'string' || tokenOrId === '') throw invalidOption('tokenOrId', 'must be a non-empty string');
    const isId = STORE_ID.test(tokenOrId);
    const id = isId ? tokenOrId : tokenId(tokenOrId);
    if (!isId) {
      // LS answers IGW00121 for another key's token, which would read as "revoked" while it lives on.
      const jti = readJwtClaims(tokenOrId)?.jti;
      if (jti !== undefined && hashAppKey(jti) !== this.appKeyId) {
        throw invalidOption('tokenOrId', 'is a token of another app key; revoke it with a lifecycle or client for that key');
      }
      if (!this.#tokens.has(id)) this.#tokens.set(id, tokenOrId);
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
      closed: this.#closed,
      ...(cur === undefined
        ? {}
        : { current: { id: cur.id, issuedAt: cur.record.issuedAt, expiresAt: cur.record.expiresAt, revokeAt: cur.record.revokeAt, refreshAt: cur.refreshAt } }),
      scheduled: this.scheduler.size,
      inflight: this.scheduler.inflight,
    };
  }

  /**
   * Stops the lifecycle: drops this process's lease, revokes what it owes (per `revokeOnShutdown`
   * for the shared token; superseded and due tokens unless another live process holds them) and
   * resolves by `deadlineMs` at the latest (plus a few ms for aborted revocations to report),
   * whatever LS or the store do. The store gets at most 60 % of the deadline; a store that does not
   * answer counts as down, and the tokens are then revoked from memory. Revocations cut short stay
   * `revoking` in the store, for the next `start()` or sweep to finish. Idempotent: a second call
   * returns the first call's promise. See the README section "Guarantees".
   */
  shutdown(options: ShutdownOptions = {}): Promise<ShutdownSummary> {
    this.#shutdownPromise ??= this.#shutdown(optionalNumber('deadlineMs', options.deadlineMs, this.#shutdownDeadlineMs, 0));
    return this.#shutdownPromise;
  }

  /**
   * Hooks shutdown into process signals, `beforeExit` and uncaught exceptions; returns an
   * uninstall function. See {@link installExitHooks}.
   */
  installExitHooks(options: ExitHookOptions = {}): () => void {
    return installExitHooks(this, options);
  }

  /**
   * Puts `authorization: Bearer <token>` on every request of an axios instance used for LS TR
   * calls, and when LS answers that the token is invalid (IGW00121/IGW00123, or HTTP 401) takes a
   * fresh token once and repeats the request once. Returns a function that detaches.
   */
  attach(instance: AxiosInstance, options: AttachOptions = {}): () => void {
    return attachToAxios(this, instance, options);
  }

  /**
   * Sweeps the store once: revokes this app key's tokens that are due, owed (`revoking` by a dead
   * process) or orphaned, and schedules the rest. Runs at start and every `sweepIntervalMs`.
   * Never rejects: trouble is reported as `error` events.
   */
  sweep(): Promise<void> {
    this.#sweeping ??= this.#sweep().finally(() => {
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

  // ---------------------------------------------------------------------------------------------
  // Issuance

  #closedError(): LsTokenError {
    return new LsTokenError(ErrorCodes.CLOSED, 'The token lifecycle is shut down');
  }

  #emitError(err: unknown, op: string, id?: string): void {
    this.emit('error', { error: toLsTokenError(err, ErrorCodes.STORE, `${op} failed`, true), op, id });
  }

  #revokeAtFor(t: { issuedAt: number; expiresAt: number }): number {
    const byMargin = t.expiresAt - this.#revokeMarginMs;
    // A token issued just before the 07:00 KST cut-off may live less than the margin: use half its
    // life rather than revoking it at once. The policy lifetime still caps it.
    const halfLife = t.issuedAt + (t.expiresAt - t.issuedAt) / 2;
    return Math.round(Math.min(Math.max(byMargin, halfLife), t.issuedAt + this.#maxLifetimeMs));
  }


  #setCurrent(held: Held | undefined): void {
    this.#current = held;
    if (this.#refreshTimer !== undefined) clearTimeout(this.#refreshTimer);
    this.#refreshTimer = undefined;
    if (held === undefined || this.#closed) return;
    void this.#heartbeat();
    if (this.#refreshMarginMs === 0) return; // no successor before revokeAt: the next call after it issues afresh
    // One proactive refresh timer for the current token, so a quiet daemon still has a fresh token.
    const delay = Math.max(0, held.refreshAt - this.#now());
    if (delay < 2_147_483_647) {
      this.#refreshTimer = setTimeout(() => {
        if (this.#current === held && this.#refreshing === undefined) this.#refreshInBackground();
      }, delay);
      this.#refreshTimer.unref();
    }
  }

  #hold(record: TokenRecord, token: string): Held {
    const refreshAt = Math.max(record.issuedAt, record.revokeAt - this.#refreshMarginMs);
    this.#tokens.set(record.id, token);
    return { id: record.id, token, resolved: Promise.resolve(token), record, refreshAt };
  }

  #acquire(opts: { forced?: boolean; rejected?: string } = {}): Promise<string> {
    if (this.#closed) return Promise.reject(this.#closedError());
    const p = (async () => {
      if (!this.#started) await this.start();
      if (this.#closed) throw this.#closedError();
      const got = await this.#obtain({ forced: opts.forced === true, newerThan: undefined, rejected: opts.rejected });
      const previous = this.#current;
      this.#install(got);
      if (previous !== undefined && previous.id !== got.held.id) this.#supersede(previous);
      return got.held.token;
    })().finally(() => {
      if (this.#acquiring === p) this.#acquiring = undefined;
    });
    this.#acquiring = p;
    return p;
  }

  #refreshInBackground(): void {
    const from = this.#current;
    if (from === undefined || this.#closed) return;
    this.#refreshing = (async () => {
      try {
        const got = await this.#obtain({ forced: false, newerThan: from, rejected: undefined });
        if (this.#closed) return;
        if (got.held.id === from.id) {
          // LS answered with the same token: same record, nothing to supersede; just move refreshAt on.
          this.#setCurrent({ ...from, refreshAt: Math.max(from.refreshAt, Math.min(from.record.revokeAt, this.#now() + this.#refreshMarginMs / 2)) });
          return;
        }
        this.#install(got);
        this.#supersede(from);
        this.#refreshRetryAt = 0;
      } catch (err) {
        const wait = isLsTokenError(err) && err.retryAfterMs !== undefined ? err.retryAfterMs : 5_000;
        this.#refreshRetryAt = this.#now() + Math.max(1_000, wait);
        this.#emitError(err, 'refresh', from.id);
      }
    })().finally(() => {
      this.#refreshing = undefined;
    });
  }

  /** A replaced token is revoked after a grace period, unless another live process still holds it. */
  #supersede(old: Held): void {
    const at = this.#now() + this.#supersededGraceMs;
    this.scheduler.schedule(old.record, 'superseded', Math.min(at, old.record.revokeAt));
    void this.store.deleteMeta(this.#leaseKey(old.id)).catch((err: unknown) => this.#emitError(err, 'store.deleteMeta', old.id));
  }

  /**
   * Finds or makes a token: a usable stored token (newer than `newerThan` when refreshing) is
   * adopted; otherwise, under the issuance lock and after re-reading the store, one is issued.
   * After LS rejected a token (`forced`, from {@link invalidate}) the store is always re-read
   * first: another process has usually stored the newer token that killed ours, and issuing
   * again would kill theirs. `rejected` is never adopted.
   */
  async #obtain(opts: { forced: boolean; newerThan: Held | undefined; rejected: string | undefined }): Promise<Got> {
    const minValidUntil = (): number => this.#now() + this.#refreshMarginMs;
    const mayAdopt = this.#reuse || opts.forced || opts.newerThan !== undefined;
    const adoptable = async (): Promise<Got | undefined> => {
      if (!mayAdopt) return undefined;
      let found: { record: TokenRecord; token: string } | undefined;
      try {
        found = await this.store.findUsable(this.appKeyId, minValidUntil());
      } catch (err) {
        this.#emitError(err, 'store.findUsable');
        return undefined;
      }
      if (found === undefined) return undefined;
      const { record } = found;
      if (record.id === opts.rejected) return undefined;
      if (opts.newerThan !== undefined && record.id === opts.newerThan.id) return undefined;
      if (opts.newerThan !== undefined && record.expiresAt <= opts.newerThan.record.expiresAt) return undefined;
      // This process is revoking it (e.g. a sweep just found it orphaned): never adopt it.
      if (this.scheduler.isRevoking(record.id)) return undefined;
      if (!(await this.#leaseThenRecheck(record.id))) return undefined;
      return { held: this.#hold(record, found.token), source: 'adopted' };
    };

    // Restart or fleet member: reuse what the store has instead of killing it with a new issuance.
    {
      const held = await adoptable();
      if (held !== undefined) return held;
    }
    this.#throttle.check();

    const lockKey = `${this.store.prefix}:lock:issue:${this.appKeyId}`;
    const lockTtl = this.client.timeoutMs + 5_000;
    const waitUntil = this.#now() + this.#issueLockWaitMs;
    let locked = false;
    for (let delay = 25; ; delay = Math.min(delay * 2, 500)) {
      try {
        locked = await this.#lock.tryAcquire(lockKey, this.instanceId, lockTtl);
      } catch (err) {
        // A lock we cannot reach must not stop trading: issue without it and say so.
        this.#emitError(err, 'issueLock.acquire');
        break;
      }
      if (locked) break;
      if (this.#now() >= waitUntil) {
        throw new LsTokenError(ErrorCodes.LOCK_TIMEOUT, `Another process held the issuance lock for over ${this.#issueLockWaitMs} ms`, { retryable: true });
      }
      await new Promise((r) => setTimeout(r, delay).unref());
      const held = await adoptable(); // the lock holder may have stored a token meanwhile
      if (held !== undefined) return held;
    }
    try {
      if (locked) {
        // The previous lock holder may have stored a token between our last read and the lock.
        const held = await adoptable();
        if (held !== undefined) return held;
      }
      // Counted only when we really issue: adopting a sibling's token costs LS nothing.
      if (opts.forced) this.#throttle.takeForced();
      return await this.#issue();
    } finally {
      if (locked) await this.#lock.release(lockKey, this.instanceId).catch((err: unknown) => this.#emitError(err, 'issueLock.release'));
    }
  }

  /**
   * The adopting half of the adopt/revoke handshake (see {@link #claimForRevocation}): write our
   * lease on `id` first, then re-read its record. A process deciding to revoke `id` writes its
   * intent first and then looks for leases, so of the two at least one sees the other. False when
   * the token is being revoked (our lease is dropped again). Store trouble: adopt anyway.
   */
  async #leaseThenRecheck(id: string): Promise<boolean> {
    try {
      await this.store.setMeta(this.#leaseKey(id), { instanceId: this.instanceId, at: this.#now() }, this.#leaseTtlMs);
      const record = await this.store.get(id);
      if (record === undefined || record.state === 'active') return true;
      await this.store.deleteMeta(this.#leaseKey(id));
      return false;
    } catch (err) {
      this.#emitError(err, 'store.lease', id);
      return true;
    }
  }

  /** Makes a freshly obtained token current; then (so listeners see it current) schedules and announces it. */
  #install(got: Got): void {
    const { record } = got.held;
    this.#setCurrent(got.held);
    this.emit('issued', { id: record.id, appKeyId: record.appKeyId, issuedAt: record.issuedAt, expiresAt: record.expiresAt, revokeAt: record.revokeAt, source: got.source });
    if (!this.scheduler.isScheduled(record.id)) this.scheduler.schedule(record, 'expiry');
  }

  async #issue(): Promise<Got> {
    let issued: IssuedToken;
    try {
      issued = await this.client.issueToken();
    } catch (err) {
      if (!isLsTokenError(err) || err.code !== ErrorCodes.ABORTED) this.#throttle.failed();
      throw err;
    }
    this.#throttle.succeeded();
    const input = {
      appKeyId: this.appKeyId,
      tokenType: issued.tokenType,
      issuedAt: issued.issuedAt,
      expiresAt: issued.expiresAt,
      revokeAt: this.#revokeAtFor(issued),
      ownerId: this.instanceId,
    };
    let record: TokenRecord;
    try {
      record = await this.store.put(input, issued.accessToken);
    } catch (err) {
      // The store is down: keep trading on the token and revoke it from memory; say so loudly.
      this.#emitError(err, 'store.put');
      const now = this.#now();
      record = { schema: 1, id: tokenId(issued.accessToken), state: 'active', reason: null, attempts: 0, lastError: null, createdAt: now, updatedAt: now, ...input };
    }
    return { held: this.#hold(record, issued.accessToken), source: 'issued' };
  }

  // ---------------------------------------------------------------------------------------------
  // Leases, sweeps, shutdown

  #leaseKey(id: string): string {
    return `lease:${id}:${this.instanceId}`;
  }

  /** Renews this instance's heartbeat and its lease on the current token (one write at a time). */
  #heartbeat(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    const beat = async (): Promise<void> => {
      try {
        if (this.#closed) return;
        await this.store.setMeta(`instance:${this.instanceId}`, { pid: process.pid, at: this.#now() }, this.#leaseTtlMs);
        const cur = this.#current;
        if (cur !== undefined && !this.#closed) await this.store.setMeta(this.#leaseKey(cur.id), { instanceId: this.instanceId, at: this.#now() }, this.#leaseTtlMs);
      } catch (err) {
        this.#emitError(err, 'heartbeat');
      }
    };
    // One write at a time; calls meanwhile ask for one more round (never an unbounded chain while
    // the store hangs).
    if (this.#beating !== undefined) {
      this.#beatAgain = true;
      return this.#beating;
    }
    const rounds = async (): Promise<void> => {
      do {
        this.#beatAgain = false;
        await beat();
      } while (this.#beatAgain && !this.#closed);
    };
    const tracked = rounds().finally(() => {
      this.#beating = undefined;
    });
    this.#beating = tracked;
    return tracked;
  }

  /**
   * The revoking half of the adopt/revoke handshake, for `ids`: tokens this process would revoke
   * unless another live process holds them. Those with another holder's lease are kept, with no
   * write. For the others the revocation intent is written first (`revoking`), then the leases are
   * read again, and a token that gained a holder meanwhile is given back (`active` again). A process
   * adopting at the same moment writes its lease first and then re-reads the state
   * ({@link #leaseThenRecheck}), so either it sees our intent (and issues its own token: ours is
   * about to die) or we see its lease (and keep the token). Ids whose record is not `active`
   * (missing, already `revoking`, ended) are left to the scheduler, which skips ended ones.
   *
   * @returns `revoke`: ids to revoke; `kept`: ids another live process holds. When the store
   *   fails, ids not known to be kept go to `revoke` if `onStoreError` is `'revoke'`, else nowhere.
   */
  async #claimForRevocation(ids: readonly string[], reason: RevokeReason, onStoreError: 'revoke' | 'skip'): Promise<{ revoke: Set<string>; kept: Set<string> }> {
    const revoke = new Set<string>();
    const kept = new Set<string>();
    try {
      const held = async (): Promise<Map<string, string[]>> => (ids.length === 0 ? new Map() : this.#leaseHolders());
      const before = await held();
      const claimed: string[] = [];
      for (const id of ids) {
        if ((before.get(id)?.length ?? 0) > 0) {
          kept.add(id);
          continue;
        }
        const rec = await this.store.update(id, { state: 'revoking', reason }, { expectStates: ['active'] });
        if (rec === undefined) revoke.add(id);
        else claimed.push(id);
      }
      const after = claimed.length === 0 ? new Map<string, string[]>() : await held();
      for (const id of claimed) {
        if ((after.get(id)?.length ?? 0) === 0) {
          revoke.add(id);
          continue;
        }
        kept.add(id);
        await this.store.update(id, { state: 'active', reason: null }, { expectStates: ['revoking'] });
      }
    } catch (err) {
      this.#emitError(err, 'claim');
      if (onStoreError === 'skip') revoke.clear();
      // Cannot see the fleet. A token left alive after shutdown is the worse failure: revoke.
      else for (const id of ids) if (!kept.has(id)) revoke.add(id);
    }
    return { revoke, kept };
  }

  /** Live holders other than this instance, by token id (leases whose TTL has not run out). One store scan. */
  async #leaseHolders(): Promise<Map<string, string[]>> {
    const out = new Map<string, string[]>();
    for (const { key } of await this.store.listMeta('lease:')) {
      const [, id, inst] = /^lease:([0-9a-f]{64}):(.+)$/.exec(key) ?? [];
      if (id === undefined || inst === undefined || inst === this.instanceId) continue;
      out.set(id, [...(out.get(id) ?? []), inst]);
    }
    return out;
  }

  async #instanceAlive(instanceId: string | null): Promise<boolean> {
    if (instanceId === null) return false;
    if (instanceId === this.instanceId) return true;
    return (await this.store.getMeta(`instance:${instanceId}`)) !== undefined;
  }

  async #sweep(): Promise<void> {
    if (this.#closed) return;
    let records: TokenRecord[];
    try {
      records = await this.store.list({ appKeyId: this.appKeyId, states: ['active', 'revoking', 'failed'] });
    } catch (err) {
      this.#emitError(err, 'sweep');
      return;
    }
    let holders: Map<string, string[]>;
    try {
      holders = await this.#leaseHolders();
    } catch (err) {
      this.#emitError(err, 'sweep');
      return;
    }
    const now = this.#now();
    // The newest valid active token is the fleet's shared token: adopt it (if the policy says so) rather than revoke it.
    const shared = records
      .filter((r) => r.state === 'active' && r.revokeAt > now && r.expiresAt > now)
      .sort((a, b) => b.issuedAt - a.issuedAt)[0];
    for (const r of records) {
      if (this.#closed) return;
      try {
        if (r.id === this.#current?.id) continue;
        if (r.state === 'failed') continue; // gave up already; kept for audit
        if (r.state === 'revoking') {
          // Owed by a process that died mid-revocation (or by us, in flight).
          if (this.scheduler.inflight > 0 && this.#tokens.has(r.id)) continue;
          if (!(await this.#instanceAlive(r.ownerId)) || r.ownerId === this.instanceId) void this.scheduler.revoke(r.id, 'recovery', r.expiresAt);
          continue;
        }
        if (r.revokeAt <= now) {
          void this.scheduler.revoke(r.id, r.reason ?? 'recovery', r.expiresAt);
          continue;
        }
        if ((holders.get(r.id)?.length ?? 0) > 0) {
          if (!this.scheduler.isScheduled(r.id)) this.scheduler.schedule(r, 'expiry');
          continue;
        }
        const isShared = r.id === shared?.id;
        if (isShared && this.#orphanPolicy === 'adopt' && this.#reuse) {
          if (!this.scheduler.isScheduled(r.id)) this.scheduler.schedule(r, 'expiry');
          continue;
        }
        // Nobody holds it and nobody will use it: superseded leftovers and, by policy, orphans.
        if (!this.#tokens.has(r.id) && !(await this.#instanceAlive(r.ownerId))) {
          // A process may be adopting it right now: hand-shake before revoking.
          const { revoke } = await this.#claimForRevocation([r.id], 'recovery', 'skip');
          if (this.#closed) return;
          if (revoke.has(r.id)) void this.scheduler.revoke(r.id, 'recovery', r.expiresAt);
          else if (!this.scheduler.isScheduled(r.id)) this.scheduler.schedule(r, 'expiry');
        } else if (!this.scheduler.isScheduled(r.id)) {
          this.scheduler.schedule(r, 'expiry');
        }
      } catch (err) {
        this.#emitError(err, 'sweep', r.id);
      }
    }
  }

  async #shutdown(deadlineMs: number): Promise<ShutdownSummary> {
    const started = this.#now();
    const deadlineAt = started + deadlineMs;
    // The deadline is split so that a store or an issuance that hangs cannot eat the revocations'
    // time: up to 30 % waiting for an issuance in flight, the store phase until 60 %, the rest
    // (at least 40 %) for the revoke requests.
    const acquireUntil = started + deadlineMs * 0.3;
    const storeUntil = started + deadlineMs * 0.6;
    this.#closed = true;
    for (const t of [this.#refreshTimer, this.#heartbeatTimer, this.#sweepTimer]) if (t !== undefined) clearTimeout(t);
    const current = this.#current;
    this.#current = undefined;
    const until = <T>(p: Promise<T>, at: number, fallback: T): Promise<T> => {
      let timer: NodeJS.Timeout | undefined;
      return Promise.race([
        p,
        new Promise<T>((r) => {
          timer = setTimeout(() => r(fallback), Math.max(0, at - this.#now()));
          timer.unref();
        }),
      ]).finally(() => clearTimeout(timer));
    };
    // Let an issuance in flight land (bounded), so its token is tracked and revoked too, and let a
    // sweep in flight stop at its next step, so that nothing touches the store after shutdown()
    // (the app may close its Redis connection next).
    if (this.#acquiring !== undefined || this.#refreshing !== undefined || this.#sweeping !== undefined) {
      await until(Promise.allSettled([this.#acquiring, this.#refreshing, this.#sweeping]).then(() => undefined), acquireUntil, undefined);
    }
    const heldNow = this.#current as Held | undefined;
    const currentIds = new Set([current?.id, heldNow?.id].filter((x): x is string => x !== undefined));

    // Candidates: every token this process holds, and every token it scheduled (e.g. found by a sweep).
    const candidates = [...new Set([...this.#tokens.keys(), ...this.scheduler.scheduledIds()])];
    const keep = new Set<string>();
    const mayKeep: string[] = []; // kept only if another live process holds them
    for (const id of candidates) {
      const isCurrent = currentIds.has(id);
      if (isCurrent && this.#revokeOnShutdown === 'never') keep.add(id);
      else if (!(isCurrent && this.#revokeOnShutdown === 'always')) mayKeep.push(id);
    }
    const storePhase = async (): Promise<void> => {
      // A heartbeat in flight would re-write the lease we are about to drop.
      await this.#beating;
      // Drop our lease first, then look for others: of two processes stopping at once, at least one
      // sees no other lease and revokes (a duplicate revoke is harmless; a missed one is not).
      try {
        const leased = new Set([...currentIds, ...this.#tokens.keys()]); // an adoption that landed late may have leased another
        await Promise.all([...leased].map((id) => this.store.deleteMeta(this.#leaseKey(id))).concat(this.store.deleteMeta(`instance:${this.instanceId}`)));
      } catch (err) {
        this.#emitError(err, 'store.deleteMeta');
      }
      if (mayKeep.length === 0) return;
      const { kept } = await this.#claimForRevocation(mayKeep, 'shutdown', 'revoke');
      for (const id of kept) keep.add(id);
    };
    // A store that does not answer by then counts as down: revoke (from memory) what we would have
    // revoked anyway.
    await until(storePhase(), storeUntil, undefined);

    const summary = await this.scheduler.drain({
      deadlineMs: Math.max(0, deadlineAt - this.#now()),
      reason: 'shutdown',
      filter: (id) => !keep.has(id),
      extraIds: [...this.#tokens.keys()].filter((id) => !keep.has(id)),
    });
    this.scheduler.close();
    this.client.close();
    return { ...summary, keptForOthers: keep.size };
  }
}
