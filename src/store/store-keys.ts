/**
 * The store's key layout, built here and nowhere else.
 *
 * Every key of one app key carries the Redis hash tag `{S}`, where `S` is the app key's scoped id
 * (`appKeyIdFor(provider, appKey, baseUrl)`: provider, normalised origin and app key, hashed), so
 * that on Redis Cluster all of them land in one hash slot and any multi-key command or script
 * over them stays legal:
 *
 * - records: `${prefix}:{S}:tok:${id}`
 * - the app key's index: `${prefix}:{S}:index` (see the app-key-index module)
 * - meta values (leases, heartbeats, budget mark, issuance lock, store epoch, the fleet's
 *   current-token pointer, the layout marker): `${prefix}:{S}:meta:${name}`
 *
 * Whole-store keys keep their place: quarantine `${prefix}:quarantine:tok:${id}` and meta values
 * not tied to an app key (health probes) `${prefix}:meta:${name}`.
 *
 * The 0.1.x layout (no tag, no index, no origin in the scope), read only by the migration:
 * records `${prefix}:tok:${id}`, meta `${prefix}:meta:${name}` (leases
 * `lease:<appKeyId>:<tokenId>:<instanceId>`, budget `budget:<appKeyId>`), the issuance lock
 * `${prefix}:lock:issue:<appKeyId>`.
 */
import { invalidOption } from '../core/errors.js';

/** What a scope may hold: no `{`, `}` (they would end the hash tag) and no `:` (the key separator). */
const SCOPE_PATTERN = /^[A-Za-z0-9_.-]{1,64}$/;

/** Meta names the store writes itself (not indexed for `listMeta`). */
export const META = Object.freeze({
  /** The fleet's current token: `{ id }`. */
  current: 'current',
  /** The layout marker: `{ layout, at }`, written once the app key's keys are in this layout. */
  layout: 'layout',
  /** The Redis issuance lock (a raw string, never read through keyv). */
  issueLock: 'lock:issue',
});

/** The layout version written in the marker. */
export const LAYOUT_VERSION = 2;

/** Checks that `appKeyId` can scope store keys. */
export function validateScope(appKeyId: unknown, field = 'appKeyId'): string {
  if (typeof appKeyId !== 'string' || !SCOPE_PATTERN.test(appKeyId)) {
    throw invalidOption(field, 'must be 1-64 characters of letters, digits, "_", ".", "-" (it scopes store keys)');
  }
  return appKeyId;
}

/** A keyv key split into its parts (only keys of this layout parse). */
export type ParsedKey =
  | { readonly kind: 'tok'; readonly scope: string; readonly id: string }
  | { readonly kind: 'meta'; readonly scope: string; readonly name: string }
  | { readonly kind: 'index'; readonly scope: string };

/** The keys of one store prefix. */
export class StoreKeys {
  /** The store's key prefix. */
  readonly prefix: string;

  constructor(prefix: string) {
    this.prefix = prefix;
  }

  /** `${prefix}:{S}:`: the start of every key of app key `S`. */
  scopeRoot(scope: string): string {
    return `${this.prefix}:{${scope}}:`;
  }

  /** `${prefix}:{`: the start of every app-key key (for whole-store walks). */
  scopedRoot(): string {
    return `${this.prefix}:{`;
  }

  /** Record `id` of app key `S`. */
  record(scope: string, id: string): string {
    return `${this.scopeRoot(scope)}tok:${id}`;
  }

  /** The index of app key `S`. */
  index(scope: string): string {
    return `${this.scopeRoot(scope)}index`;
  }

  /** Meta value `name` of app key `S`. */
  meta(scope: string, name: string): string {
    return `${this.scopeRoot(scope)}meta:${name}`;
  }

  /** A whole-store meta value (not tied to an app key). */
  storeMeta(name: string): string {
    return `${this.prefix}:meta:${name}`;
  }

  /** Where a corrupt record `id` is moved to (a whole-store key). */
  quarantine(id: string): string {
    return `${this.prefix}:quarantine:tok:${id}`;
  }

  /** The index member of record `id`. */
  static recordMember(id: string): string {
    return `tok:${id}`;
  }

  /** The index member of meta value `name`. */
  static metaMember(name: string): string {
    return `meta:${name}`;
  }

  /** Parses a keyv key of this prefix; `undefined` for anything else (other prefixes, 0.1.x keys). */
  parse(key: string): ParsedKey | undefined {
    const root = this.scopedRoot();
    if (!key.startsWith(root)) return undefined;
    const close = key.indexOf('}:', root.length);
    if (close < 0) return undefined;
    const scope = key.slice(root.length, close);
    if (!SCOPE_PATTERN.test(scope)) return undefined;
    const rest = key.slice(close + 2);
    if (rest === 'index') return { kind: 'index', scope };
    if (rest.startsWith('tok:')) {
      const id = rest.slice(4);
      return id.includes(':') ? undefined : { kind: 'tok', scope, id };
    }
    if (rest.startsWith('meta:')) return { kind: 'meta', scope, name: rest.slice(5) };
    return undefined;
  }

  // 0.1.x keys, for the migration only.

  /** `${prefix}:tok:`: where 0.1.x kept every record. */
  legacyRecordRoot(): string {
    return `${this.prefix}:tok:`;
  }

  /** A 0.1.x meta value. */
  legacyMeta(name: string): string {
    return `${this.prefix}:meta:${name}`;
  }
}

/** `appKeyId` when it can scope keys, else `null` (a filter naming such an id matches nothing). */
export function scopeOrNull(appKeyId: string): string | null {
  try {
    return validateScope(appKeyId);
  } catch {
    return null;
  }
}
