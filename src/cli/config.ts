/**
 * Resolves the CLI's configuration: a flag wins over its environment variable, which wins over
 * the default. Secrets come only from the environment, a private file or stdin (see
 * `secret-input.ts`), and are registered with the {@link Output} as soon as they are read, so that
 * no later message can print them. Errors name the flag or variable the bad value came from.
 */
import { isLsTokenError } from '../core/errors.js';
import { requireBaseUrl } from '../core/validate.js';
import type { ProviderName } from '../providers/provider.js';
import { PROVIDER_NAMES } from '../providers/registry.js';
import { DEFAULT_PREFIX } from '../store/token-store.js';
import type { CommandSpec, OptionValues } from './args.js';
import { secretSource, usageError } from './args.js';
import type { Output } from './output.js';
import { readSecretFile, type StdinOnce } from './secret-input.js';
import { parseStoreUrl, type StoreSpec } from './store-url.js';

/**
 * Reads options of one command: flags first, then their environment variables. With `--provider
 * kis` or `kiwoom`, an option's broker-specific variable (`KIS_APPKEY`, `KIWOOM_SECRETKEY`, ...) is
 * read before its `LS_` one.
 */
export class ConfigReader {
  readonly #spec: CommandSpec;
  readonly #values: OptionValues;
  readonly #env: Readonly<Record<string, string | undefined>>;
  #provider: ProviderName | undefined;

  constructor(spec: CommandSpec, values: OptionValues, env: Readonly<Record<string, string | undefined>>) {
    this.#spec = spec;
    this.#values = values;
    this.#env = env;
  }

  /**
   * The broker named by `--provider` or `LS_PROVIDER`; `'ls'` when neither is given.
   * @throws LsTokenError `ERR_INVALID_OPTION` naming the flag or variable.
   */
  provider(): ProviderName {
    if (this.#provider !== undefined) return this.#provider;
    const text = this.string('provider');
    if (text !== undefined && !(PROVIDER_NAMES as readonly string[]).includes(text)) {
      throw usageError(`${this.origin('provider')} must be ${PROVIDER_NAMES.join(', ')}`, 'provider');
    }
    this.#provider = (text as ProviderName | undefined) ?? 'ls';
    return this.#provider;
  }

  /** The variables option `name` is read from, most specific first (the provider's own, then `env`). */
  #envNames(name: string): string[] {
    const o = this.#spec.options[name];
    if (o === undefined) return [];
    const own = o.providerEnv === undefined ? undefined : o.providerEnv[this.provider()];
    return [...(own === undefined ? [] : [own]), ...(o.env === undefined ? [] : [o.env])];
  }

  /** The first of option `name`'s variables that is set (an empty value counts), if any. */
  #envOf(name: string): { readonly name: string; readonly value: string } | undefined {
    for (const env of this.#envNames(name)) {
      const value = this.#env[env];
      if (value !== undefined) return { name: env, value };
    }
    return undefined;
  }

  /** The string value of option `name` (flag, then env); `undefined` when absent or empty. */
  string(name: string): string | undefined {
    const v = this.#values[name];
    if (typeof v === 'string') return v === '' ? undefined : v;
    return this.envString(name);
  }

  /** The value of option `name` given as a flag (not from the environment); `undefined` when absent or empty. */
  flagString(name: string): string | undefined {
    const v = this.#values[name];
    return typeof v === 'string' && v !== '' ? v : undefined;
  }

  /** The value of the environment variable of option `name`; `undefined` when unset or empty. */
  envString(name: string): string | undefined {
    for (const env of this.#envNames(name)) {
      const e = this.#env[env];
      if (e !== undefined && e !== '') return e;
    }
    return undefined;
  }

  /** The name of the variable option `name`'s value comes from (the provider's own or `env`), if one is set. */
  envName(name: string): string | undefined {
    return this.#envOf(name)?.name ?? this.#spec.options[name]?.env;
  }

  /** The command these options belong to. */
  get command(): CommandSpec {
    return this.#spec;
  }

  /** Whether switch `name` was given. */
  flag(name: string): boolean {
    return this.#values[name] === true;
  }

  /** Whether option `name` was given at all (an empty string counts). */
  given(name: string): boolean {
    return this.#values[name] !== undefined || this.#envOf(name) !== undefined;
  }

  /** The raw value of `name` including an empty string (flag, then env). */
  raw(name: string): string | undefined {
    const v = this.#values[name];
    if (typeof v === 'string') return v;
    return this.#envOf(name)?.value;
  }

  /**
   * Option `name` as an integer in `[min, max]`, or `def` when absent.
   * @throws LsTokenError `ERR_INVALID_OPTION` naming the flag.
   */
  integer(name: string, def: number, min: number, max: number): number {
    const text = this.string(name);
    if (text === undefined) return def;
    const n = Number(text);
    if (!/^\d+$/.test(text.trim()) || !Number.isSafeInteger(n) || n < min || n > max) {
      throw usageError(`${this.origin(name)} must be an integer from ${min} to ${max}`, name);
    }
    return n;
  }

  /** Where option `name` can be set, for "set …" hints: `--flag or ENV`, `ENV` for an `envOnly` one. */
  source(name: string): string {
    const o = this.#spec.options[name];
    const own = o?.providerEnv?.[this.provider()];
    const ownFirst = own === undefined ? '' : `${own}, `;
    if (o?.envOnly === true) return `${ownFirst}${secretSource(o)}`;
    if (o?.env === undefined) return `--${name}`;
    return own === undefined ? `--${name} or ${o.env}` : `--${name}, ${own} or ${o.env}`;
  }

  /** Where the value of option `name` came from this time: `--flag` when given, else its variable. */
  origin(name: string): string {
    if (typeof this.#values[name] === 'string') return `--${name}`;
    return this.#envOf(name)?.name ?? this.#spec.options[name]?.env ?? `--${name}`;
  }
}

/** The broker, its credentials and endpoint. */
export interface LsConfig {
  /** The broker (`--provider`, `LS_PROVIDER`; default `ls`). */
  readonly provider: ProviderName;
  /** The app key. */
  readonly appKey: string;
  /** The app secret. */
  readonly appSecretKey: string;
  /** The gateway URL, if not the default. */
  readonly baseUrl: string | undefined;
  /** `--allow-insecure-http`: plain http to a non-loopback gateway. */
  readonly allowInsecureHttp: boolean;
  /** Per-request deadline, ms. */
  readonly timeoutMs: number;
}

/** Where tokens are tracked. */
export interface StoreConfig {
  /** The parsed store URL. */
  readonly spec: StoreSpec;
  /** Where the store URL came from (`--store`, `LS_TOKEN_STORE`), or `undefined` when none was given. */
  readonly source: string | undefined;
  /** Key prefix inside the store (the lifecycle's `namespace`). */
  readonly namespace: string;
  /** keyv namespace, when not the adapter default. */
  readonly keyvNamespace: string | undefined;
  /** Encryption key for tokens at rest, if any. */
  readonly encryptionKey: string | undefined;
}

/** What reading the configuration needs from the command's context. */
export interface ConfigInput {
  /** The options. */
  readonly cfg: ConfigReader;
  /** Redacting output (secrets are registered with it). */
  readonly out: Output;
  /** Stdin, for `-` file names. */
  readonly stdin: StdinOnce;
}

/**
 * The app key, or a usage error naming where to set it.
 * @throws LsTokenError `ERR_INVALID_OPTION`.
 */
export function requireAppKey(cfg: ConfigReader, out: Output): string {
  const appKey = cfg.string('appkey');
  if (appKey === undefined) throw usageError(`no app key: set ${cfg.source('appkey')}`, 'appkey');
  out.addSecret(appKey);
  return appKey;
}

/**
 * An `envOnly` secret (`name`) or the content of its file option: `--<name>-file` wins over the
 * environment; the variable and the file variable together are ambiguous.
 * @throws LsTokenError `ERR_INVALID_OPTION` naming the flag, variable or path at fault.
 */
async function readSecret(input: ConfigInput, name: string, what: string): Promise<string | undefined> {
  const { cfg, out } = input;
  const option = cfg.command.options[name];
  const fileName = option?.fileOption;
  if (option === undefined || fileName === undefined) return undefined;
  const fromFile = (path: string): Promise<string> =>
    readSecretFile({ path, source: cfg.origin(fileName), what, allowShared: cfg.flag('allow-shared-secret-file'), stdin: input.stdin });
  const flagFile = cfg.flagString(fileName);
  const envValue = cfg.envString(name);
  const envFile = cfg.envString(fileName);
  if (flagFile === undefined && envValue !== undefined && envFile !== undefined) {
    throw usageError(`both ${cfg.envName(name)} and ${cfg.envName(fileName)} are set: unset one`, name);
  }
  const value = flagFile !== undefined ? await fromFile(flagFile) : (envValue ?? (envFile !== undefined ? await fromFile(envFile) : undefined));
  out.addSecret(value);
  return value;
}

/**
 * The gateway URL (`--base-url`, `LS_BASE_URL`), checked as the library checks it but with the CLI's words.
 * @throws LsTokenError `ERR_INVALID_OPTION` naming `--base-url`/`LS_BASE_URL`.
 */
export function readBaseUrl(cfg: ConfigReader, allowInsecureHttp: boolean): string | undefined {
  const text = cfg.string('base-url');
  if (text === undefined) return undefined;
  const from = cfg.origin('base-url');
  try {
    requireBaseUrl('baseUrl', text, '', allowInsecureHttp); // (the default is never used: text is set)
  } catch (err) {
    if (!isLsTokenError(err)) throw err;
    const problem = /uses plain http/.test(err.message)
      ? 'uses plain http to a host that is not loopback, so the app secret would cross the network in clear: use https, or add --allow-insecure-http if you mean it'
      : err.message.replace(/^Invalid option "baseUrl": /, '');
    throw usageError(`${from} ${problem}`, 'base-url');
  }
  return text;
}

/**
 * Credentials and endpoint for commands that talk to LS.
 * @throws LsTokenError `ERR_INVALID_OPTION` when something required is missing or unsafe.
 */
export async function readLsConfig(input: ConfigInput): Promise<LsConfig> {
  const { cfg, out } = input;
  const provider = cfg.provider();
  const appKey = requireAppKey(cfg, out);
  const appSecretKey = await readSecret(input, 'appsecretkey', 'app secret');
  if (appSecretKey === undefined) throw usageError(`no app secret: set ${cfg.source('appsecretkey')}`, 'appsecretkey');
  const allowInsecureHttp = cfg.flag('allow-insecure-http');
  return {
    provider,
    appKey,
    appSecretKey,
    baseUrl: readBaseUrl(cfg, allowInsecureHttp),
    allowInsecureHttp,
    timeoutMs: cfg.integer('timeout-ms', 10_000, 1, 600_000),
  };
}

/**
 * The store configuration.
 * @throws LsTokenError `ERR_INVALID_OPTION` for a store URL we cannot open or an unreadable key file.
 */
export async function readStoreConfig(input: ConfigInput): Promise<StoreConfig> {
  const { cfg, out } = input;
  const text = cfg.string('store');
  const source = text === undefined ? undefined : cfg.origin('store');
  const spec = parseStoreUrl(text, source ?? '--store');
  if (spec.kind === 'redis') out.addSecret(spec.password);
  const encryptionKey = await readSecret(input, 'encryption-key', 'encryption key');
  return {
    spec,
    source,
    namespace: cfg.string('namespace') ?? DEFAULT_PREFIX,
    keyvNamespace: cfg.given('keyv-namespace') ? (cfg.raw('keyv-namespace') ?? '') : undefined,
    encryptionKey,
  };
}
