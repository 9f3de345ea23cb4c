/**
 * AES-256-GCM sealing of raw tokens at rest.
 *
 * Each seal uses a fresh random 96-bit IV. The record's identity is bound as additional
 * authenticated data (AAD): its token id and its app key id (the scoped id, which hashes the
 * provider and its host scope with the app key). A ciphertext copied onto another record, or a
 * record relabelled to another app key, fails to open. Seals carry a version marker (`v: 2`) and a
 * key check value (`kid`), so that a seal that does not open under the right key is known to be
 * tampered with (quarantined) rather than sealed with another key (only skipped). Seals written by
 * 0.1.x (no marker, the record id alone as AAD) still open, and are sealed again on their next
 * write. Errors never contain the token, the key or the ciphertext.
 */
import { createCipheriv, createDecipheriv, createHmac, randomBytes } from 'node:crypto';
import { ErrorCodes, LsTokenError, invalidOption, type TextScrubber } from '../core/errors.js';
import { shortId, tokenId } from '../core/fingerprint.js';
import type { SecretRedactor } from '../core/redact.js';
import type { SealedToken } from './token-record.js';

/** Length of an AES-256 key in bytes. */
export const ENCRYPTION_KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const HEX_KEY = /^[0-9a-fA-F]{64}$/;
const BASE64_KEY = /^[A-Za-z0-9+/]{43}=?$|^[A-Za-z0-9_-]{43}=?$/;

/**
 * Normalises an encryption key option: a 32-byte `Buffer`/`Uint8Array`, or a string of 64 hex
 * digits or the base64 (or base64url) encoding of 32 bytes. Returns a private copy.
 *
 * @param field the option name used in errors.
 * @throws LsTokenError `ERR_INVALID_OPTION` naming `field`; the value is never echoed.
 */
export function parseEncryptionKey(value: unknown, field = 'encryptionKey'): Buffer {
  if (value instanceof Uint8Array) {
    if (value.byteLength !== ENCRYPTION_KEY_BYTES) {
      throw invalidOption(field, `must be exactly ${ENCRYPTION_KEY_BYTES} bytes, got ${value.byteLength}`);
    }
    return Buffer.from(value); // copy: later changes by the caller do not affect us
  }
  if (typeof value === 'string') {
    const trimmed = value.trim();
    if (HEX_KEY.test(trimmed)) return Buffer.from(trimmed, 'hex');
    if (BASE64_KEY.test(trimmed)) {
      const key = Buffer.from(trimmed, trimmed.includes('-') || trimmed.includes('_') ? 'base64url' : 'base64');
      if (key.length === ENCRYPTION_KEY_BYTES) return key;
    }
    throw invalidOption(field, `must be ${ENCRYPTION_KEY_BYTES} bytes given as 64 hex digits or base64`);
  }
  throw invalidOption(field, `must be a Buffer, Uint8Array or string of ${ENCRYPTION_KEY_BYTES} bytes`);
}

/** Version marker of the current seal: the AAD binds the record id and its app key id. */
export const SEAL_VERSION = 2;

/** What a seal is bound to: the record's identity. */
export interface SealBinding {
  /** The record id (`tokenId(rawToken)`). */
  readonly id: string;
  /** The record's `appKeyId`: the scoped app key id (provider and host scope included). */
  readonly appKeyId: string;
}

/** The AAD of a version-2 seal. NUL separates the parts (neither id holds one). */
function bindingAad(b: SealBinding): Buffer {
  return Buffer.from(`ls-token-lifecycle/token/v${SEAL_VERSION}\0${b.appKeyId}\0${b.id}`, 'utf8');
}

/**
 * A short check value of `key` (HMAC, 64 bits, hex): tells "sealed with another key" (skip) from
 * "sealed with this key and then altered or relabelled" (quarantine). It reveals nothing usable
 * about the key.
 */
export function keyCheckValue(key: Buffer): string {
  return createHmac('sha256', key).update('ls-token-lifecycle/key-check').digest('hex').slice(0, 16);
}

/**
 * Seals a raw token. Without a key the token is stored as `{ alg: 'none', data }`; with a key as
 * `{ alg: 'aes-256-gcm', v: 2, kid, iv, tag, data }` (base64), authenticated together with the
 * record's identity (`binding`).
 */
export function sealToken(rawToken: string, key: Buffer | undefined, binding: SealBinding): SealedToken {
  if (key === undefined) return { alg: 'none', data: rawToken };
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
  cipher.setAAD(bindingAad(binding));
  const data = Buffer.concat([cipher.update(rawToken, 'utf8'), cipher.final()]);
  return {
    alg: 'aes-256-gcm',
    v: SEAL_VERSION,
    kid: keyCheckValue(key),
    iv: iv.toString('base64'),
    tag: cipher.getAuthTag().toString('base64'),
    data: data.toString('base64'),
  };
}

/** True for a seal written before the identity binding (0.1.x: AAD = record id): re-seal it on the next write. */
export function isLegacySeal(sealed: SealedToken): boolean {
  return sealed.alg === 'aes-256-gcm' && sealed.v === undefined;
}

/**
 * Opens a sealed token and checks that it belongs to record `binding.id` (`tokenId(raw) === id`).
 * Without a key a plain (`alg: 'none'`) token is returned as it is. With a key, a plain token is
 * refused unless `acceptPlaintext` is true: anyone who can write to the store could otherwise plant
 * a token of their choosing and have it sent as the Bearer token (AES-GCM only protects what is
 * sealed). `acceptPlaintext` is for a migration window, while records written before encryption was
 * turned on still exist.
 *
 * A version-2 seal opens only under its binding (the record's id and app key id); a seal without
 * the version marker (written by 0.1.x) opens with the record id alone as AAD, the binding of
 * that version.
 *
 * @param binding the record's identity: the AAD and (`id`) the expected token id.
 * @param acceptPlaintext return plain tokens even though a key is given. Default `false`.
 * @throws LsTokenError `ERR_DECRYPT` when the token is encrypted and no key is given, or the key
 *   is wrong, or (field `'token.binding'`, the key being the right one by its check value) the
 *   ciphertext was altered or the record relabelled or moved; or (field `'token.alg'`) when it is
 *   plain, a key is given and `acceptPlaintext` is false; `ERR_CORRUPT_RECORD` (field `'token'`)
 *   when the opened token does not hash to `id`.
 */
export function openToken(sealed: SealedToken, key: Buffer | undefined, binding: SealBinding, acceptPlaintext = false): string {
  const id = binding.id;
  let raw: string;
  if (sealed.alg === 'none') {
    if (key !== undefined && !acceptPlaintext) {
      // ERR_DECRYPT, not a code of its own: every caller already treats "cannot get this token out
      // safely" as that (findUsable skips it, revocation gives up on it); `field` tells them apart.
      throw new LsTokenError(
        ErrorCodes.DECRYPT,
        `Token ${shortId(id)} is stored in plain text although an encryptionKey is set: refused (set acceptPlaintextRecords: true while migrating records written before encryption was turned on)`,
        { field: 'token.alg' },
      );
    }
    raw = sealed.data;
  } else {
    if (key === undefined) {
      throw new LsTokenError(ErrorCodes.DECRYPT, `Token ${shortId(id)} is encrypted but no encryptionKey is configured`);
    }
    try {
      const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(sealed.iv, 'base64'), { authTagLength: TAG_BYTES });
      // 0.1.x seals bound the record id alone; a marker-less seal is read that way only (stripping the
      // marker of a version-2 seal changes its AAD, so it still fails).
      decipher.setAAD(sealed.v === undefined ? Buffer.from(id, 'utf8') : bindingAad(binding));
      decipher.setAuthTag(Buffer.from(sealed.tag, 'base64'));
      raw = Buffer.concat([decipher.update(Buffer.from(sealed.data, 'base64')), decipher.final()]).toString('utf8');
    } catch (err) {
      if (sealed.kid !== undefined && sealed.kid === keyCheckValue(key)) {
        // The right key, and still no opening: the record was altered, relabelled or moved.
        throw new LsTokenError(
          ErrorCodes.DECRYPT,
          `Token ${shortId(id)} does not open under its record's identity (app key, provider, host, id): the record was altered or relabelled`,
          { field: 'token.binding', cause: err },
        );
      }
      // Do not keep the crypto error as cause text: it says nothing useful and is not secret-free by contract.
      throw new LsTokenError(
        ErrorCodes.DECRYPT,
        `Token ${shortId(id)} cannot be decrypted: wrong encryptionKey, or the stored ciphertext was altered`,
        { cause: err },
      );
    }
  }
  if (tokenId(raw) !== id) {
    throw new LsTokenError(ErrorCodes.CORRUPT_RECORD, `Corrupt token record ${shortId(id)}: the stored token does not match the record id`, {
      field: 'token',
    });
  }
  return raw;
}

/**
 * `redactor` plus the record's own raw token: the token is opened lazily, only when a message is
 * scrubbed, and registered for that scrub only (a token that cannot be opened is simply not added).
 * Used for the `lastError` written to a record, which may quote that record's own token.
 */
export function ownTokenScrubber(redactor: SecretRedactor, sealed: SealedToken, key: Buffer | undefined, binding: SealBinding): TextScrubber {
  return {
    scrub: (text) => {
      let own: string | undefined;
      try {
        own = openToken(sealed, key, binding, true);
      } catch {
        own = undefined;
      }
      if (own === undefined) return redactor.scrub(text);
      redactor.add(own);
      try {
        return redactor.scrub(text);
      } finally {
        redactor.delete(own);
      }
    },
  };
}
