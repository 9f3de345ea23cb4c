/**
 * The loopback-only control endpoint (`/__mock/...`) over real HTTP, and its gate.
 */
import { afterEach, describe, expect, it } from '@jest/globals';
import { request as httpRequest } from 'node:http';
import { networkInterfaces } from 'node:os';
import { isLoopbackHost } from '../../src/testing/control-endpoint.js';
import { createLsModel, handleControlRequest, isLoopbackAddress, startMockLsServer, type MockLsServer, type MockLsServerOptions } from '../../src/testing/index.js';

const FORM = { 'content-type': 'application/x-www-form-urlencoded' } as const;
const JSON_TYPE = { 'content-type': 'application/json' } as const;

const servers: MockLsServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function start(options: MockLsServerOptions = {}): Promise<MockLsServer> {
  const s = await startMockLsServer(options);
  servers.push(s);
  return s;
}

function issue(s: MockLsServer, appkey = 'demo-key'): Promise<Response> {
  return fetch(`${s.url}/oauth2/token`, {
    method: 'POST',
    headers: FORM,
    body: new URLSearchParams({ grant_type: 'client_credentials', appkey, appsecretkey: 'demo-secret', scope: 'oob' }),
  });
}

function control(s: MockLsServer, method: string, path: string, body?: unknown, headers: Record<string, string> = JSON_TYPE): Promise<Response> {
  return fetch(`${s.url}${path}`, { method, headers, ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }) });
}

/** A non-loopback IPv4 address of this machine, if it has one. */
function externalIPv4(): string | undefined {
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  }
  return undefined;
}

/** GET `url` with the connection's source address bound to `localAddress`; resolves status and body. */
function getFrom(url: string, localAddress: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: 'GET', localAddress }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('control endpoint (started with control: true)', () => {
  it('arms faults from JSON, the text form or an array; lists, applies and clears them', async () => {
    const s = await start({ control: true });
    const added = await control(s, 'POST', '/__mock/faults', [{ endpoint: 'token', kind: 'http500', count: 1 }, 'token:rate-limit']);
    expect(added.status).toBe(201);
    expect(await added.json()).toEqual({
      added: 2,
      faults: [
        { fault: { endpoint: 'token', kind: 'http500', count: 1 }, remaining: 1 },
        { fault: { endpoint: 'token', kind: 'rate-limit' }, remaining: 1 },
      ],
    });
    expect((await issue(s)).status).toBe(500);
    const limited = await issue(s);
    expect(limited.status).toBe(403);
    expect(await limited.json()).toEqual({ error_code: 'IGW00201', error_description: expect.any(String) });
    expect((await issue(s)).status).toBe(200);

    expect((await control(s, 'POST', '/__mock/faults', '"revoke:reset:3"')).status).toBe(201);
    expect(await (await control(s, 'GET', '/__mock/faults')).json()).toEqual({ faults: [{ fault: { endpoint: 'revoke', kind: 'reset', count: 3 }, remaining: 3 }] });
    expect(await (await control(s, 'DELETE', '/__mock/faults')).json()).toEqual({ cleared: 1 });
    expect(s.model.faults()).toEqual([]);
  });

  it('GET /__mock/state answers the counters, faults and live tokens (no raw token)', async () => {
    const s = await start({ control: true });
    const token = ((await (await issue(s)).json()) as { access_token: string }).access_token;
    const res = await control(s, 'GET', '/__mock/state');
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(text).not.toContain(token);
    expect(JSON.parse(text)).toMatchObject({ stats: { issued: 1, active: 1, tokenRequests: 1 }, faults: [], liveTokens: [{ appKey: 'demo-key' }], cutoffKst: '07:00' });
  });

  it('kills tokens server-side, of one app key or all', async () => {
    const s = await start({ control: true });
    const a = ((await (await issue(s, 'key-a')).json()) as { access_token: string }).access_token;
    const b = ((await (await issue(s, 'key-b')).json()) as { access_token: string }).access_token;
    expect(await (await control(s, 'POST', '/__mock/tokens/kill', { appKey: 'key-a' })).json()).toEqual({ killed: 1 });
    expect([s.isActive(a), s.isActive(b)]).toEqual([false, true]);
    expect(await (await control(s, 'POST', '/__mock/tokens/kill', '')).json()).toEqual({ killed: 1 });
    expect(s.activeTokens()).toEqual([]);
  });

  it('moves the clock: at 06:59 KST a token lives 60 s', async () => {
    const s = await start({ control: true });
    const res = await control(s, 'POST', '/__mock/clock', { at: '2024-03-15T06:59:00+09:00' });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { now: string; clockOffsetMs: number };
    expect(Date.parse(body.now) - Date.UTC(2024, 2, 14, 21, 59)).toBeLessThan(5_000);
    const lifetime = ((await (await issue(s)).json()) as { expires_in: number }).expires_in;
    expect(lifetime).toBeLessThanOrEqual(60);
    expect(lifetime).toBeGreaterThan(50);
    expect(await (await control(s, 'POST', '/__mock/clock', { offsetMs: 0 })).json()).toMatchObject({ clockOffsetMs: 0 });
  });

  it('answers 400, 404, 405 and 415 with a JSON error', async () => {
    const s = await start({ control: true });
    const cases: [Promise<Response>, number][] = [
      [control(s, 'POST', '/__mock/faults', { endpoint: 'token', kind: 'nope' }), 400],
      [control(s, 'POST', '/__mock/faults', 'token:http500:x'), 400],
      [control(s, 'POST', '/__mock/faults', '{not json'), 400],
      [control(s, 'POST', '/__mock/faults', []), 400],
      [control(s, 'POST', '/__mock/clock', { at: 'yesterday' }), 400],
      [control(s, 'GET', '/__mock/nope'), 404],
      [control(s, 'POST', '/__mock/state', {}), 405],
      [control(s, 'GET', '/__mock/tokens/kill'), 405],
      // a form or text/plain body (what a web page can send cross-origin without a preflight) is refused
      [control(s, 'POST', '/__mock/faults', '"token:http500"', { 'content-type': 'text/plain' }), 415],
    ];
    for (const [pending, status] of cases) {
      const res = await pending;
      expect(res.status).toBe(status);
      expect(await res.json()).toEqual({ error: expect.any(String) });
    }
    expect(s.model.faults()).toEqual([]);
  });
});

describe('control endpoint off (the default)', () => {
  it('answers 404 under /__mock/, and a POST there is not taken for a TR call', async () => {
    const s = await start();
    expect((await control(s, 'GET', '/__mock/state')).status).toBe(404);
    expect((await control(s, 'POST', '/__mock/faults', { endpoint: 'token', kind: 'http500' })).status).toBe(404);
    expect(s.model.faults()).toEqual([]);
    expect(s.stats().trRequests).toBe(0);
  });
});

describe('control endpoint: loopback callers only', () => {
  it('the gate: loopback addresses pass, anything else is refused with 403', () => {
    for (const a of ['127.0.0.1', '127.8.9.10', '::1', '::ffff:127.0.0.1']) expect(isLoopbackAddress(a)).toBe(true);
    for (const a of ['192.0.2.10', '::ffff:10.0.0.1', 'fd00::2', '0.0.0.0', '', undefined]) expect(isLoopbackAddress(a)).toBe(false);
    const model = createLsModel();
    const req = { method: 'POST', path: '/__mock/faults', headers: { ...JSON_TYPE, host: '127.0.0.1:8080' }, body: '"token:http500"' };
    expect(handleControlRequest(model, req, '203.0.113.7').status).toBe(403);
    expect(model.faults()).toEqual([]);
    expect(handleControlRequest(model, req, '::ffff:127.0.0.1').status).toBe(201);
    expect(model.faults()).toHaveLength(1);
  });

  it('refuses a Host that is not a loopback name or address (DNS rebinding), 403, on every path', () => {
    for (const h of ['localhost', 'localhost:8080', 'LOCALHOST:1', 'app.localhost:80', '127.0.0.1', '127.1.2.3:65535', '[::1]:8080', '[::1]', 'localhost.']) expect(isLoopbackHost(h)).toBe(true);
    for (const h of ['evil.example', 'evil.example:8080', '127.0.0.1.evil.example', 'localhost.evil.example', '0.0.0.0:8080', '[fd00::1]:80', '192.168.1.2', '', 'localhost:8080@evil', undefined]) {
      expect(isLoopbackHost(h)).toBe(false);
    }
    const model = createLsModel();
    for (const [method, path, body] of [
      ['GET', '/__mock/state', ''],
      ['POST', '/__mock/tokens/kill', '{}'],
      ['POST', '/__mock/clock', '{"offsetMs":1000}'],
      ['POST', '/__mock/faults', '"token:http500"'],
    ] as const) {
      const res = handleControlRequest(model, { method, path, headers: { ...JSON_TYPE, host: 'rebound.example:8080' }, body }, '127.0.0.1');
      expect(res.status).toBe(403);
      expect(res.body).toContain('Host');
    }
    expect(model.faults()).toEqual([]);
    expect(model.clockOffsetMs()).toBe(0);
  });

  it('over HTTP: a request from loopback naming a foreign Host is refused, the same request for localhost answers', async () => {
    const s = await start({ control: true });
    const get = (host: string): Promise<{ status: number; body: string }> =>
      new Promise((resolve, reject) => {
        const req = httpRequest(`${s.url}/__mock/state`, { method: 'GET', headers: { host } }, (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (d: string) => (body += d));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        });
        req.on('error', reject);
        req.end();
      });
    const rebound = await get(`attacker.example:${s.port}`);
    expect(rebound.status).toBe(403);
    expect(rebound.body).not.toContain('demo');
    expect((await get(`localhost:${s.port}`)).status).toBe(200);
  });

  // Over real sockets this needs an address of this machine that is not loopback. Without one
  // (a sandbox with only `lo`) there is no non-loopback caller to try: the test is skipped and
  // the gate above still runs.
  const external = externalIPv4();
  (external === undefined ? it.skip : it)(`refuses a caller connecting from this machine's non-loopback address (${external ?? 'none found'})`, async () => {
    const s = await start({ control: true, host: '0.0.0.0' });
    const fromOutside = await getFrom(`http://${external!}:${s.port}/__mock/state`, external!);
    expect(fromOutside.status).toBe(403);
    expect(JSON.parse(fromOutside.body)).toEqual({ error: expect.stringContaining('loopback') });
    // the LS endpoints themselves still answer that caller
    const notFound = await getFrom(`http://${external!}:${s.port}/oauth2/token`, external!);
    expect(notFound.status).toBe(404);
    const fromLoopback = await getFrom(`http://127.0.0.1:${s.port}/__mock/state`, '127.0.0.1');
    expect(fromLoopback.status).toBe(200);
  });
});
