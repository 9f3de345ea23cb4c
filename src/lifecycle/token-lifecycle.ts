/**
 * The facade a daemon embeds: one `TokenLifecycle` per LS app key. It hands out the current token
 * from memory (the hot path: no I/O), runs one single flight at a time to adopt or issue the next
 * one, installs it, and has the replaced one revoked. Its rooms: `assemble.ts` builds the parts;
 * `held-slot.ts` holds the token handed out with its refresh timer and hot answer;
 * `token-policy.ts` decides every time; `issuer.ts` adopts or issues; `fleet.ts` keeps the leases;
 * `sweep.ts` and `shutdown.ts` hold the store sweep and the deadline phases; the
 * {@link RevocationScheduler} reports to this facade's sink before anything is emitted publicly.
 */
import { inspect } from 'node:util';
import { EventEmitter } from 'eventemitter3';
import type { AxiosInstance } from 'axios';
import { ErrorCodes, LsTokenError, invalidOption, isLsTokenError } from '../core/errors.js';
import type { LifecycleEvents, RevokeReason } from '../core/events.js';
import { tokenId } from '../core/fingerprint.js';
import { optionalDuration } from '../core/validate.js';
import { boundedStoreCall } from '../store/store-call.js';
import { attachToAxios, type AttachOptions } from '../integrations/axios-attach.js';
import { installExitHooks, type ExitHookOptions } from '../integrations/exit-hooks.js';
import type { OAuthClient } from '../providers/oauth-client.js';
import { assertAccessToken, type ProviderDefinition } from '../providers/provider.js';
import type { EventSink, RevocationResult, RevocationScheduler } from '../schedule/revocation-scheduler.js';
import { isTokenId, type TokenRecord } from '../store/token-record.js';
import type { TokenStore } from '../store/token-store.js';
import { type LifecycleParts, assembleLifecycle } from './assemble.js';
import { AFTER_LOGOUT, ANY, type ObtainRequest, closedError } from './issuer.js';
import type { HeldToken } from './held-token.js';
import type { TokenLifecycleOptions } from './lifecycle-options.js';
import { EventOutbox } from './lifecycle-events.js';
import { LifecycleMetrics } from './lifecycle-metrics.js';
import { HealthBook, type LifecycleHealth, type LifecycleStatus, buildHealth } from './lifecycle-status.js';
import { type ShutdownOptions, type ShutdownSummary, shutdownLifecycle } from './shutdown.js';
import { HeldSlot } from './held-slot.js';
import { installHeld } from './install.js';
import { upgradeStore } from './store-upgrade.js';
import { AvailabilityCounters } from './availability.js';
import { CallerWaits, type WaitGroup } from './caller-waits.js';
import { StoreDeadline } from './store-deadline.js';
import { runSweep } from './sweep.js';

export type { RevokeOnShutdown, TokenLifecycleOptions } from './lifecycle-options.js';
export type { NotRevoked, ShutdownOptions, ShutdownSummary } from './shutdown.js';
export type { HealthProblem, LifecycleHealth, LifecycleStatus } from './lifecycle-status.js';

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
  /** The broker's client (an `LsOAuthClient` for LS). */
  readonly client: OAuthClient;
  /** The broker this lifecycle manages tokens of (`provider` option; LS by default). */
  readonly provider: ProviderDefinition;

  readonly #p: LifecycleParts;
  readonly #closing = new AbortController();
  /** `#closing.signal.aborted`, as a plain field: the signal's getter cost a stampede ~20 ns a caller. */
  #closed = false;
  readonly #requests = new AbortController();
  readonly #book: HealthBook;
  readonly #out: EventOutbox;
  readonly #metrics: LifecycleMetrics | undefined;
  /** The token handed out, its refresh timer and its hot answer. */
  readonly #slot: HeldSlot;
  #flight: Promise<void> | undefined;
  readonly #counters: AvailabilityCounters;
  readonly #callers: CallerWaits;
  #afterLogout = false;
  #starting: Promise<void> | undefined;
  #shutdownPromise: Promise<ShutdownSummary> | undefined;
  #started = false;
  #sweeping: Promise<void> | undefined;
  readonly #timers: { heartbeat?: NodeJS.Timeout; sweep?: NodeJS.Timeout; epoch?: NodeJS.Timeout } = {};

  constructor(options: TokenLifecycleOptions) {
    super();
    this.#p = assembleLifecycle(options, {
      sink: this.#sink,
      onError: (err, op, id) => this.#report(err, op, id),
      onStoreError: (error, op) => this.#out.emit('error', { error, op: `store.${op}` }),
      closing: this.#closing.signal,
      requests: this.#requests.signal,
      timeRequest: (request) => (this.#metrics === undefined ? request() : this.#metrics.timeRequest(request)),
      onClockMoved: () => this.#retime(),
      heldTimes: (id) => (this.#slot.current?.id === id ? this.#slot.current.times : undefined),
    });
    ({ client: this.client, store: this.store, scheduler: this.scheduler, appKeyId: this.appKeyId, provider: this.provider } = this.#p);
    this.instanceId = this.#p.cfg.instanceId;
    this.#book = new HealthBook(this.#p.now);
    this.#counters = new AvailabilityCounters(this.#p.now);
    this.#callers = new CallerWaits(this.#p.now, (err) => {
      this.#counters.callFailed(err);
      this.#book.callerFailed(err);
    });
    const meter = this.#p.cfg.meter;
    // The gauges read at collection time (a scrape), never on the hot path.
    const gauges = { status: () => this.status(), healthy: () => this.health().then((h) => h.ok), now: this.#p.now, holders: (id: string) => this.#p.fleet.holders().then((h) => 1 + (h.get(id)?.length ?? 0), () => undefined) };
    this.#metrics = meter === undefined ? undefined : new LifecycleMetrics(meter, { provider: this.provider.id, appKeyId: this.appKeyId }, gauges);
    this.#out = new EventOutbox(this, this.#book, this.#p.cfg.logger, { instanceId: this.instanceId }, this.#p.redactor, this.#metrics);
    this.#slot = new HeldSlot(this.#p.now, () => this.#onRefreshTimer());
  }

  /**
   * Starts the lifecycle: starts reading LS's clock (a probe, retried until it answers), sweeps the
   * store (revokes due and owed tokens, schedules the others) and starts the heartbeat and periodic
   * sweep timers (all `unref()`ed).
   * Idempotent. `getAccessToken()` calls it on first use.
   */
  start(): Promise<void> {
    if (this.#closing.signal.aborted) return Promise.reject(closedError());
    this.#starting ??= (async () => {
      this.#p.clock.start();
      // Decided now, not when the sweep looks: a flight beside this start (see #acquire) writes
      // its budget mark meanwhile, and the sweep would read the whole store for nothing.
      const empty = this.#p.store.isKnownEmpty() && this.#p.vault.ids().length === 0;
      await upgradeStore(this.#p, (err) => this.#report(err, 'store.migrate'));
      await this.#sweep(empty);
      if (this.#closing.signal.aborted) return; // shut down meanwhile: arm nothing
      this.#started = true;
      this.#timers.heartbeat = setInterval(() => void this.#heartbeat(), Math.max(100, Math.floor(this.#p.cfg.leaseTtlMs / 3))).unref();
      await this.#heartbeat();
      const watch = this.#p.fleet.epochWatchMs;
      if (watch !== undefined && !this.#closing.signal.aborted) this.#timers.epoch = setInterval(() => void this.#p.fleet.watchEpoch(() => this.#slot.fleetView(this.instanceId)), watch).unref();
      if (this.#closing.signal.aborted || this.#p.cfg.sweepIntervalMs === 0) return; // no timer may outlive a shutdown during the first beat
      this.#timers.sweep = setInterval(() => void this.sweep(), this.#p.cfg.sweepIntervalMs).unref();
    })();
    return this.#starting;
  }

  /**
   * The access token to put in `authorization: Bearer ...`. While the current token is usable this
   * answers from memory with no store or network I/O; at its refresh time a successor is fetched
   * in the background while callers keep the current token. Concurrent callers with no usable
   * token share one flight (which also joins a refresh in progress); each waits at most
   * `issueLockWaitMs` while a failed issuance is tried again (see docs/guarantees.md).
   *
   * @throws {@link LsTokenError} the broker's error when its fault outlasts the wait, at once when
   * no retry can fix it (`ERR_INVALID_CREDENTIALS`, `ERR_CONFIGURATION`); `ERR_ISSUE_THROTTLED`
   * (issuance budget, cut-off, another process issuing, forced re-issue cap); `ERR_CLOSED` after shutdown.
   */
  getAccessToken(): Promise<string> {
    const hot = this.#slot.hot;
    if (hot !== undefined) return hot;
    // A caller of a stampede joins the wait of the burst it belongs to. Kept apart from the rest,
    // so that this method stays small: optimized code that inlines the flight's start (closures of
    // one lifecycle) is thrown away when that lifecycle is collected, and then every caller of the
    // next stampede ran unoptimized.
    // A burst exists only while no token is usable (its first caller found none, and nothing in
    // between ran), so the held token need not be read here.
    if (!this.#closed && this.#metrics === undefined) {
      const joined = this.#callers.joinBurst(this.#p.cfg.issueLockWaitMs);
      if (joined !== undefined) return joined;
    }
    return this.#answer();
  }

  /** {@link getAccessToken} past its two shortcuts: the clock, the refresh, the wait. */
  #answer(): Promise<string> {
    const cur = this.#slot.current;
    if (cur !== undefined) {
      const now = this.#p.now();
      if (now < cur.times.revokeAt) {
        if (now >= this.#slot.refreshAt && this.#flight === undefined) this.#refresh();
        return cur.resolved;
      }
    }
    return this.#wait(this.#afterLogout ? AFTER_LOGOUT : ANY);
  }

  /**
   * Tells the lifecycle that LS rejected `token` (IGW00121/22/23 on a TR call). The store is read
   * first: a newer token another process stored is adopted, since issuing would kill it; otherwise
   * a new token is issued past the budget (at most `issueThrottle.maxForcedReissues` per window).
   * The rejected token is never adopted again. Returns the token to retry with.
   */
  async invalidate(token: string): Promise<string> {
    if (typeof token !== 'string' || token === '') throw invalidOption('token', 'must be a non-empty string');
    const id = tokenId(token);
    if (this.#slot.current !== undefined && this.#slot.current.id !== id) return this.getAccessToken();
    if (this.#slot.current?.id === id) this.#slot.set(undefined);
    this.#p.vault.forget(id); // LS says it is dead
    const dead = { state: 'revoked', reason: 'superseded', lastError: { code: ErrorCodes.INVALID_TOKEN, message: 'LS reported the token invalid' } } as const;
    await boundedStoreCall(this.store.update(id, dead, { expectStates: ['active'] }), this.#p.cfg.storeTimeoutMs, 'update').catch((err: unknown) => this.#report(err, 'store.update', id));
    return this.#wait({ forced: true, rejected: id, current: undefined });
  }

  /** Revokes every token this process holds (reason `logout`). The next `getAccessToken()` obtains a new one. */
  async logout(): Promise<RevocationResult[]> {
    this.#slot.set(undefined);
    this.#afterLogout = true; // the user asked for a new token: the next issuance passes the budget
    return Promise.all(this.#p.vault.ids().map((id) => this.scheduler.revoke(id, 'logout')));
  }

  /**
   * Revokes one token now, given as the raw token or its id (64 hex digits). Tokens not held here
   * are read from the store. A string that is not an access token of this provider and app key (by
   * the provider's local check) is refused with `ERR_INVALID_TOKEN`: the broker answers "already
   * invalid" to it, which would read as success.
   */
  async revoke(tokenOrId: string, reason: RevokeReason = 'manual'): Promise<RevocationResult> {
    if (typeof tokenOrId !== 'string' || tokenOrId === '') throw invalidOption('tokenOrId', 'must be a non-empty string');
    const isId = isTokenId(tokenOrId);
    const id = isId ? tokenOrId : tokenId(tokenOrId);
    if (!isId) {
      assertAccessToken(this.provider, tokenOrId, this.#p.appKey, 'tokenOrId');
      this.#p.vault.hold(id, tokenOrId);
    }
    if (this.#slot.current?.id === id) {
      this.#slot.set(undefined);
      this.#afterLogout = true;
    }
    return this.scheduler.revoke(id, reason);
  }

  /** The records of this app key in the store (no raw tokens). */
  async list(): Promise<TokenRecord[]> {
    return this.store.list({ appKeyId: this.appKeyId });
  }

  /** A snapshot of what this lifecycle holds and will do. */
  status(): LifecycleStatus {
    const current = this.#slot.snapshot();
    return {
      instanceId: this.instanceId,
      appKeyId: this.appKeyId,
      started: this.#started,
      closed: this.#closing.signal.aborted,
      ...(current === undefined ? {} : { current }),
      clockSkew: this.#p.skew.estimate(),
      scheduled: this.scheduler.size,
      inflight: this.scheduler.inflight,
      waiting: this.#callers.waiting,
      availability: this.#counters.snapshot(),
    };
  }

  /** Whether this lifecycle is doing its job, for a health probe (one bounded store read); see {@link LifecycleHealth}. */
  health(): Promise<LifecycleHealth> {
    const { store, cfg, scheduler, skew, clock, now } = this.#p;
    const windowMs = cfg.sweepIntervalMs > 0 ? cfg.sweepIntervalMs : 60_000;
    return buildHealth({ started: this.#started, closed: this.#closing.signal.aborted, store, storeTimeoutMs: cfg.storeTimeoutMs, current: this.#slot.current, nextRevocationAt: scheduler.nextDueAt(), book: this.#book, clockSkew: skew.estimate(), clock, maxClockSkewMs: cfg.maxClockSkewMs, windowMs, now: now() });
  }

  /**
   * Stops the lifecycle within `deadlineMs` (see the phases in `shutdown.ts`): nothing issues or is
   * handed out afterwards, and every token this process issued or held alone is revoked or listed
   * in `notRevoked` with why. Idempotent: a second call returns the first call's promise.
   *
   * @throws {@link LsTokenError} `ERR_INVALID_OPTION` (synchronously) for a bad `deadlineMs`; nothing is stopped then.
   */
  shutdown(options: ShutdownOptions = {}): Promise<ShutdownSummary> {
    if (this.#shutdownPromise !== undefined) return this.#shutdownPromise;
    const deadlineMs = optionalDuration('deadlineMs', options.deadlineMs, this.#p.cfg.shutdownDeadlineMs);
    this.#closed = true;
    this.#closing.abort(closedError());
    this.#metrics?.close();
    for (const t of Object.values(this.#timers)) clearTimeout(t);
    const currentId = this.#slot.current?.id;
    this.#slot.close();
    this.#shutdownPromise = shutdownLifecycle(this.#p, deadlineMs, [this.#flight, this.#sweeping], currentId, () => this.#requests.abort(closedError()));
    return this.#shutdownPromise;
  }

  /** Hooks shutdown into process signals, `beforeExit` and uncaught exceptions; returns an uninstall function. */
  installExitHooks(options: ExitHookOptions = {}): () => void {
    return installExitHooks(this, options);
  }

  /**
   * Puts `authorization: Bearer <token>` on every request of an axios instance used for LS TR
   * calls, and when the broker answers that the token is dead (LS: IGW00121/22/23 in the body;
   * other providers: their dead-token codes, see {@link isDeadTokenAnswer}) takes a fresh
   * token once and repeats the request once. The token goes only to the origin of this
   * lifecycle's `baseUrl` (widen with `options.origins`). Returns a function that detaches.
   */
  attach(instance: AxiosInstance, options: AttachOptions = {}): () => void {
    return attachToAxios(this, instance, options);
  }

  /** The broker's base URL this lifecycle's client talks to; {@link attach} sends the token to its origin only. */
  get baseUrl(): string {
    return this.client.baseUrl;
  }

  /** Whether a broker's answer body says the token is dead, by this lifecycle's provider (used by {@link attach}). */
  isDeadTokenAnswer(body: unknown): boolean {
    const code = this.provider.codeOf(body);
    return code !== undefined && this.provider.classifyCode(code) === 'dead-token';
  }

  /** Sweeps the store once (see `sweep.ts`). Runs at start and every `sweepIntervalMs`. Never rejects. */
  sweep(): Promise<void> {
    return this.#sweep(false);
  }

  /** {@link sweep}; `knownEmpty`: the store was known to hold nothing when the caller looked (nothing to read). */
  #sweep(knownEmpty: boolean): Promise<void> {
    const p = this.#p;
    const onPlan = this.#metrics === undefined ? undefined : this.#metrics.swept.bind(this.#metrics);
    this.#sweeping ??= runSweep({ ...p, knownEmpty, instanceId: this.instanceId, currentId: () => this.#slot.current?.id, closing: this.#closing.signal, onError: (err, op, id) => this.#report(err, op, id), ...(onPlan === undefined ? {} : { onPlan }) })
      .then(() => this.#book.swept())
      .finally(() => {
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

  /** A caller with no usable token: joins the flight of the callers waiting, or starts one; waits at most `issueLockWaitMs`. */
  #wait(req: ObtainRequest): Promise<string> {
    if (this.#closed) return Promise.reject(closedError());
    const p = this.#callers.wait(this.#p.cfg.issueLockWaitMs, this.#startFlight, req);
    this.#metrics?.timeCall(p);
    return p;
  }

  /** Starts the flight of a group of callers (only its first caller's request counts). */
  readonly #startFlight = (g: WaitGroup, req: ObtainRequest): Promise<string> =>
    this.#acquire({ ...req, waitUntil: () => g.latest(), expireBefore: (at, err) => g.expireBefore(at, err) });

  async #acquire(req: ObtainRequest): Promise<string> {
    if (this.#closed) throw closedError();
    // One deadline for the store steps before the request, the first start's sweep included.
    const path = new StoreDeadline(this.#p.cfg.storeTimeoutMs, (op) => this.#counters.storeTimedOut(op));
    if (!this.#started) {
      const starting = path.run(() => this.start(), 'start', true).catch((err: unknown) => (isLsTokenError(err, ErrorCodes.CLOSED) ? Promise.reject(err) : undefined));
      // A store known to be empty holds nothing the start could act on before the flight decides:
      // the flight goes at once, in this caller's turn (Issuer#issueAtOnce), the start beside it.
      if (this.#p.store.isKnownEmpty()) starting.catch(() => undefined);
      else await starting;
    }
    if (this.#flight !== undefined) {
      await this.#flight; // a refresh in flight is joined, never raced by a second issuance
      const cur = this.#slot.current;
      if (cur !== undefined && cur.id !== req.rejected && this.#p.now() < cur.times.revokeAt) return cur.token;
    }
    return this.#fly(req, path);
  }

  #refresh(): void {
    const from = this.#slot.current;
    if (from === undefined || this.#closing.signal.aborted) return;
    void this.#fly({ forced: false, rejected: undefined, current: from }).catch((err: unknown) => {
      const wait = isLsTokenError(err) && err.retryAfterMs !== undefined ? err.retryAfterMs : 5_000;
      if (this.#slot.current === from) this.#slot.arm(this.#p.now() + Math.max(1_000, wait)); // a quiet daemon retries by itself
      if (!isLsTokenError(err, ErrorCodes.CLOSED)) this.#report(err, 'refresh', from.id);
    });
  }

  /** One flight of the issuer; installs what it brings. Resolves with the token to hand out. */
  async #fly(req: ObtainRequest, path?: StoreDeadline): Promise<string> {
    let release!: () => void;
    const flight = new Promise<void>((r) => (release = r));
    this.#flight = flight;
    try {
      const out = await this.#p.issuer.obtain(req, path);
      if (this.#closing.signal.aborted) throw closedError(); // landed during shutdown: the vault has it, shutdown revokes it
      if (out.kind === 'keep') {
        this.#slot.arm(out.retryAt);
        if (req.current === undefined) throw new LsTokenError(ErrorCodes.ISSUE_THROTTLED, 'No token may be issued now', { retryable: true });
        return req.current.token;
      }
      this.#install(out.held, out.source);
      if (req.forced && out.source === 'issued') this.#metrics?.forcedReissue();
      // Our lease is written before anyone uses it (a sibling's sweep must see it held), within the
      // store deadline of this flight: a store that hangs gets it when it answers again. A token
      // whose record this flight wrote needs only the lease (the beats since start keep the
      // heartbeat mark); otherwise a whole beat, which writes a missing record again.
      const id = out.held.id;
      const lease = out.recorded === true ? () => this.#p.fleet.lease(id) : () => this.#heartbeat();
      await (path ?? new StoreDeadline(this.#p.cfg.storeTimeoutMs)).run(lease, 'heartbeat', true).catch(() => undefined);
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
    const { scheduler, fleet, now, cfg } = this.#p;
    const emitIssued = (): void => this.#out.emit('issued', { id: held.id, appKeyId: this.appKeyId, issuedAt: held.times.issuedAt, expiresAt: held.times.expiresAt, revokeAt: held.times.revokeAt, source });
    if (installHeld({ slot: this.#slot, scheduler, fleet, now, cfg, emitIssued }, held) === 'new') this.#afterLogout = false;
  }

  /** The refresh time came. At LS's cut-off the token has ended: fetch the next one now, so the next caller has it. */
  #onRefreshTimer(): void {
    const cur = this.#slot.current;
    if (this.#flight !== undefined || cur === undefined) return;
    if (this.#p.now() < cur.times.revokeAt) this.#refresh();
    else void this.#acquire(ANY).catch((err: unknown) => this.#report(err, 'refresh', cur.id));
  }

  // --- fleet, clock, events -------------------------------------------------------------------

  #heartbeat(): Promise<void> {
    return this.#p.fleet.heartbeat(() => this.#slot.fleetView(this.instanceId));
  }

  /** The clock estimate moved: the token handed out is timed again by it (JWT or opaque alike). */
  #retime(): void {
    const cur = this.#slot.current;
    const next = cur === undefined || this.#closing.signal.aborted ? undefined : this.#p.issuer.retime(cur);
    if (next === undefined) return;
    this.#slot.set(next);
    if (this.scheduler.isScheduled(next.id)) this.scheduler.schedule({ id: next.id, revokeAt: next.times.revokeAt, expiresAt: next.times.expiresAt }, 'expiry');
  }

  /** Bookkeeping first (from the scheduler), then the public event. */
  readonly #sink: EventSink = (name, event) => {
    const id = (event as { id?: string }).id;
    if (id !== undefined && (name === 'revoked' || name === 'expired')) this.#p.vault.forget(id); // revoked or dead
    if (id !== undefined && id === this.#slot.current?.id && (name === 'revoked' || name === 'expired' || name === 'revokeFailed')) this.#slot.set(undefined);
    this.#out.emit(name, event);
  };

  #report(err: unknown, op: string, id?: string): void {
    this.#counters.reported(op);
    this.#out.report(err, op, id);
  }

}
