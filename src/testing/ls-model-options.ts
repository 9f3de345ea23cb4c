/**
 * Options of the LS model (shared by {@link createLsModel}, `startMockLsServer` and the
 * `mock-server` command), their defaults, and their validation.
 *
 * @module
 */
import { mockOptionError } from './faults.js';
import { isNonNegativeFinite, oneOf, optionalSecret, resolveCommon, resolveCredentials, type MockAccounts } from './model-options.js';
import { LS_MAX_CREDENTIAL_LENGTH } from './ls-dialect.js';
import type { MockTrRoute } from './ls-tr-routes.js';
import { parseHhMm } from './mock-jwt.js';

/**
 * An app key and its secret that the mock accepts.
 *
 * The mock knows a paper-trading (모의투자) app key by `paper: true` here: LS itself tells the two
 * apart only by the key, and clients find out from the `rsp_msg` of the account TR they call at
 * login (`FOCCQ33600`, see `ls-tr-routes`).
 */
export interface MockCredential {
  /** The app key (`appkey` form field). */
  appKey: string;
  /** The app secret (`appsecretkey` form field). */
  appSecretKey: string;
  /** A paper-trading app key: the account TR answers as LS's paper service does. Default `false`. */
  paper?: boolean;
}

/** Options of {@link createLsModel} (and of `startMockLsServer`). Every field is optional. */
export interface LsModelOptions {
  /**
   * Accepted credentials. Default `'any'`: any non-empty app key and secret of at most 36
   * characters each is accepted (a longer key answers `IGW00103`, a longer secret `IGW00105`).
   * With a list, an unknown app key answers `IGW00103` and a wrong secret `IGW00105` (both HTTP 403).
   */
  credentials?: MockCredential[] | 'any';
  /** Longest token lifetime in seconds. Default `86400`. */
  tokenLifetimeS?: number;
  /**
   * LS's daily cut-off as `'HH:MM'` KST. Default `'07:00'`: as measured on the live service, a
   * token lives until the earlier of `iat + tokenLifetimeS` and the next 07:00 KST after its issue
   * (issued at 06:59 KST it lives a minute); both the lifetime field and the JWT `exp` say so.
   * `null` turns the cut-off off (every token lives `tokenLifetimeS`).
   */
  cutoffKst?: string | null;
  /**
   * `'invalidate-previous'` (default, LS behaviour): issuing a token for an app key kills every
   * earlier token of that key. `'independent'`: tokens of one key coexist.
   */
  reissue?: 'invalidate-previous' | 'independent';
  /**
   * `'expires_in'` (default): the lifetime is a number under `expires_in`. `'expire_in'`: a numeric
   * string under `expire_in` (the name and type of LS's field table).
   */
  lifetimeField?: 'expires_in' | 'expire_in';
  /** Revoke success `code` as the number `200` (default, `'number'`) or the string `"200"` (`'string'`). */
  revokeCode?: 'number' | 'string';
  /**
   * Minimum interval between two successful issuances for one app key, in ms; a faster request
   * answers HTTP 403 `{ "error_code": "IGW00201", ... }` with `Retry-After`. Default `0` (off).
   */
  minIssueIntervalMs?: number;
  /** Random source in [0, 1) for fault `rate`s. Default `Math.random`; tests pass a seeded one. */
  random?: () => number;
  /**
   * Clock in epoch ms, used for `iat`/`exp`, expiry checks and the issue interval. Default
   * `Date.now` (which jest's modern fake timers control). Share it with the library's `now` option.
   */
  now?: () => number;
  /**
   * HMAC key the mock signs its JWTs with (at least 16 bytes). Default: 64 random bytes. Give a
   * fixed one for tokens that are byte-identical from run to run (a replayed simulation).
   */
  jwtSecret?: string | Uint8Array;
  /** TRs with answers of their own, added to the built-in ones; see `ls-tr-routes`. */
  trRoutes?: readonly MockTrRoute[];
}

/** The options with their defaults applied. */
export interface ResolvedLsModelOptions {
  /** Secrets (and the paper flag) by app key; `undefined` for `'any'`. */
  readonly accounts: MockAccounts | undefined;
  /** Longest lifetime, s. */
  readonly lifetimeS: number;
  /** Cut-off in minutes after KST midnight, or `null`. */
  readonly cutoffMinutes: number | null;
  /** The cut-off as given (for state dumps). */
  readonly cutoffKst: string | null;
  /** Re-issue behaviour. */
  readonly reissue: 'invalidate-previous' | 'independent';
  /** Lifetime field. */
  readonly lifetimeField: 'expires_in' | 'expire_in';
  /** Revoke code type. */
  readonly revokeCode: 'number' | 'string';
  /** Issue interval, ms. */
  readonly minIssueIntervalMs: number;
  /** Random source. */
  readonly random: () => number;
  /** Base clock (before any control-endpoint offset). */
  readonly now: () => number;
  /** JWT signing key, if fixed. */
  readonly jwtSecret: Buffer | undefined;
  /** Extra TR routes. */
  readonly trRoutes: readonly MockTrRoute[];
}

/**
 * Checks every option and applies the defaults.
 *
 * @throws LsTokenError `ERR_INVALID_OPTION` naming the option (never quoting a secret).
 */
export function resolveLsModelOptions(o: LsModelOptions): ResolvedLsModelOptions {
  if (typeof o !== 'object' || o === null) throw mockOptionError('options', 'options must be an object');
  if (o.tokenLifetimeS !== undefined && !(Number.isSafeInteger(o.tokenLifetimeS) && o.tokenLifetimeS > 0)) {
    throw mockOptionError('tokenLifetimeS', `tokenLifetimeS must be a positive integer, got ${String(o.tokenLifetimeS)}`);
  }
  if (o.minIssueIntervalMs !== undefined && !isNonNegativeFinite(o.minIssueIntervalMs)) {
    throw mockOptionError('minIssueIntervalMs', `minIssueIntervalMs must be a finite number >= 0, got ${String(o.minIssueIntervalMs)}`);
  }
  const common = resolveCommon(o);
  const cutoffKst = o.cutoffKst === undefined ? '07:00' : o.cutoffKst;
  if (cutoffKst !== null && typeof cutoffKst !== 'string') throw mockOptionError('cutoffKst', `cutoffKst must be 'HH:MM' or null`);
  const jwtSecret = optionalSecret('jwtSecret', o.jwtSecret);
  return {
    accounts: resolveCredentials(o.credentials),
    lifetimeS: o.tokenLifetimeS ?? 86_400,
    cutoffMinutes: cutoffKst === null ? null : parseHhMm(cutoffKst),
    cutoffKst,
    reissue: oneOf('reissue', o.reissue, ['invalidate-previous', 'independent'], 'invalidate-previous'),
    lifetimeField: oneOf('lifetimeField', o.lifetimeField, ['expires_in', 'expire_in'], 'expires_in'),
    revokeCode: oneOf('revokeCode', o.revokeCode, ['number', 'string'], 'number'),
    minIssueIntervalMs: o.minIssueIntervalMs ?? 0,
    random: common.random,
    now: common.now,
    jwtSecret,
    trRoutes: o.trRoutes ?? [],
  };
}

/** `undefined` when the pair is accepted, else the LS code to answer. */
export function checkCredentials(
  accounts: ResolvedLsModelOptions['accounts'],
  appKey: string,
  secretKey: string,
): 'IGW00103' | 'IGW00105' | undefined {
  if (accounts === undefined) {
    if (appKey.length > LS_MAX_CREDENTIAL_LENGTH) return 'IGW00103';
    if (secretKey.length > LS_MAX_CREDENTIAL_LENGTH) return 'IGW00105';
    return undefined;
  }
  const account = accounts.get(appKey);
  if (account === undefined) return 'IGW00103';
  if (account.secret !== secretKey) return 'IGW00105';
  return undefined;
}
