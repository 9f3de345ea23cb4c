/**
 * Store URLs of the CLI (`LS_TOKEN_STORE` / `--store`) and how they are opened:
 *
 * | URL | keyv | daemon-side equivalent |
 * |---|---|---|
 * | none, `memory` | in-memory | `new Keyv()` (forgotten at exit) |
 * | `redis://…`, `rediss://…` | `@keyv/redis` | `createKeyv({ url, socket: { connectTimeout: 2000, reconnectStrategy: false } }, { throwOnErrors: true })` |
 * | `sqlite://<path>` | `@keyv/sqlite` | `new Keyv({ store: new KeyvSqlite({ uri, busyTimeout: 5000 }), throwOnErrors: true })` |
 *
 * A sqlite file is created by the CLI itself with mode 0600 before the adapter opens it (see
 * {@link prepareSqliteFile}): it holds live tokens.
 *
 * The adapters are optional peer dependencies, loaded with `import()` only when such a URL is
 * used; a missing one is a one-line error naming the package to install. Redis is opened with a
 * short connect timeout and no reconnect loop, so a Redis that is down is an error within seconds
 * instead of a hang.
 */
import { stat } from 'node:fs/promises';
import { Keyv } from 'keyv';
import { ErrorCodes, LsTokenError } from '../core/errors.js';
import { ensurePrivateFile } from '../integrations/private-file.js';
import { TokenStore } from '../store/token-store.js';
import { usageError } from './args.js';

/** A parsed store URL. `display` is safe to print (password replaced). */
export type StoreSpec =
  | { readonly kind: 'memory'; readonly display: string }
  | { readonly kind: 'redis'; readonly url: string; readonly password: string | undefined; readonly display: string }
  | { readonly kind: 'sqlite'; readonly uri: string; readonly path: string; readonly display: string };

/** Redis connect timeout of the CLI, ms. */
export const REDIS_CONNECT_TIMEOUT_MS = 2_000;
/** SQLite busy timeout of the CLI, ms. */
export const SQLITE_BUSY_TIMEOUT_MS = 5_000;

/**
 * Parses a store URL.
 * @param source where the URL came from (`--store` or `LS_TOKEN_STORE`), named in errors.
 * @throws LsTokenError `ERR_INVALID_OPTION` (field `store`) for an unknown scheme or a malformed URL.
 */
export function parseStoreUrl(text: string | undefined, source = '--store'): StoreSpec {
  const t = text?.trim() ?? '';
  if (t === '' || t === 'memory' || t === 'memory://') return { kind: 'memory', display: 'memory (in-process, empty at start)' };
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(t)?.[1]?.toLowerCase();
  if (scheme === 'redis' || scheme === 'rediss') {
    let url: URL;
    try {
      url = new URL(t);
    } catch {
      throw usageError(`${source} is not a valid redis:// URL`, 'store');
    }
    if (url.hostname === '') throw usageError(`${source}: the redis URL has no host`, 'store');
    const password = url.password === '' ? undefined : decodeURIComponent(url.password);
    const shown = new URL(t);
    if (shown.password !== '') shown.password = '***';
    return { kind: 'redis', url: t, password, display: shown.toString() };
  }
  if (scheme === 'sqlite') {
    const path = t.slice('sqlite://'.length);
    if (!t.toLowerCase().startsWith('sqlite://') || path === '') throw usageError(`${source}: a sqlite store URL needs a file: sqlite://<path>, e.g. sqlite://./tokens.sqlite`, 'store');
    return { kind: 'sqlite', uri: `sqlite://${path}`, path, display: `sqlite://${path}` };
  }
  throw usageError(`${source}: the store must be redis://…, rediss://…, sqlite://<path> or memory`, 'store');
}

/**
 * Makes the file of a sqlite store private before the adapter opens it: a missing file is created
 * with mode 0600 (unless `mustExist`: a command that only reads a store refuses a path where none
 * is, which is a typo far more often than a new store); an existing file open to group or others
 * gives a warning. SQLite's `:memory:` has no file.
 * @returns the warning to print, if any.
 * @throws LsTokenError `ERR_INVALID_OPTION` naming the path when `mustExist` and there is no file;
 *   `ERR_STORE` when the file cannot be created.
 */
export async function prepareSqliteFile(spec: Extract<StoreSpec, { kind: 'sqlite' }>, source: string, mustExist: boolean): Promise<string | undefined> {
  if (spec.path === ':memory:') return undefined;
  if (mustExist) {
    try {
      await stat(spec.path);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? 'error';
      throw usageError(`${source}: no store file at ${spec.path} (${code}): check the path (this command only reads a store)`, 'store');
    }
  }
  return (await ensurePrivateFile(spec.path)).warning;
}

/** Loads a module by name; injectable so tests can simulate a missing adapter. */
export type ModuleImporter = (name: string) => Promise<unknown>;

const defaultImporter: ModuleImporter = (name) => import(name);

/**
 * Loads an optional peer dependency.
 * @throws LsTokenError `ERR_INVALID_OPTION` (field `store`) naming the package when it is not installed.
 */
export async function importOptional(name: string, scheme: string, importer: ModuleImporter = defaultImporter): Promise<unknown> {
  try {
    return await importer(name);
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    if (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') {
      throw new LsTokenError(ErrorCodes.INVALID_OPTION, `a ${scheme}:// store needs the optional package ${name}, which is not installed: npm install ${name}`, {
        field: 'store',
        cause: err,
      });
    }
    throw new LsTokenError(ErrorCodes.STORE, `cannot load ${name}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
}

/** An opened keyv store and what the CLI needs around it. */
export interface OpenedKeyv {
  /** The keyv instance. */
  readonly keyv: Keyv;
  /** The safe description of the store. */
  readonly display: string;
  /** The last connection error the adapter reported, if any (for a clearer message). */
  lastError(): Error | undefined;
  /** Closes connections; never rejects. */
  close(): Promise<void>;
}

/**
 * Opens the keyv store described by `spec`.
 * @param keyvNamespace keyv namespace; `undefined` for the adapter's default (none for Redis,
 *   `keyv` for SQLite), `''` for none.
 * @throws LsTokenError `ERR_INVALID_OPTION` when the adapter package is missing.
 */
export async function openKeyv(spec: StoreSpec, keyvNamespace: string | undefined, importer?: ModuleImporter): Promise<OpenedKeyv> {
  let keyv: Keyv;
  if (spec.kind === 'memory') {
    keyv = new Keyv({ throwOnErrors: true });
  } else if (spec.kind === 'redis') {
    const mod = (await importOptional('@keyv/redis', spec.kind, importer)) as typeof import('@keyv/redis');
    keyv = mod.createKeyv(
      { url: spec.url, socket: { connectTimeout: REDIS_CONNECT_TIMEOUT_MS, reconnectStrategy: false } },
      { throwOnErrors: true, ...(keyvNamespace ? { namespace: keyvNamespace } : {}) },
    );
  } else {
    const mod = (await importOptional('@keyv/sqlite', spec.kind, importer)) as typeof import('@keyv/sqlite');
    const adapter = new mod.default({ uri: spec.uri, busyTimeout: SQLITE_BUSY_TIMEOUT_MS });
    keyv =
      keyvNamespace === undefined
        ? new Keyv({ store: adapter, throwOnErrors: true })
        : new Keyv({ store: adapter, throwOnErrors: true, namespace: keyvNamespace, useKeyPrefix: keyvNamespace !== '' });
  }
  let last: Error | undefined;
  keyv.on('error', (err: unknown) => {
    if (err instanceof Error) last = err;
  });
  return {
    keyv,
    display: spec.display,
    lastError: () => last,
    close: async () => {
      try {
        await keyv.disconnect();
      } catch {
        // Closing is best effort: the process is about to exit.
      }
    },
  };
}

/**
 * Checks that the store answers, so that an unreachable store is one clear error before any work.
 * @throws LsTokenError `ERR_STORE` naming the store (password hidden) and the cause.
 */
export async function probeStore(store: TokenStore, opened: OpenedKeyv): Promise<void> {
  try {
    await store.getMeta('cli-probe');
  } catch (err) {
    const cause = opened.lastError()?.message ?? (err instanceof Error ? err.message.replace(/^Token store [^:]*:\s*(Error:\s*)?/, '') : String(err));
    throw new LsTokenError(ErrorCodes.STORE, `cannot use the token store ${opened.display}: ${cause.slice(0, 200)}`, { retryable: true, cause: err });
  }
}

/** A {@link TokenStore} on an opened keyv with the CLI's prefix and key. */
export function tokenStoreOn(opened: OpenedKeyv, namespace: string, encryptionKey: string | undefined): TokenStore {
  return new TokenStore({ keyv: opened.keyv, prefix: namespace, ...(encryptionKey === undefined ? {} : { encryptionKey }) });
}
