/**
 * The help texts of `ls-token`, generated from the option table of `args.ts` (the one the parser
 * uses) and the exit-code table of `exit-codes.ts`: nothing here is written twice.
 */
import { COMMANDS, type CommandSpec, type OptionSpec, flagOptions, secretSource } from './args.js';
import { EXIT_CODE_HELP } from './exit-codes.js';

const USAGE_WIDTH = 100;

/**
 * The complete usage of `spec`, generated from its option table: `usage: ls-token <name>
 * [operands] [--flag <arg>]…`, every flag listed, wrapped at 100 columns.
 */
export function usageLine(spec: CommandSpec): string {
  const words = [
    ...(spec.operands === undefined ? [] : [spec.operands]),
    ...flagOptions(spec).map(([name, o]) => `[${o.short === undefined ? '' : `-${o.short}|`}--${name}${o.arg === undefined ? '' : ` ${o.arg}`}]`),
  ];
  const head = `usage: ls-token ${spec.name}`;
  const lines: string[] = [];
  let line = head;
  for (const w of words) {
    if (line.length + 1 + w.length > USAGE_WIDTH && line.trim().length > 0 && line !== head) {
      lines.push(line);
      line = ''.padEnd(head.length);
    }
    line += ` ${w}`;
  }
  lines.push(line);
  return lines.join('\n');
}

/** An option's broker-specific variables, e.g. `kis: KIS_APPKEY; kiwoom: KIWOOM_APPKEY`, or `''`. */
function providerEnvText(o: OptionSpec): string {
  return Object.entries(o.providerEnv ?? {})
    .map(([p, env]) => `${p}: ${env}`)
    .join('; ');
}

/** The top-level help: commands, environment variables and exit codes, all from the tables. */
export function generalHelp(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  const envs = new Map<string, string>();
  for (const c of COMMANDS) {
    for (const [name, o] of Object.entries(c.options)) {
      if (o.env !== undefined && !envs.has(o.env)) envs.set(o.env, o.envOnly === true ? `${o.help} (no flag${o.fileOption === undefined ? '' : `; or --${o.fileOption}`})` : `--${name}`);
      for (const [p, env] of Object.entries(o.providerEnv ?? {})) if (!envs.has(env)) envs.set(env, `read before ${o.env} with --provider ${p}`);
    }
  }
  const envWidth = Math.max(...[...envs.keys()].map((e) => e.length));
  return [
    'usage: ls-token <command> [options]',
    '',
    'Operate the broker access tokens tracked by ls-token-lifecycle: LS (default), KIS or Kiwoom (--provider).',
    '',
    'commands:',
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    'environment (a flag wins over its variable; secrets have no flag, only a variable or a file):',
    ...[...envs].map(([e, what]) => `  ${e.padEnd(envWidth)}  ${what}`),
    '',
    'exit codes:',
    ...EXIT_CODE_HELP.map(([code, what]) => `  ${code}  ${what}`),
    '',
    'run "ls-token <command> --help" for the options of a command.',
  ].join('\n');
}

/** The help of one command. */
export function commandHelp(spec: CommandSpec): string {
  const rows = flagOptions(spec).map(([name, o]) => {
    const flag = `${o.short === undefined ? '    ' : `-${o.short}, `}--${name}${o.arg === undefined ? '' : ` ${o.arg}`}`;
    const extra = providerEnvText(o);
    return [flag, `${o.help}${o.env === undefined ? '' : ` [env ${o.env}${extra === '' ? '' : `; ${extra}`}]`}`] as const;
  });
  const secrets = Object.values(spec.options).filter((o) => o.envOnly === true);
  const width = Math.min(34, Math.max(...rows.map(([f]) => f.length)));
  return [
    usageLine(spec),
    '',
    spec.description,
    '',
    'options:',
    ...rows.map(([f, h]) => (f.length > width ? `  ${f}\n  ${''.padEnd(width)}  ${h}` : `  ${f.padEnd(width)}  ${h}`)),
    ...(secrets.length === 0
      ? []
      : [
          '',
          'secrets (never a flag: the command line shows in ps):',
          ...secrets.flatMap((o) => [`  ${secretSource(o)}: ${o.help}`, ...(o.providerEnv === undefined ? [] : [`    read first with --provider ${providerEnvText(o)}`])]),
        ]),
  ].join('\n');
}
