/**
 * `ls-token list`: the token records in the store as a table (or JSON), with the live holders of
 * each token read from the fleet's leases (see `lifecycle/fleet.ts`). Never
 * shows a raw token; needs no app secret.
 */
import { shortId } from '../../core/fingerprint.js';
import { appKeyIdFor, normalisedOrigin } from '../../providers/provider.js';
import { PROVIDERS } from '../../providers/registry.js';
import { TOKEN_STATES, type TokenRecord, type TokenState } from '../../store/token-record.js';
import { leaseHolders } from '../../lifecycle/fleet.js';
import { usageError } from '../args.js';
import { readBaseUrl, readStoreConfig } from '../config.js';
import { type Command, withStore } from '../context.js';
import { formatShortTime, formatTable } from '../format.js';
import { WalkProgress } from '../progress.js';

function parseStates(text: string | undefined): TokenState[] | undefined {
  if (text === undefined) return undefined;
  const states = text.split(',').map((s) => s.trim()).filter((s) => s !== '');
  const bad = states.filter((s) => !(TOKEN_STATES as readonly string[]).includes(s));
  if (bad.length > 0 || states.length === 0) throw usageError(`--state takes a comma-separated list of ${TOKEN_STATES.join(', ')}`, 'state');
  return states as TokenState[];
}

/** Runs `ls-token list`. */
export const listCommand: Command = async (ctx) => {
  const { out, cfg } = ctx;
  const storeCfg = await readStoreConfig(ctx);
  const states = parseStates(cfg.string('state'));
  const appKey = cfg.string('appkey');
  out.addSecret(appKey);
  // Records are kept per provider and environment (KIS, Kiwoom: real or mock host) as well as app key.
  const appKeyId = appKey === undefined || cfg.flag('all') ? undefined : appKeyIdFor(PROVIDERS[cfg.provider()], appKey, readBaseUrl(cfg, true));
  const style = { utc: cfg.flag('utc') };
  // Keys are scoped by the host too: say which one was listed.
  const origin = appKeyId === undefined ? undefined : `${cfg.provider()} ${normalisedOrigin(readBaseUrl(cfg, true) ?? PROVIDERS[cfg.provider()].baseUrls.real)}`;

  return withStore(ctx, storeCfg, 'refuse', async (s) => {
    // Without an app key the whole store is walked: on a terminal, show how far once it is slow.
    const walk = new WalkProgress({ write: (t) => out.streams.stderr.write(out.redact(t)) }, appKeyId === undefined && out.streams.stderr.isTTY === true, 'list --all');
    const records: TokenRecord[] = await s.store
      .list({ ...(appKeyId === undefined ? {} : { appKeyId }), ...(states === undefined ? {} : { states }) }, { onProgress: (n) => walk.seen(n) })
      .finally(() => walk.finish());
    records.sort((a, b) => b.issuedAt - a.issuedAt || (a.id < b.id ? -1 : 1));
    const holders = new Map<string, string[]>();
    // Leases are kept per app key: read those of each app key listed (one, or every one with --all).
    for (const id of appKeyId === undefined ? new Set(records.map((r) => r.appKeyId)) : [appKeyId]) {
      for (const [tokenId, ids] of await leaseHolders(s.store.forAppKey(id), id)) holders.set(tokenId, ids);
    }
    if (cfg.flag('json')) {
      out.json(records.map((r) => ({ ...r, holders: holders.get(r.id) ?? [] })));
      return 0;
    }
    if (records.length === 0) {
      out.out(`no tokens in ${s.display} (namespace ${storeCfg.namespace}${appKeyId === undefined ? '' : ', this app key; --all for every app key'})`);
      return 0;
    }
    const rows = records.map((r) => [
      shortId(r.id),
      r.state,
      formatShortTime(r.issuedAt, style),
      formatShortTime(r.expiresAt, style),
      formatShortTime(r.revokeAt, style),
      r.reason ?? '-',
      String(holders.get(r.id)?.length ?? 0),
    ]);
    out.out(formatTable(['ID', 'STATE', 'ISSUED', 'EXPIRES', 'REVOKE AT', 'REASON', 'HOLDERS'], rows));
    const failed = records.filter((r) => r.state === 'failed' && r.lastError !== null);
    for (const r of failed) out.out(`  ${shortId(r.id)} failed: ${r.lastError!.code}: ${r.lastError!.message}`);
    out.out(`${records.length} token${records.length === 1 ? '' : 's'} in ${s.display}${origin === undefined ? '' : ` for ${origin}`}; times ${style.utc ? 'UTC' : 'KST (UTC+9)'}`);
    return 0;
  });
};
