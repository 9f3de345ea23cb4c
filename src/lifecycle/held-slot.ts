/**
 * The token a lifecycle hands out, and the two timers that go with it: its refresh time, and the
 * hot answer that `getAccessToken()` serves without reading the clock (host clock only; see
 * hot-token.ts). One place sets the held token, so the three never disagree.
 */
import { type Clock, systemClock } from '../core/clock.js';
import type { HeldForFleet } from './fleet.js';
import { HotToken } from './hot-token.js';
import { type HeldToken, fleetView } from './held-token.js';
import type { LifecycleStatus } from './lifecycle-status.js';
import { RefreshTimer } from './refresh-timer.js';

/** See the module notes. */
export class HeldSlot {
  #held: HeldToken | undefined;
  #open = true;
  readonly #timer: RefreshTimer;
  readonly #hot: HotToken | undefined;

  /**
   * @param now the lifecycle's clock; the hot answer is kept only when it is the host clock (a
   *   custom clock may jump at any call, so it is read on every call instead).
   * @param onRefreshDue called once the armed refresh time has come.
   */
  constructor(now: Clock, onRefreshDue: () => void) {
    this.#timer = new RefreshTimer(now, onRefreshDue);
    this.#hot = now === systemClock ? new HotToken(systemClock) : undefined;
  }

  /** The held token's answer while no clock read is needed, else `undefined`. */
  get hot(): Promise<string> | undefined {
    return this.#hot?.value;
  }

  /** The token handed out, if any. */
  get current(): HeldToken | undefined {
    return this.#held;
  }

  /** When the next refresh is due (`Infinity`: none armed). */
  get refreshAt(): number {
    return this.#timer.at;
  }

  /** What `status()` shows of the held token (never the raw token). */
  snapshot(): LifecycleStatus['current'] {
    const cur = this.#held;
    return cur === undefined ? undefined : { id: cur.id, issuedAt: cur.times.issuedAt, expiresAt: cur.times.expiresAt, revokeAt: cur.times.revokeAt, refreshAt: this.#timer.at };
  }

  /** What the heartbeat writes of the held token, for instance `instanceId`. */
  fleetView(instanceId: string): HeldForFleet | undefined {
    return this.#held === undefined ? undefined : fleetView(this.#held, instanceId);
  }

  /** Holds `held` (or nothing), its refresh armed at its refresh time. */
  set(held: HeldToken | undefined): void {
    this.#held = held;
    this.arm(held === undefined ? Infinity : held.times.refreshAt);
  }

  /** Arms the refresh at `at`; until then (or the revocation time, if sooner) every call gets the held token as it is. */
  arm(at: number): void {
    const cur = this.#open ? this.#held : undefined;
    this.#timer.arm(cur === undefined ? Infinity : at);
    if (cur === undefined) this.#hot?.drop();
    else this.#hot?.hold(cur.resolved, Math.min(at, cur.times.revokeAt));
  }

  /** Empties it for good (the lifecycle shut down): nothing is held, nothing armed. */
  close(): void {
    this.#open = false;
    this.#held = undefined;
    this.#timer.clear();
    this.#hot?.drop();
  }
}
