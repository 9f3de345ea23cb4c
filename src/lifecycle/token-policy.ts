/**
 * Every time decision about a token, in one pure module: when a token stops being handed out and
 * is revoked (`revokeAt`), when a successor is fetched (`refreshAt`), how long a token issued now
 * would live, and whether to keep, adopt, issue or wait. The lifecycle and `ls-token status` both
 * ask this module; neither computes a time of its own.
 *
 * LS's calendar, as measured on the live service: every token dies at 07:00 KST, and `expires_in`
 * is the seconds until then (a token issued at 06:59 lives a minute; one issued at 12:53 lives until
 * 07:00 the next day, its JWT `exp` being 07:00:01). Issuing a token kills the app key's previous
 * one. So a successor issued before the cut-off dies at the same cut-off as the token it replaces,
 * and refreshing then only kills a live token to get one that is no better. The rules:
 *
 * - A token is handed out until its expiry minus `revokeMarginMs` (then revoked), so that a
 *   successor takes over before it dies. But when no successor could outlive it (it ends at the
 *   cut-off, or it is shorter than the margin), it is handed out until it expires and left to die:
 *   revoking it early would only open a gap that any new token would die at the same moment as.
 * - A successor is fetched `refreshMarginMs` before `revokeAt` only if it would outlive the current
 *   token by at least the margin; otherwise right after the next cut-off (plus a small jitter, so a
 *   fleet does not race for the lock at the same millisecond).
 * - The cut-off is judged by LS's clock: with the offset interval from {@link ClockSkew}, "surely
 *   past 07:00 at LS" is `07:00 - low` in host time, and "maybe dead" is `exp - high`.
 *
 * Other brokers (see `ProviderDefinition.rules`) give other inputs: no cut-off, and a same-token
 * rule (`sameTokenWithinMs`): KIS answers a token request within 6 h of an issuance with the same
 * token, Kiwoom for as long as the token lives. Such an answer is not a successor: the policy
 * never plans a refresh inside that window, and a token whose whole life is inside it (Kiwoom) is
 * used until it expires and left to die, its successor fetched once the broker has surely passed
 * that expiry.
 */
import type { DailyCutoff } from '../providers/types.js';
import type { TokenRecord } from '../store/token-record.js';
import type { ClockBounds } from './clock-skew.js';

const DAY_MS = 86_400_000;

/** Two expiries closer than this (plus the clock uncertainty) are the same (LS stamps `exp` 07:00:01). */
const SAME_EXPIRY_MS = 2_000;

/**
 * With no usable token, a call this close to the cut-off waits for it instead of issuing a token
 * that would die at the cut-off (and force a second issuance seconds later).
 */
export const CUTOFF_WAIT_MS = 10_000;

/** The next instant strictly after `t` (epoch ms) at which the cut-off falls, by the same clock as `t`. */
export function nextCutoffAt(t: number, cutoff: DailyCutoff): number {
  const off = cutoff.utcOffsetMinutes * 60_000;
  const local = t + off;
  let at = Math.floor(local / DAY_MS) * DAY_MS + (cutoff.hour * 60 + cutoff.minute) * 60_000 - off;
  if (at <= t) at += DAY_MS;
  return at;
}

/** The settings the policy works with (validated by the lifecycle's options). */
export interface TokenPolicyOptions {
  /** A successor is fetched this long before `revokeAt`; `0`: no background refresh. */
  readonly refreshMarginMs: number;
  /** A token is revoked this long before it expires (unless no successor could outlive it). */
  readonly revokeMarginMs: number;
  /** Policy lifetime: revoked this long after issue at the latest; `Infinity` for none. */
  readonly maxLifetimeMs: number;
  /** The broker's longest token life (LS: 24 h). */
  readonly lifetimeMs: number;
  /** The broker's daily cut-off, or `null`. */
  readonly cutoff: DailyCutoff | null;
  /** Added to the post-cut-off refresh time, ms (a fixed draw in [0, jitter bound) per process). */
  readonly cutoffJitterMs: number;
  /**
   * A token request within this long of the current token's issuance answers that same token
   * (KIS: 6 h; Kiwoom: `Infinity`, for as long as it lives). Default `0` (LS: every issuance is a
   * new token).
   */
  readonly sameTokenWithinMs?: number;
}

/** The part of a token's times the same-token rule looks at. */
type Issued = Pick<TokenTimes, 'issuedAt' | 'expiresAt'>;

/** When things happen to one token, in host time (epoch ms). */
export interface TokenTimes {
  /** When it was issued (request sent). */
  readonly issuedAt: number;
  /** When it may be dead at the broker, at the earliest. */
  readonly expiresAt: number;
  /** Handed out until then; revoked then, unless `letDie`. */
  readonly revokeAt: number;
  /** When a successor is fetched in the background; `Infinity` for never. */
  readonly refreshAt: number;
  /** No successor could outlive it: it is used until it expires and then left to die (no revoke request). */
  readonly letDie: boolean;
}

/** What to do about issuance now; see {@link TokenPolicy.issueDecision}. */
export type IssueDecision =
  | {
      /** Issue now. */
      readonly kind: 'issue';
    }
  | {
      /** Keep the current token; no successor now. */
      readonly kind: 'keep';
      /** When to consider a refresh again, host time. */
      readonly retryAt: number;
    }
  | {
      /** Wait (the cut-off is imminent), then decide again. */
      readonly kind: 'wait';
      /** Until when, host time. */
      readonly until: number;
    };

/** The time decisions; see the module notes. Pure apart from reading the current clock bounds. */
export class TokenPolicy {
  /** The settings, frozen. */
  readonly options: TokenPolicyOptions;
  readonly #bounds: () => ClockBounds;

  constructor(options: TokenPolicyOptions, bounds: () => ClockBounds) {
    this.options = Object.freeze({ ...options });
    this.#bounds = bounds;
  }

  /** Host time by which the broker's clock has surely passed its next cut-off after host time `t`; `Infinity` without a cut-off. */
  cutoffPassedAt(t: number): number {
    const { cutoff } = this.options;
    if (cutoff === null) return Infinity;
    const { lowMs } = this.#bounds();
    return nextCutoffAt(t + lowMs, cutoff) - lowMs;
  }

  /** Host time from which the broker's clock had surely passed its last cut-off before host time `t`; `-Infinity` without a cut-off. */
  lastCutoffPassedAt(t: number): number {
    if (this.options.cutoff === null) return -Infinity;
    const passed = this.cutoffPassedAt(t - DAY_MS);
    return passed <= t ? passed : passed - DAY_MS;
  }

  /**
   * The earliest host time at which a token issued at host time `t` may be dead. With `current`
   * (the token held then) and a same-token rule, a request inside the window gets `current` back.
   */
  successorExpiry(t: number, current?: Pick<TokenTimes, 'issuedAt' | 'expiresAt'>): number {
    if (this.#sameToken(t, current)) return current.expiresAt;
    const { cutoff, lifetimeMs } = this.options;
    const byLife = t + lifetimeMs;
    if (cutoff === null) return byLife;
    const { lowMs, highMs } = this.#bounds();
    return Math.min(byLife, nextCutoffAt(t + lowMs, cutoff) - highMs);
  }

  /**
   * A token's expiry in host time from what the broker said: `expires_in` counted from our send
   * time (clock-free) and the JWT `exp` (the broker's clock, so moved by the largest offset).
   */
  expiryOf(sentAt: number, lifetimeMs: number | undefined, expClaimS: number | undefined): number {
    const byLife = lifetimeMs === undefined ? Infinity : sentAt + lifetimeMs;
    const byClaim = expClaimS === undefined ? Infinity : expClaimS * 1000 - this.#bounds().highMs;
    return Math.min(byLife, byClaim);
  }

  /** `revokeAt`, `refreshAt` and `letDie` of a token issued at `issuedAt` that may die at `expiresAt`. */
  times(issuedAt: number, expiresAt: number): TokenTimes {
    const { revokeAt, letDie } = this.#revocation(issuedAt, expiresAt);
    return { issuedAt, expiresAt, revokeAt, letDie, refreshAt: this.#refreshAt({ issuedAt, expiresAt, revokeAt, letDie }) };
  }

  /** Whether a token with these times may be handed out at `now`. */
  usable(t: Pick<TokenTimes, 'revokeAt'>, now: number): boolean {
    return now < t.revokeAt;
  }

  /**
   * Whether a stored token should be adopted at `now` rather than issuing: it must be usable, and
   * either live past the refresh margin or be no worse than a token issued now (a process started
   * at 06:58 adopts the fleet's 07:00 token). While a current token is held, only a newer issuance
   * is adopted: LS keeps one live token per app key, so a newer one has killed ours.
   */
  worthAdopting(candidate: TokenTimes, now: number, current?: TokenTimes): boolean {
    if (!this.usable(candidate, now)) return false;
    if (current !== undefined && this.usable(current, now)) return candidate.issuedAt > current.issuedAt;
    if (candidate.revokeAt > now + this.options.refreshMarginMs) return true;
    return this.#successorTimes(now, candidate).revokeAt <= candidate.revokeAt + this.#sameExpiryMs();
  }

  /**
   * Issue now, keep the current token (retry the refresh at `retryAt`), or wait until `until` and
   * decide again. Never refresh when the successor would not outlive the current token by the
   * refresh margin; with no usable token, wait for an imminent cut-off rather than issue a token
   * that dies with it.
   */
  issueDecision(now: number, current?: TokenTimes): IssueDecision {
    if (current !== undefined && this.usable(current, now)) {
      const next = this.#successorTimes(now, current);
      if (next.revokeAt >= current.revokeAt + this.options.refreshMarginMs) return { kind: 'issue' };
      return { kind: 'keep', retryAt: Math.max(now + 1_000, this.#refreshAt(current, now)) };
    }
    const passed = this.cutoffPassedAt(now);
    if (passed !== Infinity && this.successorExpiry(now) < passed + SAME_EXPIRY_MS && passed - now <= CUTOFF_WAIT_MS) {
      return { kind: 'wait', until: passed + this.options.cutoffJitterMs };
    }
    return { kind: 'issue' };
  }

  /**
   * The fleet's shared token among stored records: the newest (`issuedAt`) active record that is
   * still usable. LS keeps one live token per app key, so the newest issuance is the live one.
   */
  sharedToken(records: readonly TokenRecord[], now: number): TokenRecord | undefined {
    let best: TokenRecord | undefined;
    for (const r of records) {
      if (r.state !== 'active' || r.revokeAt <= now || r.expiresAt <= now) continue;
      if (best === undefined || r.issuedAt > best.issuedAt || (r.issuedAt === best.issuedAt && r.expiresAt > best.expiresAt)) best = r;
    }
    return best;
  }

  /** Whether a token request at `t` would get `current` back (the broker's same-token rule). */
  #sameToken(t: number, current: Issued | undefined): current is Issued {
    const window = this.options.sameTokenWithinMs ?? 0;
    return current !== undefined && window > 0 && t < current.issuedAt + window && t < current.expiresAt;
  }

  #sameExpiryMs(): number {
    const { lowMs, highMs } = this.#bounds();
    return SAME_EXPIRY_MS + (highMs - lowMs);
  }

  #revocation(issuedAt: number, expiresAt: number): { revokeAt: number; letDie: boolean } {
    const { revokeMarginMs, maxLifetimeMs } = this.options;
    const policyEnd = issuedAt + maxLifetimeMs;
    const byMargin = expiresAt - revokeMarginMs;
    if (policyEnd < byMargin) return { revokeAt: policyEnd, letDie: false };
    const shorterThanMargin = byMargin <= issuedAt;
    // Within CUTOFF_WAIT_MS too: a slow answer ends a cut-off token that much early by `expires_in`
    // (counted from the send time); revoking it for a successor that dies at the same cut-off
    // would kill the fleet's token a minute early for nothing.
    const noBetterSuccessor = this.successorExpiry(byMargin, { issuedAt, expiresAt }) <= expiresAt + Math.max(this.#sameExpiryMs(), CUTOFF_WAIT_MS);
    if (shorterThanMargin || noBetterSuccessor) {
      return policyEnd < expiresAt ? { revokeAt: policyEnd, letDie: false } : { revokeAt: expiresAt, letDie: true };
    }
    return { revokeAt: byMargin, letDie: false };
  }

  #successorTimes(t: number, current?: Issued): Pick<TokenTimes, 'issuedAt' | 'expiresAt' | 'revokeAt'> {
    // Inside the same-token window the "successor" is the current token itself.
    const from = this.#sameToken(t, current) ? current.issuedAt : t;
    const expiresAt = this.successorExpiry(t, current);
    return { issuedAt: from, expiresAt, revokeAt: this.#revocation(from, expiresAt).revokeAt };
  }

  #refreshAt(held: Omit<TokenTimes, 'refreshAt'>, notBefore = held.issuedAt): number {
    const { refreshMarginMs, cutoff, cutoffJitterMs } = this.options;
    const { issuedAt, revokeAt } = held;
    if (refreshMarginMs === 0) return Infinity;
    let t0 = Math.max(issuedAt, notBefore, revokeAt - refreshMarginMs);
    if (this.#sameToken(t0, held)) {
      const window = this.options.sameTokenWithinMs ?? 0;
      // A request before the window ends gets this token back: ask once it has ended, or, when
      // the window outlasts the token (Kiwoom), once the broker has surely seen it die.
      if (issuedAt + window < revokeAt) t0 = issuedAt + window;
      else return this.#endedAt(held) + cutoffJitterMs;
    }
    if (cutoff === null || this.#successorTimes(t0).revokeAt >= revokeAt + refreshMarginMs) return t0;
    // Any successor before the cut-off dies with it: fetch one just after the cut-off instead.
    return this.cutoffPassedAt(t0) + cutoffJitterMs;
  }

  /** Host time by which the broker has surely ended the token (left to die: its expiry by the broker's clock). */
  #endedAt(held: Pick<TokenTimes, 'expiresAt' | 'revokeAt' | 'letDie'>): number {
    if (!held.letDie) return held.revokeAt;
    const { lowMs, highMs } = this.#bounds();
    return held.expiresAt + (highMs - lowMs);
  }
}
