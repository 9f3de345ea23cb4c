/**
 * Plain-data token records and their stored form.
 *
 * A {@link TokenRecord} describes one issued access token (its id, app key, dates and revocation
 * state) and never holds the raw token. The stored value in the keyv store is a
 * {@link StoredTokenRecord}: the record fields plus the (optionally encrypted) token in `token`.
 * {@link parseStoredRecord} validates every field of such a value, so a damaged or foreign value is
 * reported as `ERR_CORRUPT_RECORD` naming the field instead of surfacing later as a strange crash.
 *
 * Error messages produced here name fields only; they never quote a stored value (which could be
 * the token itself).
 */
import { ErrorCodes, LsTokenError, invalidOption, type TextScrubber } from '../core/errors.js';
import { shortId } from '../core/fingerprint.js';
import type { RevokeReason } from '../core/events.js';

/** Version of the stored record layout. Records with any other version are rejected as corrupt. */
export const RECORD_SCHEMA_VERSION = 1;

/**
 * Life-cycle state of a token record.
 * - `active`: issued and usable.
 * - `revoking`: revocation has been decided and is in progress (may be retried).
 * - `revoked`: LS confirmed the revocation.
 * - `failed`: revocation gave up.
 * - `expired`: the token ran out before (or instead of) being revoked.
 */
export type TokenState = 'active' | 'revoking' | 'revoked' | 'failed' | 'expired';

/** Every {@link TokenState}, in life-cycle order. */
export const TOKEN_STATES: readonly TokenState[] = Object.freeze(['active', 'revoking', 'revoked', 'failed', 'expired'] as const);

/** Every {@link RevokeReason}. */
export const REVOKE_REASONS: readonly RevokeReason[] = Object.freeze([
  'expiry',
  'logout',
  'shutdown',
  'manual',
  'superseded',
  'recovery',
] as const);

/** States after which nothing more happens to a token; such records are kept only for audit. */
export const ENDED_STATES: readonly TokenState[] = Object.freeze(['revoked', 'failed', 'expired'] as const);

/** True when `state` is one of {@link ENDED_STATES}. */
export function isEnded(state: TokenState): boolean {
  return ENDED_STATES.includes(state);
}

/** True when `value` is a known {@link TokenState}. */
export function isTokenState(value: unknown): value is TokenState {
  return typeof value === 'string' && (TOKEN_STATES as readonly string[]).includes(value);
}

/** True when `value` is a known {@link RevokeReason}. */
export function isRevokeReason(value: unknown): value is RevokeReason {
  return typeof value === 'string' && (REVOKE_REASONS as readonly string[]).includes(value);
}

/** The last revocation error remembered on a record (code and secret-free message). */
export interface TokenRecordError {
  /** Stable error code, e.g. `ERR_NETWORK`. */
  readonly code: string;
  /** The (secret-free) error message. */
  readonly message: string;
}

/** One issued token as tracked by the store. Plain, frozen, readonly data; never holds the raw token. */
export interface TokenRecord {
  /** Layout version: {@link RECORD_SCHEMA_VERSION}. */
  readonly schema: number;
  /** `tokenId(rawToken)`: hex SHA-256 of the raw token (64 lowercase hex digits). */
  readonly id: string;
  /** `appKeyId(appKey)` of the app key the token was issued for. */
  readonly appKeyId: string;
  /** Token type as returned by LS, e.g. `'Bearer'`. */
  readonly tokenType: string;
  /** When the token was issued, epoch ms. */
  readonly issuedAt: number;
  /** When the token expires, epoch ms. */
  readonly expiresAt: number;
  /** When the scheduler should revoke it, epoch ms. */
  readonly revokeAt: number;
  /** Current life-cycle state. */
  readonly state: TokenState;
  /** Why it is being / was revoked; `null` while nobody decided to revoke it. */
  readonly reason: RevokeReason | null;
  /** Revoke attempts so far. */
  readonly attempts: number;
  /** The last revoke error, if any. */
  readonly lastError: TokenRecordError | null;
  /** Instance id of the lifecycle that issued (or owns) the token, if known. */
  readonly ownerId: string | null;
  /** When the record was first stored, epoch ms. */
  readonly createdAt: number;
  /** When the record was last written, epoch ms. */
  readonly updatedAt: number;
}

/** What a caller supplies to store a newly issued token (the store fills in the rest). */
export interface NewTokenRecord {
  /** `appKeyId(appKey)`. */
  appKeyId: string;
  /** Token type, e.g. `'Bearer'`. */
  tokenType: string;
  /** Issue time, epoch ms. */
  issuedAt: number;
  /** Expiry time, epoch ms. */
  expiresAt: number;
  /** Planned revocation time, epoch ms. */
  revokeAt: number;
  /** Instance id of the issuing lifecycle. Default `null`. */
  ownerId?: string | null;
}

/** The fields of a record that {@link TokenStore.update} may change. */
export type TokenRecordPatch = Partial<Pick<TokenRecord, 'state' | 'reason' | 'attempts' | 'lastError' | 'revokeAt' | 'ownerId'>>;

/** The fields a {@link TokenRecordPatch} may hold. */
export const PATCH_FIELDS: readonly (keyof TokenRecordPatch)[] = Object.freeze([
  'state',
  'reason',
  'attempts',
  'lastError',
  'revokeAt',
  'ownerId',
] as const);

/** The raw token as kept in a stored value: plain (`alg: 'none'`) or AES-256-GCM sealed (base64 fields). */
export type SealedToken =
  | { readonly alg: 'none'; readonly data: string }
  | {
      readonly alg: 'aes-256-gcm';
      /** Seal version: `2` binds the record id and app key id; absent on seals of 0.1.x (record id only). */
      readonly v?: 2;
      /** Check value of the sealing key (version 2): tells another key from a tampered record. */
      readonly kid?: string;
      readonly iv: string;
      readonly tag: string;
      readonly data: string;
    };

/** The value stored in keyv for one token: the record fields plus the sealed token. */
export type StoredTokenRecord = TokenRecord & { readonly token: SealedToken };

/** Longest accepted string for short identifiers (app key id, token type, owner id). */
const MAX_SHORT_STRING = 256;
/** Longest accepted `lastError.message`; longer ones are cut when written. */
export const MAX_ERROR_MESSAGE = 1000;
/** Longest accepted sealed-token data (base64 or plain), in characters. */
const MAX_TOKEN_DATA = 65_536;

const HEX64 = /^[0-9a-f]{64}$/;
const KID = /^[0-9a-f]{16}$/;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** True when `id` has the shape of a token id: 64 lowercase hex digits. */
export function isTokenId(id: unknown): id is string {
  return typeof id === 'string' && HEX64.test(id);
}

function corrupt(field: string, problem: string): LsTokenError {
  return new LsTokenError(ErrorCodes.CORRUPT_RECORD, `Corrupt token record: field "${field}" ${problem}`, { field });
}

/** True for a non-null, non-array object. */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isShortString(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0 && value.length <= MAX_SHORT_STRING;
}

function isTime(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0;
}

/**
 * Checks one field of a record-like object. Returns a problem description, or `undefined` when
 * the value is acceptable. Shared by the stored-record parser and the input validators so both
 * accept exactly the same values.
 */
function fieldProblem(field: keyof TokenRecord, value: unknown): string | undefined {
  switch (field) {
    case 'schema':
      return value === RECORD_SCHEMA_VERSION ? undefined : `must be schema version ${RECORD_SCHEMA_VERSION}`;
    case 'id':
      return isTokenId(value) ? undefined : 'must be 64 lowercase hex digits';
    case 'appKeyId':
    case 'tokenType':
      return isShortString(value) ? undefined : `must be a non-empty string of at most ${MAX_SHORT_STRING} characters`;
    case 'issuedAt':
    case 'expiresAt':
    case 'revokeAt':
    case 'createdAt':
    case 'updatedAt':
      return isTime(value) ? undefined : 'must be a finite, non-negative epoch-ms number';
    case 'state':
      return isTokenState(value) ? undefined : `must be one of ${TOKEN_STATES.join(', ')}`;
    case 'reason':
      return value === null || isRevokeReason(value) ? undefined : `must be null or one of ${REVOKE_REASONS.join(', ')}`;
    case 'attempts':
      return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 ? undefined : 'must be a non-negative integer';
    case 'lastError':
      if (value === null) return undefined;
      if (!isPlainObject(value)) return 'must be null or an object with string "code" and "message"';
      if (!isShortString(value['code'])) return 'must have a non-empty string "code"';
      if (typeof value['message'] !== 'string') return 'must have a string "message"';
      return undefined;
    case 'ownerId':
      return value === null || isShortString(value) ? undefined : `must be null or a non-empty string of at most ${MAX_SHORT_STRING} characters`;
    default:
      return 'is not a record field';
  }
}

const RECORD_FIELDS: readonly (keyof TokenRecord)[] = [
  'schema',
  'id',
  'appKeyId',
  'tokenType',
  'issuedAt',
  'expiresAt',
  'revokeAt',
  'state',
  'reason',
  'attempts',
  'lastError',
  'ownerId',
  'createdAt',
  'updatedAt',
];

/** Returns a frozen copy of `record` holding only the known fields (and a frozen `lastError`). */
export function freezeRecord(record: TokenRecord): TokenRecord {
  const lastError = record.lastError === null ? null : Object.freeze({ code: record.lastError.code, message: record.lastError.message });
  return Object.freeze({
    schema: record.schema,
    id: record.id,
    appKeyId: record.appKeyId,
    tokenType: record.tokenType,
    issuedAt: record.issuedAt,
    expiresAt: record.expiresAt,
    revokeAt: record.revokeAt,
    state: record.state,
    reason: record.reason,
    attempts: record.attempts,
    lastError,
    ownerId: record.ownerId,
    createdAt: record.createdAt,
    updatedAt: record.updatedAt,
  });
}

/**
 * Validates the `token` member of a stored value.
 * @throws LsTokenError `ERR_CORRUPT_RECORD` with `field` `'token'`, `'token.alg'`, `'token.iv'`, ... when malformed.
 */
export function parseSealedToken(value: unknown): SealedToken {
  if (!isPlainObject(value)) throw corrupt('token', 'must be an object');
  const alg = value['alg'];
  const data = value['data'];
  if (alg === 'none') {
    if (typeof data !== 'string' || data.length === 0 || data.length > MAX_TOKEN_DATA) throw corrupt('token.data', 'must be a non-empty string');
    return Object.freeze({ alg: 'none', data });
  }
  if (alg === 'aes-256-gcm') {
    const iv = value['iv'];
    const tag = value['tag'];
    if (typeof iv !== 'string' || !BASE64.test(iv) || Buffer.from(iv, 'base64').length !== 12) throw corrupt('token.iv', 'must be 12 bytes of base64');
    if (typeof tag !== 'string' || !BASE64.test(tag) || Buffer.from(tag, 'base64').length !== 16) throw corrupt('token.tag', 'must be 16 bytes of base64');
    if (typeof data !== 'string' || data.length === 0 || data.length > MAX_TOKEN_DATA || !BASE64.test(data)) {
      throw corrupt('token.data', 'must be non-empty base64');
    }
    const v = value['v'];
    const kid = value['kid'];
    if (v === undefined && kid === undefined) return Object.freeze({ alg: 'aes-256-gcm', iv, tag, data });
    if (v !== 2) throw corrupt('token.v', 'must be 2 or absent');
    if (typeof kid !== 'string' || !KID.test(kid)) throw corrupt('token.kid', 'must be 16 lowercase hex digits');
    return Object.freeze({ alg: 'aes-256-gcm', v, kid, iv, tag, data });
  }
  throw corrupt('token.alg', 'must be "none" or "aes-256-gcm"');
}

/**
 * Parses and validates a value read from the store: every record field (type, known state and
 * reason, schema version {@link RECORD_SCHEMA_VERSION}, id of 64 hex digits) and the sealed token.
 * A string is first parsed as JSON. Unknown extra fields are ignored.
 *
 * @returns the frozen record (without the token) and the sealed token.
 * @throws LsTokenError `ERR_CORRUPT_RECORD` whose `field` names the first bad field (`'json'` for
 *   unparsable text, `'record'` for a non-object). The message never quotes stored values.
 */
export function parseStoredRecord(raw: unknown): { record: TokenRecord; sealed: SealedToken } {
  let value = raw;
  if (typeof value === 'string') {
    try {
      value = JSON.parse(value) as unknown;
    } catch {
      throw corrupt('json', 'is not valid JSON');
    }
  }
  if (!isPlainObject(value)) throw corrupt('record', 'must be an object');
  // Schema first: a record of another version may legitimately have other fields.
  for (const field of RECORD_FIELDS) {
    if (!Object.hasOwn(value, field)) throw corrupt(field, 'is missing');
    const problem = fieldProblem(field, value[field]);
    if (problem !== undefined) throw corrupt(field, problem);
  }
  if (!Object.hasOwn(value, 'token')) throw corrupt('token', 'is missing');
  const sealed = parseSealedToken(value['token']);
  return { record: freezeRecord(value as unknown as TokenRecord), sealed };
}

/** A display label for the key suffix a record was found under: the short id for a real token id, never other text. */
export function recordLabel(suffix: string): string {
  return isTokenId(suffix) ? shortId(suffix) : '(malformed id)';
}

/**
 * Validates a decoded value found under the record key ending in `suffix` (its id).
 * @returns the record and sealed token, or an `ERR_CORRUPT_RECORD` error naming the field and the
 *   short id (returned, not thrown: the caller quarantines).
 */
export function parseRecordAt(value: unknown, suffix: string): { record: TokenRecord; sealed: SealedToken } | LsTokenError {
  try {
    const parsed = parseStoredRecord(value);
    if (parsed.record.id !== suffix) {
      return new LsTokenError(ErrorCodes.CORRUPT_RECORD, `Corrupt token record ${recordLabel(suffix)}: field "id" does not match its key`, { field: 'id' });
    }
    // Whether the stored token hashes to the id is checked where the token is used (when it is
    // opened, for getToken and findUsable), for plain and sealed tokens alike: hashing it on every
    // read as well cost 11 % of a get() and told nothing more.
    return parsed;
  } catch (err) {
    const field = err instanceof LsTokenError ? err.field : undefined;
    return new LsTokenError(ErrorCodes.CORRUPT_RECORD, `Corrupt token record ${recordLabel(suffix)}: field "${field ?? 'record'}" is invalid`, {
      field: field ?? 'record',
      cause: err,
    });
  }
}

/** The `ERR_CORRUPT_RECORD` for a record key ending in `suffix` whose keyv envelope itself is unreadable (`error`). */
export function corruptEnvelopeAt(error: LsTokenError, suffix: string): LsTokenError {
  return new LsTokenError(ErrorCodes.CORRUPT_RECORD, `Corrupt token record ${recordLabel(suffix)}: ${error.message}`, { field: error.field ?? 'json' });
}

/** Builds the value to store for `record` with its sealed token. */
export function toStoredRecord(record: TokenRecord, sealed: SealedToken): StoredTokenRecord {
  // `record` is already a frozen, validated record (freezeRecord): copy it once, no second freeze.
  const lastError = record.lastError === null ? null : { code: record.lastError.code, message: record.lastError.message };
  return { ...record, lastError, token: { ...sealed } };
}

/**
 * The `active` record of a token just issued: 0 attempts, no reason, no error, written at `at`.
 * @param input an already validated {@link NewTokenRecord}.
 * @param createdAt when the record was first stored: `at`, or the earlier record's for a token
 *   issued again.
 */
export function newActiveRecord(id: string, input: NewTokenRecord, at: number, createdAt = at): TokenRecord {
  return freezeRecord({
    schema: RECORD_SCHEMA_VERSION,
    id,
    appKeyId: input.appKeyId,
    tokenType: input.tokenType,
    issuedAt: input.issuedAt,
    expiresAt: input.expiresAt,
    revokeAt: input.revokeAt,
    state: 'active',
    reason: null,
    attempts: 0,
    lastError: null,
    ownerId: input.ownerId ?? null,
    createdAt,
    updatedAt: at,
  });
}

/**
 * Validates a complete record built in memory (e.g. after applying a patch).
 * @throws LsTokenError `ERR_INVALID_OPTION` naming the field (prefixed with `fieldPrefix`).
 */
export function assertValidRecord(record: TokenRecord, fieldPrefix = ''): void {
  for (const field of RECORD_FIELDS) {
    const problem = fieldProblem(field, (record as unknown as Record<string, unknown>)[field]);
    if (problem !== undefined) throw invalidOption(`${fieldPrefix}${field}`, problem);
  }
}

/**
 * Validates the input of a new record.
 * @throws LsTokenError `ERR_INVALID_OPTION` naming the field (e.g. `'issuedAt'`).
 */
export function validateNewTokenRecord(input: unknown): NewTokenRecord {
  if (!isPlainObject(input)) throw invalidOption('input', 'must be an object');
  const fields = ['appKeyId', 'tokenType', 'issuedAt', 'expiresAt', 'revokeAt'] as const;
  for (const field of fields) {
    const problem = fieldProblem(field, input[field]);
    if (problem !== undefined) throw invalidOption(field, problem);
  }
  const ownerId = input['ownerId'] ?? null;
  const ownerProblem = fieldProblem('ownerId', ownerId);
  if (ownerProblem !== undefined) throw invalidOption('ownerId', ownerProblem);
  return {
    appKeyId: input['appKeyId'] as string,
    tokenType: input['tokenType'] as string,
    issuedAt: input['issuedAt'] as number,
    expiresAt: input['expiresAt'] as number,
    revokeAt: input['revokeAt'] as number,
    ownerId: ownerId as string | null,
  };
}

/**
 * Validates a patch: only {@link PATCH_FIELDS}, each of the right type. `undefined` members are
 * dropped; a `lastError.message` goes through `scrubber` and is then cut to {@link MAX_ERROR_MESSAGE}
 * characters (in that order, so that no prefix of a secret survives the cut).
 * @throws LsTokenError `ERR_INVALID_OPTION` naming the field (e.g. `'state'`).
 */
export function validatePatch(patch: unknown, scrubber?: TextScrubber): TokenRecordPatch {
  if (!isPlainObject(patch)) throw invalidOption('patch', 'must be an object');
  const out: Record<string, unknown> = {};
  for (const [field, value] of Object.entries(patch)) {
    if (!(PATCH_FIELDS as readonly string[]).includes(field)) throw invalidOption(field, 'is not a field that can be updated');
    if (value === undefined) continue;
    const problem = fieldProblem(field as keyof TokenRecord, value);
    if (problem !== undefined) throw invalidOption(field, problem);
    if (field === 'lastError' && value !== null) {
      const err = value as TokenRecordError;
      const message = scrubber === undefined ? err.message : scrubber.scrub(err.message);
      out[field] = { code: err.code, message: message.slice(0, MAX_ERROR_MESSAGE) };
    } else {
      out[field] = value;
    }
  }
  return out as TokenRecordPatch;
}
