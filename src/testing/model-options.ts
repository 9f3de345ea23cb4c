/**
 * Option checks every mock model shares: credentials lists, enumerations, the clock, the random
 * source and the signing secret. Each failure is a typed `ERR_INVALID_OPTION` naming the option and
 * never quoting a secret.
 *
 * @module
 */
import { mockOptionError } from './faults.js';

/** Accepted secrets (and the paper flag) by app key; `undefined` means "any credentials". */
export type MockAccounts = ReadonlyMap<string, { readonly secret: string; readonly paper: boolean }>;

/** A finite number >= 0. */
export function isNonNegativeFinite(v: unknown): v is number {
  return typeof v === 'number' && Number.isFinite(v) && v >= 0;
}

/** An optional value from a fixed set (strings or numbers). */
export function oneOf<T extends string | number>(field: string, value: unknown, allowed: readonly T[], def: T): T {
  if (value === undefined) return def;
  if (!(allowed as readonly unknown[]).includes(value)) {
    throw mockOptionError(field, `${field} must be ${allowed.map((a) => (typeof a === 'string' ? `'${a}'` : String(a))).join(' or ')}, got ${JSON.stringify(value)}`);
  }
  return value as T;
}

/** An optional duration in ms (finite, >= 0). */
export function optionalMs(field: string, value: unknown, def: number): number {
  if (value === undefined) return def;
  if (!isNonNegativeFinite(value)) throw mockOptionError(field, `${field} must be a finite number >= 0, got ${String(value)}`);
  return value;
}

/** An optional positive integer number of seconds. */
export function optionalSeconds(field: string, value: unknown, def: number): number {
  if (value === undefined) return def;
  if (!(Number.isSafeInteger(value) && (value as number) > 0)) throw mockOptionError(field, `${field} must be a positive integer, got ${String(value)}`);
  return value as number;
}

/**
 * A credentials option: `'any'` (or absent) gives `undefined`; a list of `{ appKey, appSecretKey,
 * paper? }` gives the accounts by app key.
 */
export function resolveCredentials(c: unknown): MockAccounts | undefined {
  if (c === undefined || c === 'any') return undefined;
  if (!Array.isArray(c)) throw mockOptionError('credentials', `credentials must be 'any' or an array of { appKey, appSecretKey, paper? }`);
  const accounts = new Map<string, { secret: string; paper: boolean }>();
  for (const [i, x] of c.entries()) {
    const cred = x as { appKey?: unknown; appSecretKey?: unknown; paper?: unknown } | null;
    if (typeof cred?.appKey !== 'string' || cred.appKey === '' || typeof cred.appSecretKey !== 'string' || cred.appSecretKey === '') {
      throw mockOptionError('credentials', `credential #${i + 1} needs a non-empty appKey and appSecretKey`);
    }
    if (cred.paper !== undefined && typeof cred.paper !== 'boolean') throw mockOptionError('credentials', `credential #${i + 1}: paper must be a boolean`);
    accounts.set(cred.appKey, { secret: cred.appSecretKey, paper: cred.paper === true });
  }
  return accounts;
}

/** The options every model takes: its clock, random source and signing secret. */
export interface CommonModelOptions {
  /** Random source in [0, 1) for fault `rate`s. Default `Math.random`; tests pass a seeded one. */
  random?: () => number;
  /**
   * Clock in epoch ms, used for issue times, expiries and rate limits. Default `Date.now` (which
   * jest's modern fake timers control). Share it with the library's `now` option.
   */
  now?: () => number;
}

/** {@link CommonModelOptions} checked, with the defaults applied. */
export function resolveCommon(o: CommonModelOptions): { random: () => number; now: () => number } {
  if (o.random !== undefined && typeof o.random !== 'function') throw mockOptionError('random', 'random must be a function');
  if (o.now !== undefined && typeof o.now !== 'function') throw mockOptionError('now', 'now must be a function');
  return {
    random: o.random ?? (() => Math.random()),
    // Looked up on every call: jest's fake timers replace Date after the model may have been built.
    now: o.now ?? (() => Date.now()),
  };
}

/** A signing secret option (string or bytes, at least 16 bytes), or `undefined`. */
export function optionalSecret(field: string, value: unknown): Buffer | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' && !(value instanceof Uint8Array)) throw mockOptionError(field, `${field} must be a string or bytes`);
  const secret = Buffer.from(value);
  if (secret.length < 16) throw mockOptionError(field, `${field} must be at least 16 bytes`);
  return secret;
}
