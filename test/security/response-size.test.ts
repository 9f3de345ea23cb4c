/**
 * Issue 11, item 5: the response body is bounded. A hostile or broken gateway that sends 50 MB
 * (with or without content-length, or as a gzip bomb) gets ERR_BAD_RESPONSE after the first
 * `maxResponseBytes` (64 KiB by default): the client cuts the connection and never parses the body.
 */
import { gzipSync } from 'node:zlib';
import type { ServerResponse } from 'node:http';
import { afterEach, describe, expect, it } from '@jest/globals';
import { ErrorCodes, LsTokenError } from '../../src/core/errors.js';
import { LsOAuthClient } from '../../src/providers/ls/ls-client.js';
import { fakeJwt, sendJson, startHostileServer } from './hostile-server.js';
import { rejection } from '../helpers/rejection.js';

const APP_KEY = 'SIZEKEY0123456789abcdefghijklmnopqr';
const SECRET = 'SizeSecret0123456789abcdefXYZ';
const BODY_BYTES = 50 * 1024 * 1024;

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});


/** What the server saw while sending a big body. */
interface Sent {
  bytes: number;
  finished: boolean;
  cut: Promise<void>;
}

/**
 * Streams a valid token response padded to `total` bytes, honouring back-pressure, and stops when
 * the client cuts the connection. With `chunked`, no content-length is sent.
 */
function streamBig(res: ServerResponse, total: number, chunked: boolean, sent: Sent, token: string): void {
  const head = `{"access_token":"${token}","token_type":"Bearer","scope":"oob","expires_in":3600,"pad":"`;
  const tail = '"}';
  const padBytes = total - head.length - tail.length;
  res.writeHead(200, { 'content-type': 'application/json', ...(chunked ? {} : { 'content-length': String(total) }) });
  let cutResolve!: () => void;
  sent.cut = new Promise<void>((r) => (cutResolve = r));
  res.on('close', () => {
    if (!res.writableFinished) cutResolve();
  });
  res.write(head);
  sent.bytes += head.length;
  const chunk = Buffer.alloc(64 * 1024, 'x');
  let left = padBytes;
  const pump = (): void => {
    while (left > 0 && !res.destroyed) {
      const n = Math.min(left, chunk.length);
      left -= n;
      sent.bytes += n;
      if (!res.write(n === chunk.length ? chunk : chunk.subarray(0, n))) {
        res.once('drain', pump);
        return;
      }
    }
    if (left === 0 && !res.destroyed) {
      res.end(tail);
      sent.finished = true;
    }
  };
  pump();
}

describe.each([
  { name: 'with content-length', chunked: false },
  { name: 'chunked, without content-length', chunked: true },
])('a 50 MB token response $name', ({ chunked }) => {
  it('is ERR_BAD_RESPONSE, the connection is cut, and the body is never parsed', async () => {
    const token = fakeJwt({ sub: 'token', exp: Math.floor(Date.now() / 1000) + 3600 });
    const sent: Sent = { bytes: 0, finished: false, cut: Promise.resolve() };
    const server = await startHostileServer((_req, res) => streamBig(res, BODY_BYTES, chunked, sent, token));
    const client = new LsOAuthClient({ appKey: APP_KEY, appSecretKey: SECRET, baseUrl: server.url, timeoutMs: 20_000 });
    cleanups.push(() => server.close(), () => client.close());

    const rssBefore = process.memoryUsage().rss;
    const err = await rejection(client.issueToken());
    expect(err.code).toBe(ErrorCodes.BAD_RESPONSE);
    expect(err.message).toContain('65536');
    // Decisive: the server saw the connection cut long before the end of the body.
    await sent.cut;
    expect(sent.finished).toBe(false);
    expect(sent.bytes).toBeLessThan(16 * 1024 * 1024); // what the socket buffers took: about 4 MB here
    // Sanity only (the heap is shared with jest): nowhere near the size of the body.
    expect(process.memoryUsage().rss - rssBefore).toBeLessThan(BODY_BYTES);
  });
});

describe('response size limits', () => {
  it('bounds a gzip bomb by its decompressed size', async () => {
    const token = fakeJwt({ sub: 'token', exp: Math.floor(Date.now() / 1000) + 3600 });
    const body = gzipSync(Buffer.from(`{"access_token":"${token}","expires_in":3600,"pad":"${'x'.repeat(BODY_BYTES)}"}`));
    expect(body.length).toBeLessThan(1024 * 1024);
    const server = await startHostileServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'gzip', 'content-length': String(body.length) }).end(body);
    });
    const client = new LsOAuthClient({ appKey: APP_KEY, appSecretKey: SECRET, baseUrl: server.url, timeoutMs: 20_000 });
    cleanups.push(() => server.close(), () => client.close());
    const err = await rejection(client.issueToken());
    expect(err.code).toBe(ErrorCodes.BAD_RESPONSE);
  });

  it('bounds the revoke endpoint too', async () => {
    const server = await startHostileServer((_req, res) => {
      const big = `{"code":"200","message":"${'y'.repeat(200_000)}"}`;
      sendJson(res, 200, big);
    });
    const client = new LsOAuthClient({ appKey: APP_KEY, appSecretKey: SECRET, baseUrl: server.url, timeoutMs: 5_000 });
    cleanups.push(() => server.close(), () => client.close());
    const err = await rejection(client.revokeToken('eyJhbGciOi.eyJzdWIi.sig'));
    expect(err.code).toBe(ErrorCodes.BAD_RESPONSE);
  });

  it('accepts a body up to the limit, and a raised limit (maxResponseBytes) lets a bigger one through', async () => {
    const token = fakeJwt({ sub: 'token', exp: Math.floor(Date.now() / 1000) + 3600 });
    let padding = 60_000;
    const server = await startHostileServer((_req, res) =>
      sendJson(res, 200, { access_token: token, token_type: 'Bearer', scope: 'oob', expires_in: 3600, pad: 'z'.repeat(padding) }),
    );
    const client = new LsOAuthClient({ appKey: APP_KEY, appSecretKey: SECRET, baseUrl: server.url, timeoutMs: 5_000 });
    const roomy = new LsOAuthClient({ appKey: APP_KEY, appSecretKey: SECRET, baseUrl: server.url, timeoutMs: 5_000, maxResponseBytes: 1024 * 1024 });
    cleanups.push(() => server.close(), () => client.close(), () => roomy.close());
    expect((await client.issueToken()).accessToken).toBe(token);
    padding = 200_000;
    expect((await rejection(client.issueToken())).code).toBe(ErrorCodes.BAD_RESPONSE);
    expect((await roomy.issueToken()).accessToken).toBe(token);
  });

  it.each([0, 1023, 16 * 1024 * 1024 + 1, 1.5, Number.NaN, '65536', null])('rejects maxResponseBytes %p naming the field', (value) => {
    let caught: unknown;
    try {
      new LsOAuthClient({ appKey: APP_KEY, appSecretKey: SECRET, maxResponseBytes: value as never });
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(LsTokenError);
    expect(caught).toMatchObject({ code: ErrorCodes.INVALID_OPTION, field: 'maxResponseBytes' });
  });
});
