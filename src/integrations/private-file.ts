/**
 * Files that hold tokens or secrets, made private to their owner.
 *
 * A SQLite token store holds live access tokens (in clear unless `encryptionKey` is set), so any
 * local user who can read the file can trade with them. SQLite creates a missing database file
 * with mode `0644 & ~umask` (`0644` under the usual umask 022), and its journal files copy the
 * database file's mode. So the file is created here first, with mode `0600` set explicitly (a
 * umask can only take bits away, and `chmod` puts them back to exactly `0600`), before the SQLite
 * adapter opens it. An existing file is left as it is (an operator may share it with a group on
 * purpose) but reported, so that the caller can warn.
 *
 * ```ts
 * const file = await ensurePrivateFile('/var/lib/mydaemon/tokens.sqlite');
 * if (file.warning !== undefined) log.warn(file.warning);
 * const keyv = new Keyv({ store: new KeyvSqlite({ uri: `sqlite://${file.path}` }), throwOnErrors: true });
 * ```
 */
import { constants } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { ErrorCodes, LsTokenError } from '../core/errors.js';

/** Permission bits of a private file: read and write for the owner only. */
export const PRIVATE_FILE_MODE = 0o600;

/** What {@link ensurePrivateFile} found or did. */
export interface PrivateFileResult {
  /** The path, as given. */
  readonly path: string;
  /** True when the file did not exist and was created with mode `0600`. */
  readonly created: boolean;
  /** The permission bits of the file now (e.g. `0o600`). */
  readonly mode: number;
  /** True when group or others have any access to the file (an existing file only). */
  readonly openToOthers: boolean;
  /** A one-line warning to show when {@link openToOthers} (names the path and the mode, never content). */
  readonly warning: string | undefined;
}

/** True when permission bits `mode` give group or others any access. */
export function isOpenToOthers(mode: number): boolean {
  return (mode & 0o077) !== 0;
}

/** `0644`-style octal text of the permission bits of `mode`. */
export function formatMode(mode: number): string {
  return `0${(mode & 0o777).toString(8).padStart(3, '0')}`;
}

/**
 * Creates `path` as an empty file with mode `0600` unless it exists; reports the mode of an
 * existing one. Never changes an existing file.
 *
 * @throws LsTokenError `ERR_STORE` when the file cannot be created or examined (missing
 *   directory, no permission), or when `path` exists but is not a regular file. The message names
 *   the path and the system error code.
 */
export async function ensurePrivateFile(path: string): Promise<PrivateFileResult> {
  if (typeof path !== 'string' || path === '') throw new LsTokenError(ErrorCodes.INVALID_OPTION, 'Invalid option "path": must be a non-empty string', { field: 'path' });
  try {
    // O_EXCL: never follow a planted symlink or take over a file that appeared meanwhile.
    const handle = await open(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, PRIVATE_FILE_MODE);
    try {
      await handle.chmod(PRIVATE_FILE_MODE); // the umask may have removed bits; set exactly 0600
    } finally {
      await handle.close();
    }
    return { path, created: true, mode: PRIVATE_FILE_MODE, openToOthers: false, warning: undefined };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw fileError(path, 'create', err);
  }
  let mode: number;
  try {
    const st = await stat(path);
    if (!st.isFile()) throw new LsTokenError(ErrorCodes.STORE, `${path} is not a regular file`);
    mode = st.mode & 0o777;
  } catch (err) {
    if (err instanceof LsTokenError) throw err;
    throw fileError(path, 'examine', err);
  }
  const open_ = isOpenToOthers(mode);
  return {
    path,
    created: false,
    mode,
    openToOthers: open_,
    warning: open_ ? `${path} holds tokens and is open to group or others (mode ${formatMode(mode)}): chmod 600 ${path}` : undefined,
  };
}

function fileError(path: string, what: string, err: unknown): LsTokenError {
  const code = (err as NodeJS.ErrnoException).code ?? (err instanceof Error ? err.name : 'error');
  return new LsTokenError(ErrorCodes.STORE, `cannot ${what} ${path}: ${code}`, { cause: err });
}
