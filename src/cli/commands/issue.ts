/**
 * `ls-token issue`: gets a token for the app key the way a daemon would (adopting a valid stored
 * token unless `--new`), records it, and prints its fingerprint and times. The raw token is
 * printed only with `--reveal`. The token is left alive: it is recorded with its revokeAt, and
 * until then it is the fleet's token that the next daemon adopts (a sweep, the daemons' or
 * `ls-token sweep`, keeps it until then unless `--revoke-shared`).
 *
 * A command that fails leaves the app key as it found it: the lifecycle's start sweep only
 * schedules the fleet's token, and the command unschedules everything before it shuts its
 * lifecycle down, so that shutdown never revokes a token the command did not issue.
 *
 * A retryable failure (5xx, timeout, network, rate limit) is retried with backoff until
 * `--deadline-ms`. The CLI does the pacing itself, so the lifecycle's issuance cool-down and its
 * own retries within a caller's wait (meant for a daemon's many callers) are off here
 * (`issueLockWaitMs: 0`: every fault or wait comes back to the CLI's loop, which notes it); the cap
 * on forced re-issues stays.
 */
import { ErrorCodes, LsTokenError, isLsTokenError, issueThrottledError } from '../../core/errors.js';
import type { IssuedEvent, ErrorEvent } from '../../core/events.js';
import { shortId } from '../../core/fingerprint.js';
import { waitReasonsOf } from '../../lifecycle/assemble.js';
import { readLsConfig, readStoreConfig } from '../config.js';
import { type Command, cliLifecycle, withStore } from '../context.js';
import { formatDuration, formatTimeAndRelative } from '../format.js';
import { retryRetryable } from '../retry.js';
import { assertTokensOpen } from '../sealed-tokens.js';

/** Runs `ls-token issue`. */
export const issueCommand: Command = async (ctx) => {
  const { out, cfg } = ctx;
  const ls = await readLsConfig(ctx);
  const storeCfg = await readStoreConfig(ctx);
  const forceNew = cfg.flag('new');
  const reveal = cfg.flag('reveal');
  const deadlineMs = cfg.integer('deadline-ms', 30_000, 0, 3_600_000);
  const style = { utc: cfg.flag('utc') };

  return withStore(ctx, storeCfg, 'warn', async (s) => {
    // --new is the operator's explicit decision to replace the app key's token: like a forced
    // re-issue, it is not held back by the one-issuance-a-minute budget.
    const lc = cliLifecycle(ls, storeCfg, s, { reuseStoredToken: !forceNew, issueThrottle: { cooldownMs: 0 }, issueLockWaitMs: 0, ...(forceNew ? { minIssueIntervalMs: 0 } : {}) });
    let issued: IssuedEvent | undefined;
    const warnings: string[] = [];
    lc.on('issued', (e) => {
      issued = e;
    });
    lc.on('error', (e: ErrorEvent) => {
      // A wait for the issuance budget is the command's own outcome (a note, or its error): not a warning.
      if (!(e.op === 'acquire' && e.error.code === ErrorCodes.ISSUE_THROTTLED)) warnings.push(`${e.op}: ${e.error.code}: ${e.error.message}`);
    });
    // The fleet's tokens must be readable, or the lifecycle would not see them and issue over them.
    await assertTokensOpen(s.store, { appKeyId: lc.appKeyId, now: ctx.now() }).catch(async (err: unknown) => {
      await lc.shutdown({ deadlineMs: 1_000 });
      throw err;
    });
    // Valid tokens of this app key before we start: with --new, LS kills them.
    const before = forceNew ? (await s.store.list({ appKeyId: lc.appKeyId, states: ['active'] })).filter((r) => r.expiresAt > ctx.now()) : [];
    // What holds an issuance back, in this broker's terms, for the CLI's own ERR_ISSUE_THROTTLED.
    const reasons = waitReasonsOf(lc.provider, Math.max(forceNew ? 0 : 60_000, lc.provider.rules.minIssueIntervalMs));
    let token: string;
    let attempts: number;
    try {
      ({ value: token, attempts } = await retryRetryable(() => lc.getAccessToken(), {
        deadlineMs,
        now: ctx.now,
        onRetry: (err, attempt, delayMs) =>
          out.err(
            err.code === ErrorCodes.ISSUE_THROTTLED
              ? `ls-token: note: no token may be issued yet (${reasons}); waiting ${formatDuration(delayMs)} (--deadline-ms ${deadlineMs})`
              : `ls-token: note: attempt ${attempt} failed (${err.code}: ${err.message}); retrying in ${formatDuration(delayMs)}`,
          ),
      }));
    } catch (err) {
      // The library's message names its own option (issueLockWaitMs); here the wait is --deadline-ms.
      if (isLsTokenError(err, ErrorCodes.ISSUE_THROTTLED) && err.retryAfterMs !== undefined) {
        const enough = Math.ceil((err.retryAfterMs + 5_000) / 1_000) * 1_000;
        throw issueThrottledError(err.retryAfterMs, reasons, `--deadline-ms ${deadlineMs} lets it wait: run it again then, or give --deadline-ms ${enough} to wait it out`);
      }
      throw err;
    } finally {
      // The start sweep scheduled the tokens it leaves to their time (the fleet's token among them):
      // not this command's to revoke. Only revocations it started (due or owed tokens) are awaited.
      for (const id of lc.scheduler.scheduledIds()) lc.scheduler.unschedule(id);
      await lc.shutdown({ deadlineMs: 5_000 });
    }
    out.addSecret(token);
    for (const w of warnings) out.err(`ls-token: warning: ${w}`);
    if (issued === undefined) throw new LsTokenError(ErrorCodes.BAD_RESPONSE, 'no token was issued or adopted');
    const e = issued;
    const now = ctx.now();
    if (cfg.flag('json')) {
      const value = { id: e.id, fingerprint: shortId(e.id), source: e.source, attempts, appKeyId: e.appKeyId, issuedAt: e.issuedAt, expiresAt: e.expiresAt, revokeAt: e.revokeAt };
      if (reveal) out.reveal(JSON.stringify({ ...value, token }, null, 2));
      else out.json(value);
    } else {
      out.out(`${e.source === 'issued' ? 'issued new token' : 'adopted stored token'} ${shortId(e.id)}${attempts > 1 ? ` (${attempts} attempts)` : ''}`);
      out.out(`  id         ${e.id}`);
      out.out(`  issued     ${formatTimeAndRelative(e.issuedAt, now, style)}`);
      out.out(`  expires    ${formatTimeAndRelative(e.expiresAt, now, style)}`);
      out.out(`  revokeAt   ${formatTimeAndRelative(e.revokeAt, now, style)}`);
      if (reveal) out.reveal(`  token      ${token}`);
    }
    const killed = before.filter((r) => r.id !== e.id);
    if (e.source === 'issued' && killed.length > 0 && lc.provider.rules.previousToken === 'killed') {
      out.err(
        `ls-token: note: ${lc.provider.name} keeps one token per app key: ${killed.map((r) => shortId(r.id)).join(', ')} ` +
          'stopped working; processes using it get IGW00121 and adopt the new token from the store',
      );
    }
    return 0;
  });
};
