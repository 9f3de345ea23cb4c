/**
 * Where the CLI writes, with redaction: every line goes through {@link Output.redact}, which
 * replaces the secrets the CLI knows (app secret, app key, raw tokens it has seen) and anything
 * shaped like a JWT. Only {@link Output.reveal} writes a secret, and only `--reveal` calls it.
 */
import { scrubTokens } from '../core/errors.js';
import { MIN_SECRET_LENGTH } from '../core/redact.js';

/** A writable stream as the CLI uses it (a TTY has `isTTY` and `columns`). */
export interface CliWritable {
  /** Writes text. */
  write(text: string): unknown;
  /** True when the stream is a terminal. */
  readonly isTTY?: boolean | undefined;
  /** Terminal width, when a terminal. */
  readonly columns?: number | undefined;
}

/** The process environment the CLI runs in; injectable for tests. */
export interface CliStreams {
  /** Results. */
  readonly stdout: CliWritable;
  /** Errors, warnings and progress. */
  readonly stderr: CliWritable;
  /** Read by `revoke -`. */
  readonly stdin: NodeJS.ReadableStream;
  /** Environment variables. */
  readonly env: Readonly<Record<string, string | undefined>>;
}

const REDACTED = '[redacted]';

/** Redacting writer over {@link CliStreams}. */
export class Output {
  /** The underlying streams. */
  readonly streams: CliStreams;
  readonly #secrets = new Set<string>();

  constructor(streams: CliStreams) {
    this.streams = streams;
  }

  /**
   * Registers a value that must never be printed. Values shorter than `minLength` (default 4; for a
   * raw token, the provider's `minTokenLength`) are ignored: they cannot be the secret, and
   * scrubbing them would mangle ordinary words.
   */
  addSecret(value: string | undefined, minLength = MIN_SECRET_LENGTH): void {
    if (value !== undefined && value.length >= Math.max(minLength, MIN_SECRET_LENGTH)) this.#secrets.add(value);
  }

  /** `text` with every known secret and every JWT-shaped string replaced. */
  redact(text: string): string {
    let out = text;
    // Longest first, so a secret containing another is replaced whole.
    for (const s of [...this.#secrets].sort((a, b) => b.length - a.length)) out = out.split(s).join(REDACTED);
    return scrubTokens(out);
  }

  /** Writes one line to stdout, redacted. */
  out(line = ''): void {
    this.streams.stdout.write(`${this.redact(line)}\n`);
  }

  /** Writes one line to stderr, redacted. */
  err(line: string): void {
    this.streams.stderr.write(`${this.redact(line)}\n`);
  }

  /** Writes a value as pretty JSON to stdout, redacted. */
  json(value: unknown): void {
    this.out(JSON.stringify(value, null, 2));
  }

  /** Writes one line to stdout WITHOUT redaction. Only for output the user asked for with `--reveal`. */
  reveal(line: string): void {
    this.streams.stdout.write(`${line}\n`);
  }
}
