/**
 * The sweep: what a lifecycle does with each stored token of its app key when it sweeps the store
 * (at start and every `sweepIntervalMs`). {@link planSweep} is pure: {@link runSweep} carries the
 * plan out for the lifecycle, and `ls-token status` prints the plan a lifecycle starting now
 * would follow.
 */
import type { Clock } from '../core/clock.js';
import type { RevocationScheduler } from '../schedule/revocation-scheduler.js';
import { boundedStoreCall } from '../store/store-call.js';
import type { TokenRecord } from '../store/token-record.js';
import type { RevokeReason } from '../core/events.js';
import type { TokenStore } from '../store/token-store.js';
import { type Fleet, liveInstances } from './fleet.js';
import type { LifecycleConfig } from './lifecycle-options.js';
import type { TokenPolicy } from './token-policy.js';
import type { TokenVault } from './token-vault.js';

/** One planned step for one record. */
export type SweepAction =
  /** Revoke now. */
  | { readonly kind: 'revoke'; readonly record: TokenRecord; readonly reason: RevokeReason; readonly why: string }
  /** Revoke after the adopt/revoke handshake (a process may be adopting it right now). */
  | { readonly kind: 'claim'; readonly record: TokenRecord; readonly why: string }
  /** Schedule its revocation at its `revokeAt` (nothing if already scheduled). */
  | { readonly kind: 'schedule'; readonly record: TokenRecord; readonly why: string }
  /** Nothing to do. */
  | { readonly kind: 'leave'; readonly record: TokenRecord; readonly why: string };

/** What {@link planSweep} looks at. */
export interface SweepInputs {
  /** This app key's records in `active`, `revoking` or `failed` state. */
  readonly records: readonly TokenRecord[];
  /** Other live processes' leases, by token id. */
  readonly holders: ReadonlyMap<string, readonly string[]>;
  /** Instance ids with a live heartbeat (this one included, if running). */
  readonly alive: ReadonlySet<string>;
  /** This process's instance id (`null` for an outside observer such as the CLI). */
  readonly self: string | null;
  /** The token this process hands out, if any. */
  readonly currentId: string | undefined;
  /** Tokens this process holds in memory. */
  readonly held: ReadonlySet<string>;
  readonly now: number;
  readonly policy: TokenPolicy;
  /**
   * What happens to the fleet's token (the app key's newest active token before its `revokeAt`)
   * while nobody holds it: `adopt` keeps it until its `revokeAt` for the next caller (a daemon
   * starting next, or one issued by `ls-token issue` and not picked up yet); `revoke` revokes it.
   */
  readonly orphanPolicy: 'adopt' | 'revoke';
}

/** Works out the sweep; see {@link SweepAction}. */
export function planSweep(input: SweepInputs): SweepAction[] {
  const { records, holders, alive, self, currentId, held, now, policy } = input;
  const shared = policy.sharedToken(records, now);
  const out: SweepAction[] = [];
  for (const record of records) {
    const ownerAlive = record.ownerId !== null && (record.ownerId === self || alive.has(record.ownerId));
    const heldBy = holders.get(record.id)?.length ?? 0;
    const act = (kind: 'schedule' | 'leave' | 'claim', why: string): void => void out.push({ kind, record, why });
    if (record.id === currentId) act('leave', 'this process hands it out');
    else if (record.state === 'failed') act('leave', `revocation gave up (${record.lastError?.code ?? 'unknown error'}); kept for audit`);
    else if (record.state === 'revoking') {
      // Owed: by a process that died mid-revocation, or by this one (e.g. refused credentials).
      if (ownerAlive && record.ownerId !== self) act('leave', `being revoked by live instance ${record.ownerId}`);
      else out.push({ kind: 'revoke', record, reason: 'recovery', why: 'owed: left revoking' });
    } else if (record.revokeAt <= now && record.revokeAt < record.expiresAt) {
      out.push({ kind: 'revoke', record, reason: record.reason ?? 'recovery', why: `due (${record.reason ?? 'expiry'})` });
    } else if (record.revokeAt <= now) act('schedule', 'ends by itself at its expiry (nothing outlives it)');
    else if (heldBy > 0) act('schedule', `held by ${heldBy} live instance(s)`);
    // One rule for a token nobody holds yet, whatever this process's reuseStoredToken: revoking it
    // here would leave the app key without a token if this process then fails to issue one.
    else if (record.id === shared?.id && input.orphanPolicy === 'adopt') act('schedule', 'the fleet\'s token, held by nobody yet: kept until its revokeAt for the next daemon');
    else if (!held.has(record.id) && !ownerAlive) act('claim', 'orphan: nobody holds it and its owner is gone');
    else act('schedule', ownerAlive ? `owner ${record.ownerId} is alive` : 'held by this process');
  }
  return out;
}

/** What {@link runSweep} works with. */
export interface SweepParts {
  readonly store: TokenStore;
  readonly appKeyId: string;
  readonly instanceId: string;
  readonly fleet: Fleet;
  readonly scheduler: RevocationScheduler;
  readonly policy: TokenPolicy;
  readonly vault: TokenVault;
  currentId(): string | undefined;
  readonly closing: AbortSignal;
  readonly cfg: Pick<LifecycleConfig, 'orphanPolicy' | 'storeTimeoutMs'>;
  readonly now: Clock;
  onError(err: unknown, op: string, id?: string): void;
  /** Told the plan once it is made (metrics). */
  onPlan?(plan: readonly SweepAction[]): void;
  /** The store was known to hold nothing (and nothing was held) when the caller looked: nothing to read. */
  readonly knownEmpty?: boolean;
}

/** Reads the store, plans, and carries the plan out. Never rejects: trouble is reported. */
export async function runSweep(p: SweepParts): Promise<void> {
  if (p.closing.aborted) return;
  let plan: SweepAction[];
  // An empty in-process store (a new lifecycle's own) holds no record, lease or heartbeat to read.
  if (p.knownEmpty === true || (p.store.isKnownEmpty() && p.vault.ids().length === 0)) {
    p.onPlan?.([]);
    return;
  }
  try {
    const bounded = <T>(c: Promise<T>): Promise<T> => boundedStoreCall(c, p.cfg.storeTimeoutMs, 'sweep');
    const holders = await p.fleet.holders();
    // A record the index lost (evicted, or written by a process on a backend without atomic index
    // updates) is listed again before the sweep reads the index.
    await bounded(p.store.repairIndex([...holders.keys(), ...p.vault.ids()])).catch((err: unknown) => p.onError(err, 'sweep.repairIndex'));
    const records = await bounded(p.store.list({ appKeyId: p.appKeyId, states: ['active', 'revoking', 'failed'] }));
    const alive = await bounded(liveInstances(p.store));
    plan = planSweep({
      records,
      holders,
      alive,
      self: p.instanceId,
      currentId: p.currentId(),
      held: new Set(p.vault.ids()),
      now: p.now(),
      policy: p.policy,
      orphanPolicy: p.cfg.orphanPolicy,
    });
  } catch (err) {
    p.onError(err, 'sweep');
    return;
  }
  p.onPlan?.(plan);
  const schedule = (r: TokenRecord): void => {
    if (!p.scheduler.isScheduled(r.id)) p.scheduler.schedule(r, 'expiry');
  };
  for (const a of plan) {
    if (p.closing.aborted) return;
    try {
      if (a.kind === 'revoke') void p.scheduler.revoke(a.record.id, a.reason, a.record.expiresAt);
      else if (a.kind === 'schedule') schedule(a.record);
      else if (a.kind === 'claim') {
        const { revoke } = await p.fleet.claimForRevocation([a.record.id], 'recovery', 'skip');
        if (p.closing.aborted) return;
        if (revoke.has(a.record.id)) void p.scheduler.revoke(a.record.id, 'recovery', a.record.expiresAt);
        else schedule(a.record);
      }
    } catch (err) {
      p.onError(err, 'sweep', a.record.id);
    }
  }
}
