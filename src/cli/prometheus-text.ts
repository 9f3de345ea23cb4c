/**
 * `ls-token status --prometheus`: the store-side figures of one app key in Prometheus' text
 * exposition format (version 0.0.4), for node_exporter's textfile collector or a cron job. The
 * lifecycle's own metrics (the `meter` option) describe one process; these describe what the store
 * holds for the whole fleet. Names are under `ls_token_store_`; docs/observability.md lists them.
 */
import type { TokenRecord, TokenState } from '../store/token-record.js';

/** What {@link storePrometheusText} prints. */
export interface StoreFigures {
  /** The provider's id (`ls`, `kis`, ...). */
  readonly provider: string;
  /** The app key's fingerprint (never the key). */
  readonly appKeyId: string;
  /** Records by state. */
  readonly counts: Readonly<Record<TokenState, number>>;
  /** Live lease holders by token id. */
  readonly holders: ReadonlyMap<string, readonly string[]>;
  /** Instance ids with a live heartbeat. */
  readonly alive: ReadonlySet<string>;
  /** The records `status` judges health by. */
  readonly trouble: Readonly<Record<'failed' | 'owed' | 'overdue' | 'live', readonly TokenRecord[]>>;
  /** Whether the health line is ok. */
  readonly healthy: boolean;
}

/** A label value escaped as the format requires (backslash, double quote, line feed). */
function label(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

/** The figures as Prometheus text (gauges only: a textfile is a snapshot). Pure. */
export function storePrometheusText(f: StoreFigures): string {
  const base = `provider="${label(f.provider)}",app_key_id="${label(f.appKeyId)}"`;
  const lines: string[] = [];
  const gauge = (name: string, help: string, rows: ReadonlyArray<readonly [string, number]>): void => {
    lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} gauge`);
    for (const [extra, value] of rows) lines.push(`${name}{${base}${extra}} ${value}`);
  };
  gauge('ls_token_store_tokens', 'Token records of this app key in the store, by state', Object.entries(f.counts).map(([state, n]) => [`,state="${label(state)}"`, n] as const));
  gauge('ls_token_store_live_tokens', 'Tokens active in the store and not past their revokeAt or expiry', [['', f.trouble.live.length]]);
  gauge('ls_token_store_leases', 'Live leases on this app key\'s tokens (a process holding a token)', [['', [...f.holders.values()].reduce((n, h) => n + h.length, 0)]]);
  gauge('ls_token_store_live_instances', 'Lifecycle processes with a live heartbeat in this store', [['', f.alive.size]]);
  gauge('ls_token_store_owed_revocations', 'Revocations owed: given up (failed), left revoking by a process that is gone (owed), or past revokeAt with nobody revoking (overdue)', [
    [',kind="failed"', f.trouble.failed.length],
    [',kind="owed"', f.trouble.owed.length],
    [',kind="overdue"', f.trouble.overdue.length],
  ]);
  gauge('ls_token_store_health_ok', '1 when `ls-token status` reports no problem, else 0', [['', f.healthy ? 1 : 0]]);
  return `${lines.join('\n')}\n`;
}
