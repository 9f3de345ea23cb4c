/**
 * The one way every mock builds its TR route table: the built-in routes, then the user's (a user
 * route with the same key replaces the built-in one), each checked once.
 *
 * @module
 */
import { mockOptionError } from './faults.js';
import { KST_OFFSET_MS } from './mock-jwt.js';

/**
 * A route table keyed by `keyOf(route)`.
 *
 * @param isRoute whether a value is a well-formed route.
 * @param shape what a route needs, for the error message.
 * @throws LsTokenError `ERR_INVALID_OPTION` (field `trRoutes`) for a malformed route.
 */
export function buildRouteTable<R>(builtIns: readonly R[], extra: unknown, isRoute: (r: unknown) => r is R, keyOf: (r: R) => string, shape: string): ReadonlyMap<string, R> {
  if (extra !== undefined && !Array.isArray(extra)) throw mockOptionError('trRoutes', `trRoutes must be an array of ${shape}`);
  const table = new Map<string, R>();
  for (const r of [...builtIns, ...((extra as unknown[] | undefined) ?? [])]) {
    if (!isRoute(r)) throw mockOptionError('trRoutes', `every route needs ${shape}`);
    table.set(keyOf(r), r);
  }
  return table;
}

/** A route object: an object whose `path` starts with `/` and whose `answer` is a function. */
export function isRouteLike(r: unknown): r is { readonly path: string; answer(...args: never[]): unknown } {
  if (typeof r !== 'object' || r === null) return false;
  const o = r as { path?: unknown; answer?: unknown };
  return typeof o.path === 'string' && o.path.startsWith('/') && typeof o.answer === 'function';
}

/** `YYYYMMDD` of the KST calendar day `daysBack` days before `ms`. */
export function kstYmd(ms: number, daysBack = 0): string {
  return new Date(ms + KST_OFFSET_MS - daysBack * 86_400_000).toISOString().slice(0, 10).replace(/-/g, '');
}

/** `HHMMSS` of `ms` in KST. */
export function kstHms(ms: number): string {
  return new Date(ms + KST_OFFSET_MS).toISOString().slice(11, 19).replace(/:/g, '');
}
