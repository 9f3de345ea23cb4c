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

  /**
   * Registers `secret` (again). Values shorter than {@link MIN_SECRET_LENGTH} are ignored.
   * @throws LsTokenError `ERR_INVALID_OPTION` (field `secret`) when it is not a string or longer
   *   than 65536 characters; the value is never echoed.
   */
  add(secret: string): void {
    if (typeof secret !== 'string') throw invalidOption('secret', 'must be a string');
    if (secret.length > MAX_SECRET_LENGTH) throw invalidOption('secret', `must be at most ${MAX_SECRET_LENGTH} characters`);
    if (secret.length < MIN_SECRET_LENGTH) return;
    this.#counts.set(secret, (this.#counts.get(secret) ?? 0) + 1);
  }

  /** Takes back one registration of `secret`; the value stops being scrubbed when none is left. */
  delete(secret: string): void {
    const n = this.#counts.get(secret);
    if (n === undefined) return;
    if (n > 1) this.#counts.set(secret, n - 1);
    else this.#counts.delete(secret);
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
   * (`\"`, `\\`, `\/`, `\uXXXX`), or percent-encoded inside JSON-escaped text (or the reverse);
   * then anything shaped like a JWT by `[token]`. Cut text only after scrubbing it, so that no
   * prefix of a secret survives.
   */
  scrub(text: string): string {
    const s = typeof text === 'string' ? text : String(text);
    if (this.#counts.size === 0 || s.length === 0) return scrubTokens(s);
    // Decoded views only where there is something to decode (most text has neither '\\' nor '%').
    const views = [identity(s)];
    const json = s.includes('\\') ? decodeJsonEscapes(s) : undefined;
    const pct = s.includes('%') ? decodePercent(s) : undefined;
    if (json !== undefined) views.push(json);
    if (pct !== undefined) views.push(pct);
    if (json !== undefined && pct !== undefined) views.push(compose(json, decodePercent), compose(pct, decodeJsonEscapes));
    const spans: Array<[number, number]> = [];
    for (const secret of this.#counts.keys()) {
      for (const view of views) {
        for (let at = view.text.indexOf(secret); at !== -1; at = view.text.indexOf(secret, at + 1)) {
          spans.push([view.start(at), view.end(at + secret.length - 1)]);
        }
      }
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
