/**
 * `ls-token status`: what a `TokenLifecycle` with default options would do if it started now,
 * worked out from the store alone (read-only; needs the app key but not its secret).
 *
 * It mirrors the lifecycle's rules: `getAccessToken()` adopts the newest `active` token that is
 * still valid past the refresh margin (else it issues one, which kills any other live token of
 * the app key); the first sweep revokes tokens past their revokeAt, tokens left `revoking` by a
 * dead process and tokens nobody holds whose owner is dead, keeps tokens with live leases, and
 * schedules the rest at their revokeAt.
 */
import { appKeyId as hashAppKey, shortId } from '../../core/fingerprint.js';
import { TOKEN_STATES, type TokenRecord, type TokenState } from '../../store/token-record.js';
import { readStoreConfig, requireAppKey } from '../config.js';
import { type Command, withStore } from '../context.js';
import { formatRelative, formatTime, formatTimeAndRelative, type TimeStyle } from '../format.js';
import { leaseHolders } from '../../lifecycle/fleet.js';

/** What the first sweep of a new lifecycle would do with one record. */
export interface PlannedAction {
  /** The token id. */
  readonly id: string;
  /** `revoke` now, `schedule` its revocation at `at`, `keep` (held by live processes), `adopt` it, or nothing (`ended`). */
  readonly action: 'revoke' | 'schedule' | 'keep' | 'adopt' | 'ended' | 'audit';
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
}

/** Works out the plan; pure. */
export function planStatus(input: StatusInputs): StatusPlan {
  const { records, holders, alive, now, refreshMarginMs } = input;
  const counts = Object.fromEntries(TOKEN_STATES.map((s) => [s, 0])) as Record<TokenState, number>;
  for (const r of records) counts[r.state]++;
  const newestFirst = [...records].sort((a, b) => b.issuedAt - a.issuedAt || b.expiresAt - a.expiresAt);
  const usable = newestFirst.find((r) => r.state === 'active' && r.expiresAt > now + refreshMarginMs && r.revokeAt > now);
  const shared = newestFirst.find((r) => r.state === 'active' && r.revokeAt > now && r.expiresAt > now);
  const actions: PlannedAction[] = [];
  for (const r of newestFirst) {
    const held = holders.get(r.id) ?? [];
    const ownerAlive = r.ownerId !== null && alive.has(r.ownerId);
    let a: PlannedAction;
    if (r.state === 'revoked' || r.state === 'expired') continue;
    if (r.state === 'failed') a = { id: r.id, action: 'audit', why: `revocation gave up (${r.lastError?.code ?? 'unknown error'}); kept for audit`, at: null };
    else if (r.state === 'revoking') {
      a = ownerAlive
        ? { id: r.id, action: 'keep', why: `being revoked by live instance ${r.ownerId}`, at: null }
        : { id: r.id, action: 'revoke', why: 'owed: left revoking by a process that is gone', at: now };
    } else if (r.revokeAt <= now) a = { id: r.id, action: 'revoke', why: `due (${r.reason ?? 'expiry'})`, at: now };
    else if (r.id === usable?.id) a = { id: r.id, action: 'adopt', why: held.length > 0 ? `newest valid token, held by ${held.length} live instance(s)` : 'newest valid token, held by nobody', at: r.revokeAt };
    else if (held.length > 0) a = { id: r.id, action: 'keep', why: `held by ${held.length} live instance(s)`, at: r.revokeAt };
    else if (r.id === shared?.id) a = { id: r.id, action: 'schedule', why: 'newest token, too close to expiry to adopt', at: r.revokeAt };
    else if (!ownerAlive) a = { id: r.id, action: 'revoke', why: 'orphan: nobody holds it and its owner is gone', at: now };
    else a = { id: r.id, action: 'schedule', why: `owner ${r.ownerId} is alive`, at: r.revokeAt };
    actions.push(a);
  }
  return {
    counts,
    adopt:
      usable === undefined
        ? null
        : {
            id: usable.id,
            refreshAt: Math.max(usable.issuedAt, usable.revokeAt - refreshMarginMs),
            revokeAt: usable.revokeAt,
            expiresAt: usable.expiresAt,
            holders: holders.get(usable.id) ?? [],
          },
    actions,
  };
}

function describe(plan: StatusPlan, now: number, style: TimeStyle): string[] {
  const lines: string[] = [];
  if (plan.adopt === null) {
    lines.push('  getAccessToken()  would ISSUE a new token: no stored token is valid past the refresh margin');
    lines.push('                    (issuing kills any other live token of this app key at LS)');
  } else {
    const a = plan.adopt;
    lines.push(`  getAccessToken()  would adopt ${shortId(a.id)}${a.holders.length > 0 ? ` (shared with ${a.holders.join(', ')})` : ''}`);
    lines.push(`                    refresh  ${formatTimeAndRelative(a.refreshAt, now, style)}`);
    lines.push(`                    revoke   ${formatTimeAndRelative(a.revokeAt, now, style)}`);
    lines.push(`                    expires  ${formatTimeAndRelative(a.expiresAt, now, style)}`);
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
  const appKeyId = hashAppKey(appKey);

  return withStore(ctx, storeCfg, 'refuse', async (s) => {
    const now = ctx.now();
    const records = await s.store.list({ appKeyId });
    const holders = await leaseHolders(s.store, appKeyId);
    const alive = new Set((await s.store.listMeta('instance:')).map((m) => m.key.slice('instance:'.length)));
    const plan = planStatus({ records, holders, alive, now, refreshMarginMs });
    if (cfg.flag('json')) {
      out.json({ appKeyId, store: s.display, namespace: storeCfg.namespace, now, liveInstances: [...alive].sort(), holders: Object.fromEntries(holders), ...plan });
      return 0;
    }
    out.out(`app key    ${appKeyId} (hash)`);
    out.out(`store      ${s.display}, namespace ${storeCfg.namespace}`);
    out.out(`now        ${formatTime(now, style)}`);
    out.out(`records    ${TOKEN_STATES.map((st) => `${st} ${plan.counts[st]}`).join(', ')}`);
    out.out(`instances  ${alive.size === 0 ? 'none alive' : [...alive].sort().join(', ')}`);
    out.out('a lifecycle starting now:');
    for (const line of describe(plan, now, style)) out.out(line);
    return 0;
  });
};
