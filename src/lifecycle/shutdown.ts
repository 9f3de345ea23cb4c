/**
 * Shutdown in deadline phases, so that neither an issuance nor a store that hangs can eat the time
 * the revocations need, and so that when `shutdown()` resolves nothing issues, nothing is handed
 * out, and every token this process issued or held alone is revoked or reported as not revoked:
 *
 * 1. Until 40 % of the deadline: let an issuance (and a sweep) in flight land. A token LS returns
 *    goes to the vault at once, so it is revoked below. Past 40 % the request is aborted; if LS had
 *    already issued, that token is unknown here and is reported (it dies at the next issuance or at
 *    LS's cut-off).
 * 2. Until 60 %: the store phase. Heartbeats stop, this process's leases go, and the adopt/revoke
 *    handshake decides which held tokens another live process still uses (kept). A store that does
 *    not answer in time counts as down: everything is revoked from memory.
 * 3. The rest: the scheduler drains the revocations.
 *
 * Then the scheduler and the client close, and with `closeStoreOnShutdown` the store's connection.
 */
import type { Keyv } from 'keyv';
import type { Clock } from '../core/clock.js';
import type { DrainSummary, RevocationScheduler } from '../schedule/revocation-scheduler.js';
import type { LifecycleParts } from './assemble.js';
import type { Fleet } from './fleet.js';
import type { RevokeOnShutdown } from './lifecycle-options.js';
import type { TokenVault } from './token-vault.js';

/** Options of {@link TokenLifecycle.shutdown}. */
export interface ShutdownOptions {
  /** Hard deadline, ms (at most 2^31 - 1). Default: the `shutdownDeadlineMs` option (10 s). */
  deadlineMs?: number;
}

/** A token shutdown did not revoke, and why. */
export interface NotRevoked {
  /** The token id; `null` for a token LS may have issued to a request shutdown had to abort. */
  readonly id: string | null;
  /** Why it is alive: `kept` (another live process holds it, or `revokeOnShutdown: 'never'`), or the revocation's outcome. */
  readonly why: 'kept-for-others' | 'kept-by-policy' | 'failed' | 'aborted' | 'deferred' | 'owed' | 'issuance-aborted';
  /** Details, secret-free. */
  readonly detail: string;
}

/** Result of {@link TokenLifecycle.shutdown}. */
export interface ShutdownSummary extends DrainSummary {
  /** Tokens left alive on purpose (another live process holds them, or `revokeOnShutdown: 'never'`). */
  readonly keptForOthers: number;
  /** Every token this process issued or held that is not revoked (kept ones included), with why. */
  readonly notRevoked: readonly NotRevoked[];
}

/** The parts of a lifecycle shutdown works on. */
export interface ShutdownParts {
  readonly now: Clock;
  readonly deadlineMs: number;
  /** The issuance or refresh in flight, and a sweep in flight. */
  readonly inFlight: readonly (Promise<unknown> | undefined)[];
  /** Aborts an issuance request still in flight. */
  abortRequests(): void;
  /** Whether an issuance request is still waiting for LS. */
  requestInFlight(): boolean;
  readonly fleet: Fleet;
  readonly vault: TokenVault;
  readonly scheduler: RevocationScheduler;
  /** The token handed out (after the flight landed), if any. */
  currentId(): string | undefined;
  readonly revokeOnShutdown: RevokeOnShutdown;
}

/** Resolves with `p`'s settling or at `at` (host time), whichever is first. */
function until(p: Promise<unknown>, at: number, now: Clock): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p.then(
      () => undefined,
      () => undefined,
    ),
    new Promise<void>((resolve) => {
      timer = setTimeout(resolve, Math.max(0, at - now()));
      timer.unref();
    }),
  ]).finally(() => clearTimeout(timer));
}

/** Runs the phases; see the module notes. Never rejects. */
export async function runShutdown(p: ShutdownParts): Promise<ShutdownSummary> {
  const started = p.now();
  const deadlineAt = started + p.deadlineMs;
  const notRevoked: NotRevoked[] = [];

  // 1. The flight in progress.
  const flights = p.inFlight.filter((f): f is Promise<unknown> => f !== undefined);
  if (flights.length > 0) await until(Promise.allSettled(flights), started + p.deadlineMs * 0.4, p.now);
  if (p.requestInFlight()) {
    p.abortRequests();
    notRevoked.push({ id: null, why: 'issuance-aborted', detail: 'a token request was still waiting for LS at the deadline and was aborted; a token LS may have issued to it dies at the next issuance or at the cut-off' });
    await until(Promise.allSettled(flights), started + p.deadlineMs * 0.45, p.now);
  }

  // 2. The store phase.
  const current = p.currentId();
  const candidates = [...new Set([...p.vault.ids(), ...p.scheduler.scheduledIds()])];
  const keep = new Map<string, NotRevoked['why']>();
  const mayKeep: string[] = [];
  for (const id of candidates) {
    const isCurrent = id === current;
    if (isCurrent && p.revokeOnShutdown === 'never') keep.set(id, 'kept-by-policy');
    else if (!(isCurrent && p.revokeOnShutdown === 'always')) mayKeep.push(id);
  }
  const storePhase = async (): Promise<void> => {
    await p.fleet.stop();
    // Drop our leases first, then look for others: of two processes stopping at once, at least one
    // sees no other lease and revokes (a duplicate revoke is harmless; a missed one is not).
    await p.fleet.leave(p.vault.ids());
    const { kept } = await p.fleet.claimForRevocation(mayKeep, 'shutdown', 'revoke');
    for (const id of kept) keep.set(id, 'kept-for-others');
  };
  await until(storePhase(), started + p.deadlineMs * 0.6, p.now);

  // 3. The revocations.
  const summary = await p.scheduler.drain({
    deadlineMs: Math.max(0, deadlineAt - p.now()),
    reason: 'shutdown',
    filter: (id) => !keep.has(id),
    extraIds: p.vault.ids().filter((id) => !keep.has(id)),
  });
  for (const [id, why] of keep) {
    notRevoked.push({ id, why, detail: why === 'kept-for-others' ? 'another live process holds it' : "revokeOnShutdown is 'never'" });
  }
  for (const r of summary.results) {
    if (r.outcome === 'failed' || r.outcome === 'aborted' || r.outcome === 'deferred' || r.outcome === 'owed') {
      notRevoked.push({ id: r.id, why: r.outcome, detail: r.error?.message ?? (r.outcome === 'aborted' ? 'the deadline passed first; it stays owed in the store' : r.outcome) });
    }
  }
  return { ...summary, keptForOthers: keep.size, notRevoked };
}

/**
 * Closes the store's connection (`closeStoreOnShutdown`), within `boundMs`: after the revocations,
 * since they write their outcomes to it. A store that fails to close changes nothing about the
 * tokens, so the failure is not reported as one.
 */
async function closeStore(keyv: Keyv, boundMs: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    keyv.disconnect().catch(() => undefined),
    new Promise<void>((resolve) => {
      timer = setTimeout(resolve, boundMs);
      timer.unref();
    }),
  ]).finally(() => clearTimeout(timer));
}

/**
 * Runs the phases for a lifecycle's parts and then closes its scheduler and client. `closing`
 * must already be aborted (nothing issues any more); `abortRequests` aborts an issuance request
 * still waiting for LS.
 */
export function shutdownLifecycle(p: LifecycleParts, deadlineMs: number, inFlight: readonly (Promise<unknown> | undefined)[], currentId: string | undefined, abortRequests: () => void): Promise<ShutdownSummary> {
  return runShutdown({
    now: p.now,
    deadlineMs,
    inFlight,
    abortRequests,
    requestInFlight: () => p.issuer.requesting,
    fleet: p.fleet,
    vault: p.vault,
    scheduler: p.scheduler,
    currentId: () => currentId,
    revokeOnShutdown: p.cfg.revokeOnShutdown,
  }).finally(async () => {
    p.scheduler.close();
    p.client.close();
    if (p.cfg.closeStoreOnShutdown) await closeStore(p.store.keyv, p.cfg.storeTimeoutMs);
  });
}
