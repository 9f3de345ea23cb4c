/**
 * Command-line parsing with node's own `util.parseArgs` (no argument-parser dependency; see
 * `main.ts`). Each command declares its options once here; the same declarations produce the
 * parser configuration and (in `help.ts`) the usage line and the `--help` text, so they cannot
 * drift apart.
 *
 * Secrets have no flag at all (a flag shows in `ps` and `/proc/<pid>/cmdline` while the command
 * runs): they are declared `envOnly`, read from their environment variable or from the file of
 * their `fileOption`, and the old flag is refused with a line saying where to put the secret.
 */
import { parseArgs } from 'node:util';
import { LsTokenError, ErrorCodes } from '../core/errors.js';
import type { ProviderName } from '../providers/provider.js';

/** One option of a command. */
export interface OptionSpec {
  /** `string` takes a value, `boolean` is a switch. */
  readonly type: 'string' | 'boolean';
  /** One-letter alias. */
  readonly short?: string;
  /** Placeholder shown in help, e.g. `<url>`. */
  readonly arg?: string;
  /** Environment variable read when the flag is absent. */
  readonly env?: string;
  /**
   * No command-line flag: the value comes from `env` only (a secret: a flag would show in `ps`).
   * `--<name>` on the command line is refused with a line naming `env` and `fileOption`.
   */
  readonly envOnly?: boolean;
  /** For an `envOnly` secret: the option that reads it from a file instead. */
  readonly fileOption?: string;
  /**
   * The broker's own variable names, read (before `env`) when `--provider` names that broker: the
   * names its official samples and other tools use (`KIS_APPKEY`, `KIWOOM_SECRETKEY`, ...).
   */
  readonly providerEnv?: Readonly<Partial<Record<ProviderName, string>>>;
  /** Help text (one line). */
  readonly help: string;
}

/** The commands of `ls-token`. */
export type CommandName = 'issue' | 'revoke' | 'list' | 'sweep' | 'status' | 'mock-server';

/** One command: what it does, its positional arguments and its options. */
export interface CommandSpec {
  /** The command name. */
  readonly name: CommandName;
  /** One-line summary for the command list. */
  readonly summary: string;
  /** The positional arguments as shown in the usage line (e.g. `[-]`); omitted when there are none. */
  readonly operands?: string;
  /** Longer description (may hold several lines). */
  readonly description: string;
  /** Most positional arguments accepted. */
  readonly maxPositionals: number;
  /** The options, by long name. */
  readonly options: Readonly<Record<string, OptionSpec>>;
}

const help: OptionSpec = { type: 'boolean', short: 'h', help: 'show this help' };
const debug: OptionSpec = { type: 'boolean', help: 'print stack traces of unexpected errors' };
const json: OptionSpec = { type: 'boolean', help: 'machine-readable JSON on stdout, failures included ({"error": {"code", "message"}})' };
const utc: OptionSpec = { type: 'boolean', help: 'show times in UTC instead of KST (UTC+9)' };
const appkey: OptionSpec = { type: 'string', arg: '<key>', env: 'LS_APPKEY', providerEnv: { kis: 'KIS_APPKEY', kiwoom: 'KIWOOM_APPKEY' }, help: 'LS app key (the app key of the --provider)' };
const provider: OptionSpec = { type: 'string', arg: '<ls|kis|kiwoom>', env: 'LS_PROVIDER', help: 'the broker: ls (LS증권, default), kis (한국투자증권) or kiwoom (키움증권)' };

/** Options that read secrets from files. */
const SECRET_FILE_OPTIONS: Readonly<Record<string, OptionSpec>> = {
  'allow-shared-secret-file': { type: 'boolean', help: 'accept secret and token files that group or others can read (refused by default)' },
};

/** Options that select the broker, the credentials and the endpoint. */
const LS_OPTIONS: Readonly<Record<string, OptionSpec>> = {
  provider,
  appkey,
  appsecretkey: { type: 'string', envOnly: true, env: 'LS_APPSECRETKEY', providerEnv: { kis: 'KIS_APPSECRET', kiwoom: 'KIWOOM_SECRETKEY' }, fileOption: 'appsecretkey-file', help: 'LS app secret' },
  'appsecretkey-file': {
    type: 'string',
    arg: '<path>',
    env: 'LS_APPSECRETKEY_FILE',
    help: 'read the app secret from this file (mode 0600), or from stdin with -',
  },
  'base-url': { type: 'string', arg: '<url>', env: 'LS_BASE_URL', help: 'the broker\'s gateway (default: its real host, e.g. https://openapi.ls-sec.co.kr:8080 for LS)' },
  'allow-insecure-http': { type: 'boolean', help: 'allow a plain http:// --base-url that is not loopback (the app secret crosses the network in clear)' },
  'timeout-ms': { type: 'string', arg: '<ms>', env: 'LS_TIMEOUT_MS', help: 'deadline of each LS request (default 10000)' },
};

/**
 * For commands that read the store without talking to the broker: which provider's records, and
 * for KIS and Kiwoom which environment's (the mock-trading host's records are kept apart).
 */
const RECORDS_OPTIONS: Readonly<Record<string, OptionSpec>> = {
  provider,
  appkey,
  'base-url': { type: 'string', arg: '<url>', env: 'LS_BASE_URL', help: 'the gateway your daemons use (KIS, Kiwoom: its mock-trading host keeps its own records)' },
};

/** Options that select the token store. */
const STORE_OPTIONS: Readonly<Record<string, OptionSpec>> = {
  store: { type: 'string', arg: '<url>', env: 'LS_TOKEN_STORE', help: 'redis://[user:pass@]host:port[/db], rediss://…, sqlite://<path>, or memory' },
  namespace: { type: 'string', arg: '<prefix>', env: 'LS_TOKEN_NAMESPACE', help: 'key prefix inside the store, the lifecycle\'s `namespace` option (default ls-token)' },
  'keyv-namespace': {
    type: 'string',
    arg: '<ns>',
    env: 'LS_KEYV_NAMESPACE',
    help: 'keyv namespace of the store (default: none for redis, "keyv" for sqlite; must match your daemons)',
  },
  'encryption-key': {
    type: 'string',
    envOnly: true,
    env: 'LS_TOKEN_ENCRYPTION_KEY',
    fileOption: 'encryption-key-file',
    help: 'encryption key of tokens at rest (64 hex or base64), if your daemons set encryptionKey',
  },
  'encryption-key-file': {
    type: 'string',
    arg: '<path>',
    env: 'LS_TOKEN_ENCRYPTION_KEY_FILE',
    help: 'read the encryption key from this file (mode 0600), or from stdin with -',
  },
};

/** Every command, in help order. */
export const COMMANDS: readonly CommandSpec[] = [
  {
    name: 'issue',
    summary: 'get a token for the app key (adopts a valid stored one unless --new)',
    description: [
      'Prints the token\'s fingerprint, expiry and planned revocation; the raw token only with --reveal.',
      'Like a daemon, it adopts a valid token already in the store, because LS keeps ONE live token per',
      'app key: --new issues a fresh one, which kills the previous token of the app key (daemons sharing',
      'the store adopt the new one on their next IGW00121). The token is recorded in the store and is not',
      'revoked when the command exits; `sweep` or a daemon revokes it at its revokeAt. A failed request',
      '(5xx, timeout, rate limit) is retried with backoff until --deadline-ms. With --provider kis, a',
      'request within 6 h of the token\'s issuance gets the same token back (kiwoom: while it lives), and',
      'KIS allows one issuance a minute.',
    ].join('\n'),
    maxPositionals: 0,
    options: {
      new: { type: 'boolean', help: 'issue a new token even if a valid one is stored (kills the previous one)' },
      reveal: { type: 'boolean', help: 'also print the raw access token (a secret: mind your terminal and logs)' },
      'deadline-ms': { type: 'string', arg: '<ms>', help: 'give up retrying after this long (default 30000)' },
      json,
      utc,
      ...LS_OPTIONS,
      ...STORE_OPTIONS,
      ...SECRET_FILE_OPTIONS,
      debug,
      help,
    },
  },
  {
    name: 'revoke',
    summary: 'revoke one token, read from stdin or --token-file, or chosen by --id fingerprint',
    operands: '[-]',
    description: [
      'Revokes one token at LS now and records it as revoked (reason manual). The raw token is read from',
      'stdin (`-`, or no argument when stdin is not a terminal) or from --token-file, never from the command',
      'line (ps and shell history would show it). --id takes the full 64-hex id or a unique prefix of at',
      'least 6 hex digits, as printed by `list`. A string that is not an LS access token of this app key',
      '(a typo, a truncated paste, another key\'s token) is refused before anything is sent, because LS',
      'would answer "invalid token", which reads as "already revoked". LS answering "already invalid"',
      '(IGW00121/22/23) for a real token counts as done. Exit 1 when the token is still alive.',
    ].join('\n'),
    maxPositionals: 1,
    options: {
      id: { type: 'string', arg: '<fingerprint>', help: 'the token\'s id or a unique prefix of it (see `list`)' },
      'token-file': { type: 'string', arg: '<path>', help: 'read the raw token from this file (mode 0600)' },
      'deadline-ms': { type: 'string', arg: '<ms>', help: 'give up retrying after this long (default 30000)' },
      json,
      ...LS_OPTIONS,
      ...STORE_OPTIONS,
      ...SECRET_FILE_OPTIONS,
      debug,
      help,
    },
  },
  {
    name: 'list',
    summary: 'table of tracked tokens: id, state, issued, expires, revokeAt, reason, holders',
    description: [
      'Lists the token records in the store (never raw tokens). With an app key configured only its',
      'records are shown, unless --all. `holders` counts the live leases of running lifecycles.',
      'Needs a store (--store or LS_TOKEN_STORE) but no app secret.',
    ].join('\n'),
    maxPositionals: 0,
    options: {
      all: { type: 'boolean', help: 'records of every app key in the store' },
      state: { type: 'string', arg: '<states>', help: 'comma-separated: active,revoking,revoked,failed,expired' },
      json,
      utc,
      ...RECORDS_OPTIONS,
      ...STORE_OPTIONS,
      ...SECRET_FILE_OPTIONS,
      debug,
      help,
    },
  },
  {
    name: 'sweep',
    summary: 'revoke every due, owed or orphaned token of the app key',
    description: [
      'Runs one lifecycle sweep and waits for the revocations it starts: tokens past their revokeAt,',
      'tokens left `revoking` by a dead process, and older tokens no live process holds. The newest',
      'valid token stays for the next daemon to adopt until its revokeAt, even if nobody holds it yet',
      '(as a daemon\'s own sweep does), unless --revoke-shared. Tokens held by live processes are never touched.',
      'A progress bar on a terminal, one line per token otherwise. The last line ends with',
      '"N tokens still alive" (exit 1) when any token it took on was not revoked.',
    ].join('\n'),
    maxPositionals: 0,
    options: {
      'revoke-shared': { type: 'boolean', help: 'revoke the newest valid token too when no live process holds it (no daemon will adopt it)' },
      'keep-shared': { type: 'boolean', help: 'the default (kept for scripts): leave the newest valid token for the next daemon' },
      'deadline-ms': { type: 'string', arg: '<ms>', help: 'stop waiting after this long (default 60000)' },
      concurrency: { type: 'string', arg: '<n>', help: 'revocations in flight at once (default 8)' },
      json,
      ...LS_OPTIONS,
      ...STORE_OPTIONS,
      ...SECRET_FILE_OPTIONS,
      debug,
      help,
    },
  },
  {
    name: 'status',
    summary: 'what a lifecycle starting now would do: adopt, refresh, revoke',
    description: [
      'Reads the store and explains what a TokenLifecycle (default options) starting now would do:',
      'records by state, live holders, which token it would adopt, when that token is refreshed and',
      'revoked, and which tokens its first sweep would revoke. Changes nothing; needs no app secret.',
      'It ends with a health line; with --exit-code it exits 1 when the store shows trouble (a token whose',
      'revocation failed or is owed by a process that is gone, a token past its revokeAt that nobody revoked,',
      'more than one live token for the app key), for liveness probes and cron checks.',
      'With --prometheus it prints the store-side figures (tokens by state, leases, owed revocations, health)',
      'in Prometheus\' text format instead, for a node_exporter textfile collector or a cron job.',
    ].join('\n'),
    maxPositionals: 0,
    options: {
      'refresh-margin-ms': { type: 'string', arg: '<ms>', help: 'the lifecycle\'s refreshMarginMs (default 300000)' },
      'exit-code': { type: 'boolean', help: 'exit 1 when the health line reports a problem (default: exit 0 whatever it says)' },
      prometheus: { type: 'boolean', help: 'print the store-side figures in Prometheus\' text format (for a textfile collector)' },
      json,
      utc,
      ...RECORDS_OPTIONS,
      ...STORE_OPTIONS,
      ...SECRET_FILE_OPTIONS,
      debug,
      help,
    },
  },
  {
    name: 'mock-server',
    summary: 'run a mock LS (or KIS, Kiwoom) server in the foreground (to try things out or rehearse its day and faults)',
    description: [
      'Serves POST /oauth2/token, POST /oauth2/revoke and TR calls (any other POST path) as LS does:',
      'tokens die at the next 07:00 KST, a new token kills the app key\'s previous one, TR answers carry',
      'tr_cont/tr_cont_key, a dead token answers IGW00121 (IGW00123 expired), and FOCCQ33600 on /stock/accno',
      'answers the login account query (a paper key\'s rsp_msg says 모의투자). Without --credentials-file any',
      'app key and secret are accepted. The credentials file is JSON: [{"appKey":"…","appSecretKey":"…","paper":false}]',
      '(secrets never go on the command line). Faults: endpoint token|revoke|tr|any, kind http500 (LS JSON),',
      'http500-text (plain text), rate-limit, invalid-token, malformed, hang, reset; several comma-separated.',
      '--control serves /__mock/state, /__mock/faults, /__mock/tokens/kill and /__mock/clock to loopback',
      'callers only. Prints its URL; stop it with Ctrl-C.',
      '--provider kis serves POST /oauth2/tokenP and /oauth2/revokeP (JSON, one issuance a minute per app key',
      'answered EGW00133, the same token within --same-token-window-ms, TR calls under /uapi/); --provider',
      'kiwoom serves POST /oauth2/token and /oauth2/revoke (JSON, errors at HTTP 200 with the code in',
      'return_msg, the live token on every re-issue). --cutoff and --lifetime-field are LS\'s only.',
    ].join('\n'),
    maxPositionals: 0,
    options: {
      provider: { ...provider, help: 'the broker to mock: ls (default), kis or kiwoom' },
      port: { type: 'string', arg: '<port>', help: 'TCP port, 0 for any free one (default 8080)' },
      host: { type: 'string', arg: '<host>', help: 'interface (default 127.0.0.1)' },
      'credentials-file': { type: 'string', arg: '<path>', env: 'LS_MOCK_CREDENTIALS_FILE', help: 'JSON array of accepted {appKey, appSecretKey, paper?} (default: accept any)' },
      cutoff: { type: 'string', arg: '<HH:MM|none>', help: 'daily KST time every token dies at (default 07:00, as LS)' },
      'lifetime-s': { type: 'string', arg: '<s>', help: 'longest token lifetime in seconds (default 86400)' },
      'lifetime-field': { type: 'string', arg: '<name>', help: 'expires_in (number, default) or expire_in (numeric string)' },
      'min-issue-interval-ms': { type: 'string', arg: '<ms>', help: 'refuse a second issuance per app key within this (default: LS 0, off; KIS 60000; Kiwoom 0)' },
      'same-token-window-ms': { type: 'string', arg: '<ms>', help: 'KIS: answer the same token within this long of its issuance (default 21600000, 6 h)' },
      'latency-ms': { type: 'string', arg: '<ms>', help: 'delay before every answer (default 0)' },
      reissue: { type: 'string', arg: '<mode>', help: 'a new token\'s effect on the previous one: invalidate-previous (default) or independent; kiwoom: same-token (default) too' },
      'revoke-code': { type: 'string', arg: '<type>', help: 'LS, KIS: revoke success code as a number (default) or string' },
      fault: { type: 'string', arg: '<endpoint:kind[:count],…>', env: 'LS_MOCK_FAULTS', help: 'faults armed at start, e.g. token:http500:2,revoke:reset' },
      control: { type: 'boolean', help: 'serve the control endpoint /__mock/… (loopback callers only)' },
      ...SECRET_FILE_OPTIONS,
      debug,
      help,
    },
  },
];

/** Parsed options: strings and booleans by long name. */
export type OptionValues = Readonly<Record<string, string | boolean | undefined>>;

/** What {@link parseCommandLine} found. */
export type ParsedCommandLine =
  | { readonly kind: 'none' }
  | { readonly kind: 'help' }
  | { readonly kind: 'version' }
  | { readonly kind: 'command'; readonly spec: CommandSpec; readonly values: OptionValues; readonly positionals: readonly string[] };

/** A usage error: exit code 2. */
export function usageError(message: string, field?: string): LsTokenError {
  return new LsTokenError(ErrorCodes.INVALID_OPTION, message, field === undefined ? {} : { field });
}

/** The spec of command `name`, if it exists. */
export function findCommand(name: string): CommandSpec | undefined {
  return COMMANDS.find((c) => c.name === name);
}

/** The options of `spec` that are real command-line flags (not `envOnly`). */
export function flagOptions(spec: CommandSpec): [string, OptionSpec][] {
  return Object.entries(spec.options).filter(([, o]) => o.envOnly !== true);
}

/** Where to put an `envOnly` secret instead of a flag, e.g. `LS_APPSECRETKEY or --appsecretkey-file <path>`. */
export function secretSource(option: OptionSpec): string {
  return `${option.env ?? 'its environment variable'}${option.fileOption === undefined ? '' : ` or --${option.fileOption} <path>`}`;
}

/** The option name of a command-line word: `--name` or `--name=value` gives `name` (never the value). */
function flagName(word: string): string | undefined {
  return /^--([^=]+)/.exec(word)?.[1];
}

/**
 * Refuses `envOnly` secrets given as flags, in any command, before anything else reads the line.
 * @throws LsTokenError `ERR_INVALID_OPTION` naming the flag and where the secret goes instead.
 */
function refuseSecretFlags(words: readonly string[]): void {
  for (const word of words) {
    if (word === '--') return;
    const name = flagName(word);
    if (name === undefined) continue;
    for (const c of COMMANDS) {
      const o = c.options[name];
      if (o?.envOnly === true) {
        throw usageError(`--${name} is not accepted: a secret on the command line shows in ps; set ${secretSource(o)}`, name);
      }
    }
  }
}

/**
 * Parses `argv` (without `node` and the script). The command comes first; `--help`/`-h` and
 * `--version` also work on their own. No arguments at all gives `none` (usage on stderr, exit 2).
 *
 * @throws LsTokenError `ERR_INVALID_OPTION` for an unknown command or option, a missing value, too
 *   many arguments or a secret given as a flag. Messages never repeat argument values (they may be
 *   secrets), only option names.
 */
export function parseCommandLine(argv: readonly string[]): ParsedCommandLine {
  refuseSecretFlags(argv);
  const [first, ...rest] = argv;
  if (first === undefined) return { kind: 'none' };
  if (first === '--help' || first === '-h' || first === 'help') return { kind: 'help' };
  if (first === '--version' || first === '-v') return { kind: 'version' };
  if (first.startsWith('-')) {
    const shown = flagName(first) === undefined ? '' : ` --${flagName(first)}`;
    throw usageError(`the command must come first, e.g. "ls-token list${shown}" (commands: ${COMMANDS.map((c) => c.name).join(', ')})`);
  }
  const spec = findCommand(first);
  if (spec === undefined) {
    // Echo the word only when it looks like a mistyped command, never a pasted secret.
    const shown = /^[a-z][a-z-]{0,19}$/i.test(first) ? ` "${first}"` : '';
    throw usageError(`unknown command${shown} (commands: ${COMMANDS.map((c) => c.name).join(', ')})`);
  }

  const options: Record<string, { type: 'string' | 'boolean'; short?: string }> = {};
  for (const [name, o] of flagOptions(spec)) options[name] = o.short === undefined ? { type: o.type } : { type: o.type, short: o.short };
  let parsed: { values: Record<string, string | boolean | undefined>; positionals: string[] };
  try {
    parsed = parseArgs({ args: [...rest], options, strict: true, allowPositionals: true }) as typeof parsed;
  } catch (err) {
    throw usageError(`${describeParseError(err, spec)} (see "ls-token ${spec.name} --help")`);
  }
  if (parsed.values['help'] === true) return { kind: 'command', spec, values: { help: true }, positionals: [] };
  if (parsed.positionals.length > spec.maxPositionals) {
    throw usageError(
      spec.maxPositionals === 0
        ? `"${spec.name}" takes no arguments, only options (see "ls-token ${spec.name} --help")`
        : `"${spec.name}" takes at most ${spec.maxPositionals} argument (see "ls-token ${spec.name} --help")`,
    );
  }
  return { kind: 'command', spec, values: parsed.values, positionals: parsed.positionals };
}

/** A parseArgs error in our words, naming the option but never quoting a value. */
function describeParseError(err: unknown, spec: CommandSpec): string {
  const code = (err as { code?: unknown }).code;
  const message = err instanceof Error ? err.message : '';
  const option = /'(-{1,2}[\w-]+)/.exec(message)?.[1];
  switch (code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION':
      return `unknown option ${option ?? ''} for "${spec.name}"`.replace('  ', ' ');
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE':
      return option === undefined ? 'an option is missing its value or takes none' : `option ${option} is missing its value or takes none`;
    default:
      return 'invalid command line';
  }
}
