import * as crypto from 'node:crypto';

type OneShotHash = (algorithm: string, data: string, encoding: 'hex') => string;
// crypto.hash (Node >= 20.12) is about twice as fast as createHash for short inputs; the id is
// computed for every stored token, so use it where it exists.
const oneShot = (crypto as unknown as { hash?: OneShotHash }).hash;
const sha256Hex: (data: string) => string =
  typeof oneShot === 'function' ? (data) => oneShot('sha256', data, 'hex') : (data) => crypto.createHash('sha256').update(data, 'utf8').digest('hex');

/**
 * The id of a token: the hex SHA-256 of the raw token. Records are keyed by it, events carry it,
 * so the raw token never needs to appear outside the store.
 */
export function tokenId(token: string): string {
  return sha256Hex(token);
}

/** A short, display-only form of a token id (first 12 hex digits), e.g. in error messages. */
export function shortId(id: string): string {
  return id.slice(0, 12);
}

/** Short display fingerprint of a raw token: `shortId(tokenId(token))`. */
export function tokenFingerprint(token: string): string {
  return shortId(tokenId(token));
}

/**
 * The id of an app key: a salted SHA-256 prefix, so that stored records and events can group by
 * app key without holding the key itself. Every store key of a lifecycle (records' `appKeyId`,
 * fleet leases, the issuance budget and lock) is built from it.
 *
 * `scope` tells providers and environments apart in a shared store (`kis:real`, `kiwoom:mock`,
 * see `ProviderDefinition.keyScope`): the same app key string under two scopes gets two ids.
 * Without a scope (LS) the id is the one stores have held since before providers existed.
 */
export function appKeyId(appKey: string, scope?: string | null): string {
  const scoped = scope === undefined || scope === null ? '' : `${scope}\0`;
  return sha256Hex(`ls-token-lifecycle/appkey\0${scoped}${appKey}`).slice(0, 24);
}
