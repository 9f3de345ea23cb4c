/**
 * Process exit hooks: revoke at SIGINT/SIGTERM/SIGHUP, when the event loop runs dry, and after an
 * uncaught exception, bounded by a deadline, then let the process die the way it would have.
 *
 * One set of process listeners serves every lifecycle in the process (a registry), so two
 * lifecycles do not mistake each other's re-raised signal for a second Ctrl-C. Modelled on
 * close-with-grace: a second signal exits at once; a deadline bounds the whole shutdown.
 *
 * How the process ends after a signal:
 * - No other listener for that signal (the usual daemon): our listener is removed and the signal
 *   re-raised, so the process dies *by the signal* (status "killed by SIGTERM", what systemd and
 *   Kubernetes expect), unless `exitCode` is set, which exits with that code instead.
 * - The app has its own listener (close-with-grace, `server.close()` in a handler...): the app ends
 *   the process; the hooks never call `process.exit` before it (`exitCode`, if set, only becomes
 *   `process.exitCode`), except when the deadline plus one second has passed.
 * - A second hooked signal during shutdown ends the process at once, the same way; one arriving
 *   within 1 s of the first is taken for the same signal delivered twice (a terminal's Ctrl-C
 *   reaches the whole process group, and `npm run` forwards it to its child as well).
 *
 * After an uncaught exception (or unhandled rejection) the error is printed, the shutdown runs,
 * and the process exits with code 1; when the app has its own `uncaughtException` listener, that
 * listener decides when to exit, up to the deadline plus one second.
 *
 * docs/guarantees.md ("Combining installExitHooks with other shutdown code") shows how to combine
 * this with close-with-grace or an HTTP server's close.
 */
import { constants } from 'node:os';
import { inspect } from 'node:util';
import { ErrorCodes, LsTokenError } from '../core/errors.js';
import { optionalBoolean, optionalInteger, optionalNumber, requireObject } from '../core/validate.js';

/** The part of a lifecycle the hooks need. */
export interface ShutdownTarget {
  /** Stops and revokes; must be idempotent and resolve by `deadlineMs`. */
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
   * When the app has its own handler for the signal, nothing is re-raised and `process.exit` is not
   * called: the app exits itself (`exitCode` is then only set as `process.exitCode`).
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
/** When the signal that started the shutdown arrived (`performance.now()`), to tell a duplicate from a second one. */
let firstSignalAt = -Infinity;

/**
 * A signal this soon after the first is the same one delivered twice, not an operator pressing
 * Ctrl-C again: a terminal sends SIGINT to the whole process group, and `npm run`/`npm start`
 * (and `tsx`) also forward it to their child, so a daemon started with npm gets two or three.
 * The forwarded copies come as late as the forwarders' event loops let them: 250 ms was too short
 * on a busy machine (a CI run saw one Ctrl-C cut a shutdown short), and a person pressing again
 * to leave now loses at most a second.
 */
const DUPLICATE_SIGNAL_MS = 1_000;

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

/**
 * Ends the process now, the way `sig` would have without us: re-raised when nobody else listens
 * for it (so the status is "killed by sig"), else `exitCode` or `128 + signal number`.
 */
function dieBy(sig: NodeJS.Signals, exitCode: number | undefined): void {
  removeProcessListeners();
  if (exitCode === undefined && process.listenerCount(sig) === 0) {
    process.kill(process.pid, sig);
    // As PID 1 (a container without an init) the kernel ignores a signal the process has no
    // handler for, so the re-raise does nothing and a busy daemon would run on until SIGKILL.
    // Still alive a moment later: exit with the status a shell reports for that signal.
    setTimeout(() => process.exit(signalExitCode(sig)), 200);
    return;
  }
  process.exit(exitCode ?? signalExitCode(sig));
}

function onSignal(sig: NodeJS.Signals): void {
  const list = [...entries.values()].filter((e) => e.signals.includes(sig));
  const exitCode = list.find((e) => e.exitCode !== undefined)?.exitCode;
  if (running !== undefined) {
    if (performance.now() - firstSignalAt < DUPLICATE_SIGNAL_MS) return; // the same Ctrl-C, delivered twice
    // Second signal while shutting down: the operator means it. Exit now.
    dieBy(sig, exitCode);
    return;
  }
  firstSignalAt = performance.now();
  // The deadline passed (shutdown() resolves by then; this is the last resort): exit even if the
  // app's own handler has not finished.
  const watchdog = setTimeout(() => dieBy(sig, exitCode), deadlineOf(list) + 1_000);
  watchdog.unref();
  running = shutdownAll(list).then(() => {
    done = true;
    removeProcessListeners();
    if (process.listenerCount(sig) > 0) {
      // The app handles this signal itself: it decides when the process ends. Never exit under it.
      if (exitCode !== undefined) process.exitCode = exitCode;
      return;
    }
    clearTimeout(watchdog);
    dieBy(sig, exitCode);
  });
}

function onBeforeExit(): void {
  if (running !== undefined || done) return;
  const list = [...entries.values()].filter((e) => e.beforeExit);
  if (list.length === 0) return;
  // The loop ran dry: revoke (the requests keep the loop alive), then let it run dry again and
  // exit normally with the code the app set.
  running = shutdownAll(list).then(() => {
    done = true;
    removeProcessListeners();
  });
}

function onUncaught(err: unknown, origin?: string): void {
  // Never swallow the error: print it as Node would have, then revoke and exit non-zero.
  process.stderr.write(`${origin === 'unhandledRejection' ? 'Unhandled rejection: ' : ''}${err instanceof Error ? inspect(err) : String(err)}\n`);
  if (running !== undefined) process.exit(1);
  const list = [...entries.values()].filter((e) => e.uncaught);
  const watchdog = setTimeout(() => process.exit(1), deadlineOf(list) + 1_000);
  watchdog.unref();
  running = shutdownAll(list).then(() => {
    done = true;
    // The app's own uncaughtException handler (close-with-grace, ...) decides when to exit; the
    // watchdog still ends the process (code 1) once the deadline has passed.
    if (process.listenerCount('uncaughtException') > 1) return;
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
 * keeps one registration, so nothing is revoked twice (and `shutdown()` is idempotent anyway).
 *
 * - SIGINT, SIGTERM, SIGHUP (or `signals`): `shutdown({ deadlineMs })` once, then the process ends
 *   the way it would have without the hook (see the module notes); a second signal ends it at once.
 * - `beforeExit` (the event loop ran dry): shutdown, then the process exits normally.
 * - An uncaught exception (or unhandled rejection): the error is printed, shutdown runs within the
 *   deadline, then the process exits with code 1.
 *
 * @throws {@link LsTokenError} `ERR_INVALID_OPTION` naming the bad option.
 *
 * @example
 * ```ts
 * const uninstall = lifecycle.installExitHooks({ deadlineMs: 8_000 }); // under Kubernetes' 30 s grace
 * ```
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
    beforeExit: optionalBoolean('beforeExit', o.beforeExit, true),
    uncaught: optionalBoolean('uncaughtException', o.uncaughtException, true),
  };
  entries.set(target, entry);
  if (done) {
    // An earlier shutdown finished (e.g. on beforeExit) and the process lives on: start afresh.
    running = undefined;
    done = false;
  }
  syncProcessListeners();
  return () => {
    if (entries.get(target) !== entry) return;
    entries.delete(target);
    if (processListenersOn) syncProcessListeners();
  };
}
