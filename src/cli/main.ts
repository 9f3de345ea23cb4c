#!/usr/bin/env node
/**
 * `ls-token`: the operator CLI of ls-token-lifecycle (the package's `bin`).
 *
 * ```sh
 * LS_APPKEY=… LS_APPSECRETKEY=… LS_TOKEN_STORE=redis://127.0.0.1:6379 ls-token list
 * ```
 *
 * Commands: `issue`, `revoke`, `list`, `sweep`, `status`, `mock-server` (see `ls-token --help`).
 * Exit codes scripts can rely on (`exit-codes.ts`): `0` done, `1` failed or partly failed
 * (tokens still alive included), `2` usage, configuration or input error. Errors are one line on
 * stderr, `ls-token: <CODE>: <message>`, and with `--json` also `{"error": {"code", "message", …}}`
 * on stdout; no stack trace for expected errors (every `LsTokenError`) and never a secret: the
 * app secret, the app key and raw tokens are redacted from everything the CLI prints, except the
 * token that `issue --reveal` was explicitly asked to print.
 *
 * Every command keeps the process alive until its work has settled: the library's timers
 * (retry backoff, scheduler) are `unref()`ed so that they never hold a daemon open, which in a
 * CLI would let node exit in the middle of a retry (exit 13, "unsettled top-level await", no
 * output). {@link runCli} holds one ref'd handle for the duration of the command instead.
 *
 * Decision: arguments are parsed with node's own `util.parseArgs`, not commander or yargs. The
 * runtime dependencies of the package stay exactly axios, keyv, p-retry and eventemitter3; the
 * store adapters (`@keyv/redis`, `@keyv/sqlite`) are optional peers loaded with `import()` only
 * when a `redis://` or `sqlite://` store is used.
 *
 * @module
 */
import { readFileSync, realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ErrorCodes, isLsTokenError, type LsTokenError } from '../core/errors.js';
import { type CommandName, parseCommandLine } from './args.js';
import { ConfigReader } from './config.js';
import type { Command, CommandContext } from './context.js';
import { type ExitCode, ExitCodes } from './exit-codes.js';
import { commandHelp, generalHelp } from './help.js';
import { Output, type CliStreams } from './output.js';
import { StdinOnce } from './secret-input.js';
import type { ModuleImporter } from './store-url.js';

export { ExitCodes } from './exit-codes.js';

const COMMAND_LOADERS: Record<CommandName, () => Promise<Command>> = {
  issue: async () => (await import('./commands/issue.js')).issueCommand,
  revoke: async () => (await import('./commands/revoke.js')).revokeCommand,
  list: async () => (await import('./commands/list.js')).listCommand,
  sweep: async () => (await import('./commands/sweep.js')).sweepCommand,
  status: async () => (await import('./commands/status.js')).statusCommand,
  'mock-server': async () => (await import('./commands/mock-server.js')).mockServerCommand,
};

function packageVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: unknown };
    return typeof pkg.version === 'string' ? pkg.version : 'unknown';
  } catch {
    return 'unknown';
  }
}

/** Options of {@link runCli}, for tests. */
export interface RunCliOptions {
  /** Clock. Default `Date.now`. */
  now?: () => number;
  /** Module loader for the optional store adapters. Default `import()`. */
  importer?: ModuleImporter;
}

/**
 * Runs the CLI with `argv` (without `node` and the script) and resolves with the exit code.
 * Never rejects: every error becomes one line on stderr.
 */
export async function runCli(argv: readonly string[], streams: CliStreams, options: RunCliOptions = {}): Promise<number> {
  // Ref'd for the whole command: see the module notes. 2^30 ms stays under node's 2^31 clamp.
  const keepAlive = setInterval(() => undefined, 2 ** 30);
  try {
    return await runCommand(argv, streams, options);
  } finally {
    clearInterval(keepAlive);
  }
}

async function runCommand(argv: readonly string[], streams: CliStreams, options: RunCliOptions): Promise<number> {
  const out = new Output(streams);
  const debug = argv.includes('--debug');
  // Read off the raw line: a failure to parse it must still answer in JSON when JSON was asked for.
  const json = argv.includes('--json');
  try {
    const parsed = parseCommandLine(argv);
    if (parsed.kind === 'none') {
      out.err(generalHelp());
      return ExitCodes.USAGE;
    }
    if (parsed.kind === 'help') {
      out.out(generalHelp());
      return ExitCodes.OK;
    }
    if (parsed.kind === 'version') {
      out.out(packageVersion());
      return ExitCodes.OK;
    }
    if (parsed.values['help'] === true) {
      out.out(commandHelp(parsed.spec));
      return ExitCodes.OK;
    }
    const ctx: CommandContext = {
      out,
      cfg: new ConfigReader(parsed.spec, parsed.values, streams.env),
      positionals: parsed.positionals,
      stdin: new StdinOnce(() => streams.stdin),
      now: options.now ?? Date.now,
      importer: options.importer,
    };
    const command = await COMMAND_LOADERS[parsed.spec.name]();
    return await command(ctx);
  } catch (err) {
    if (isLsTokenError(err)) {
      const exitCode = exitCodeOf(err);
      out.err(`ls-token: ${err.code}: ${err.message}${err.lsCode !== undefined && !err.message.includes(err.lsCode) ? ` (${err.lsCode})` : ''}`);
      if (json) out.json({ error: { ...err.toJSON(), exitCode } });
      return exitCode;
    }
    // Not an error we expect: still one line (redacted) unless --debug asks for the stack.
    const text = (err instanceof Error ? `${err.name}: ${err.message}` : String(err)).replace(/\s+/g, ' ').slice(0, 300);
    out.err(`ls-token: unexpected error: ${text}${debug ? '' : ' (run with --debug for a stack trace)'}`);
    if (debug && err instanceof Error && err.stack !== undefined) out.err(err.stack);
    if (json) out.json({ error: { code: 'ERR_UNEXPECTED', message: text, exitCode: ExitCodes.FAILED } });
    return ExitCodes.FAILED;
  }
}

/**
 * Exit code of an error that ended a command: 2 for what the user must fix before anything is
 * sent (a bad option, or input refused locally, which carries the `field` at fault), else 1.
 */
function exitCodeOf(err: LsTokenError): ExitCode {
  if (err.code === ErrorCodes.INVALID_OPTION) return ExitCodes.USAGE;
  // A store the CLI cannot open (no or the wrong encryption key) is configuration; it is checked before anything is sent.
  if (err.code === ErrorCodes.DECRYPT) return ExitCodes.USAGE;
  if (err.code === ErrorCodes.INVALID_TOKEN && err.field !== undefined) return ExitCodes.USAGE;
  return ExitCodes.FAILED;
}

/** True when this module is the program being run (not imported by a test). */
function isMain(): boolean {
  const entry = process.argv[1];
  if (entry === undefined) return false;
  try {
    return realpathSync(fileURLToPath(import.meta.url)) === realpathSync(entry);
  } catch {
    return false;
  }
}

if (isMain()) {
  // A closed pipe (`ls-token list | head -1`) must not crash the command half-way through a sweep:
  // the output is lost, the work goes on and the exit code still tells how it went.
  for (const stream of [process.stdout, process.stderr]) stream.on('error', () => undefined);
  const streams: CliStreams = {
    stdout: process.stdout,
    stderr: process.stderr,
    // A getter: touching process.stdin creates its handle, which only `revoke -` needs.
    get stdin() {
      return process.stdin;
    },
    env: process.env,
  };
  const code = await runCli(process.argv.slice(2), streams);
  process.exitCode = code;
  // Everything is closed by now; this only guards against a handle a dependency forgot.
  setTimeout(() => process.exit(code), 2_000).unref();
}
