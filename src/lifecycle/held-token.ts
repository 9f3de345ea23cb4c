/**
 * The token a lifecycle holds, as the issuer brings it and the facade hands it out: the raw token,
 * its record, its times by this process's policy, and what its expiry was computed from.
 */
import type { TokenRecord } from '../store/token-record.js';
import type { HeldForFleet } from './fleet.js';
import type { TokenTimes } from './token-policy.js';

/** A token the lifecycle holds, with its times. */
export interface HeldToken {
  /** The token id (hex SHA-256). */
  readonly id: string;
  /** The raw token. */
  readonly token: string;
  /** The token as an already-resolved promise, so the hot path allocates nothing. */
  readonly resolved: Promise<string>;
  /** Its record (as written, or as it would have been when the store was down). */
  readonly record: TokenRecord;
  /** Its times by this process's policy and clock estimate. */
  readonly times: TokenTimes;
  /** What the broker said of its end, to time it again when the clock estimate moves (absent: the record's expiry is all there is). */
  readonly basis?: ExpiryBasis;
}

/** What a token's expiry is computed from (see {@link TokenPolicy.expiryOf}). */
export interface ExpiryBasis {
  /** When the token request was sent (host time): the lifetime counts from then. */
  readonly sentAt: number;
  /** The lifetime the broker announced, counted from `sentAt` (clock-free), ms. */
  readonly lifetimeMs: number | undefined;
  /** The expiry by the broker's clock (JWT `exp`, stated expiry), epoch ms of the broker's clock. */
  readonly brokerExpMs: number | undefined;
}

/** The fleet's view of a held token: what the heartbeat needs to lease it and write its record again. */
export function fleetView(held: HeldToken, instanceId: string): HeldForFleet {
  const r = held.record;
  return { id: held.id, token: held.token, input: { appKeyId: r.appKeyId, tokenType: r.tokenType, issuedAt: r.issuedAt, expiresAt: r.expiresAt, revokeAt: r.revokeAt, ownerId: instanceId } };
}
