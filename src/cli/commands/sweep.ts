/**
 * `ls-token sweep`: one lifecycle sweep of the app key, waiting for the revocations it starts.
 *
 * `TokenLifecycle.sweep()` starts revocations without awaiting them (a daemon has no reason to
 * wait). The CLI waits with `scheduler.drain({ filter: () => false })`, which revokes nothing new
 * (every scheduled token stays scheduled) but awaits every revocation in flight, bounded by the
 * deadline. Outcomes come from the lifecycle's events, so revocations that finish while the sweep
 * is still walking the store are counted too. Tokens the sweep only scheduled (held by live
 * processes, or not due) are unscheduled again before the CLI's lifecycle shuts down, so the CLI
 * never revokes a token that a live process holds.
 */
import type { ErrorEvent, ExpiredEvent, RevokeFailedEvent, RevokedEvent } from '../../core/events.js';
import { shortId } from '../../core/fingerprint.js';
import { readLsConfig, readStoreConfig } from '../config.js';
import { type Command, cliLifecycle, withStore } from '../context.js';
import { formatDuration } from '../format.js';
import { Progress } from '../progress.js';

interface Outcome {
  readonly id: string;
  readonly outcome: 'revoked' | 'already-invalid' | 'expired' | 'failed' | 'aborted';
  readonly reason: string | null;
  readonly attempts: number;
  readonly durationMs: number | null;
  readonly error: { code: string; message: string } | null;
}

/** Runs `ls-token sweep`. */
export const sweepCommand: Command = async (ctx) => {
  const { out, cfg } = ctx;
  const ls = await readLsConfig(cfg, out);
  const storeCfg = readStoreConfig(cfg, out);
  const deadlineMs = cfg.integer('deadline-ms', 60_000, 0, 3_600_000);
  const concurrency = cfg.integer('concurrency', 8, 1, 1024);
  const asJson = cfg.flag('json');
  const started = ctx.now();

  return withStore(ctx, storeCfg, true, async (s) => {
    const lc = cliLifecycle(ls, storeCfg, s, {
      orphanPolicy: cfg.flag('keep-shared') ? 'adopt' : 'revoke',
      concurrency,
      retry: { retries: 3, maxRetryTimeMs: deadlineMs },
    });
    const tty = !asJson && out.streams.stderr.isTTY === true;
    const progress = new Progress((line) => (asJson ? undefined : out.out(line)), { write: (t) => out.streams.stderr.write(out.redact(t)) }, tty, 'sweep');
    const outcomes = new Map<string, Outcome>();
    const errors: ErrorEvent[] = [];
    const record = (o: Outcome): void => {
      if (outcomes.has(o.id)) return;
      outcomes.set(o.id, o);
      const ok = o.outcome !== 'failed' && o.outcome !== 'aborted';
      const detail = o.error === null ? '' : `  ${o.error.code}: ${o.error.message}`;
      const timing = o.durationMs === null ? '' : `  ${o.durationMs}ms`;
      progress.item(`${o.outcome.padEnd(15)} ${shortId(o.id)}  reason=${o.reason ?? '-'}  attempts=${o.attempts}${timing}${detail}`, ok);
    };
    lc.on('revoked', (e: RevokedEvent) => record({ id: e.id, outcome: e.outcome, reason: e.reason, attempts: e.attempts, durationMs: e.durationMs, error: null }));
    lc.on('revokeFailed', (e: RevokeFailedEvent) =>
      record({ id: e.id, outcome: 'failed', reason: e.reason, attempts: e.attempts, durationMs: null, error: { code: e.error.code, message: e.error.message } }),
    );
    lc.on('expired', (e: ExpiredEvent) => record({ id: e.id, outcome: 'expired', reason: null, attempts: 0, durationMs: null, error: null }));
    lc.on('error', (e: ErrorEvent) => {
      if (e.op !== 'drain') errors.push(e); // drain aborts are reported as outcomes below
    });

    let kept = 0;
    let timedOut = false;
    try {
      await lc.sweep();
      progress.setTotal(outcomes.size + lc.scheduler.inflight);
      const drained = await lc.scheduler.drain({ deadlineMs, filter: () => false });
      timedOut = drained.timedOut;
      for (const r of drained.results) {
        if (r.outcome === 'aborted' || r.outcome === 'deferred') {
          record({ id: r.id, outcome: 'aborted', reason: r.reason, attempts: r.attempts, durationMs: r.durationMs, error: r.error ?? null });
        }
      }
      // Left scheduled by the sweep: held by live processes or not due. Not ours to revoke.
      const scheduled = lc.scheduler.scheduledIds();
      kept = scheduled.length;
      for (const id of scheduled) lc.scheduler.unschedule(id);
    } finally {
      await lc.shutdown({ deadlineMs: 1_000 });
      progress.finish();
    }

    const all = [...outcomes.values()];
    const count = (...o: Outcome['outcome'][]): number => all.filter((x) => o.includes(x.outcome)).length;
    const failed = count('failed', 'aborted');
    const summary = {
      revoked: count('revoked'),
      alreadyInvalid: count('already-invalid'),
      expired: count('expired'),
      failed: count('failed'),
      unfinished: count('aborted'),
      kept,
      errors: errors.map((e) => ({ op: e.op, code: e.error.code, message: e.error.message, ...(e.id === undefined ? {} : { id: e.id }) })),
      timedOut,
      durationMs: ctx.now() - started,
      results: all,
    };
    if (asJson) {
      out.json(summary);
    } else {
      for (const e of errors) out.err(`ls-token: warning: ${e.op}${e.id === undefined ? '' : ` ${shortId(e.id)}`}: ${e.error.code}: ${e.error.message}`);
      const parts = [
        `${summary.revoked} revoked`,
        `${summary.alreadyInvalid} already invalid`,
        `${summary.expired} expired`,
        `${summary.failed} failed`,
        ...(summary.unfinished > 0 ? [`${summary.unfinished} unfinished (still owed: the next sweep or daemon start finishes them)`] : []),
        `${kept} left to their holders or not due`,
      ];
      out.out(`${all.length === 0 ? 'sweep: nothing to revoke; ' : 'sweep: '}${parts.join(', ')} (${formatDuration(summary.durationMs)})`);
    }
    return failed > 0 || errors.length > 0 ? 1 : 0;
  });
};
