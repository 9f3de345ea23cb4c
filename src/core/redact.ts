/**
 * Scrubbing secrets out of text by value: the app secret and raw tokens the process knows, in the
 * encodings a server or a store backend may quote them in, plus anything shaped like a JWT.
 */
import { inspect } from 'node:util';
import { invalidOption, scrubTokens } from './errors.js';

/** What a scrubbed secret is replaced with. */
export const REDACTED = '[redacted]';

/** Values shorter than this are not registered: scrubbing them would mangle ordinary text. */
export const MIN_SECRET_LENGTH = 4;

/** Longest value accepted by {@link SecretRedactor.add}: the longest token data a stored record may hold. */
const MAX_SECRET_LENGTH = 65_536;

/**
 * A run of this many characters of a registered secret is redacted wherever it appears: a server
 * that splits a secret (part in a code field, the rest in its message) or quotes most of it still
 * gives nothing usable away.
 */
export const SECRET_RUN_LENGTH = 8;

/** How many rounds of decoding (percent, JSON escapes, invisible characters) are undone, at most. */
export const MAX_DECODE_ROUNDS = 4;

/**
 * Invisible and direction-changing characters: zero-width space, non-joiner and joiner
 * (U+200B-U+200D), the bidi embeddings and overrides (U+202A-U+202E) and isolates (U+2066-U+2069),
 * and the byte-order mark (U+FEFF). They hide a secret from a plain search and can reorder what a
 * log line shows.
 */
export const INVISIBLE_CHARS = /[\u200b-\u200d\u202a-\u202e\u2066-\u2069\ufeff]/;
const JWT_SHAPE = /eyJ[\w-]*\.[\w-]*\.?[\w-]*/g;

/**
 * Text decoded from one encoding, with where each decoded character came from: `start(i)` and
 * `end(i)` are the [start, end) offsets in the input of the decoded character `i`.
 */
interface Decoded {
  readonly text: string;
  start(i: number): number;
  end(i: number): number;
}

function decoded(text: string, starts: number[], ends: number[]): Decoded {
  return { text, start: (i) => starts[i]!, end: (i) => ends[i]! };
}

function isHex(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 70) || (c >= 97 && c <= 102);
}

/** Undoes JSON string escapes (`\"`, `\\`, `\/`, `\uXXXX` in either case, `\n`...). */
function decodeJsonEscapes(input: string): Decoded {
  let text = '';
  const starts: number[] = [];
  const ends: number[] = [];
  const SIMPLE: Record<string, string> = { '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' };
  for (let i = 0; i < input.length; ) {
    if (input[i] === '\\' && i + 1 < input.length) {
      const next = input[i + 1]!;
      if (next === 'u' && i + 5 < input.length && [2, 3, 4, 5].every((k) => isHex(input.charCodeAt(i + k)))) {
        text += String.fromCharCode(parseInt(input.slice(i + 2, i + 6), 16));
        starts.push(i);
        ends.push(i + 6);
        i += 6;
        continue;
      }
      const simple = SIMPLE[next];
      if (simple !== undefined) {
        text += simple;
        starts.push(i);
        ends.push(i + 2);
        i += 2;
        continue;
      }
    }
    text += input[i];
    starts.push(i);
    ends.push(i + 1);
    i += 1;
  }
  return decoded(text, starts, ends);
}

/** Undoes percent-encoding (either hex case; multi-byte UTF-8 sequences decoded whole). */
function decodePercent(input: string): Decoded {
  let text = '';
  const starts: number[] = [];
  const ends: number[] = [];
  const byteAt = (i: number): number =>
    input[i] === '%' && i + 2 < input.length && isHex(input.charCodeAt(i + 1)) && isHex(input.charCodeAt(i + 2)) ? parseInt(input.slice(i + 1, i + 3), 16) : -1;
  for (let i = 0; i < input.length; ) {
    const b = byteAt(i);
    if (b >= 0 && b < 0x80) {
      text += String.fromCharCode(b);
      starts.push(i);
      ends.push(i + 3);
      i += 3;
      continue;
    }
    const n = b >= 0xf0 && b < 0xf8 ? 4 : b >= 0xe0 ? 3 : b >= 0xc0 ? 2 : 0;
    if (n > 0) {
      const bytes = [b];
      for (let k = 1; k < n; k++) {
        const c = byteAt(i + 3 * k);
        if (c < 0x80 || c >= 0xc0) break;
        bytes.push(c);
      }
      if (bytes.length === n) {
        const units = Buffer.from(bytes).toString('utf8');
        for (const u of units) {
          text += u;
          starts.push(i);
          ends.push(i + 3 * n);
        }
        i += 3 * n;
        continue;
      }
    }
    text += input[i];
    starts.push(i);
    ends.push(i + 1);
    i += 1;
  }
  return decoded(text, starts, ends);
}

/** Drops the {@link INVISIBLE_CHARS}: a secret interleaved with U+200B is found whole. */
function stripInvisible(input: string): Decoded {
  let text = '';
  const starts: number[] = [];
  const ends: number[] = [];
  for (let i = 0; i < input.length; i++) {
    if (INVISIBLE_CHARS.test(input[i]!)) continue;
    text += input[i];
    starts.push(i);
    ends.push(i + 1);
  }
  return decoded(text, starts, ends);
}

/** The decodings tried, each only on text that holds what it undoes. */
const DECODERS: ReadonlyArray<{ applies: (text: string) => boolean; decode: (input: string) => Decoded }> = [
  { applies: (t) => t.includes('\\'), decode: decodeJsonEscapes },
  { applies: (t) => t.includes('%'), decode: decodePercent },
  { applies: (t) => INVISIBLE_CHARS.test(t), decode: stripInvisible },
];

/**
 * `text` and every distinct text that decoding it gives, for up to {@link MAX_DECODE_ROUNDS}
 * rounds of any decoding in any order (`%254c` is `%4c` after one round and `L` after two): the
 * fixed point, or the bound, whichever comes first.
 */
function decodedViews(text: string): Decoded[] {
  const views: Decoded[] = [identity(text)];
  const seen = new Set([text]);
  let frontier = views;
  for (let round = 0; round < MAX_DECODE_ROUNDS && frontier.length > 0; round++) {
    const next: Decoded[] = [];
    for (const view of frontier) {
      for (const d of DECODERS) {
        if (!d.applies(view.text)) continue;
        const out = compose(view, d.decode);
        if (seen.has(out.text)) continue;
        seen.add(out.text);
        views.push(out);
        next.push(out);
      }
    }
    frontier = next;
  }
  return views;
}

/** `decode` applied to the output of `first`, with offsets mapped back to `first`'s input. */
function compose(first: Decoded, decode: (input: string) => Decoded): Decoded {
  const second = decode(first.text);
  return { text: second.text, start: (i) => first.start(second.start(i)), end: (i) => first.end(second.end(i) - 1) };
}

/** The text itself. */
function identity(text: string): Decoded {
  return { text, start: (i) => i, end: (i) => i + 1 };
}

/** `text` with the union of `spans` ([start, end) offsets) replaced, one `[redacted]` per merged run. */
function replaceSpans(text: string, spans: Array<[number, number]>): string {
  spans.sort((a, b) => a[0] - b[0] || b[1] - a[1]);
  let out = '';
  let pos = 0;
  let i = 0;
  while (i < spans.length) {
    let [start, end] = spans[i]!;
    for (i++; i < spans.length && spans[i]![0] < end; i++) end = Math.max(end, spans[i]![1]);
    if (start < pos) start = pos;
    out += text.slice(pos, start) + REDACTED;
    pos = end;
  }
  return out + text.slice(pos);
}

/**
 * Knows the secrets of one process (the app secret, the raw tokens it holds) and removes them from
 * any text: {@link SecretRedactor.scrub} replaces every occurrence of a registered value, whether
 * raw, percent-encoded, form-encoded or JSON-escaped, with `[redacted]`, then anything shaped like a
 * JWT with `[token]`.
 *
 * Registrations are counted: a value added twice (e.g. by the lifecycle that holds a token and by
 * the client revoking it) stays registered until it was deleted twice, so sharing one redactor
 * between {@link LsOAuthClient}, {@link TokenStore} and the lifecycle is safe.
 *
 * `util.inspect` and `JSON.stringify` show only how many values are registered, never the values.
 *
 * @example
 * ```ts
 * const redactor = new SecretRedactor();
 * const client = new LsOAuthClient({ appKey, appSecretKey, redactor }); // registers the secret
 * const store = new TokenStore({ keyv, redactor });
 * redactor.add(rawToken);    // while the token is held
 * redactor.delete(rawToken); // once it has ended
 * ```
 */
export class SecretRedactor {
  readonly #counts = new Map<string, number>();
  /** Every {@link SECRET_RUN_LENGTH}-character run of an indexed secret, with how many distinct secrets hold it. */
  readonly #runs = new Map<string, number>();
  /** The secrets whose runs are in {@link #runs}. */
  readonly #indexed = new Set<string>();
  /**
   * Secrets registered or dropped since the runs were last indexed. The index is brought up to date
   * when text is scrubbed, not at each add/delete: a store write registers a plain token for the
   * length of the write (a backend error may quote it), and indexing its runs there and back cost
   * more than the write itself, for text that is scrubbed only when something fails.
   */
  readonly #changed = new Set<string>();

  #indexRuns(secret: string, delta: 1 | -1): void {
    const seen = new Set<string>();
    for (let i = 0; i + SECRET_RUN_LENGTH <= secret.length; i++) {
      const run = secret.slice(i, i + SECRET_RUN_LENGTH);
      if (seen.has(run)) continue;
      seen.add(run);
      const n = (this.#runs.get(run) ?? 0) + delta;
      if (n > 0) this.#runs.set(run, n);
      else this.#runs.delete(run);
    }
  }

  /**
   * Registers `secret` (again). Values shorter than {@link MIN_SECRET_LENGTH} are ignored.
   * @throws LsTokenError `ERR_INVALID_OPTION` (field `secret`) when it is not a string or longer
   *   than 65536 characters; the value is never echoed.
   */
  add(secret: string): void {
    if (typeof secret !== 'string') throw invalidOption('secret', 'must be a string');
    if (secret.length > MAX_SECRET_LENGTH) throw invalidOption('secret', `must be at most ${MAX_SECRET_LENGTH} characters`);
    if (secret.length < MIN_SECRET_LENGTH) return;
    const n = this.#counts.get(secret) ?? 0;
    this.#counts.set(secret, n + 1);
    if (n === 0) this.#pending(secret);
  }

  /** Takes back one registration of `secret`; the value stops being scrubbed when none is left. */
  delete(secret: string): void {
    const n = this.#counts.get(secret);
    if (n === undefined) return;
    if (n > 1) this.#counts.set(secret, n - 1);
    else {
      this.#counts.delete(secret);
      this.#pending(secret);
    }
  }

  /**
   * Notes that `secret`'s registration changed. One added and dropped again before any scrub (a
   * store write's plain token) leaves nothing pending: a daemon that never scrubs must not keep
   * every token it ever wrote.
   */
  #pending(secret: string): void {
    if (this.#counts.has(secret) === this.#indexed.has(secret)) this.#changed.delete(secret);
    else this.#changed.add(secret);
  }

  /** Brings the runs index up to date with the registrations (see {@link #changed}). */
  #syncRuns(): void {
    for (const secret of this.#changed) {
      const registered = this.#counts.has(secret);
      if (registered === this.#indexed.has(secret)) continue; // added and dropped again meanwhile
      this.#indexRuns(secret, registered ? 1 : -1);
      if (registered) this.#indexed.add(secret);
      else this.#indexed.delete(secret);
    }
    this.#changed.clear();
  }

  /** Whether `secret` is registered. */
  has(secret: string): boolean {
    return this.#counts.has(secret);
  }

  /** How many distinct values are registered. */
  get size(): number {
    return this.#counts.size;
  }

  /**
   * `text` with every registered value replaced by `[redacted]`, whether it appears raw,
   * percent-encoded (either hex case, as by `encodeURIComponent` or in a form body), JSON-escaped
   * (`\"`, `\\`, `\/`, `\uXXXX`), interleaved with invisible characters (U+200B-U+200D, the
   * bidi controls U+202A-U+202E and U+2066-U+2069, U+FEFF), or any mix of these up to 4 layers deep
   * (`%254c` is a double-encoded `L`). A run of 8 or more characters of a registered secret is
   * replaced too, wherever it stands; then anything shaped like a JWT, raw
   * (`[token]`) or encoded (`[redacted]`). Cut text only after scrubbing it, so that no prefix of a
   * secret survives.
   */
  scrub(text: string): string {
    const s = typeof text === 'string' ? text : String(text);
    if (s.length === 0) return s;
    // Decoded views only where there is something to decode (most text has no '\\', '%' or invisible character).
    const views = decodedViews(s);
    if (this.#changed.size > 0) this.#syncRuns();
    const spans: Array<[number, number]> = [];
    for (const view of views) {
      const t = view.text;
      for (const secret of this.#counts.keys()) {
        for (let at = t.indexOf(secret); at !== -1; at = t.indexOf(secret, at + 1)) spans.push([view.start(at), view.end(at + secret.length - 1)]);
      }
      if (this.#runs.size > 0) {
        for (let i = 0; i + SECRET_RUN_LENGTH <= t.length; i++) {
          if (this.#runs.has(t.slice(i, i + SECRET_RUN_LENGTH))) spans.push([view.start(i), view.end(i + SECRET_RUN_LENGTH - 1)]);
        }
      }
      // A token this process never held has its shape only: find that shape under the encodings too.
      if (view.text !== s) for (const m of t.matchAll(JWT_SHAPE)) spans.push([view.start(m.index), view.end(m.index + m[0].length - 1)]);
    }
    return scrubTokens(spans.length === 0 ? s : replaceSpans(s, spans));
  }

  /** Only the number of registered values. */
  toJSON(): {
    /** How many distinct values are registered. */
    size: number;
  } {
    return { size: this.size };
  }

  /** `SecretRedactor { size: n }`: never the values. */
  [inspect.custom](): string {
    return `SecretRedactor { size: ${this.size} }`;
  }
}
