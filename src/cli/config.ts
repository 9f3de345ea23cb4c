/**
 * Resolves the CLI's configuration: a flag wins over its environment variable, which wins over
 * the default. Secrets are registered with the {@link Output} as soon as they are read, so that
 * no later message can print them.
 */
import { readFile } from 'node:fs/promises';
import { DEFAULT_PREFIX } from '../store/token-store.js';
import type { CommandSpec, OptionValues } from './args.js';
import { usageError } from './args.js';
import type { Output } from './output.js';
import { parseStoreUrl, type StoreSpec } from './store-url.js';

/** Reads options of one command: flags first, then their environment variables. */
export class ConfigReader {
  readonly #spec: CommandSpec;
  readonly #values: OptionValues;
  readonly #env: Readonly<Record<string, string | undefined>>;

  constructor(spec: CommandSpec, values: OptionValues, env: Readonly<Record<string, string | undefined>>) {
    this.#spec = spec;
    this.#values = values;
    this.#env = env;
  }

  /** The string value of option `name` (flag, then env); `undefined` when absent or empty. */
  string(name: string): string | undefined {
    const v = this.#values[name];
    if (typeof v === 'string') return v === '' ? undefined : v;
    const env = this.#spec.options[name]?.env;
    const e = env === undefined ? undefined : this.#env[env];
    return e === undefined || e === '' ? undefined : e;
  }

  /** The value of option `name` given as a flag (not from the environment); `undefined` when absent or empty. */
  flagString(name: string): string | undefined {
    const v = this.#values[name];
    return typeof v === 'string' && v !== '' ? v : undefined;
  }

  /** The value of the environment variable of option `name`; `undefined` when unset or empty. */
  envString(name: string): string | undefined {
    const env = this.#spec.options[name]?.env;
    const e = env === undefined ? undefined : this.#env[env];
    return e === undefined || e === '' ? undefined : e;
  }

  /** Whether switch `name` was given. */
  flag(name: string): boolean {
    return this.#values[name] === true;
  }

  /** Whether option `name` was given at all (an empty string counts). */
  given(name: string): boolean {
    if (this.#values[name] !== undefined) return true;
    const env = this.#spec.options[name]?.env;
    return env !== undefined && this.#env[env] !== undefined;
  }

  /** The raw value of `name` including an empty string (flag, then env). */
  raw(name: string): string | undefined {
    const v = this.#values[name];
    if (typeof v === 'string') return v;
    const env = this.#spec.options[name]?.env;
    return env === undefined ? undefined : this.#env[env];
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
      throw usageError(`--${name} must be an integer from ${min} to ${max}`, name);
    }
    return n;
  }

  /** A label naming where option `name` comes from: `--flag` or `$ENV`. */
  source(name: string): string {
    const env = this.#spec.options[name]?.env;
    return env === undefined ? `--${name}` : `--${name} or ${env}`;
  }
}

/** LS credentials and endpoint. */
export interface LsConfig {
  /** The app key. */
  readonly appKey: string;
  /** The app secret. */
  readonly appSecretKey: string;
  /** The gateway URL, if not the default. */
  readonly baseUrl: string | undefined;
  /** Per-request deadline, ms. */
  readonly timeoutMs: number;
}

/** Where tokens are tracked. */
export interface StoreConfig {
  /** The parsed store URL. */
  readonly spec: StoreSpec;
  /** Key prefix inside the store (the lifecycle's `namespace`). */
  readonly namespace: string;
  /** keyv namespace, when not the adapter default. */
  readonly keyvNamespace: string | undefined;
  /** Encryption key for tokens at rest, if any. */
  readonly encryptionKey: string | undefined;
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
 * Credentials and endpoint for commands that talk to LS.
 * @throws LsTokenError `ERR_INVALID_OPTION` when something required is missing.
 */
export async function readLsConfig(cfg: ConfigReader, out: Output): Promise<LsConfig> {
  const appKey = requireAppKey(cfg, out);
  // Flags win over the environment; a secret and a secret file given the same way are ambiguous.
  const fromFile = async (file: string): Promise<string> => {
    try {
      return (await readFile(file, 'utf8')).trim();
    } catch (err) {
      throw usageError(`cannot read the app secret file (${(err as NodeJS.ErrnoException).code ?? 'error'})`, 'appsecretkey-file');
    }
  };
  const flagSecret = cfg.flagString('appsecretkey');
  const flagFile = cfg.flagString('appsecretkey-file');
  const envSecret = cfg.envString('appsecretkey');
  const envFile = cfg.envString('appsecretkey-file');
  if (flagSecret !== undefined && flagFile !== undefined) throw usageError('give the app secret once: --appsecretkey or --appsecretkey-file', 'appsecretkey');
  if (flagSecret === undefined && flagFile === undefined && envSecret !== undefined && envFile !== undefined) {
    throw usageError('both LS_APPSECRETKEY and LS_APPSECRETKEY_FILE are set: unset one', 'appsecretkey');
  }
  const appSecretKey =
    flagSecret ?? (flagFile !== undefined ? await fromFile(flagFile) : (envSecret ?? (envFile !== undefined ? await fromFile(envFile) : undefined)));
  if (appSecretKey === undefined || appSecretKey === '') {
    throw usageError(`no app secret: set LS_APPSECRETKEY, LS_APPSECRETKEY_FILE or --appsecretkey-file`, 'appsecretkey');
  }
  out.addSecret(appSecretKey);
  return {
    appKey,
    appSecretKey,
    baseUrl: cfg.string('base-url'),
    timeoutMs: cfg.integer('timeout-ms', 10_000, 1, 600_000),
  };
}

/**
 * The store configuration.
 * @throws LsTokenError `ERR_INVALID_OPTION` for a store URL we cannot open.
 */
export function readStoreConfig(cfg: ConfigReader, out: Output): StoreConfig {
  const spec = parseStoreUrl(cfg.string('store'));
  if (spec.kind === 'redis') out.addSecret(spec.password);
  const encryptionKey = cfg.string('encryption-key');
  out.addSecret(encryptionKey);
  return {
    spec,
    namespace: cfg.string('namespace') ?? DEFAULT_PREFIX,
    keyvNamespace: cfg.given('keyv-namespace') ? (cfg.raw('keyv-namespace') ?? '') : undefined,
    encryptionKey,
  };
}
