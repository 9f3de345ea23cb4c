/**
 * `ls-token status`: what a `TokenLifecycle` with default options would do if it started now,
 * worked out from the store alone (read-only; needs the app key but not its secret).
 *
 * It asks the lifecycle's own rooms, so it cannot drift from them: the token policy decides what
 * `getAccessToken()` would adopt (the fleet's newest usable token, when a new one would not live
 * longer) and when it would refresh, and the sweep plan what the first sweep would revoke, keep or
 * schedule. Times are judged by this host's clock (a lifecycle also corrects for LS's).
 */
import { shortId } from '../../core/fingerprint.js';
import { appKeyIdFor, normalisedOrigin, type ProviderDefinition } from '../../providers/provider.js';
import { PROVIDERS } from '../../providers/registry.js';
import { TOKEN_STATES, type TokenRecord, type TokenState } from '../../store/token-record.js';
import { readBaseUrl, readStoreConfig, requireAppKey } from '../config.js';
import { type Command, withStore } from '../context.js';
import { formatRelative, formatTime, formatTimeAndRelative, type TimeStyle } from '../format.js';
import { leaseHolders, liveInstances } from '../../lifecycle/fleet.js';
import { planSweep } from '../../lifecycle/sweep.js';
import { TokenPolicy } from '../../lifecycle/token-policy.js';
import { lsProvider } from '../../providers/ls/ls-provider.js';
import { storePrometheusText } from '../prometheus-text.js';

/** What the first sweep of a new lifecycle would do with one record. */
export interface PlannedAction {
  /** The token id. */
  readonly id: string;
  /** `revoke` now, `schedule` its revocation at `at`, `keep` (held or being revoked by live processes), `adopt` it, or `audit` (gave up; kept for the record). */
  readonly action: 'revoke' | 'schedule' | 'keep' | 'adopt' | 'audit';
  /** Why, in a few words. */
  readonly why: string;
  /** When the revocation happens (for `schedule`, `keep`, `adopt`), epoch ms. */
  readonly at: number | null;
}

/** The result of {@link planStatus}. */
export interface StatusPlan {
  /** Records by state. */
  readonly counts: Readonly<Record<TokenState, number>>;
  /** The token `getAccessToken()` would adopt, with its refresh and revoke times; `null`: it would issue. */
  readonly adopt: { readonly id: string; readonly refreshAt: number; readonly revokeAt: number; readonly expiresAt: number; readonly holders: readonly string[] } | null;
  /** One entry per record that is not ended. */
  readonly actions: readonly PlannedAction[];
}

/** Inputs of {@link planStatus}. */
export interface StatusInputs {
  /** Records of the app key. */
  readonly records: readonly TokenRecord[];
  /** Live lease holders by token id. */
  readonly holders: ReadonlyMap<string, readonly string[]>;
  /** Instance ids with a live heartbeat. */
  readonly alive: ReadonlySet<string>;
  /** Now, epoch ms. */
  readonly now: number;
  /** The lifecycle's refreshMarginMs. */
  readonly refreshMarginMs: number;
  /** The broker, whose token rules the policy follows. Default LS. */
  readonly provider?: ProviderDefinition;
}

/**
 * Works out the plan with the lifecycle's own rules: its token policy (defaults, this host's
 * clock) decides what `getAccessToken()` would adopt and when, and its sweep plan what the first
 * sweep would do. Pure.
 */
export function planStatus(input: StatusInputs): StatusPlan {
  const { records, holders, alive, now, refreshMarginMs } = input;
  const rules = (input.provider ?? lsProvider).rules;
  const counts = Object.fromEntries(TOKEN_STATES.map((s) => [s, 0])) as Record<TokenState, number>;
  for (const r of records) counts[r.state]++;
  const policy = new TokenPolicy(
    { refreshMarginMs, revokeMarginMs: 60_000, maxLifetimeMs: Infinity, lifetimeMs: rules.lifetimeMs, cutoff: rules.dailyCutoff, sameTokenWithinMs: rules.sameTokenWithinMs, cutoffJitterMs: 0 },
    () => ({ lowMs: 0, highMs: 0 }),
  );
  const shared = policy.sharedToken(records, now);
  const sharedTimes = shared === undefined ? undefined : policy.times(shared.issuedAt, shared.expiresAt);
  const adopt = shared !== undefined && sharedTimes !== undefined && policy.worthAdopting(sharedTimes, now) ? shared : undefined;
  const live = records.filter((r) => r.state === 'active' || r.state === 'revoking' || r.state === 'failed');
  const sweep = planSweep({ records: live, holders, alive, self: null, currentId: undefined, held: new Set(), now, policy, orphanPolicy: 'adopt' });
  const actions: PlannedAction[] = [...sweep]
    .sort((a, b) => b.record.issuedAt - a.record.issuedAt)
    .map((a): PlannedAction => {
      const { id, revokeAt } = a.record;
      if (id === adopt?.id) return { id, action: 'adopt', why: (holders.get(id)?.length ?? 0) > 0 ? `the fleet's token, held by ${holders.get(id)!.length} live instance(s)` : "the fleet's token, held by nobody", at: revokeAt };
      if (a.kind === 'revoke' || a.kind === 'claim') return { id, action: 'revoke', why: a.why, at: now };
      if (a.kind === 'schedule') return { id, action: (holders.get(id)?.length ?? 0) > 0 ? 'keep' : 'schedule', why: a.why, at: revokeAt };
      return { id, action: a.record.state === 'failed' ? 'audit' : 'keep', why: a.why, at: null };
    });
  return {
    counts,
    adopt:
      adopt === undefined || sharedTimes === undefined
        ? null
        : { id: adopt.id, refreshAt: sharedTimes.refreshAt, revokeAt: sharedTimes.revokeAt, expiresAt: sharedTimes.expiresAt, holders: holders.get(adopt.id) ?? [] },
    actions,
  };
}

/** A revocation this long overdue means no live process is taking care of the app key's tokens. */
const OVERDUE_MS = 5 * 60_000;

/** The records the store's health is judged by (see {@link storeHealth}); the Prometheus output counts the same lists. Pure. */
export function storeTrouble(records: readonly TokenRecord[], alive: ReadonlySet<string>, now: number): Record<'failed' | 'owed' | 'overdue' | 'live', TokenRecord[]> {
  return {
    failed: records.filter((r) => r.state === 'failed'),
    owed: records.filter((r) => r.state === 'revoking' && (r.ownerId === null || !alive.has(r.ownerId))),
    overdue: records.filter((r) => r.state === 'active' && r.revokeAt < r.expiresAt && r.revokeAt + OVERDUE_MS < now && r.expiresAt > now),
    live: records.filter((r) => r.state === 'active' && r.expiresAt > now && r.revokeAt > now),
  };
}

/**
 * The store's view of the app key's health: tokens whose revocation gave up or is owed by a
 * process that is gone, tokens overdue for revocation, and more than one live token (LS keeps one
 * per app key: two means a process holds a token that is dead at LS). Pure.
 */
export function storeHealth(records: readonly TokenRecord[], alive: ReadonlySet<string>, now: number, provider: ProviderDefinition = lsProvider): { ok: boolean; problems: string[] } {
  const problems: string[] = [];
  const { failed, owed, overdue, live } = storeTrouble(records, alive, now);
  if (failed.length > 0) problems.push(`${failed.length} token(s) whose revocation gave up (${failed.map((r) => shortId(r.id)).join(', ')}): they may be alive until they expire`);
  if (owed.length > 0) problems.push(`${owed.length} token(s) owed by a process that is gone (${owed.map((r) => shortId(r.id)).join(', ')}): run "ls-token sweep" or start a daemon`);
  if (overdue.length > 0) problems.push(`${overdue.length} token(s) more than ${OVERDUE_MS / 60_000} min past their revokeAt and still alive (${overdue.map((r) => shortId(r.id)).join(', ')})`);
  if (live.length > 1 && provider.rules.previousToken !== 'kept') {
    problems.push(`${live.length} live tokens for one app key: ${provider.name} keeps one, so all but the newest are ${provider.rules.previousToken === 'killed' ? 'dead' : 'likely dead'} at ${provider.name}`);
  }
  return { ok: problems.length === 0, problems };
}

function describe(plan: StatusPlan, now: number, style: TimeStyle, provider: ProviderDefinition): string[] {
  const lines: string[] = [];
  if (plan.adopt === null) {
    lines.push('  getAccessToken()  would ISSUE a new token: no stored token is worth adopting');
    if (provider.rules.previousToken === 'killed') lines.push(`                    (issuing kills any other live token of this app key at ${provider.name})`);
  } else {
    const a = plan.adopt;
    lines.push(`  getAccessToken()  would adopt ${shortId(a.id)}${a.holders.length > 0 ? ` (shared with ${a.holders.join(', ')})` : ''}`);
    // In time order. A token nothing can outlive (LS's 07:00 cut-off) is used until it dies, and its
    // successor fetched just after: a refresh after the expiry says why.
    const afterDeath = a.refreshAt >= a.expiresAt ? '  (after it expires: a successor issued before would die with it)' : '';
    const times: [string, number, string][] = [
      ['refresh', a.refreshAt, afterDeath],
      ['revoke ', a.revokeAt, ''],
      ['expires', a.expiresAt, ''],
    ];
    for (const [what, at, why] of times.sort((x, y) => x[1] - y[1])) lines.push(`                    ${what}  ${formatTimeAndRelative(at, now, style)}${why}`);
  }
  const rest = plan.actions.filter((x) => x.action !== 'adopt');
  if (rest.length > 0) lines.push('  first sweep:');
  for (const x of rest) {
    const when = x.at === null || x.action === 'revoke' ? '' : ` at ${formatTime(x.at, style)} (${formatRelative(x.at, now)})`;
    lines.push(`    ${x.action.padEnd(8)} ${shortId(x.id)}  ${x.why}${when}`);
  }
  return lines;
}

/** Runs `ls-token status`. */
export const statusCommand: Command = async (ctx) => {
  const { out, cfg } = ctx;
  const appKey = requireAppKey(cfg, out);
  const storeCfg = await readStoreConfig(ctx);
  const refreshMarginMs = cfg.integer('refresh-margin-ms', 300_000, 0, 86_400_000);
  const style = { utc: cfg.flag('utc') };
  const provider = PROVIDERS[cfg.provider()];
  const appKeyId = appKeyIdFor(provider, appKey, readBaseUrl(cfg, true));
  // Store keys are scoped by the host as well as the app key: show which one.
  const origin = normalisedOrigin(readBaseUrl(cfg, true) ?? provider.baseUrls.real);

  return withStore(ctx, storeCfg, 'refuse', async (s) => {
    const now = ctx.now();
    const records = await s.store.list({ appKeyId });
    const scoped = s.store.forAppKey(appKeyId);
    const holders = await leaseHolders(scoped, appKeyId);
    const alive = await liveInstances(scoped);
    const plan = planStatus({ records, holders, alive, now, refreshMarginMs, provider });
    const health = storeHealth(records, alive, now, provider);
    const code = cfg.flag('exit-code') && !health.ok ? 1 : 0;
    if (cfg.flag('prometheus')) {
      out.out(storePrometheusText({ provider: provider.id, appKeyId, counts: plan.counts, holders, alive, trouble: storeTrouble(records, alive, now), healthy: health.ok }).trimEnd());
      return code;
    }
    if (cfg.flag('json')) {
      out.json({ appKeyId, origin, store: s.display, namespace: storeCfg.namespace, now, liveInstances: [...alive].sort(), holders: Object.fromEntries(holders), ...plan, health });
      return code;
    }
    out.out(`app key    ${appKeyId} (hash)`);
    out.out(`origin     ${cfg.provider()} ${origin}`);
    out.out(`store      ${s.display}, namespace ${storeCfg.namespace}`);
    out.out(`now        ${formatTime(now, style)}`);
    out.out(`records    ${TOKEN_STATES.map((st) => `${st} ${plan.counts[st]}`).join(', ')}`);
    out.out(`instances  ${alive.size === 0 ? 'none alive' : [...alive].sort().join(', ')}`);
    out.out('a lifecycle starting now:');
    for (const line of describe(plan, now, style, provider)) out.out(line);
    out.out(health.ok ? 'health     ok' : `health     ${health.problems.length} problem(s): ${health.problems.join('; ')}`);
    return code;
  });
};
