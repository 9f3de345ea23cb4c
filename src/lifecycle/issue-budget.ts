/**
 * The issuance budget: at most one issuance per app key per `intervalMs`, shared by the fleet
 * through the store. It is a structural guard against any storm, whatever its cause (a bug, a
 * clock far off, a broker answering oddly): LS kills the previous token at every issuance, and
 * brokers on LS's gateway allow one issuance a minute.
 *
 * The mark is a meta value `budget:<appKeyId>` with a TTL of `intervalMs`; it is read and written
 * under the issuance lock (fleet-wide on Redis), so two processes cannot both take it. Its absence
 * is judged by the store (Redis expires it server-side), not by comparing clocks.
 */
import type { Clock } from '../core/clock.js';
import { boundedStoreCall } from '../store/store-call.js';
import type { TokenStore } from '../store/token-store.js';

/** The meta key of an app key's issuance budget. */
export function budgetKey(appKeyId: string): string {
  return `budget:${appKeyId}`;
}

/** What {@link IssueBudget} needs. */
export interface IssueBudgetOptions {
  readonly store: TokenStore;
  readonly appKeyId: string;
  readonly instanceId: string;
  readonly intervalMs: number;
  readonly storeTimeoutMs: number;
  readonly now: Clock;
}

/** The fleet-wide issuance budget of one app key; see the module notes. */
export class IssueBudget {
  readonly #o: IssueBudgetOptions;
  /** This process's own last issuance: the budget holds even while the store is unreachable. */
  #localAt = -Infinity;

  constructor(options: IssueBudgetOptions) {
    this.#o = options;
  }

  /**
   * When the budget allows the next issuance: `undefined` for now, else a host time (an estimate
   * when another process took it). Call under the issuance lock. An issuance from before
   * `cutoffPassedAt` (the broker's last cut-off, which ended every token) does not count: the one
   * issuance every cut-off needs is never held back. A store that fails counts as "no mark": the
   * local mark still holds, and a store down must not stop trading.
   */
  async blockedUntil(cutoffPassedAt = -Infinity): Promise<number | undefined> {
    const { store, appKeyId, intervalMs, storeTimeoutMs, now } = this.#o;
    if (intervalMs === 0) return undefined;
    const t = now();
    let at = this.#localAt;
    try {
      const mark = await boundedStoreCall(store.getMeta<{ at?: unknown }>(budgetKey(appKeyId)), storeTimeoutMs, 'budget');
      // Present means taken (the store expires it); its `at` is only used to guess when it frees.
      if (mark !== undefined) at = Math.max(at, typeof mark.at === 'number' && mark.at <= t ? mark.at : t);
    } catch {
      // Reported by the issuance that follows, if the store stays down.
    }
    if (at < cutoffPassedAt) return undefined;
    const free = at + intervalMs;
    return free > t ? free : undefined;
  }

  /** Marks an issuance about to be sent (forced or not). Never rejects. */
  async take(): Promise<void> {
    const { store, appKeyId, instanceId, intervalMs, storeTimeoutMs, now } = this.#o;
    this.#localAt = now();
    if (intervalMs === 0) return;
    await boundedStoreCall(store.setMeta(budgetKey(appKeyId), { at: this.#localAt, instanceId }, intervalMs), storeTimeoutMs, 'budget').catch(() => undefined);
  }

  /** Gives the budget back after an issuance that LS surely did not perform (it answered an error). Never rejects. */
  async giveBack(): Promise<void> {
    const { store, appKeyId, storeTimeoutMs } = this.#o;
    this.#localAt = -Infinity;
    if (this.#o.intervalMs === 0) return;
    await boundedStoreCall(store.deleteMeta(budgetKey(appKeyId)), storeTimeoutMs, 'budget').catch(() => undefined);
  }
}
