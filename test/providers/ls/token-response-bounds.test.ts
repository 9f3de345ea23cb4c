/**
 * Issue 11, item 7: what LS answers is bounded before it is believed. Lifetimes above 31 days (LS
 * gives at most 24 h), non-finite lifetimes, a JWT `exp` more than 31 days after issuance, a token
 * that expires at or before its issue time, and tokens with characters outside RFC 6750's
 * `b64token` set are ERR_BAD_RESPONSE. A token LS handed out but the parser rejected is kept on the
 * error, invisible to every printer, so that the caller can still revoke it.
 */
import { inspect } from 'node:util';
import { describe, expect, it } from '@jest/globals';
import { ErrorCodes, LsTokenError } from '../../../src/core/errors.js';
import { summarizeError } from '../../../src/core/events.js';
import { LsOAuthClient } from '../../../src/providers/ls/ls-client.js';
import { parseTokenResponse, rejectedTokenOf } from '../../../src/providers/ls/ls-response.js';
import { dumpError } from '../../security/leak-scan.js';
import { fakeJwt, sendJson, startHostileServer } from '../../security/hostile-server.js';

const T0 = Date.UTC(2026, 10, 24, 3, 53, 21); // 12:53:21 KST
const DAY_S = 86_400;

function response(fields: Record<string, unknown>): { status: number; body: string } {
  return { status: 200, body: JSON.stringify({ token_type: 'Bearer', scope: 'oob', ...fields }) };
}

function parseError(res: { status: number; body: string }, issuedAt = T0): LsTokenError {
  try {
    parseTokenResponse(res, issuedAt);
  } catch (err) {
    expect(err).toBeInstanceOf(LsTokenError);
    return err as LsTokenError;
  }
  throw new Error('expected the parser to reject the response');
}

const okToken = (): string => fakeJwt({ sub: 'token', iat: T0 / 1000, exp: T0 / 1000 + DAY_S, jti: 'k' });

describe('lifetime bounds', () => {
  it.each([
    ['1e308 (finite, but infinite in ms)', 1e308],
    ['1e12 (31,688 years)', 1e12],
    ['31 days and 1 s', 31 * DAY_S + 1],
    ['a 12-digit numeric string', '999999999999'],
    ['Infinity (1e999 in the JSON text)', '1e999'],
  ])('expires_in of %s is ERR_BAD_RESPONSE', (_name, value) => {
    const token = fakeJwt({ sub: 'token' }); // no exp: only the lifetime decides
    const res =
      value === '1e999'
        ? { status: 200, body: `{"access_token":"${token}","token_type":"Bearer","expires_in":1e999}` }
        : response({ access_token: token, expires_in: value });
    const err = parseError(res);
    expect(err).toMatchObject({ code: ErrorCodes.BAD_RESPONSE, field: 'expires_in' });
  });

  it('expire_in (the page\'s field name) is bounded the same way', () => {
    expect(parseError(response({ access_token: okToken(), expire_in: String(40 * DAY_S) }))).toMatchObject({
      code: ErrorCodes.BAD_RESPONSE,
      field: 'expire_in',
    });
  });

  it('accepts exactly 31 days, and LS\'s real 24 h', () => {
    const token = fakeJwt({ sub: 'token' });
    expect(parseTokenResponse(response({ access_token: token, expires_in: 31 * DAY_S }), T0).expiresAt).toBe(T0 + 31 * DAY_S * 1000);
    expect(parseTokenResponse(response({ access_token: okToken(), expires_in: DAY_S }), T0).expiresAt).toBe(T0 + DAY_S * 1000);
  });

  it('a JWT exp more than 31 days after issuance is ERR_BAD_RESPONSE, even when expires_in is sane', () => {
    for (const exp of [T0 / 1000 + 32 * DAY_S, 1e300]) {
      const err = parseError(response({ access_token: fakeJwt({ sub: 'token', exp }), expires_in: DAY_S }));
      expect(err).toMatchObject({ code: ErrorCodes.BAD_RESPONSE, field: 'exp' });
    }
  });
});

describe('a token that is already dead at issuance', () => {
  it.each([
    ['exp before its iat', T0 / 1000 - 60, T0 / 1000],
    ['exp equal to its iat', T0 / 1000, T0 / 1000],
  ])('%s is ERR_BAD_RESPONSE; the raw token is on the error for revocation but never printed', (_name, exp, iat) => {
    const token = fakeJwt({ sub: 'token', iat, exp, jti: 'PSd7orrAJnAfr202g4MpbzVxwqPBjjkvjLf2' });
    const err = parseError(response({ access_token: token, expires_in: DAY_S }));
    expect(err).toMatchObject({ code: ErrorCodes.BAD_RESPONSE, field: 'exp', retryable: true });
    expect(rejectedTokenOf(err)).toBe(token);
    const sig = token.split('.')[2]!;
    const printed = `${dumpError(err)}\n${JSON.stringify(summarizeError(err))}\n${inspect(err, { showHidden: true, depth: 10 })}\n${Object.keys(err).join()}`;
    expect(printed).not.toContain(sig);
    expect(printed).not.toContain(token.split('.')[1]!);
    expect(structuredClone({ ...err })).not.toHaveProperty('token');
  });

  it('keeps (for the caller\'s clock-skew judgement) a token that is dead only by a host clock ahead of LS\'s', () => {
    // Issued by LS at 06:59:00 KST, dies at 07:00:00; this host's clock says 07:01.
    const iat = Date.UTC(2026, 10, 24, 21, 59, 0) / 1000;
    const token = fakeJwt({ sub: 'token', iat, exp: iat + 60 });
    const hostIssuedAt = (iat + 120) * 1000;
    const t = parseTokenResponse(response({ access_token: token, expires_in: 60 }), hostIssuedAt);
    expect(t.accessToken).toBe(token);
    expect(t.expiresAt).toBe((iat + 60) * 1000);
  });

  it('rejectedTokenOf answers undefined for anything else', () => {
    expect(rejectedTokenOf(new Error('x'))).toBeUndefined();
    expect(rejectedTokenOf(undefined)).toBeUndefined();
    expect(rejectedTokenOf(parseError(response({ access_token: '', expires_in: DAY_S })))).toBeUndefined();
  });
});

describe('token characters (RFC 6750 b64token)', () => {
  it.each([
    ['NUL', 'abc\u0000def'],
    ['ESC', 'abc\u001b[31mdef'],
    ['DEL', 'abc\u007fdef'],
    ['a non-ASCII letter', 'abcédef'],
    ['a space', 'abc def'],
    ['a tab', 'abc\tdef'],
    ['a quote', 'abc"def'],
    ['a comma', 'abc,def'],
    ['"=" in the middle', 'abc=def'],
  ])('a token with %s is ERR_BAD_RESPONSE', (_name, token) => {
    const err = parseError(response({ access_token: token, expires_in: 3600 }));
    expect(err).toMatchObject({ code: ErrorCodes.BAD_RESPONSE, field: 'access_token' });
  });

  it('accepts every b64token character and trailing "=" padding', () => {
    const token = 'AZaz09-._~+/tok==';
    expect(parseTokenResponse(response({ access_token: token, expires_in: 3600 }), T0).accessToken).toBe(token);
  });

  it('over HTTP: a NUL in the token is refused, so attach() can never send a different token than the one held', async () => {
    const server = await startHostileServer((_req, res) => sendJson(res, 200, { access_token: `${okToken()}\u0000x`, token_type: 'Bearer', expires_in: 3600 }));
    const client = new LsOAuthClient({ appKey: 'BOUNDKEY0123456789abcdefghijklmnopq', appSecretKey: 'BoundSecret0123456789abcdef', baseUrl: server.url });
    try {
      let caught: unknown;
      try {
        await client.issueToken();
      } catch (err) {
        caught = err;
      }
      expect(caught).toMatchObject({ code: ErrorCodes.BAD_RESPONSE, field: 'access_token' });
    } finally {
      client.close();
      await server.close();
    }
  });
});
