/**
 * What every command receives, and the helpers they share to open the store and build a
 * lifecycle with the CLI's settings.
 */
import { hostname } from 'node:os';
import type { Keyv } from 'keyv';
import { TokenLifecycle, type TokenLifecycleOptions } from '../lifecycle/token-lifecycle.js';
import type { TokenStore } from '../store/token-store.js';
import { usageError } from './args.js';
import type { ConfigReader, LsConfig, StoreConfig } from './config.js';
import type { Output } from './output.js';
import type { StdinOnce } from './secret-input.js';
import { type ModuleImporter, type OpenedKeyv, openKeyv, prepareSqliteFile, probeStore, tokenStoreOn } from './store-url.js';

/** The environment of one command run. */
export interface CommandContext {
  /** Redacting output. */
  readonly out: Output;
  /** The command's options and environment. */
  readonly cfg: ConfigReader;
  /** Positional arguments. */
  readonly positionals: readonly string[];
  /** Stdin, readable once (a `-` file name, or the token of `revoke`). */
  readonly stdin: StdinOnce;
  /** Clock, epoch ms. */
  readonly now: () => number;
  /** Module loader for the optional store adapters (tests replace it). */
  readonly importer?: ModuleImporter | undefined;
}

/** A command: resolves to the exit code (0 done, 1 failed or partly failed). */
export type Command = (ctx: CommandContext) => Promise<number>;

/** An open store: the keyv, a token store on it, and how to close it. */
export interface OpenStore {
  /** The keyv (give it to a lifecycle as `store`). */
  readonly keyv: Keyv;
  /** A token store with the CLI's prefix and encryption key. */
  readonly store: TokenStore;
  /** The store, safe to print. */
  readonly display: string;
  /** Closes connections. */
  close(): Promise<void>;
}

/**
 * What a command does with a store it is not pointed at (the in-memory store, empty at start):
 * `refuse` for commands that only make sense on the daemons' store (`list`, `status`, `sweep`:
 * reading an empty store would report "nothing"), `warn` for those that still do their job.
 */
export type MemoryStorePolicy = 'refuse' | 'warn';

/**
 * Opens and probes the configured store, runs `fn`, and closes the store whatever happens.
 * @throws LsTokenError `ERR_INVALID_OPTION` when the command needs a real store and has none, or
 *   its sqlite file does not exist; `ERR_STORE` when the store does not answer.
 */
export async function withStore<T>(ctx: CommandContext, store: StoreConfig, memory: MemoryStorePolicy, fn: (s: OpenStore) => Promise<T>): Promise<T> {
  const command = ctx.cfg.command.name;
  if (store.spec.kind === 'memory') {
    const hint = 'point it at your daemons\' store with --store <url> or LS_TOKEN_STORE (redis://host:6379, sqlite://<path>)';
    if (memory === 'refuse') {
      const why = store.source === undefined ? `no store given` : `${store.source} is memory, which is empty in a new process`;
      throw usageError(`"${command}" reads the token store and ${why}: ${hint}`, 'store');
    }
    ctx.out.err(`ls-token: note: no store: nothing is recorded where daemons or "sweep" can see it (an issued token stays alive, untracked); ${hint}`);
  }
  if (store.spec.kind === 'sqlite') {
    const warning = await prepareSqliteFile(store.spec, store.source ?? '--store', memory === 'refuse');
    if (warning !== undefined) ctx.out.err(`ls-token: warning: ${warning}`);
  }
  const opened: OpenedKeyv = await openKeyv(store.spec, store.keyvNamespace, ctx.importer);
  try {
    const tokenStore = tokenStoreOn(opened, store.namespace, store.encryptionKey);
    await probeStore(tokenStore, opened);
    return await fn({ keyv: opened.keyv, store: tokenStore, display: opened.display, close: opened.close });
  } finally {
    await opened.close();
  }
}

/** An instance id that says the CLI is the owner, for records and leases. */
export function cliInstanceId(): string {
  return `ls-token-cli-${hostname().replace(/[^\w.-]/g, '_').slice(0, 40)}-${process.pid}`;
}

/**
 * A lifecycle for one CLI command: no periodic sweep, never revokes the current token on
 * shutdown (the command's own work decides that), and the given extra options.
 */
export function cliLifecycle(ls: LsConfig, store: StoreConfig, s: OpenStore, extra: Partial<TokenLifecycleOptions> = {}): TokenLifecycle {
  return new TokenLifecycle({
    provider: ls.provider,
    appKey: ls.appKey,
    appSecretKey: ls.appSecretKey,
    ...(ls.baseUrl === undefined ? {} : { baseUrl: ls.baseUrl }),
    ...(ls.allowInsecureHttp ? { allowInsecureHttp: true } : {}),
    timeoutMs: ls.timeoutMs,
    store: s.keyv,
    namespace: store.namespace,
    ...(store.encryptionKey === undefined ? {} : { encryptionKey: store.encryptionKey }),
    instanceId: cliInstanceId(),
    sweepIntervalMs: 0,
    revokeOnShutdown: 'never',
    ...extra,
  });
}
