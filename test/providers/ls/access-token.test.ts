/**
 * `checkLsAccessToken`: accepts the tokens the LS mock mints (LS's claim set, jti = app key) and
 * refuses, with a reason that never quotes the token or the app key, everything a revoke request
 * would wrongly read as "already invalid".
 */
import { describe, expect, it } from '@jest/globals';
import { ErrorCodes, LsTokenError } from '../../../src/core/errors.js';
import { assertLsAccessToken, checkLsAccessToken } from '../../../src/providers/ls/access-token.js';
import { createMockJwtSecret, mintMockJwt } from '../../../src/testing/mock-jwt.js';

const APP_KEY = 'PSd7orrAJnAfr202g4MpbzVxwqPBjjkvjLf2';
const secret = createMockJwtSecret();
const iatS = 1_700_000_000;
const real = mintMockJwt({ appKey: APP_KEY, iatS, expS: iatS + 86_400, secret });
const b64 = (o: unknown): string => Buffer.from(JSON.stringify(o)).toString('base64url');
const [header, , signature] = real.split('.') as [string, string, string];
const withClaims = (claims: Record<string, unknown>): string => `${header}.${b64(claims)}.${signature}`;
const lsClaims = { sub: 'token', aud: 'a0b1', nbf: iatS, grant_type: 'Client', iss: 'unogw', exp: iatS + 86_400, iat: iatS, jti: APP_KEY };

describe('checkLsAccessToken', () => {
  it('accepts an LS-shaped token of this app key and returns its claims', () => {
    expect(checkLsAccessToken(real, APP_KEY)).toEqual({ ok: true, claims: { sub: 'token', iss: 'unogw', exp: iatS + 86_400, iat: iatS, jti: APP_KEY } });
    // An expired token still is an access token: whether to send it is the caller's business.
    expect(checkLsAccessToken(withClaims({ ...lsClaims, exp: 1 }), APP_KEY).ok).toBe(true);
    // iss is required, not pinned: a gateway rename must not stop revocations.
    expect(checkLsAccessToken(withClaims({ ...lsClaims, iss: 'other-gw' }), APP_KEY).ok).toBe(true);
  });

  it.each<[string, string, string]>([
    ['empty', '', 'it is empty'],
    ['a word', 'notatoken', 'it is not a JWT'],
    ['two parts', real.split('.').slice(0, 2).join('.'), 'it is not a JWT'],
    ['an empty part', `${header}..${signature}`, 'it is not a JWT'],
    ['four parts', `${real}.x`, 'it is not a JWT'],
    ['unreadable header', `e30x.${real.split('.')[1]}.${signature}`, 'its JWT header is not readable'],
    ['header without alg', `${b64({ typ: 'JWT' })}.${real.split('.')[1]}.${signature}`, 'its JWT header is not readable'],
    ['unreadable claims', `${header}.bm90IGpzb24.${signature}`, 'its JWT claims are not readable'],
    ['claims that are an array', `${header}.${b64([1])}.${signature}`, 'its JWT claims are not readable'],
    ['a signature with a space', `${header}.${b64(lsClaims)}.ab cd`, 'not base64url'],
    ['a truncated signature', real.slice(0, -10), 'signature has'],
    ['another sub', withClaims({ ...lsClaims, sub: 'user' }), '"sub" claim is not "token"'],
    ['no iss', withClaims({ ...lsClaims, iss: undefined }), 'no "iss" claim'],
    ['no iat', withClaims({ ...lsClaims, iat: undefined }), 'no valid "iat" claim'],
    ['a string exp', withClaims({ ...lsClaims, exp: '1700086400' }), 'no valid "exp" claim'],
    ['no jti', withClaims({ ...lsClaims, jti: undefined }), 'no "jti" claim'],
    ['another app key', withClaims({ ...lsClaims, jti: 'OtherAppKey0000000000000000000000000' }), 'issued for another app key'],
    ['too long', `${header}.${'A'.repeat(9_000)}.${signature}`, 'longer than 8192'],
  ])('refuses %s', (_name, token, reason) => {
    const check = checkLsAccessToken(token, APP_KEY);
    expect(check.ok).toBe(false);
    if (check.ok) return;
    expect(check.reason).toContain(reason);
    expect(check.reason).not.toContain(APP_KEY);
    if (token.length > 20) expect(check.reason).not.toContain(token.slice(0, 20));
  });

  it('assertLsAccessToken throws ERR_INVALID_TOKEN naming the field, without the token or the app key', () => {
    const foreign = mintMockJwt({ appKey: 'OtherAppKey0000000000000000000000000', iatS, expS: iatS + 60, secret });
    let caught: unknown;
    try {
      assertLsAccessToken(foreign, APP_KEY, 'tokenOrId');
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(LsTokenError);
    const e = caught as LsTokenError;
    expect(e).toMatchObject({ code: ErrorCodes.INVALID_TOKEN, field: 'tokenOrId', retryable: false });
    expect(e.message).toBe('tokenOrId is not an LS access token of this app key: it was issued for another app key ("jti" is not this app key)');
    expect(JSON.stringify(e)).not.toContain(foreign);
    expect(assertLsAccessToken(real, APP_KEY)).toMatchObject({ jti: APP_KEY });
  });
});
