/**
 * `ls-token revoke`: revokes one token now, given raw (argument, or `-` for stdin) or by its id
 * (`--id`, the full 64-hex id or a unique prefix of at least 6 hex digits as `list` prints it).
 * "Already invalid" at LS counts as done; a token whose record has already ended sends nothing.
 */
import { ErrorCodes, LsTokenError } from '../../core/errors.js';
import type { ErrorEvent } from '../../core/events.js';
import { appKeyId as hashAppKey, shortId, tokenId } from '../../core/fingerprint.js';
import { readJwtClaims } from '../../ls/jwt-claims.js';
import type { RevocationResult } from '../../schedule/revocation-scheduler.js';
import type { TokenStore } from '../../store/token-store.js';
import { usageError } from '../args.js';
import { readLsConfig, readStoreConfig } from '../config.js';
import { type Command, cliLifecycle, withStore } from '../context.js';

const MIN_PREFIX = 6;

/** Reads all of stdin (for `revoke -`), trimmed. */
async function readStdin(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer));
  return Buffer.concat(chunks).toString('utf8').trim();
}

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

/** Runs `ls-token revoke`. */
export const revokeCommand: Command = async (ctx) => {
  const { out, cfg } = ctx;
  const idArg = cfg.string('id');
  const positional = ctx.positionals[0];
  if ((idArg === undefined) === (positional === undefined)) throw usageError('give either a token (or - for stdin) or --id <fingerprint>, not both', 'token');
  let rawToken: string | undefined;
  if (positional !== undefined) {
    rawToken = positional === '-' ? await readStdin(ctx.out.streams.stdin) : positional;
    if (rawToken === '') throw usageError('no token on stdin', 'token');
    out.addSecret(rawToken);
  }
  const ls = await readLsConfig(cfg, out);
  const storeCfg = readStoreConfig(cfg, out);
  const deadlineMs = cfg.integer('deadline-ms', 30_000, 0, 3_600_000);

  // LS tokens carry their app key in `jti`. Revoking another key's token with our credentials
  // would be answered "invalid token", which reads as "already revoked": refuse instead.
  const jti = rawToken === undefined ? undefined : readJwtClaims(rawToken)?.jti;
  if (jti !== undefined && jti !== ls.appKey) {
    throw usageError('this token was issued for another app key: revoke it with that app key and its secret', 'token');
  }

  return withStore(ctx, storeCfg, false, async (s) => {
    const keyId = hashAppKey(ls.appKey);
    const id = rawToken === undefined ? await resolveId(s.store, keyId, idArg!) : tokenId(rawToken);
    const before = await s.store.get(id);
    if (before !== undefined && before.appKeyId !== keyId) {
      throw new LsTokenError(ErrorCodes.NOT_FOUND, `token ${shortId(id)} belongs to another app key: run this with that app key's credentials`);
    }
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
    const ok = result.outcome === 'revoked' || result.outcome === 'already-invalid' || result.outcome === 'expired' || result.outcome === 'skipped';
    if (cfg.flag('json')) {
      out.json({ id, fingerprint: shortId(id), outcome: result.outcome, attempts: result.attempts, durationMs: result.durationMs, state: after?.state ?? null, error: result.error ?? null });
    } else {
      const fp = shortId(id);
      switch (result.outcome) {
        case 'revoked':
          out.out(`revoked ${fp} (LS confirmed, ${result.attempts} attempt${result.attempts === 1 ? '' : 's'}, ${result.durationMs} ms)`);
          break;
        case 'already-invalid':
          out.out(`revoked ${fp}: LS says it was already invalid (nothing left to do)`);
          break;
        case 'expired':
          out.out(`${fp} had already expired: recorded as expired, no request sent`);
          break;
        case 'skipped':
          out.out(before === undefined ? `${fp} is not tracked in the store and not held here: nothing sent` : `${fp} is already ${before.state}: nothing sent`);
          break;
        default:
          out.err(`ls-token: revoke of ${fp} ${result.outcome}: ${result.error?.code ?? ''} ${result.error?.message ?? ''}`.trim());
      }
    }
    for (const e of errors) if (!ok) out.err(`ls-token: ${e.op}: ${e.error.code}: ${e.error.message}`);
    return ok ? 0 : 1;
  });
};
