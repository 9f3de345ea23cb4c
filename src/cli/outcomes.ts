/**
 * Which revocation outcomes leave a token dead, as `revoke` and `sweep` report them.
 *
 * Listed by what is known to be settled, not by what is known to fail: any other outcome (today
 * `failed`, `aborted`, `deferred`; any outcome a later library version adds, such as a revocation
 * left owed after a credentials error) means the token may still be alive at LS, so the command
 * exits 1 and says how many.
 */

/** Outcomes after which the token is dead or was never ours to send: revoked, already invalid at LS, expired, or already ended. */
export const SETTLED_OUTCOMES: ReadonlySet<string> = new Set(['revoked', 'already-invalid', 'expired', 'skipped']);

/** True when `outcome` leaves nothing alive (see {@link SETTLED_OUTCOMES}). */
export function isSettled(outcome: string): boolean {
  return SETTLED_OUTCOMES.has(outcome);
}

/** `1 token still alive`, `3 tokens still alive`: the words the last line of `revoke`/`sweep` ends with. */
export function stillAliveText(n: number): string {
  return `${n} token${n === 1 ? '' : 's'} still alive`;
}
