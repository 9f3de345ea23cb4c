/**
 * Plain-text formatting of the CLI: times (KST by default, since LS expires tokens at 07:00 KST),
 * relative durations and aligned tables. No colours: output is read by people and by `grep`.
 */

const KST_OFFSET_MS = 9 * 60 * 60 * 1000;

/** How times are shown. */
export interface TimeStyle {
  /** UTC instead of KST. */
  readonly utc: boolean;
}

/** `2025-11-24 14:02:11 KST` (or `… UTC`). */
export function formatTime(ms: number, style: TimeStyle): string {
  if (!Number.isFinite(ms)) return '-';
  const iso = new Date(ms + (style.utc ? 0 : KST_OFFSET_MS)).toISOString();
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)} ${style.utc ? 'UTC' : 'KST'}`;
}

/** `11-24 14:02:11`: the compact form used in tables (the zone is in the table's note). */
export function formatShortTime(ms: number, style: TimeStyle): string {
  if (!Number.isFinite(ms)) return '-';
  const iso = new Date(ms + (style.utc ? 0 : KST_OFFSET_MS)).toISOString();
  return `${iso.slice(5, 10)} ${iso.slice(11, 19)}`;
}

/** A duration as `16h57m`, `4m05s`, `12s`, `350ms`. */
export function formatDuration(ms: number): string {
  const a = Math.abs(Math.round(ms));
  if (a < 1000) return `${a}ms`;
  const s = Math.floor(a / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(s % 60).padStart(2, '0')}s`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h}h${String(m % 60).padStart(2, '0')}m`;
  return `${Math.floor(h / 24)}d${String(h % 24).padStart(2, '0')}h`;
}

/** `in 16h57m` or `4m05s ago`, relative to `now`. */
export function formatRelative(ms: number, now: number): string {
  if (!Number.isFinite(ms)) return '';
  return ms >= now ? `in ${formatDuration(ms - now)}` : `${formatDuration(now - ms)} ago`;
}

/** `formatTime` plus the relative form: `2025-11-25 07:00:00 KST (in 16h57m)`. */
export function formatTimeAndRelative(ms: number, now: number, style: TimeStyle): string {
  return `${formatTime(ms, style)} (${formatRelative(ms, now)})`;
}

/**
 * An aligned text table: a header row and the rows, columns separated by two spaces, the last
 * column not padded (no trailing spaces).
 */
export function formatTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}
