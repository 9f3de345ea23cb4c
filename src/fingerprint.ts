import { createHash } from 'node:crypto';

/**
 * The id of a token: the hex SHA-256 of the raw token. Records are keyed by it, events carry it,
 * so the raw token never needs to appear outside the store.
 */
export function tokenId(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
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
 * app key without holding the key itself.
 */
export function appKeyId(appKey: string): string {
  return createHash('sha256').update(`ls-token-lifecycle/appkey\0${appKey}`, 'utf8').digest('hex').slice(0, 24);
}
