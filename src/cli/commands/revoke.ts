/**
 * `ls-token revoke`: revokes one token now, given raw (on stdin: `-`, or no argument when stdin is
 * not a terminal; or `--token-file`) or by its id (`--id`, the full 64-hex id or a unique prefix of
 * at least 6 hex digits as `list` prints it). Never from an argument: the command line shows in
 * `ps` and shell history. A raw token must be an LS access token of this app key (see
 * `checkLsAccessToken`; for KIS and Kiwoom, the provider's own check), else nothing is sent.
 * "Already invalid" at the broker counts as done; a token
 * whose record has already ended sends nothing. Any other outcome means the token is still alive:
 * exit 1, and the last line says so.
 */
import { ErrorCodes, LsTokenError } from '../../core/errors.js';
import type { ErrorEvent } from '../../core/events.js';
import { shortId, tokenId } from '../../core/fingerprint.js';
import { appKeyIdFor, assertAccessToken } from '../../providers/provider.js';
import { PROVIDERS } from '../../providers/registry.js';
import type { RevocationResult } from '../../schedule/revocation-scheduler.js';
import type { TokenStore } from '../../store/token-store.js';
import { usageError } from '../args.js';
import { readLsConfig, readStoreConfig } from '../config.js';
import { type Command, type CommandContext, cliLifecycle, withStore } from '../context.js';
import { readSecretFile } from '../secret-input.js';
import { isSettled, stillAliveText } from '../outcomes.js';
import { assertTokensOpen } from '../sealed-tokens.js';

const MIN_PREFIX = 6;

/**
 * The full id of the record of `appKeyId` whose id starts with `prefix`.
 * @throws LsTokenError `ERR_INVALID_OPTION` for a malformed or ambiguous prefix, `ERR_NOT_FOUND`.
 */
export async function resolveId(store: TokenStore, appKeyId: string, prefix: string): Promise<string> {
  const p = prefix.toLowerCase();
  if (!/^[0-9a-f]+$/.test(p) || p.length < MIN_PREFIX || p.length > 64) {
    throw usageError(`--id must be ${MIN_PREFIX} to 64 hex digits (the id column of "ls-token list")`, 'id');
  }
  const all = await store.list();
  const matches = all.filter((r) => r.id.startsWith(p));
  const mine = matches.filter((r) => r.appKeyId === appKeyId);
  if (mine.length === 1) return mine[0]!.id;
  if (mine.length > 1) throw usageError(`--id ${p} matches ${mine.length} tokens: give more digits`, 'id');
  if (matches.length > 0) {
    throw new LsTokenError(ErrorCodes.NOT_FOUND, `token ${shortId(p)} belongs to another app key: run this with that app key's credentials`);
  }
  throw new LsTokenError(ErrorCodes.NOT_FOUND, `no token with id ${p} in the store (see "ls-token list --all")`);
}

/**
 * The raw token to revoke, or `undefined` with `--id`. Exactly one source: `-` (or no argument
 * with stdin not a terminal), `--token-file`, or `--id`.
 * @throws LsTokenError `ERR_INVALID_OPTION` for a token argument, no source or two sources.
 */
async function readRawToken(ctx: CommandContext): Promise<string | undefined> {
  const { cfg } = ctx;
  const arg = ctx.positionals[0];
  if (arg !== undefined && arg !== '-') {
    throw usageError('revoke takes no token argument (ps and shell history would show it): pipe it on stdin ("ls-token revoke -") or use --token-file <path>', 'token');
  }
  const file = cfg.string('token-file');
  const id = cfg.string('id');
  const stdin = arg === '-' || (arg === undefined && file === undefined && id === undefined && !ctx.stdin.isTTY());
  const sources = [stdin, file !== undefined, id !== undefined].filter(Boolean).length;
  if (sources === 0) throw usageError('which token? pipe it on stdin ("ls-token revoke -"), or give --token-file <path> or --id <fingerprint>', 'token');
  if (sources > 1) throw usageError('give one token: on stdin (-), with --token-file, or with --id', 'token');
  if (stdin) return ctx.stdin.read('token');
  if (file !== undefined) {
    return readSecretFile({ path: file, source: '--token-file', what: 'token', allowShared: cfg.flag('allow-shared-secret-file'), stdin: ctx.stdin });
  }
  return undefined;
}

/** Runs `ls-token revoke`. */
export const revokeCommand: Command = async (ctx) => {
  const { out, cfg } = ctx;
  const rawToken = await readRawToken(ctx);
  // Registered before anything else can print; a value shorter than any token of the broker
  // cannot be one (see minTokenLength), and the broker is known only from the configuration.
  const provider = PROVIDERS[ctx.cfg.provider()];
  out.addSecret(rawToken, provider.minTokenLength);
  const idArg = cfg.string('id');
  const ls = await readLsConfig(ctx);
  const storeCfg = await readStoreConfig(ctx);
  const deadlineMs = cfg.integer('deadline-ms', 30_000, 0, 3_600_000);

  // LS answers "invalid token" for anything it does not know, which reads as "already revoked":
  // refuse here what is not an access token of this app key (typo, truncated paste, other key).
  if (rawToken !== undefined) assertAccessToken(provider, rawToken, ls.appKey, 'token');

  return withStore(ctx, storeCfg, 'warn', async (s) => {
    const keyId = appKeyIdFor(provider, ls.appKey, ls.baseUrl);
    const id = rawToken === undefined ? await resolveId(s.store, keyId, idArg!) : tokenId(rawToken);
    const before = await s.store.get(id);
    if (before !== undefined && before.appKeyId !== keyId) {
      throw new LsTokenError(ErrorCodes.NOT_FOUND, `token ${shortId(id)} belongs to another app key: run this with that app key's credentials`);
    }
    // By id the token comes from the store: one the CLI cannot open is a configuration error (exit 2).
    if (rawToken === undefined && before !== undefined) await assertTokensOpen(s.store, { ids: [id] });
    const lc = cliLifecycle(ls, storeCfg, s, { retry: { retries: 3, maxRetryTimeMs: deadlineMs } });
    const errors: ErrorEvent[] = [];
    lc.on('error', (e) => errors.push(e));
    let result: RevocationResult;
    try {
      result = await lc.revoke(rawToken ?? id, 'manual');
    } finally {
      await lc.shutdown({ deadlineMs: 5_000 });
    }
    const after = await s.store.get(id).catch(() => undefined);
    const ok = isSettled(result.outcome);
    const fp = shortId(id);
    const failure = ok ? undefined : `revoke of ${fp} ${result.outcome}${result.error === undefined ? '' : `: ${result.error.code}: ${result.error.message}`}; ${stillAliveText(1)}`;
    if (cfg.flag('json')) {
      out.json({
        id,
        fingerprint: fp,
        outcome: result.outcome,
        attempts: result.attempts,
        durationMs: result.durationMs,
        state: after?.state ?? null,
        stillAlive: ok ? 0 : 1,
        ...(ok ? {} : { error: { code: result.error?.code ?? ErrorCodes.ABORTED, message: failure, ...(result.error?.lsCode === undefined ? {} : { lsCode: result.error.lsCode }), exitCode: 1 } }),
      });
    }
    if (!ok) {
      for (const e of errors) if (e.op !== 'drain') out.err(`ls-token: warning: ${e.op}: ${e.error.code}: ${e.error.message}`);
      out.err(`ls-token: ${failure}`);
      return 1;
    }
    if (cfg.flag('json')) return 0;
    switch (result.outcome) {
      case 'revoked':
        out.out(`revoked ${fp} (${provider.name} confirmed, ${result.attempts} attempt${result.attempts === 1 ? '' : 's'}, ${result.durationMs} ms)`);
        break;
      case 'already-invalid':
        out.out(`revoked ${fp}: ${provider.name} says it was already invalid (nothing left to do)`);
        break;
      case 'expired':
        out.out(`${fp} had already expired: recorded as expired, no request sent`);
        break;
      default:
        out.out(before === undefined ? `${fp} is not tracked in the store and not held here: nothing sent` : `${fp} is already ${before.state}: nothing sent`);
    }
    return 0;
  });
};
