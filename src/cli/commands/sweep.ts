/**
 * `ls-token sweep`: one lifecycle sweep of the app key, waiting for the revocations it starts.
 *
 * `TokenLifecycle.sweep()` starts revocations without awaiting them (a daemon has no reason to
 * wait). The CLI collects the result of every revocation the sweep starts (see
 * {@link collectRevocations}) and waits with `scheduler.drain({ filter: () => false })`, which
 * revokes nothing new (every scheduled token stays scheduled) but awaits every revocation in
 * flight, bounded by the deadline. Tokens the sweep only scheduled (held by live processes, or not
 * due) are unscheduled again before the CLI's lifecycle shuts down, so the CLI never revokes a
 * token that a live process holds.
 *
 * Counting: every result whose outcome is not one of `SETTLED_OUTCOMES` is a token still alive
 * (a failed, unfinished or owed revocation, whatever the library calls it), and makes the exit
 * code 1 with a last line ending in "N tokens still alive". A credentials error (IGW00103/IGW00105)
 * is such a case: the token is as alive as before the sweep.
 */
import type { ErrorEvent } from '../../core/events.js';
import { shortId } from '../../core/fingerprint.js';
import type { TokenLifecycle } from '../../lifecycle/token-lifecycle.js';
import type { RevocationResult } from '../../schedule/revocation-scheduler.js';
import { usageError } from '../args.js';
import { readLsConfig, readStoreConfig } from '../config.js';
import { type Command, cliLifecycle, withStore } from '../context.js';
import { formatDuration } from '../format.js';
import { isSettled, stillAliveText } from '../outcomes.js';
import { Progress } from '../progress.js';
import { assertTokensOpen } from '../sealed-tokens.js';

/**
 * Calls `onResult` with the result of every revocation `lc`'s scheduler performs from now on, and
 * returns the promises of those still running.
 *
 * Why not events: a revocation reports its end through different events depending on the outcome
 * (`revoked`, `revokeFailed`, `expired`, only `error` for some), and a new outcome could come with
 * none of them. The scheduler's `revoke()` promise always resolves with the outcome, whatever it
 * is, so the CLI wraps that one method of its own lifecycle's scheduler.
 */
function collectRevocations(lc: TokenLifecycle, onResult: (r: RevocationResult) => void): () => Promise<RevocationResult>[] {
  const running = new Set<Promise<RevocationResult>>();
  const scheduler = lc.scheduler;
  const revoke = scheduler.revoke.bind(scheduler);
  scheduler.revoke = (id, reason, expiresAt) => {
    const p = revoke(id, reason, expiresAt);
    if (!running.has(p)) {
      running.add(p);
      void p.then((r) => {
        running.delete(p);
        onResult(r);
      });
    }
    return p;
  };
  return () => [...running];
}

/** Runs `ls-token sweep`. */
export const sweepCommand: Command = async (ctx) => {
  const { out, cfg } = ctx;
  const ls = await readLsConfig(ctx);
  const storeCfg = await readStoreConfig(ctx);
  const deadlineMs = cfg.integer('deadline-ms', 60_000, 0, 3_600_000);
  const concurrency = cfg.integer('concurrency', 8, 1, 1024);
  const asJson = cfg.flag('json');
  const started = ctx.now();

  return withStore(ctx, storeCfg, 'refuse', async (s) => {
    if (cfg.flag('keep-shared') && cfg.flag('revoke-shared')) throw usageError('give --keep-shared or --revoke-shared, not both', 'revoke-shared');
    const lc = cliLifecycle(ls, storeCfg, s, {
      // The daemons' rule (orphanPolicy 'adopt'): the fleet's token nobody holds yet lives until its revokeAt.
      orphanPolicy: cfg.flag('revoke-shared') ? 'revoke' : 'adopt',
      concurrency,
      retry: { retries: 3, maxRetryTimeMs: deadlineMs },
    });
    const tty = !asJson && out.streams.stderr.isTTY === true;
    const progress = new Progress((line) => (asJson ? undefined : out.out(line)), { write: (t) => out.streams.stderr.write(out.redact(t)) }, tty, 'sweep');
    const results = new Map<string, RevocationResult>();
    const record = (r: RevocationResult): void => {
      if (results.has(r.id)) return;
      results.set(r.id, r);
      const detail = r.error === undefined ? '' : `  ${r.error.code}: ${r.error.message}`;
      progress.item(`${r.outcome.padEnd(15)} ${shortId(r.id)}  reason=${r.reason}  attempts=${r.attempts}  ${r.durationMs}ms${detail}`, isSettled(r.outcome));
    };
    const running = collectRevocations(lc, record);
    const errors: ErrorEvent[] = [];
    lc.on('error', (e: ErrorEvent) => {
      if (e.op !== 'drain') errors.push(e); // drain aborts are reported as outcomes
    });

    let kept = 0;
    let timedOut = false;
    try {
      await assertTokensOpen(s.store, { appKeyId: lc.appKeyId, now: ctx.now() });
      await lc.sweep();
      progress.setTotal(results.size + running().length);
      const drained = await lc.scheduler.drain({ deadlineMs, filter: () => false });
      timedOut = drained.timedOut;
      // Jobs the deadline cut short and that had not reported yet: the drain says `aborted`.
      for (const r of drained.results) record(r);
      // Left scheduled by the sweep: held by live processes or not due. Not ours to revoke.
      const scheduled = lc.scheduler.scheduledIds();
      kept = scheduled.length;
      for (const id of scheduled) lc.scheduler.unschedule(id);
    } finally {
      await lc.shutdown({ deadlineMs: 1_000 });
      progress.finish();
    }

    const all = [...results.values()];
    const byOutcome: Record<string, number> = {};
    for (const r of all) byOutcome[r.outcome] = (byOutcome[r.outcome] ?? 0) + 1;
    const alive = all.filter((r) => !isSettled(r.outcome));
    const durationMs = ctx.now() - started;
    const exitCode = alive.length > 0 || errors.length > 0 ? 1 : 0;
    const aliveDetail = Object.entries(byOutcome)
      .filter(([o]) => !isSettled(o))
      .map(([o, n]) => `${n} ${o}`)
      .join(', ');
    const aliveCodes = [...new Set(alive.map((r) => r.error?.code).filter((c) => c !== undefined))];

    if (asJson) {
      out.json({
        revoked: byOutcome['revoked'] ?? 0,
        alreadyInvalid: byOutcome['already-invalid'] ?? 0,
        expired: byOutcome['expired'] ?? 0,
        failed: byOutcome['failed'] ?? 0,
        unfinished: (byOutcome['aborted'] ?? 0) + (byOutcome['deferred'] ?? 0),
        stillAlive: alive.length,
        outcomes: byOutcome,
        kept,
        errors: errors.map((e) => ({ op: e.op, code: e.error.code, message: e.error.message, ...(e.id === undefined ? {} : { id: e.id }) })),
        timedOut,
        durationMs,
        results: all,
        ...(exitCode === 0
          ? {}
          : {
              error: {
                code: aliveCodes[0] ?? errors[0]?.error.code ?? 'ERR_ABORTED',
                message: alive.length > 0 ? `${aliveDetail}: ${stillAliveText(alive.length)}` : `${errors.length} store or lifecycle error(s)`,
                exitCode,
              },
            }),
      });
      return exitCode;
    }
    for (const e of errors) out.err(`ls-token: warning: ${e.op}${e.id === undefined ? '' : ` ${shortId(e.id)}`}: ${e.error.code}: ${e.error.message}`);
    const parts = [
      `${byOutcome['revoked'] ?? 0} revoked`,
      `${byOutcome['already-invalid'] ?? 0} already invalid`,
      `${byOutcome['expired'] ?? 0} expired`,
      `${kept} left to their holders or not due`,
    ];
    let last = `${all.length === 0 ? 'sweep: nothing to revoke; ' : 'sweep: '}${parts.join(', ')} (${formatDuration(durationMs)})`;
    if (alive.length > 0) {
      const codes = aliveCodes.length === 0 ? '' : ` (${aliveCodes.join(', ')})`;
      last += `; not revoked: ${aliveDetail}${codes}: ${stillAliveText(alive.length)}`;
    } else if (errors.length > 0) {
      last += `; ${errors.length} store or lifecycle error${errors.length === 1 ? '' : 's'} (see above)`;
    }
    out.out(last);
    return exitCode;
  });
};
