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
import { ErrorCodes, LsTokenError, isLsTokenError } from '../core/errors.js';
import type { Clock } from '../core/clock.js';
import { tokenId } from '../core/fingerprint.js';
import { sleep } from '../core/sleep.js';
import { readJwtClaims } from '../providers/ls/jwt-claims.js';
import { rejectedTokenOf } from '../providers/ls/ls-response.js';
import type { IssuedToken } from '../providers/types.js';
import { boundedStoreCall } from '../store/store-call.js';
import type { NewTokenRecord, TokenRecord } from '../store/token-record.js';
import type { TokenStore } from '../store/token-store.js';
import type { ClockSkew } from './clock-skew.js';
import type { Fleet, HeldForFleet } from './fleet.js';
import type { IssueBudget } from './issue-budget.js';
import type { IssueLockProvider } from './issue-lock.js';
import type { IssueThrottle } from './issue-throttle.js';
import type { TokenPolicy, TokenTimes } from './token-policy.js';
import type { TokenVault } from './token-vault.js';

/** A token the lifecycle holds, with its times. */
export interface HeldToken {
  /** The token id (hex SHA-256). */
  readonly id: string;
  /** The raw token. */
  readonly token: string;
  /** The token as an already-resolved promise, so the hot path allocates nothing. */
  readonly resolved: Promise<string>;
  /** Its record (as written, or as it would have been when the store was down). */
  readonly record: TokenRecord;
  /** Its times by this process's policy and clock estimate. */
  readonly times: TokenTimes;
}

/** The fleet's view of a held token: what the heartbeat needs to lease it and write its record again. */
export function fleetView(held: HeldToken, instanceId: string): HeldForFleet {
  const r = held.record;
  return { id: held.id, token: held.token, input: { appKeyId: r.appKeyId, tokenType: r.tokenType, issuedAt: r.issuedAt, expiresAt: r.expiresAt, revokeAt: r.revokeAt, ownerId: instanceId } };
}

/** What one flight wants. */
export interface ObtainRequest {
  /** LS rejected the current token: re-read the store, then issue past the budget (forced cap applies). */
  readonly forced: boolean;
  /** A token id never to adopt (the one LS rejected). */
  readonly rejected: string | undefined;
  /** The usable current token, when this is a background refresh. */
  readonly current: HeldToken | undefined;
}

/** The outcome of one flight. */
export type Obtained =
  | { readonly kind: 'got'; readonly held: HeldToken; readonly source: 'issued' | 'adopted' }
  | { readonly kind: 'keep'; readonly retryAt: number };

/** What {@link Issuer} works with. */
export interface IssuerDeps {
  readonly client: { issueToken(options: { signal?: AbortSignal }): Promise<IssuedToken> };
  /** LS's clock from a bodiless request (for the clock estimate before any issuance). */
  readonly serverTime: (signal: AbortSignal) => Promise<{ sentAt: number; receivedAt: number; serverMs: number } | undefined>;
  readonly store: TokenStore;
  readonly vault: TokenVault;
  readonly fleet: Fleet;
  readonly policy: TokenPolicy;
  readonly skew: ClockSkew;
  readonly budget: IssueBudget;
  readonly throttle: IssueThrottle;
  /**
   * The broker's own issuance limit (KIS: one a minute), read on the fleet's budget mark: forced
   * re-issues obey it too, and a rate-limited answer keeps the budget taken. `undefined`: none.
   */
  readonly brokerBudget: IssueBudget | undefined;
  /**
   * The broker may answer a token request with its live token (KIS within 6 h, Kiwoom until it
   * expires). Then a JWT `iat` says when the token was first issued, not the broker's clock now,
   * and an answer already dead by our estimate is that token at the end of its life.
   */
  readonly sameTokenAnswers: boolean;
  /** The broker's name, for messages. */
  readonly brokerName: string;
  readonly lock: IssueLockProvider;
  readonly lockKey: string;
  readonly lockTtlMs: number;
  readonly appKeyId: string;
  readonly instanceId: string;
  readonly reuseStoredToken: boolean;
  readonly issueLockWaitMs: number;
  readonly storeTimeoutMs: number;
  readonly now: Clock;
  /** Aborted when the lifecycle closes (waits end at once) ... */
  readonly closing: AbortSignal;
  /** ... and this one when shutdown gives up on a request in flight. */
  readonly abortRequests: AbortSignal;
  /** True while this process is revoking `id` (never adopt it). */
  isRevoking(id: string): boolean;
  /** A token LS issued dead: revoke it now. */
  discard(id: string, expiresAt: number | undefined): void;
  /** Store or lock trouble the flight survived. */
  onError(error: unknown, op: string, id?: string): void;
}

function closedError(): LsTokenError {
  return new LsTokenError(ErrorCodes.CLOSED, 'The token lifecycle is shut down');
}

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
   * Reads the broker's clock once (a `HEAD /`) when no issuance has yet; returns the token held
   * when the answer arrived (`current()`, read then: a token adopted while the probe was in flight
   * was timed by the host clock alone) re-timed by the new estimate, or `undefined` when nothing
   * changed. Never rejects.
   */
  async probeClock(current: () => HeldToken | undefined, signal: AbortSignal): Promise<HeldToken | undefined> {
    const { skew, policy, serverTime } = this.#d;
    if (skew.estimate() !== null) return undefined;
    const sample = await serverTime(signal).catch(() => undefined);
    // An issuance meanwhile gave a better sample (its JWT iat): keep that one.
    if (sample === undefined || skew.estimate() !== null || !skew.sample({ ...sample, resolutionMs: 1000 })) return undefined;
    const held = current();
    const exp = held === undefined ? undefined : readJwtClaims(held.token)?.exp;
    if (held === undefined || exp === undefined) return undefined;
    return { ...held, times: policy.times(held.times.issuedAt, policy.expiryOf(held.times.issuedAt, undefined, exp)) };
  }

  /** Builds the in-memory view of a token and puts it in the vault. */
  hold(record: TokenRecord, token: string, expiresAt = record.expiresAt): HeldToken {
    this.#d.vault.hold(record.id, token);
    return { id: record.id, token, resolved: Promise.resolve(token), record, times: this.#d.policy.times(record.issuedAt, expiresAt) };
  }

  /** One flight: adopt, issue, keep the current token, or fail (`ERR_ISSUE_THROTTLED`, `ERR_LOCK_TIMEOUT`, `ERR_CLOSED`, LS errors). */
  async obtain(req: ObtainRequest): Promise<Obtained> {
    const d = this.#d;
    const refreshing = req.current !== undefined;
    const waitUntil = d.now() + d.issueLockWaitMs;
    const mayAdopt = d.reuseStoredToken || req.forced || refreshing;
    let lockDelay = 25;
    for (;;) {
      this.#checkOpen();
      if (mayAdopt) {
        const adopted = await this.#adoptable(req);
        if (adopted !== undefined) return adopted;
      }
      const now = d.now();
      let waitFor: number | undefined;
      if (!req.forced) {
        const decision = d.policy.issueDecision(now, req.current?.times);
        if (decision.kind === 'keep') return decision;
        if (decision.kind === 'wait') waitFor = decision.until;
      }
      if (waitFor === undefined) {
        const cooling = d.throttle.blockedUntil();
        if (cooling !== undefined) {
          if (refreshing) return { kind: 'keep', retryAt: cooling };
          d.throttle.check(); // throws ERR_ISSUE_THROTTLED with retryAfterMs
        }
        // Store lost its data: live leases on a token with no record mean its holders will write it
        // again within a heartbeat. Issuing now would kill their token.
        const unrecorded = await d.fleet.unrecordedLeases().catch((err: unknown) => (d.onError(err, 'leases'), []));
        if (unrecorded.length > 0) waitFor = now + 250;
        else if (now < this.#brokerRepeatsUntil) waitFor = this.#brokerRepeatsUntil;
      }
      if (waitFor === undefined) {
        const outcome = await this.#underLock(req, mayAdopt);
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
      if (waitFor > waitUntil) {
        throw new LsTokenError(ErrorCodes.ISSUE_THROTTLED, `No token may be issued for ${waitFor - now} ms (issuance budget, LS's cut-off, or another process issuing), longer than issueLockWaitMs`, {
          retryable: true,
          retryAfterMs: waitFor - now,
        });
      }
      // Wake at least once a second to look for a token another process stored meanwhile.
      await sleep(Math.min(waitFor - now, 1_000), d.closing); // rejects with ERR_CLOSED (the closing signal's reason)
    }
  }

  #checkOpen(): void {
    if (this.#d.closing.aborted) throw closedError();
  }

  /** The fleet's token from the store, if it is worth adopting now. */
  async #adoptable(req: ObtainRequest): Promise<Obtained | undefined> {
    const d = this.#d;
    let found: { record: TokenRecord; token: string } | undefined;
    try {
      found = await boundedStoreCall(d.store.findUsable(d.appKeyId, d.now()), d.storeTimeoutMs, 'findUsable');
    } catch (err) {
      d.onError(err, 'store.findUsable');
      return undefined;
    }
    this.#checkOpen();
    if (found === undefined) return undefined;
    const { record, token } = found;
    if (record.id === req.rejected || record.id === req.current?.id || d.isRevoking(record.id)) return undefined;
    // The record's times are the writer's; judge the token by our own estimate of LS's clock.
    const times = d.policy.times(record.issuedAt, this.#expiryOfStored(record, token));
    if (!d.policy.worthAdopting(times, d.now(), req.current?.times)) return undefined;
    if (!(await d.fleet.leaseThenRecheck(record.id))) return undefined;
    this.#checkOpen();
    return { kind: 'got', held: this.hold(record, token, times.expiresAt), source: 'adopted' };
  }

  #expiryOfStored(record: TokenRecord, token: string): number {
    const exp = readJwtClaims(token)?.exp;
    return exp === undefined ? record.expiresAt : this.#d.policy.expiryOf(record.issuedAt, undefined, exp);
  }

  /** Takes the lock; re-reads the store; checks the budget; issues. `'busy'`: lock taken; a number: budget blocked until then. */
  async #underLock(req: ObtainRequest, mayAdopt: boolean): Promise<Obtained | 'busy' | number> {
    const d = this.#d;
    let locked = false;
    try {
      locked = await d.lock.tryAcquire(d.lockKey, d.instanceId, d.lockTtlMs);
    } catch (err) {
      // A lock we cannot reach must not stop trading: go on without it and say so.
      d.onError(err, 'issueLock.acquire');
      locked = true;
    }
    if (!locked) return 'busy';
    try {
      this.#checkOpen();
      // The previous holder may have stored a token between our last read and the lock.
      const adopted = mayAdopt ? await this.#adoptable(req) : undefined;
      if (adopted !== undefined) return adopted;
      if (req.forced) {
        // The broker refuses a second issuance inside its interval (KIS: EGW00133), forced or not.
        const limit = await d.brokerBudget?.blockedUntil();
        if (limit !== undefined) return limit;
        d.throttle.takeForced(); // throws ERR_ISSUE_THROTTLED at the cap
      } else {
        const blocked = await d.budget.blockedUntil(d.policy.lastCutoffPassedAt(d.now()));
        if (blocked !== undefined) return blocked;
      }
      this.#checkOpen();
      return await this.#issue();
    } finally {
      await d.lock.release(d.lockKey, d.instanceId).catch((err: unknown) => d.onError(err, 'issueLock.release'));
    }
  }

  /** Issues; a number: the broker answered its live token at the end of its life, ask again then. */
  async #issue(): Promise<Obtained | number> {
    const d = this.#d;
    await d.budget.take();
    this.#checkOpen();
    const sentAt = d.now();
    let issued: IssuedToken;
    this.#requests++;
    try {
      issued = await d.client.issueToken({ signal: d.abortRequests });
    } catch (err) {
      if (!isLsTokenError(err, ErrorCodes.ABORTED)) d.throttle.failed();
      // A broker that limits issuance itself counts from its own last issuance: after its "too
      // soon" the budget stays taken, or the next process would be refused in the same way.
      const brokerSaysWait = d.brokerBudget !== undefined && isLsTokenError(err, ErrorCodes.RATE_LIMITED);
      if (surelyNotIssued(err) && !brokerSaysWait) await d.budget.giveBack();
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
    const token = issued.accessToken;
    const id = tokenId(token);
    const heldBefore = d.vault.has(id);
    d.vault.hold(id, token); // held before anything else can fail or wait
    d.throttle.succeeded();
    const claims = readJwtClaims(token);
    // A repeated token's iat is its first issuance, not the broker's clock now: not a clock sample.
    if (claims?.iat !== undefined && !d.sameTokenAnswers) d.skew.sample({ sentAt, receivedAt, serverMs: claims.iat * 1000, resolutionMs: 1000 });
    const brokerExpMs = Math.min(claims?.exp === undefined ? Infinity : claims.exp * 1000, issued.serverExpiresAt ?? Infinity);
    const expiresAt = d.policy.expiryOf(sentAt, issued.lifetimeMs, Number.isFinite(brokerExpMs) ? brokerExpMs / 1000 : undefined);
    if (d.sameTokenAnswers && expiresAt <= receivedAt && Number.isFinite(brokerExpMs)) {
      // The broker answered its live token, which our estimate of its clock says has ended: it
      // dies within the clock uncertainty. No new token was issued (the budget is given back); ask
      // again once the broker has surely passed that expiry.
      await d.budget.giveBack();
      this.#brokerRepeatsUntil = Math.max(receivedAt + 250, brokerExpMs - d.skew.bounds().lowMs + 250);
      return this.#brokerRepeatsUntil;
    }
    let times = d.policy.times(sentAt, expiresAt);
    const input: NewTokenRecord = { appKeyId: d.appKeyId, tokenType: issued.tokenType, issuedAt: sentAt, expiresAt, revokeAt: times.revokeAt, ownerId: d.instanceId };
    const record = await this.#record(input, token, id);
    // A token the store already knew (a broker answering its live token): its times run from its first issuance.
    if (record.issuedAt < sentAt) times = d.policy.times(record.issuedAt, expiresAt);
    // The broker answered a token it had already issued: nothing was issued, the budget is not spent.
    const repeated = d.sameTokenAnswers && (heldBefore || record.issuedAt < sentAt);
    if (repeated) await d.budget.giveBack();
    const held: HeldToken = { id, token, resolved: Promise.resolve(token), record, times };
    if (expiresAt <= receivedAt) {
      // Dead on arrival even by LS's clock: not a token to hand out. It is revoked, and the budget
      // (already taken) applies to the next attempt.
      d.discard(held.id, held.times.expiresAt);
      throw new LsTokenError(ErrorCodes.BAD_RESPONSE, `${d.brokerName} token response: the token had expired by the time it arrived (check the host clock)`, { field: 'expires_in', retryable: true });
    }
    return { kind: 'got', held, source: repeated ? 'adopted' : 'issued' };
  }

  /** Writes the record, bounded; a store that fails or hangs leaves the token in memory only (the heartbeat writes it later). */
  async #record(input: NewTokenRecord, token: string, id: string): Promise<TokenRecord> {
    const d = this.#d;
    try {
      return await boundedStoreCall(d.store.put(input, token), d.storeTimeoutMs, 'put');
    } catch (err) {
      d.onError(err, 'store.put', id);
      const now = d.now();
      return { schema: 1, id, state: 'active', reason: null, attempts: 0, lastError: null, createdAt: now, updatedAt: now, ...input, ownerId: d.instanceId };
    }
  }
}
