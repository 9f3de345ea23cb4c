/**
 * Reading the KST wall-clock times brokers write without a zone: KIS's
 * `access_token_token_expired` (`"YYYY-MM-DD HH:MM:SS"`) and Kiwoom's `expires_dt`
 * (`"YYYYMMDDHHMMSS"`). Korea keeps UTC+9 all year (no daylight saving). Reading them as the host's
 * local time, as some clients do, makes a token look valid for up to 9 h too long on a UTC host.
 */

/** KST's offset from UTC, ms. */
const KST_OFFSET_MS = 9 * 3_600_000;

const DATE_TIME = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})$/;
const COMPACT = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})$/;

function fromParts(m: RegExpExecArray | null): number | undefined {
  if (m === null) return undefined;
  const [y, mo, d, h, mi, s] = m.slice(1).map(Number) as [number, number, number, number, number, number];
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 59) return undefined;
  const utc = Date.UTC(y, mo - 1, d, h, mi, s);
  // Date.UTC rolls 31 April over into May: a date that does not exist is not believed.
  if (new Date(utc).getUTCDate() !== d) return undefined;
  return utc - KST_OFFSET_MS;
}

/** `"YYYY-MM-DD HH:MM:SS"` read as KST, epoch ms; `undefined` when it is not such a time. */
export function parseKstDateTime(text: unknown): number | undefined {
  return typeof text === 'string' ? fromParts(DATE_TIME.exec(text)) : undefined;
}

/** `"YYYYMMDDHHMMSS"` read as KST, epoch ms; `undefined` when it is not such a time. */
export function parseKstCompact(text: unknown): number | undefined {
  return typeof text === 'string' ? fromParts(COMPACT.exec(text)) : undefined;
}
