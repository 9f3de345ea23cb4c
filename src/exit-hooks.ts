/**
 * Process exit hooks: revoke at SIGINT/SIGTERM/SIGHUP, when the event loop runs dry, and after an
 * uncaught exception, bounded by a deadline, then let the process die the way it would have.
 *
 * One set of process listeners serves every lifecycle in the process (a registry), so two
 * lifecycles do not mistake each other's re-raised signal for a second Ctrl-C. Modelled on
 * close-with-grace: a second signal exits at once; a deadline bounds the whole shutdown.
 */
import { constants } from 'node:os';
import { ErrorCodes, LsTokenError } from './errors.js';
import { optionalInteger, optionalNumber, requireObject } from './validate.js';

/** The part of a lifecycle the hooks need. */
export interface ShutdownTarget {
  shutdown(options: { deadlineMs?: number }): Promise<unknown>;
}

/** Options of {@link installExitHooks}. */
export interface ExitHookOptions {
  /** Signals that trigger a shutdown. Default `['SIGINT', 'SIGTERM', 'SIGHUP']`. */
  signals?: NodeJS.Signals[];
  /** Deadline of the shutdown, ms; the process exits by then plus one second at the latest. Default `10_000`. */
  deadlineMs?: number;
  /**
   * Exit code after a signal-triggered shutdown. Default: none, the signal is re-raised once our
   * handler is removed, so the exit status is the one a supervisor expects (killed by SIGTERM).
   * When the app has its own handler for the signal, nothing is re-raised: the app exits itself.
   */
  exitCode?: number;
  /** Whether to shut down when the event loop runs dry (`beforeExit`). Default `true`. */
  beforeExit?: boolean;
  /** Whether to revoke and exit with code 1 after an uncaught exception (printed first). Default `true`. */
  uncaughtException?: boolean;
}

interface Entry {
  readonly target: ShutdownTarget;
  readonly signals: NodeJS.Signals[];
  readonly deadlineMs: number;
  readonly exitCode: number | undefined;
  readonly beforeExit: boolean;
  readonly uncaught: boolean;
}

const entries = new Map<ShutdownTarget, Entry>();
const installedSignals = new Set<NodeJS.Signals>();
let processListenersOn = false;
let running: Promise<void> | undefined;
let done = false;

function signalExitCode(sig: NodeJS.Signals): number {
  return 128 + ((constants.signals as Record<string, number>)[sig] ?? 15);
}

function deadlineOf(list: Entry[]): number {
  return Math.max(0, ...list.map((e) => e.deadlineMs));
}

function shutdownAll(list: Entry[]): Promise<void> {
  const deadlineMs = deadlineOf(list);
  const all = Promise.allSettled(list.map((e) => e.target.shutdown({ deadlineMs }))).then(() => undefined);
  // Belt and braces: shutdown() already resolves by its deadline.
  return Promise.race([all, new Promise<void>((r) => setTimeout(r, deadlineMs + 500).unref())]);
}

function removeProcessListeners(): void {
  for (const sig of installedSignals) process.removeListener(sig, onSignal);
  installedSignals.clear();
  process.removeListener('beforeExit', onBeforeExit);
  process.removeListener('uncaughtException', onUncaught);
  processListenersOn = false;
}

function onSignal(sig: NodeJS.Signals): void {
  if (running !== undefined) {
    // Second signal while shutting down: the operator means it. Exit now.
    process.exit(signalExitCode(sig));
  }
  const list = [...entries.values()].filter((e) => e.signals.includes(sig));
  const exitCode = list.find((e) => e.exitCode !== undefined)?.exitCode;
  const watchdog = setTimeout(() => process.exit(exitCode ?? signalExitCode(sig)), deadlineOf(list) + 1_000);
  watchdog.unref();
  running = shutdownAll(list).then(() => {
    done = true;
    removeProcessListeners();
    if (exitCode !== undefined) process.exit(exitCode);
    // Die the way the process would have without us, unless the app handles this signal itself.
    if (process.listenerCount(sig) === 0) process.kill(process.pid, sig);
  });
}

function onBeforeExit(): void {
  if (running !== undefined || done) return;
  const list = [...entries.values()].filter((e) => e.beforeExit);
  if (list.length === 0) return;
  // The loop ran dry: revoke, then let it run dry again and exit normally.
  running = shutdownAll(list).then(() => {
    done = true;
    removeProcessListeners();
  });
}

function onUncaught(err: unknown): void {
  // Never swallow the error: print it as Node would have, then revoke and exit non-zero.
  process.stderr.write(`${err instanceof Error ? (err.stack ?? String(err)) : String(err)}\n`);
  if (running !== undefined) process.exit(1);
  const list = [...entries.values()].filter((e) => e.uncaught);
  const watchdog = setTimeout(() => process.exit(1), deadlineOf(list) + 1_000);
  watchdog.unref();
  running = shutdownAll(list).then(() => {
    done = true;
    process.exit(1);
  });
}

function syncProcessListeners(): void {
  const wanted = new Set([...entries.values()].flatMap((e) => e.signals));
  for (const sig of installedSignals) {
    if (!wanted.has(sig)) {
      process.removeListener(sig, onSignal);
      installedSignals.delete(sig);
    }
  }
  for (const sig of wanted) {
    if (!installedSignals.has(sig)) {
      process.on(sig, onSignal);
      installedSignals.add(sig);
    }
  }
  const anyBeforeExit = [...entries.values()].some((e) => e.beforeExit);
  const anyUncaught = [...entries.values()].some((e) => e.uncaught);
  process.removeListener('beforeExit', onBeforeExit);
  process.removeListener('uncaughtException', onUncaught);
  if (anyBeforeExit) process.on('beforeExit', onBeforeExit);
  if (anyUncaught) process.on('uncaughtException', onUncaught);
  processListenersOn = entries.size > 0;
}

const ALLOWED_SIGNALS = new Set(['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2', 'SIGBREAK']);

/**
 * Installs the exit hooks for `target` (normally via `lifecycle.installExitHooks()`) and returns a
 * function that uninstalls them. Installing again for the same target replaces its options and
 * keeps one registration, so nothing is revoked twice.
 */
export function installExitHooks(target: ShutdownTarget, options: ExitHookOptions = {}): () => void {
  const o = requireObject('options', options);
  const signals = (o.signals as NodeJS.Signals[] | undefined) ?? ['SIGINT', 'SIGTERM', 'SIGHUP'];
  if (!Array.isArray(signals) || signals.some((s) => typeof s !== 'string' || !ALLOWED_SIGNALS.has(s))) {
    throw new LsTokenError(ErrorCodes.INVALID_OPTION, `Invalid option "signals": each must be one of ${[...ALLOWED_SIGNALS].join(', ')}`, { field: 'signals' });
  }
  const entry: Entry = {
    target,
    signals: [...new Set(signals)],
    deadlineMs: optionalNumber('deadlineMs', o.deadlineMs, 10_000, 0, 600_000),
    exitCode: o.exitCode === undefined ? undefined : optionalInteger('exitCode', o.exitCode, 0, 0, 255),
    beforeExit: o.beforeExit === undefined ? true : o.beforeExit === true,
    uncaught: o.uncaughtException === undefined ? true : o.uncaughtException === true,
  };
  entries.set(target, entry);
  done = false;
  syncProcessListeners();
  return () => {
    if (entries.get(target) !== entry) return;
    entries.delete(target);
    if (processListenersOn) syncProcessListeners();
  };
}
