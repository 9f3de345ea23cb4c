/**
 * Where the CLI reads secrets and raw tokens from, besides the environment: files and stdin.
 *
 * A secret file must be private (no access for group or others) unless the user says
 * `--allow-shared-secret-file`: a world-readable secret file is a leak that already happened.
 * The file is opened once and checked through that handle (no window between the check and the
 * read). Stdin can feed one thing per run (`-` as a file name, or the token of `revoke -`).
 * Errors name the flag or variable and the path, never the content.
 */
import { open } from 'node:fs/promises';
import { formatMode, isOpenToOthers } from '../integrations/private-file.js';
import { usageError } from './args.js';

/** Largest secret or token file read, bytes (LS tokens are at most 1000 characters). */
const MAX_FILE_BYTES = 64 * 1024;

/** Reads all of a stream as UTF-8, trimmed. */
export async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    const b = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
    size += b.length;
    if (size > MAX_FILE_BYTES) throw usageError(`stdin holds more than ${MAX_FILE_BYTES} bytes: not a secret or a token`);
    chunks.push(b);
  }
  return Buffer.concat(chunks).toString('utf8').trim();
}

/** Stdin, readable once per run, for one named purpose. */
export class StdinOnce {
  readonly #stream: () => NodeJS.ReadableStream;
  #usedFor: string | undefined;

  /** @param stream gives stdin when first needed (touching `process.stdin` opens a handle). */
  constructor(stream: () => NodeJS.ReadableStream) {
    this.#stream = stream;
  }

  /** True when stdin is a terminal (nobody piped anything in). */
  isTTY(): boolean {
    return (this.#stream() as { isTTY?: boolean }).isTTY === true;
  }

  /**
   * All of stdin, trimmed, as `what` (e.g. `token`, `app secret`).
   * @throws LsTokenError `ERR_INVALID_OPTION` when stdin was already read for something else, or is empty.
   */
  async read(what: string): Promise<string> {
    if (this.#usedFor !== undefined) throw usageError(`stdin already gives the ${this.#usedFor}: give the ${what} another way (a file or the environment)`);
    this.#usedFor = what;
    const text = await readAll(this.#stream());
    if (text === '') throw usageError(`no ${what} on stdin`);
    return text;
  }
}

/** What {@link readSecretFile} needs. */
export interface SecretFileRequest {
  /** The path, or `-` for stdin. */
  readonly path: string;
  /** Where the path came from, named in errors: `--appsecretkey-file` or `LS_APPSECRETKEY_FILE`. */
  readonly source: string;
  /** What the file holds, e.g. `app secret`. */
  readonly what: string;
  /** `--allow-shared-secret-file` was given. */
  readonly allowShared: boolean;
  /** Stdin, for `-`. */
  readonly stdin: StdinOnce;
}

/**
 * The trimmed content of a private file (or of stdin for `-`).
 * @throws LsTokenError `ERR_INVALID_OPTION` naming `source` and the path: missing or unreadable
 *   file, not a regular file, open to group or others (unless allowed), empty, too large.
 */
export async function readSecretFile(req: SecretFileRequest): Promise<string> {
  const { path, source, what } = req;
  if (path === '-') return req.stdin.read(what);
  const field = source.startsWith('--') ? source.slice(2) : source;
  let handle;
  try {
    handle = await open(path, 'r');
  } catch (err) {
    throw usageError(`cannot read the ${what} file ${path} (${source}): ${describeFsError(err)}`, field);
  }
  try {
    const st = await handle.stat();
    if (!st.isFile()) throw usageError(`the ${what} file ${path} (${source}) is not a regular file`, field);
    if (isOpenToOthers(st.mode) && !req.allowShared) {
      throw usageError(
        `the ${what} file ${path} (${source}) is open to group or others (mode ${formatMode(st.mode)}): chmod 600 ${path}, or pass --allow-shared-secret-file`,
        field,
      );
    }
    if (st.size > MAX_FILE_BYTES) throw usageError(`the ${what} file ${path} (${source}) is larger than ${MAX_FILE_BYTES} bytes`, field);
    const text = (await handle.readFile('utf8')).trim();
    if (text === '') throw usageError(`the ${what} file ${path} (${source}) is empty`, field);
    return text;
  } catch (err) {
    if ((err as { code?: unknown }).code === 'ERR_INVALID_OPTION') throw err;
    throw usageError(`cannot read the ${what} file ${path} (${source}): ${describeFsError(err)}`, field);
  } finally {
    await handle.close();
  }
}

function describeFsError(err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  switch (code) {
    case 'ENOENT':
      return 'no such file (ENOENT)';
    case 'EACCES':
    case 'EPERM':
      return `permission denied (${code})`;
    case 'EISDIR':
      return 'it is a directory (EISDIR)';
    default:
      return code ?? (err instanceof Error ? err.name : 'error');
  }
}
