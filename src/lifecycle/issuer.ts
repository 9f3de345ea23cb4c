/**
 * Obtaining a token: adopt the fleet's token from the store, or issue one under the issuance lock
 * and within the issuance budget, at the moment the policy allows. One call of
 * {@link Issuer.obtain} is one single flight of the lifecycle (acquire and refresh alike).
 *
 * The raw token is put in the vault the moment the broker returns it, before the (time-bounded) store
 * write: a store that hangs then delays nothing and loses nothing. Every wait checks the closing
 * signal, so nothing issues after shutdown began; a request in flight is aborted by that signal
 * only at shutdown's deadline for it.
 */
import { ErrorCodes, LsTokenError, isLsTokenError, issueThrottledError } from '../core/errors.js';
import { tokenId } from '../core/fingerprint.js';
import { sleep } from '../core/sleep.js';
import { readJwtClaims } from '../providers/ls/jwt-claims.js';
import { rejectedTokenOf } from '../providers/ls/ls-response.js';
import type { IssuedToken } from '../providers/types.js';
import { boundedStoreCall } from '../store/store-call.js';
import type { NewTokenRecord, TokenRecord } from '../store/token-record.js';
import type { HeldForFleet } from './fleet.js';
import type { StoreStep } from './issue-budget.js';
import { retryHelps } from './issue-throttle.js';
import { StoreDeadline, isSkippedStep } from './store-deadline.js';
import type { TokenTimes } from './token-policy.js';
import type { IssuerDeps } from './issuer-deps.js';
import type { ExpiryBasis, HeldToken } from './held-token.js';
import { ProcessLockProvider } from './issue-lock.js';

export type { IssuerDeps } from './issuer-deps.js';

/** What one flight wants. */
export interface ObtainRequest {
  /** LS rejected the current token: re-read the store, then issue past the budget (forced cap applies). */
  readonly forced: boolean;
  /** Issue past the budget (forced cap applies) but at a time the policy allows: the user asked for a new token (`logout()`). */
  readonly pastBudget?: boolean;
  /** A token id never to adopt (the one LS rejected). */
  readonly rejected: string | undefined;
  /** The usable current token, when this is a background refresh. */
  readonly current: HeldToken | undefined;
  /** The latest time (lifecycle clock) until which a caller still waits for this flight; `issueLockWaitMs` from the start when absent. */
  readonly waitUntil?: () => number;
  /** The flight will not try again before `at`: callers whose wait ends earlier are let go with `error()`. */
  readonly expireBefore?: (at: number, error: () => unknown) => void;
}

/** The outcome of one flight. */
export type Obtained =
  | {
      readonly kind: 'got';
      readonly held: HeldToken;
      readonly source: 'issued' | 'adopted';
      /** This flight wrote the token's record (a new token the store took): nothing to check or write again but the lease. */
      readonly recorded?: boolean;
    }
  | { readonly kind: 'keep'; readonly retryAt: number };


/** A flight for a caller with no usable token. */
export const ANY: ObtainRequest = { forced: false, rejected: undefined, current: undefined };
/** After `logout()` (or `revoke()` of the current token) the user wants a new token: past the budget, the forced cap applies. */
export const AFTER_LOGOUT: ObtainRequest = { ...ANY, pastBudget: true };

/** What a call gets once the lifecycle is shut down. */
export function closedError(): LsTokenError {
  return new LsTokenError(ErrorCodes.CLOSED, 'The token lifecycle is shut down');
}

/** The pause before a failed issuance is tried again within one flight, ms: doubles per failure, up to the most. */
const FIRST_RETRY_PAUSE_MS = 250;
/** How long an issuance lock that refuses fast is tried again before the flight goes on without it. */
const LOCK_REFUSED_RETRY_MS = 5_000;
const MAX_RETRY_PAUSE_MS = 8_000;

/** Transport errors raised before a request can have reached LS. */
const NOT_SENT = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);

/**
 * Did LS surely not issue? It answered with an error, or the request never reached it. Then the
 * budget is given back. A timeout or a reset mid-answer may hide a token LS did issue: kept.
 */
function surelyNotIssued(err: unknown): boolean {
  if (!isLsTokenError(err)) return false;
  if (err.httpStatus !== undefined) return err.code !== ErrorCodes.BAD_RESPONSE;
  const transport = (err.cause as { code?: unknown } | undefined)?.code;
  return typeof transport === 'string' && NOT_SENT.has(transport);
}

/** Adopts or issues; see the module notes. */
export class Issuer {
  readonly #d: IssuerDeps;
  #requests = 0;
  /** Until then (host time) the broker answers its ending token again: no request before. */
  #brokerRepeatsUntil = -Infinity;

  constructor(deps: IssuerDeps) {
    this.#d = deps;
  }

  /** Whether a token request is waiting for LS. */
  get requesting(): boolean {
    return this.#requests > 0;
  }

  /**
   * `held` timed again by the current clock estimate (the broker's expiry moved into host time
   * anew), or `undefined` when its times did not change or nothing is known to time it by.
   */
  retime(held: HeldToken): HeldToken | undefined {
    const { policy } = this.#d;
    const basis = held.basis;
    if (basis === undefined || basis.brokerExpMs === undefined) return undefined;
    const expiresAt = policy.expiryOf(basis.sentAt, basis.lifetimeMs, basis.brokerExpMs / 1000);
    const times = policy.times(held.times.issuedAt, expiresAt);
    const t = held.times;
    if (times.expiresAt === t.expiresAt && times.revokeAt === t.revokeAt && times.refreshAt === t.refreshAt && times.letDie === t.letDie) return undefined;
    return { ...held, times };
  }

  /** Builds the in-memory view of a token and puts it in the vault. */
  hold(record: TokenRecord, token: string, expiresAt = record.expiresAt, basis?: ExpiryBasis): HeldToken {
    this.#d.vault.hold(record.id, token);
    return { id: record.id, token, resolved: Promise.resolve(token), record, times: this.#d.policy.times(record.issuedAt, expiresAt), ...(basis === undefined ? {} : { basis }) };
  }

  /**
   * One flight: adopt, issue, keep the current token, or fail (`ERR_ISSUE_THROTTLED`, `ERR_CLOSED`,
   * the broker's errors). A failed issuance is tried again after the cool-down while the callers
   * may still wait (`issueLockWaitMs`, or later when `req.waitUntil` says so); only a fault that
   * outlasts their wait, or one no retry can fix, reaches them. The store steps run within `path`.
   */
  async obtain(req: ObtainRequest, path = new StoreDeadline(this.#d.storeTimeoutMs)): Promise<Obtained> {
    const d = this.#d;
    const refreshing = req.current !== undefined;
    const ownLimit = d.now() + d.issueLockWaitMs;
    const mayAdopt = d.reuseStoredToken || req.forced || refreshing;
    let lockDelay = 25;
    let fault: unknown; // the broker's error this flight met
    let failures = 0;
    const lockTrouble: { since?: number } = {}; // when the lock first failed in this flight (wall ms)
    for (let round = 0; ; round++) {
      this.#checkOpen();
      if (round > 0) path.phase();
      const early = round === 0 ? this.#issueAtOnce(req, path) : undefined;
      if (early === undefined && mayAdopt) {
        const adopted = await this.#adoptable(req, path);
        if (adopted !== undefined) return adopted;
      }
      const now = d.now();
      let waitFor: number | undefined;
      if (early === undefined) {
        // (`early`: issuing already, see #issueAtOnce; nothing below can hold it back.)
        const held = this.#heldBack(req, now);
        if (typeof held === 'object') return held;
        waitFor = held;
      }
      if (waitFor === undefined && early === undefined) {
        // Store lost its data: live leases on a token with no record mean its holders will write it
        // again within a heartbeat; issuing now would kill their token. Emptied with the leases too
        // (its epoch mark is gone): the holders write their token back within a watch; wait to adopt
        // it (not on a store that does not answer, nor for a caller that would not adopt: it issues).
        // Both reads at once: one round trip on the path to the token request, not two.
        const [unrecorded, quietMs] = await Promise.all([
          path.run(() => d.fleet.unrecordedLeases(), 'leases').catch((err: unknown) => (this.#storeTrouble(err, 'leases'), [])),
          mayAdopt ? path.run(() => d.fleet.storeQuietForMs(), 'epoch').catch(() => 0) : 0,
        ]);
        if (unrecorded.length > 0) waitFor = now + 250;
        else if (quietMs > 0) waitFor = now + quietMs;
        else if (now < this.#brokerRepeatsUntil) waitFor = this.#brokerRepeatsUntil;
      }
      if (waitFor === undefined) {
        let outcome: Obtained | 'busy' | number;
        try {
          outcome = await (early ?? this.#underLock(req, mayAdopt, path, lockTrouble));
        } catch (err) {
          if (refreshing || !retryHelps(err)) throw err;
          // Tried again after a backoff of this flight's own (at least the cool-down, which honours
          // the broker's Retry-After), while the callers may wait.
          fault = err;
          outcome = Math.max(d.throttle.blockedUntil() ?? 0, d.now() + Math.min(FIRST_RETRY_PAUSE_MS * 2 ** failures++, MAX_RETRY_PAUSE_MS));
        }
        if (outcome === 'busy') {
          if (refreshing) return { kind: 'keep', retryAt: now + 1_000 }; // another process is issuing: adopt its token next time
          waitFor = now + lockDelay;
          lockDelay = Math.min(lockDelay * 2, 500);
        } else if (typeof outcome === 'number') {
          if (refreshing) return { kind: 'keep', retryAt: outcome };
          waitFor = outcome;
        } else {
          return outcome;
        }
      }
      const t = d.now(); // an attempt may have taken a while
      if (waitFor > Math.max(ownLimit, req.waitUntil?.() ?? -Infinity)) throw this.#outlasted(fault, waitFor, t);
      // Callers whose own wait ends before the next try are let go now, with the same error.
      const at = waitFor;
      req.expireBefore?.(at, () => this.#outlasted(fault, at, t));
      // Wake at least once a second to look for a token another process stored meanwhile.
      await sleep(Math.min(waitFor - t, 1_000), d.closing); // rejects with ERR_CLOSED (the closing signal's reason)
    }
  }

  /** The policy's and the cool-down's word on issuing at `now`: go on (`undefined`), wait until a host time, or `keep`; throws a fault no wait can fix. */
  #heldBack(req: ObtainRequest, now: number): Obtained | number | undefined {
    const d = this.#d;
    if (!req.forced) {
      const decision = d.policy.issueDecision(now, req.current?.times);
      if (decision.kind === 'keep') return decision;
      if (decision.kind === 'wait') return decision.until;
    }
    const cooling = d.throttle.blockedUntil();
    if (cooling === undefined) return undefined;
    if (req.current !== undefined) return { kind: 'keep', retryAt: cooling };
    const last = d.throttle.lastFault;
    if (last !== undefined && !retryHelps(last)) throw last; // credentials, configuration: waiting cannot help
    return cooling;
  }

  /** What a caller whose wait ends before `waitFor` gets: the broker's error it met, else a throttle. */
  #outlasted(fault: unknown, waitFor: number, now: number): unknown {
    const met = fault ?? this.#d.throttle.lastFault;
    if (met !== undefined) return met;
    return issueThrottledError(waitFor - now, this.#d.waitReasons, `issueLockWaitMs (${this.#d.issueLockWaitMs} ms) lets a caller wait`);
  }

  #checkOpen(): void {
    if (this.#d.closing.aborted) throw closedError();
  }

  /** Store trouble the flight survives; a step skipped after an earlier timeout was reported already. */
  #storeTrouble(err: unknown, op: string, id?: string): void {
    if (!isSkippedStep(err)) this.#d.onError(err, op, id);
  }

  /** The fleet's token from the store, if it is worth adopting now. */
  async #adoptable(req: ObtainRequest, path: StoreDeadline): Promise<Obtained | undefined> {
    const d = this.#d;
    let found: { record: TokenRecord; token: string } | undefined;
    try {
      found = await path.run(() => d.store.findUsable(d.appKeyId, d.now(), d.mayAdopt), 'findUsable');
    } catch (err) {
      this.#storeTrouble(err, 'store.findUsable');
      return undefined;
    }
    this.#checkOpen();
    if (found === undefined) return undefined;
    const { record, token } = found;
    if (record.id === req.rejected || record.id === req.current?.id || d.isRevoking(record.id)) return undefined;
    // The record's times are the writer's; judge the token by our own estimate of LS's clock.
    const { expiresAt, basis } = this.#storedExpiry(record, token);
    const times = d.heldTimes(record.id) ?? d.policy.times(record.issuedAt, expiresAt);
    if (!d.policy.worthAdopting(times, d.now(), req.current?.times)) return undefined;
    // A lease we could not write in time is written when the store answers: adopt anyway.
    if (!(await path.run(() => d.fleet.leaseThenRecheck(record.id), 'lease', true).catch(() => true))) return undefined;
    this.#checkOpen();
    return { kind: 'got', held: this.hold(record, token, times.expiresAt, basis), source: 'adopted' };
  }

  /** When a stored token ends by our estimate of the broker's clock (its JWT `exp` where it has one, else the writer's record), and what that rests on. */
  #storedExpiry(record: TokenRecord, token: string): { expiresAt: number; basis: ExpiryBasis | undefined } {
    const exp = readJwtClaims(token)?.exp;
    if (exp === undefined) return { expiresAt: record.expiresAt, basis: undefined };
    return { expiresAt: this.#d.policy.expiryOf(record.issuedAt, undefined, exp), basis: { sentAt: record.issuedAt, lifetimeMs: undefined, brokerExpMs: exp * 1000 } };
  }

  /**
   * The first attempt of a cold flight on a store known to be empty (an in-process `Map` with no
   * key), in the caller's own turn: no token to adopt, no lease, epoch or budget mark to read. When
   * the policy, the cool-down and this process's own budget allow it and the in-process lock is
   * free, the request goes with no store round trip before it (the budget mark is written beside
   * it, under the lock). Else `undefined`.
   */
  #issueAtOnce(req: ObtainRequest, path: StoreDeadline): Promise<Obtained | number> | undefined {
    const d = this.#d;
    if (req.forced || req.pastBudget === true || req.current !== undefined) return undefined;
    if (!(d.lock instanceof ProcessLockProvider) || d.fleet.epochWatchMs !== undefined || !d.store.isKnownEmpty()) return undefined;
    const now = d.now();
    // The same decision as the ordinary path's (a fault no wait can fix is thrown there, not here).
    if (now < this.#brokerRepeatsUntil || d.throttle.blockedUntil() !== undefined || this.#heldBack(req, now) !== undefined) return undefined;
    if (d.budget.blockedWithoutMark(d.policy.lastCutoffPassedAt(now)) !== undefined) return undefined;
    if (!d.lock.acquireNow(d.lockKey, d.instanceId, d.lockTtlMs)) return undefined;
    return this.#issueHolding(path);
  }

  /** {@link #issue} under the lock {@link #issueAtOnce} took; releases it. */
  async #issueHolding(path: StoreDeadline): Promise<Obtained | number> {
    try {
      this.#checkOpen();
      return await this.#issue(path, false);
    } finally {
      this.#releaseLock();
    }
  }

  /** Not waited for: the caller has its token. A lock call that timed out may still land, and the release (ordered after it on the same connection) then frees it. */
  #releaseLock(): void {
    const d = this.#d;
    void boundedStoreCall(d.lock.release(d.lockKey, d.instanceId), d.storeTimeoutMs, 'issueLock.release').catch((err: unknown) => d.onError(err, 'issueLock.release'));
  }

  /** Takes the lock; re-reads the store; checks the budget; issues. `'busy'`: lock taken; a number: budget blocked until then. */
  async #underLock(req: ObtainRequest, mayAdopt: boolean, path: StoreDeadline, lockTrouble: { since?: number }): Promise<Obtained | 'busy' | number> {
    const d = this.#d;
    const step: StoreStep = (call, op) => path.run(call, op);
    let asked = false;
    try {
      asked = !path.gaveUp;
      if (!(await path.run(() => d.lock.tryAcquire(d.lockKey, d.instanceId, d.lockTtlMs), 'issueLock.acquire'))) return 'busy';
    } catch (err) {
      this.#storeTrouble(err, 'issueLock.acquire');
      // A lock that refuses fast (a Redis failing over: READONLY, connection refused) is tried again
      // for a while (a promotion takes seconds): a fleet issuing without it at 07:00 issues once per
      // member, each killing the one before, and the members then hand out dead tokens. A lock that
      // does not answer in time (a hung store), or refuses for longer, must not stop trading: go on
      // without it.
      const at = performance.now();
      lockTrouble.since ??= at;
      if (!path.gaveUp && at - lockTrouble.since < Math.max(d.storeTimeoutMs, LOCK_REFUSED_RETRY_MS)) return 'busy';
    }
    try {
      this.#checkOpen();
      // The previous holder may have stored a token between our last read and the lock.
      const adopted = mayAdopt ? await this.#adoptable(req, path) : undefined;
      if (adopted !== undefined) return adopted;
      if (req.forced || req.pastBudget === true) {
        // The broker refuses a second issuance inside its interval (KIS: EGW00133), forced or not.
        const limit = await d.brokerBudget?.blockedUntil(-Infinity, step);
        if (limit !== undefined) return limit;
        d.throttle.takeForced(); // throws ERR_ISSUE_THROTTLED at the cap
      } else {
        const blocked = await d.budget.blockedUntil(d.policy.lastCutoffPassedAt(d.now()), step);
        if (blocked !== undefined) return blocked;
      }
      this.#checkOpen();
      return await this.#issue(path);
    } finally {
      if (asked) this.#releaseLock();
    }
  }

  /** Issues; a number: the broker answered its live token at the end of its life, ask again then. `awaitMark` false: the budget mark is written beside the request (see {@link #issueAtOnce}). */
  async #issue(path: StoreDeadline, awaitMark = true): Promise<Obtained | number> {
    const d = this.#d;
    // Budget writes are made even after a store timeout: they land when the store answers again.
    const always: StoreStep = (call, op) => path.run(call, op, true);
    const marked = d.budget.take(d.requestTimeoutMs, always); // this process's own mark is set at once
    if (awaitMark) await marked;
    this.#checkOpen();
    const sentAt = d.now();
    let issued: IssuedToken;
    this.#requests++;
    try {
      issued = await d.client.issueToken({ signal: d.abortRequests });
    } catch (err) {
      if (!isLsTokenError(err, ErrorCodes.ABORTED)) d.throttle.failed(err);
      // A broker that limits issuance itself counts from its own last issuance: after its "too
      // soon", or an answer that may hide an issuance, its minute runs from now, or the next try
      // would be refused in the same way. Elsewhere the cool-down paces the retries (and a token
      // the broker may have issued unseen dies at the next issuance or its cut-off).
      const brokerMayCount = d.brokerBudget !== undefined && (!surelyNotIssued(err) || isLsTokenError(err, ErrorCodes.RATE_LIMITED));
      if (brokerMayCount) d.budget.settle(d.now(), always);
      else await d.budget.giveBack(always);
      // An answer refused as malformed may still carry a token LS issued (dead by its own claims,
      // out of bounds): hold it and revoke it, or it might live on unknown to anyone.
      const raw = rejectedTokenOf(err);
      if (raw !== undefined) {
        d.vault.hold(tokenId(raw), raw);
        d.discard(tokenId(raw), undefined);
      }
      throw err;
    } finally {
      this.#requests--;
    }
    const receivedAt = d.now();
    path.phase(); // the steps after the answer share one bound of their own
    const token = issued.accessToken;
    const id = tokenId(token);
    const heldBefore = d.vault.has(id);
    d.vault.hold(id, token); // held before anything else can fail or wait
    d.throttle.succeeded();
    const claims = readJwtClaims(token);
    // A repeated token's iat is its first issuance, not the broker's clock now: not a clock sample.
    if (claims?.iat !== undefined && !d.sameTokenAnswers) d.sampleClock({ sentAt, receivedAt, serverMs: claims.iat * 1000, resolutionMs: 1000 });
    const brokerExpMs = Math.min(claims?.exp === undefined ? Infinity : claims.exp * 1000, issued.serverExpiresAt ?? Infinity);
    const expiresAt = d.policy.expiryOf(sentAt, issued.lifetimeMs, Number.isFinite(brokerExpMs) ? brokerExpMs / 1000 : undefined);
    if (d.sameTokenAnswers && expiresAt <= receivedAt && Number.isFinite(brokerExpMs)) {
      // The broker answered its live token, which our estimate of its clock says has ended: it
      // dies within the clock uncertainty. No new token was issued (the budget is given back); ask
      // again once the broker has surely passed that expiry.
      await d.budget.giveBack(always);
      this.#brokerRepeatsUntil = Math.max(receivedAt + 250, brokerExpMs - d.skew.bounds().lowMs + 250);
      return this.#brokerRepeatsUntil;
    }
    let times = d.policy.times(sentAt, expiresAt);
    const input: NewTokenRecord = { appKeyId: d.appKeyId, tokenType: issued.tokenType, issuedAt: sentAt, expiresAt, revokeAt: times.revokeAt, ownerId: d.instanceId };
    const { record, stored } = await this.#record(input, token, id, path);
    // A token the store already knew (a broker answering its live token): its times run from its first issuance.
    if (record.issuedAt < sentAt) times = d.policy.times(record.issuedAt, expiresAt);
    // The broker answered a token the fleet is revoking or has revoked: never hand it out.
    if (record.state !== 'active' || d.isRevoking(id)) return await this.#repeatOfEnded(record, token, heldBefore);
    // The broker answered a token it had already issued: nothing was issued, the budget is not spent
    // (unless the broker counts every answer against its own limit, as KIS does: then it stays taken).
    const repeated = d.sameTokenAnswers && (heldBefore || record.issuedAt < sentAt);
    if (repeated && d.brokerBudget === undefined) void d.budget.giveBack(always);
    else d.budget.settle(receivedAt, always); // the interval runs from the broker's answer
    const basis: ExpiryBasis = { sentAt, lifetimeMs: issued.lifetimeMs, brokerExpMs: Number.isFinite(brokerExpMs) ? brokerExpMs : undefined };
    const held: HeldToken = { id, token, resolved: Promise.resolve(token), record, times, basis };
    if (expiresAt <= receivedAt) {
      // Dead on arrival even by LS's clock: not a token to hand out. It is revoked, and the budget
      // (already taken) applies to the next attempt.
      d.discard(held.id, held.times.expiresAt);
      throw new LsTokenError(ErrorCodes.BAD_RESPONSE, `${d.brokerName} token response: the token had expired by the time it arrived (check the host clock)`, { field: 'expires_in', retryable: true });
    }
    return { kind: 'got', held, source: repeated ? 'adopted' : 'issued', recorded: stored && !repeated };
  }

  /**
   * The one place that decides about a token the broker answered while the store says it is
   * `revoking` or `revoked` (KIS answers its live token again for 6 h, also while another process
   * is revoking it). Being revoked: lease it and wait for the revoke to be decided; if the revoker
   * gave it back (its revoke was not sent), take it over. Revoked, or still undecided at the
   * bound: never hand it out (an undecided one is revoked here too); ask the broker again once the
   * budget allows, which stays taken (the broker counted the request).
   */
  async #repeatOfEnded(record: TokenRecord, token: string, heldBefore: boolean): Promise<Obtained | number> {
    const d = this.#d;
    const selfRevoking = d.isRevoking(record.id);
    const decision = record.state === 'revoking' && !selfRevoking ? await d.fleet.awaitRevokeDecision(record.id, d.now() + d.lockTtlMs / 2, d.closing) : selfRevoking ? 'pending' : 'ended';
    this.#checkOpen();
    if (decision === 'active') {
      const { expiresAt, basis } = this.#storedExpiry(record, token);
      if (expiresAt > d.now()) return { kind: 'got', held: this.hold(record, token, expiresAt, basis), source: 'adopted' };
    }
    d.onError(new LsTokenError(ErrorCodes.STORE, `${d.brokerName} answered a token that is being revoked or was revoked; it is not handed out, a fresh one is asked for`, { retryable: true }), 'issue.revokedRepeat', record.id);
    if (decision === 'pending' && !selfRevoking) d.discard(record.id, record.expiresAt);
    else if (!selfRevoking && !heldBefore) d.vault.forget(record.id);
    return (await d.budget.blockedUntil()) ?? d.now() + 250;
  }

  /** Writes the record, bounded (`stored`: it was); a store that fails or hangs leaves the token in memory only (the heartbeat writes it later). */
  async #record(input: NewTokenRecord, token: string, id: string, path: StoreDeadline): Promise<{ record: TokenRecord; stored: boolean }> {
    const d = this.#d;
    try {
      return { record: await path.run(() => d.store.put(input, token), 'put'), stored: true };
    } catch (err) {
      this.#storeTrouble(err, 'store.put', id);
      const now = d.now();
      return { record: { schema: 1, id, state: 'active', reason: null, attempts: 0, lastError: null, createdAt: now, updatedAt: now, ...input, ownerId: d.instanceId }, stored: false };
    }
  }
}
