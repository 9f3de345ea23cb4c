/**
 * What an `Issuer` works with: the parts of the lifecycle it calls, and its settings. Kept
 * apart from `issuer.ts` so that the flight's logic reads without this list in the way.
 */
import type { Clock } from '../core/clock.js';
import type { IssuedToken } from '../providers/types.js';
import type { TokenStore } from '../store/token-store.js';
import type { ClockSample, ClockSkew } from './clock-skew.js';
import type { Fleet } from './fleet.js';
import type { IssueBudget } from './issue-budget.js';
import type { IssueLockProvider } from './issue-lock.js';
import type { IssueThrottle } from './issue-throttle.js';
import type { TokenPolicy, TokenTimes } from './token-policy.js';
import type { TokenVault } from './token-vault.js';

/** What `Issuer` works with. */
export interface IssuerDeps {
  readonly client: { issueToken(options: { signal?: AbortSignal }): Promise<IssuedToken> };
  /** A reading of the broker's clock (a new token's JWT `iat`). */
  readonly sampleClock: (sample: ClockSample) => void;
  readonly store: TokenStore;
  readonly vault: TokenVault;
  readonly fleet: Fleet;
  readonly policy: TokenPolicy;
  readonly skew: ClockSkew;
  readonly budget: IssueBudget;
  readonly throttle: IssueThrottle;
  /**
   * The broker's own issuance limit (KIS: one a minute), read on the fleet's budget mark: forced
   * re-issues obey it too, and a rate-limited answer keeps the budget taken. `undefined`: none.
   */
  readonly brokerBudget: IssueBudget | undefined;
  /**
   * The broker may answer a token request with its live token (KIS within 6 h, Kiwoom until it
   * expires). Then a JWT `iat` says when the token was first issued, not the broker's clock now,
   * and an answer already dead by our estimate is that token at the end of its life.
   */
  readonly sameTokenAnswers: boolean;
  /** The broker's name, for messages. */
  readonly brokerName: string;
  /** What may hold an issuance back at this broker, for `ERR_ISSUE_THROTTLED` (see `issueWaitReasons`). */
  readonly waitReasons: string;
  readonly lock: IssueLockProvider;
  readonly lockKey: string;
  readonly lockTtlMs: number;
  readonly appKeyId: string;
  /** Whether a stored token may be this app key's by what the token says (provider `appKeyOf`). */
  readonly mayAdopt: (token: string) => boolean;
  readonly instanceId: string;
  readonly reuseStoredToken: boolean;
  readonly issueLockWaitMs: number;
  readonly storeTimeoutMs: number;
  /** The longest a token request may take (the client's `timeoutMs`): the budget mark covers it. */
  readonly requestTimeoutMs: number;
  readonly now: Clock;
  /** Aborted when the lifecycle closes (waits end at once) ... */
  readonly closing: AbortSignal;
  /** ... and this one when shutdown gives up on a request in flight. */
  readonly abortRequests: AbortSignal;
  /** The times this process gave `id` when it holds it now (timed by answers the store's record predates). */
  heldTimes(id: string): TokenTimes | undefined;
  /** True while this process is revoking `id` (never adopt it). */
  isRevoking(id: string): boolean;
  /** A token LS issued dead: revoke it now. */
  discard(id: string, expiresAt: number | undefined): void;
  /** Store or lock trouble the flight survived. */
  onError(error: unknown, op: string, id?: string): void;
}
