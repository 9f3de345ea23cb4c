/**
 * The built-in providers by name, and the one place a `provider` option is read and checked.
 */
import { invalidOption } from '../core/errors.js';
import { kisProvider } from './kis.js';
import { kiwoomProvider } from './kiwoom.js';
import { lsProvider } from './ls/ls-provider.js';
import type { ProviderDefinition, ProviderName } from './provider.js';

/** The built-in providers by name. */
export const PROVIDERS: Readonly<Record<ProviderName, ProviderDefinition>> = Object.freeze({ ls: lsProvider, kis: kisProvider, kiwoom: kiwoomProvider });

/** The names of the built-in providers, in documentation order. */
export const PROVIDER_NAMES: readonly ProviderName[] = Object.freeze(['ls', 'kis', 'kiwoom']);

const FUNCTIONS = ['issueRequest', 'revokeRequest', 'parseIssue', 'parseRevoke', 'codeOf', 'classifyCode', 'checkAccessToken', 'keyScope'] as const;

const isDuration = (v: unknown): boolean => typeof v === 'number' && v >= 0 && !Number.isNaN(v);

/**
 * The provider an option names: a built-in name, or a {@link ProviderDefinition} (checked for the
 * members the library calls). Default `'ls'`.
 *
 * @throws LsTokenError `ERR_INVALID_OPTION` naming `field`.
 */
export function resolveProvider(value: unknown, field = 'provider'): ProviderDefinition {
  if (value === undefined) return lsProvider;
  if (typeof value === 'string') {
    const p = (PROVIDERS as Record<string, ProviderDefinition>)[value];
    if (p === undefined || !Object.hasOwn(PROVIDERS, value)) throw invalidOption(field, `must be ${PROVIDER_NAMES.map((n) => `"${n}"`).join(', ')} or a ProviderDefinition`);
    return p;
  }
  if (typeof value !== 'object' || value === null) throw invalidOption(field, `must be ${PROVIDER_NAMES.map((n) => `"${n}"`).join(', ')} or a ProviderDefinition`);
  const p = value as Partial<ProviderDefinition>;
  if (typeof p.id !== 'string' || !/^[a-z][a-z0-9-]{0,31}$/.test(p.id)) throw invalidOption(`${field}.id`, 'must be 1..32 lower-case letters, digits or "-", starting with a letter');
  if (typeof p.name !== 'string' || p.name === '') throw invalidOption(`${field}.name`, 'must be a non-empty string');
  for (const fn of FUNCTIONS) if (typeof p[fn] !== 'function') throw invalidOption(`${field}.${fn}`, 'must be a function');
  if (typeof p.baseUrls?.real !== 'string') throw invalidOption(`${field}.baseUrls`, 'must name the real base URL');
  const limits = p.credentialLimits;
  if (!(Number.isInteger(limits?.appKey) && Number.isInteger(limits?.appSecretKey))) throw invalidOption(`${field}.credentialLimits`, 'must give integer appKey and appSecretKey lengths');
  const r = p.rules;
  if (r === undefined || !(r.lifetimeMs > 0) || !isDuration(r.sameTokenWithinMs) || !isDuration(r.minIssueIntervalMs)) {
    throw invalidOption(`${field}.rules`, 'must give lifetimeMs > 0 and sameTokenWithinMs, minIssueIntervalMs >= 0');
  }
  for (const opt of ['issueIntervalMarginMs', 'defaultMinIssueIntervalMs'] as const) {
    if (r[opt] !== undefined && !isDuration(r[opt])) throw invalidOption(`${field}.rules`, `${opt} must be a duration >= 0 when given`);
  }
  if (p.tokenFormat !== 'jwt' && p.tokenFormat !== 'opaque') throw invalidOption(`${field}.tokenFormat`, 'must be "jwt" or "opaque"');
  return p as ProviderDefinition;
}
