/** Option checks shared by every constructor. Each names the field and never echoes a secret value. */
import { invalidOption } from './errors.js';

/** A required string of 1..maxLength printable, non-space characters. `secret` keeps the value out of messages. */
export function requireCredential(field: string, value: unknown, maxLength: number): string {
  if (value === undefined || value === null || value === '') throw invalidOption(field, 'is required');
  if (typeof value !== 'string') throw invalidOption(field, `must be a string, got ${typeof value}`);
  if (value.length > maxLength) throw invalidOption(field, `must be at most ${maxLength} characters, got ${value.length}`);
  if (!/^[\x21-\x7e]+$/.test(value)) throw invalidOption(field, 'must contain only printable ASCII without spaces');
  return value;
}

/** An optional finite number in [min, max]; returns the default when undefined. */
export function optionalNumber(field: string, value: unknown, def: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (value === undefined) return def;
  if (typeof value !== 'number' || !Number.isFinite(value)) throw invalidOption(field, 'must be a finite number');
  if (value < min || value > max) throw invalidOption(field, `must be between ${min} and ${max}, got ${value}`);
  return value;
}

/** An optional integer in [min, max]. */
export function optionalInteger(field: string, value: unknown, def: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const n = optionalNumber(field, value, def, min, max);
  if (!Number.isInteger(n)) throw invalidOption(field, 'must be an integer');
  return n;
}

/** An optional value from a fixed set. */
export function optionalEnum<T extends string>(field: string, value: unknown, allowed: readonly T[], def: T): T {
  if (value === undefined) return def;
  if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
    throw invalidOption(field, `must be one of ${allowed.map((a) => `"${a}"`).join(', ')}`);
  }
  return value as T;
}

/** An optional boolean. */
export function optionalBoolean(field: string, value: unknown, def: boolean): boolean {
  if (value === undefined) return def;
  if (typeof value !== 'boolean') throw invalidOption(field, 'must be a boolean');
  return value;
}

/** Options must be a plain object (or undefined). */
export function requireObject(field: string, value: unknown): Record<string, unknown> {
  if (value === undefined) return {};
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw invalidOption(field, 'must be an object');
  return value as Record<string, unknown>;
}

const LOOPBACK_HOSTS = new Set(['localhost', '::1', '[::1]']);

/** True for loopback hosts (127.0.0.0/8, ::1, localhost). */
export function isLoopbackHost(hostname: string): boolean {
  return LOOPBACK_HOSTS.has(hostname) || /^127(\.\d{1,3}){3}$/.test(hostname);
}

/**
 * A base URL that is http(s), carries no credentials, query or fragment; plain http only to loopback
 * unless explicitly allowed (the secret travels in the body). Returned without a trailing slash.
 */
export function requireBaseUrl(field: string, value: unknown, def: string, allowInsecureHttp: boolean): string {
  if (value === undefined) return def;
  if (typeof value !== 'string' || value === '') throw invalidOption(field, 'must be a non-empty URL string');
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw invalidOption(field, 'is not a valid URL');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw invalidOption(field, 'must use http: or https:');
  if (url.username || url.password) throw invalidOption(field, 'must not contain credentials');
  if (url.search || url.hash) throw invalidOption(field, 'must not contain a query or fragment');
  if (url.protocol === 'http:' && !allowInsecureHttp && !isLoopbackHost(url.hostname)) {
    throw invalidOption(field, 'uses plain http to a non-loopback host; use https or set allowInsecureHttp: true');
  }
  return url.toString().replace(/\/+$/, '');
}

/**
 * Longest duration accepted by any option: node's timers hold at most 2^31 - 1 ms and clamp a
 * longer delay to 1 ms, which would turn "wait 25 days" into "fire now, forever".
 */
export const MAX_DURATION_MS = 2_147_483_647;

/** An optional duration in ms in [min, max] (max at most {@link MAX_DURATION_MS}); the error names the bound. */
export function optionalDuration(field: string, value: unknown, def: number, min = 0, max = MAX_DURATION_MS): number {
  if (value === undefined) return def;
  if (typeof value !== 'number' || !Number.isFinite(value)) throw invalidOption(field, 'must be a finite number of milliseconds');
  const hi = Math.min(max, MAX_DURATION_MS);
  if (value < min || value > hi) {
    throw invalidOption(field, `must be between ${min} and ${hi} ms${hi === MAX_DURATION_MS ? ' (2^31 - 1, the longest delay a node timer can hold)' : ''}, got ${value}`);
  }
  return value;
}
