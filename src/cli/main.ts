#!/usr/bin/env node
/**
 * `ls-token`: the operator CLI of ls-token-lifecycle (the package's `bin`).
 *
 * ```sh
 * LS_APPKEY=… LS_APPSECRETKEY=… LS_TOKEN_STORE=redis://127.0.0.1:6379 ls-token list
 * ```
 *
 * Commands: `issue`, `revoke`, `list`, `sweep`, `status`, `mock-server` (see `ls-token --help`).
 * Exit codes scripts can rely on: `0` done, `1` failed or partly failed, `2` usage or
 * configuration error. Errors are one line on stderr, `ls-token: <CODE>: <message>`, with no
 * stack trace for expected errors (every `LsTokenError`) and never a secret: the app secret, the
 * app key and raw tokens are redacted from everything the CLI prints, except the token that
 * `issue --reveal` was explicitly asked to print.
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
import { ErrorCodes, isLsTokenError } from '../core/errors.js';
import { type CommandName, commandHelp, generalHelp, parseCommandLine } from './args.js';
import { ConfigReader } from './config.js';
import type { Command, CommandContext } from './context.js';
import { Output, type CliStreams } from './output.js';
import type { ModuleImporter } from './store-url.js';

/** Exit codes of `ls-token`. */
export const ExitCodes = {
  /** Everything asked for was done. */
  OK: 0,
  /** It failed, or part of it failed (e.g. one revocation of a sweep). */
  FAILED: 1,
  /** Bad command line or configuration (unknown option, missing app key, unusable store URL). */
  USAGE: 2,
} as const;

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
  const out = new Output(streams);
  const debug = argv.includes('--debug');
  try {
    const parsed = parseCommandLine(argv);
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
      now: options.now ?? Date.now,
      importer: options.importer,
    };
    const command = await COMMAND_LOADERS[parsed.spec.name]();
    return await command(ctx);
  } catch (err) {
    if (isLsTokenError(err)) {
      out.err(`ls-token: ${err.code}: ${err.message}${err.lsCode !== undefined && !err.message.includes(err.lsCode) ? ` (${err.lsCode})` : ''}`);
      return err.code === ErrorCodes.INVALID_OPTION ? ExitCodes.USAGE : ExitCodes.FAILED;
    }
    // Not an error we expect: still one line (redacted) unless --debug asks for the stack.
    const text = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
    out.err(`ls-token: unexpected error: ${text.replace(/\s+/g, ' ').slice(0, 300)}${debug ? '' : ' (run with --debug for a stack trace)'}`);
    if (debug && err instanceof Error && err.stack !== undefined) out.err(err.stack);
    return ExitCodes.FAILED;
  }
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
