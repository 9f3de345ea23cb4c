/**
 * How a test looks for a secret: every way users print an error (message, String, stack, JSON,
 * util.inspect, pino's error serializer) and every encoding a server or backend may have used when
 * it quoted the secret (raw, percent-encoded in either case, form-encoded, JSON-escaped).
 */
import { inspect } from 'node:util';
import pino from 'pino';

/** Every printed form of an error (and of its cause chain) a user's logging could produce. */
export function dumpError(err: unknown): string {
  const e = err as Error & { cause?: unknown };
  const parts = [
    String(err),
    e?.message ?? '',
    e?.stack ?? '',
    safeJson(err),
    inspect(err, { depth: 10, showHidden: false }),
    safeJson(pino.stdSerializers.err(e)),
  ];
  // Users also log the cause on its own: `log.error({ err: err.cause })`, `console.error(err.cause)`.
  let cause = e?.cause;
  for (let depth = 0; cause !== undefined && depth < 5; depth++) {
    parts.push(String(cause), inspect(cause, { depth: 10 }), safeJson(cause), safeJson(pino.stdSerializers.err(cause as Error)));
    cause = (cause as { cause?: unknown }).cause;
  }
  return parts.join('\n');
}

/** JSON.stringify that survives circular structures (an axios error holds its socket) instead of hiding them. */
function safeJson(v: unknown): string {
  const seen = new WeakSet<object>();
  return (
    JSON.stringify(v, (_k, val: unknown) => {
      if (typeof val === 'object' && val !== null) {
        if (seen.has(val)) return '[circular]';
        seen.add(val);
      }
      return val;
    }) ?? ''
  );
}

/** The encodings of `secret` a server or backend could echo. */
export function encodedForms(secret: string): string[] {
  const pct = encodeURIComponent(secret);
  const form = new URLSearchParams([['x', secret]]).toString().slice(2);
  const json = JSON.stringify(secret).slice(1, -1);
  const forms = [
    secret,
    pct,
    pct.replace(/%[0-9A-F]{2}/g, (m) => m.toLowerCase()),
    form,
    json,
    json.replace(/\//g, '\\/'),
    // .NET's default JSON encoder writes + < > & ' as \u00XX.
    json.replace(/[+<>&']/g, (c) => `\\u${c.charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}`),
  ];
  return [...new Set(forms)];
}

/** The forms of `secret` found in `text` (empty when none). */
export function leaksIn(text: string, secret: string): string[] {
  return encodedForms(secret).filter((f) => text.includes(f));
}
