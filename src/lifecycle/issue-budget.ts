/**
 * The issuance budget: at most one issuance per app key per `intervalMs`, shared by the fleet
 * through the store. It is a structural guard against any storm, whatever its cause (a bug, a
 * clock far off, a broker answering oddly): LS kills the previous token at every issuance, and
 * brokers on LS's gateway allow one issuance a minute.
 *
 * The mark is a meta value `budget:<appKeyId>`; it is read and written under the issuance lock
 * (fleet-wide on Redis), so two processes cannot both take it. It is taken before the request
 * (with a TTL that also covers the request's own time) and stamped again when the answer arrives,
 * so the interval runs from the broker's answer, not from the send. A mark that is present counts,
 * whatever its `at` says (the writer's clock may be behind ours; the store expires the mark): only
 * a mark that stays present a whole interval after its time is up (no TTL, or no readable `at`)
 * counts as expired, and the next issuance overwrites it.
 */
import type { Clock } from '../core/clock.js';
import { boundedStoreCall } from '../store/store-call.js';
import type { TokenStore } from '../store/token-store.js';

/** The meta key of an app key's issuance budget. */
export function budgetKey(appKeyId: string): string {
  return `budget:${appKeyId}`;
}

/** Runs one store step within a bound (the issue path's {@link StoreDeadline}, or `storeTimeoutMs`). */
export type StoreStep = <T>(call: () => Promise<T>, op: string) => Promise<T>;

/** What {@link IssueBudget} needs. */
export interface IssueBudgetOptions {
  readonly store: TokenStore;
  readonly appKeyId: string;
  readonly instanceId: string;
  readonly intervalMs: number;
  readonly storeTimeoutMs: number;
  readonly now: Clock;
  /**
   * This process's own last issuance (host time), shared by the budgets that read the same mark
   * (the lifecycle's and the broker's own): the budget holds even while the store is unreachable.
   */
  readonly local?: { at: number };
}

/** How often a mark still present after its time is looked at again, ms. */
const STALE_POLL_MS = 500;
/** How long a readable mark may stay present after its time by our clock before it counts as expired, ms (the clock lag between hosts tolerated). */
const STALE_GRACE_MS = 5_000;

/** The fleet-wide issuance budget of one app key; see the module notes. */
export class IssueBudget {
  readonly #o: IssueBudgetOptions;
  /** See {@link IssueBudgetOptions.local}. */
  readonly #local: { at: number };
  /** A mark seen present after its time was up (or unreadable), and since when (our clock). */
  #stale: { readonly mark: string; readonly since: number } | undefined;

  constructor(options: IssueBudgetOptions) {
    this.#o = options;
    this.#local = options.local ?? { at: -Infinity };
  }

  /** The interval, ms (`0`: no budget). */
  get intervalMs(): number {
    return this.#o.intervalMs;
  }

  readonly #bounded: StoreStep = (call, op) => boundedStoreCall(call(), this.#o.storeTimeoutMs, op);

  /**
   * When the budget allows the next issuance: `undefined` for now, else a host time (an estimate
   * when another process took it). Call under the issuance lock. An issuance from before
   * `cutoffPassedAt` (the broker's last cut-off, which ended every token) does not count: the one
   * issuance every cut-off needs is never held back. A store that fails counts as "no mark": the
   * local mark still holds, and a store down must not stop trading.
   */
  async blockedUntil(cutoffPassedAt = -Infinity, step: StoreStep = this.#bounded): Promise<number | undefined> {
    const { store, appKeyId, intervalMs, now } = this.#o;
    if (intervalMs === 0) return undefined;
    let mark: { at?: unknown } | undefined;
    try {
      mark = await step(() => store.getMeta<{ at?: unknown }>(budgetKey(appKeyId)), 'budget');
    } catch {
      // Reported by the issuance that follows, if the store stays down.
    }
    const t = now();
    if (mark === undefined) return this.blockedWithoutMark(cutoffPassedAt);
    const free = Math.max(this.#ownFree(cutoffPassedAt), this.#markFree(mark, t, cutoffPassedAt));
    return free > t ? free : undefined;
  }

  /**
   * {@link blockedUntil} for a store that holds no mark (known without a read: an in-process store
   * with no key): this process's own last issuance decides.
   */
  blockedWithoutMark(cutoffPassedAt = -Infinity): number | undefined {
    if (this.#o.intervalMs === 0) return undefined;
    this.#stale = undefined;
    const free = this.#ownFree(cutoffPassedAt);
    return free > this.#o.now() ? free : undefined;
  }

  /** When this process's own last issuance frees the budget (`-Infinity`: it does not hold it). */
  #ownFree(cutoffPassedAt: number): number {
    return this.#local.at >= cutoffPassedAt ? this.#local.at + this.#o.intervalMs : -Infinity;
  }

  /** When a present mark frees, by our clock; see the module notes. */
  #markFree(mark: { at?: unknown }, t: number, cutoffPassedAt: number): number {
    const intervalMs = this.#o.intervalMs;
    const at = typeof mark.at === 'number' && Number.isFinite(mark.at) ? mark.at : undefined;
    if (at !== undefined && at < cutoffPassedAt) return -Infinity;
    // A writer ahead of us cannot push the mark further than one interval from now.
    if (at !== undefined && Math.min(at, t) + intervalMs > t) {
      this.#stale = undefined;
      return Math.min(at, t) + intervalMs;
    }
    // Present although its time is up by our clock: the writer's clock is behind ours (the store
    // expires the mark within that lag), or the mark has no TTL or no readable time. Look again
    // soon. It counts as expired (and `take` overwrites it) after a grace: a short one for a
    // readable mark (the most two hosts of a fleet may disagree), past its time by our clock or in
    // wall time since we first saw it so (the time the store's TTL runs in); a whole interval of
    // wall time for an unreadable one.
    const grace = at === undefined ? intervalMs : Math.min(intervalMs, STALE_GRACE_MS);
    if (at !== undefined && Math.min(at, t) + intervalMs + grace <= t) return -Infinity;
    const seen = JSON.stringify(mark) ?? '';
    const wall = performance.now();
    if (this.#stale?.mark !== seen) this.#stale = { mark: seen, since: wall };
    return wall - this.#stale.since < grace ? t + STALE_POLL_MS : -Infinity;
  }

  /**
   * Marks an issuance about to be sent (forced or not). The mark lives `intervalMs` plus
   * `requestMs` (the longest the request may take), until {@link settle} stamps the answer's time.
   * Never rejects.
   */
  async take(requestMs = 0, step: StoreStep = this.#bounded): Promise<void> {
    const { store, appKeyId, instanceId, intervalMs, now } = this.#o;
    this.#local.at = now() + requestMs; // until the answer comes, as if it came as late as it may
    if (intervalMs === 0) return;
    const at = now();
    await step(() => store.setMeta(budgetKey(appKeyId), { at, instanceId }, intervalMs + requestMs), 'budget').catch(() => undefined);
  }

  /**
   * The answer came at `at` (host time; the request may have been issued): the interval runs from
   * then. The store write is not waited for. Never rejects.
   */
  settle(at: number, step: StoreStep = this.#bounded): void {
    const { store, appKeyId, instanceId, intervalMs, now } = this.#o;
    this.#local.at = at;
    if (intervalMs === 0) return;
    const ttl = Math.max(1, Math.ceil(at + intervalMs - now()));
    void step(() => store.setMeta(budgetKey(appKeyId), { at, instanceId }, ttl), 'budget').catch(() => undefined);
  }

  /** Gives the budget back after an issuance that LS surely did not perform (it answered an error). Never rejects. */
  async giveBack(step: StoreStep = this.#bounded): Promise<void> {
    const { store, appKeyId } = this.#o;
    this.#local.at = -Infinity;
    if (this.#o.intervalMs === 0) return;
    await step(() => store.deleteMeta(budgetKey(appKeyId)), 'budget').catch(() => undefined);
  }
}
