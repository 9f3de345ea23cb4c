/**
 * Installing the token a flight brought: it becomes the token handed out, its revocation is
 * scheduled before anyone hears of it, `issued` is emitted, and the token it replaces is scheduled
 * for revocation after the grace period (its lease dropped). The same token again (a broker
 * answering a re-issue with its live token) replaces nothing.
 */
import type { Clock } from '../core/clock.js';
import type { RevocationScheduler } from '../schedule/revocation-scheduler.js';
import type { Fleet } from './fleet.js';
import type { HeldSlot } from './held-slot.js';
import type { HeldToken } from './held-token.js';
import type { LifecycleConfig } from './lifecycle-options.js';

/** What {@link installHeld} works on. */
export interface InstallParts {
  readonly slot: HeldSlot;
  readonly scheduler: RevocationScheduler;
  readonly fleet: Fleet;
  readonly now: Clock;
  readonly cfg: Pick<LifecycleConfig, 'refreshMarginMs' | 'supersededGraceMs'>;
  /** Emits `issued` for the new token. */
  readonly emitIssued: () => void;
}

/** Installs `held`; see the module notes. `'new'`: it replaced another token, or none; `'same'`: it was the one held. */
export function installHeld(p: InstallParts, held: HeldToken): 'new' | 'same' {
  const { slot, scheduler, fleet, now, cfg } = p;
  const previous = slot.current;
  if (previous?.id === held.id) {
    // Its answer may say it lives longer than we thought (Kiwoom's expires_dt, read with a better
    // clock estimate than the stored record's): keep the later times, and schedule by them.
    const times = held.times.revokeAt > previous.times.revokeAt ? held.times : previous.times;
    slot.set({ ...held, times });
    if (times !== previous.times) scheduler.schedule({ id: held.id, revokeAt: times.revokeAt, expiresAt: times.expiresAt }, 'expiry');
    slot.arm(Math.max(times.refreshAt, now() + cfg.refreshMarginMs / 2));
    return 'same';
  }
  slot.set(held);
  // Scheduled before anyone hears of it: a throwing listener cannot leave it unscheduled.
  if (!scheduler.isScheduled(held.id)) scheduler.schedule({ id: held.id, revokeAt: held.times.revokeAt, expiresAt: held.times.expiresAt }, 'expiry');
  p.emitIssued();
  if (previous !== undefined) {
    // Replaced: revoked after a grace period (requests in flight finish), unless it dies first.
    scheduler.schedule({ id: previous.id, revokeAt: previous.times.revokeAt, expiresAt: previous.times.expiresAt }, 'superseded', Math.min(now() + cfg.supersededGraceMs, previous.times.revokeAt));
    void fleet.release(previous.id);
  }
  return 'new';
}
