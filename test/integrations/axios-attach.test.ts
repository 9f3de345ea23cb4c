/**
 * `lifecycle.attach(axiosInstance)` against the LS mock server's stand-in TR endpoint (any POST
 * path other than `/oauth2/*`: it needs `authorization: Bearer <live token>` and answers
 * `{ rsp_cd: 'IGW00121' }` with HTTP 200 for a dead one), plus a tiny loopback TR server for the
 * answers the mock does not give (IGW00123, an invalid-token answer on every call).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import axios, { AxiosError, type AxiosInstance } from 'axios';
import { ErrorCodes, LsTokenError } from '../../src/core/errors.js';
import { tokenId } from '../../src/core/fingerprint.js';
import { TokenLifecycle, type TokenLifecycleOptions } from '../../src/lifecycle/token-lifecycle.js';
import { startMockKisServer, startMockLsServer, type MockLsServer } from '../../src/testing/index.js';

const APP_KEY = 'AttachTestAppKey00000000000000000001';
const SECRET = 'ATTACH-SENTINEL-SECRET-0123456789ab';
const TR_PATH = '/stock/market-data';
const TR_BODY = { t1102InBlock: { shcode: '005930' } };

interface TrAnswer {
  rsp_cd: string;
  rsp_msg?: string;
  echo?: unknown;
}

let mock: MockLsServer;
let lc: TokenLifecycle;
let http: AxiosInstance;
const servers: Server[] = [];

function makeLifecycle(extra: Partial<TokenLifecycleOptions> = {}): TokenLifecycle {
  return new TokenLifecycle({ appKey: APP_KEY, appSecretKey: SECRET, baseUrl: mock.url, sweepIntervalMs: 0, supersededGraceMs: 0, ...extra });
}

/** A TR server on loopback whose answer depends on the bearer token; records the tokens it saw. */
async function startTrServer(answer: (token: string | undefined) => { status: number; body: TrAnswer }): Promise<{ url: string; seen: (string | undefined)[] }> {
  const seen: (string | undefined)[] = [];
  const server = createServer((req, res) => {
    const token = /^Bearer (\S+)$/.exec(req.headers.authorization ?? '')?.[1];
    seen.push(token);
    req.resume();
    req.on('end', () => {
      const { status, body } = answer(token);
      res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' }).end(JSON.stringify(body));
    });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen };
}

beforeEach(async () => {
  mock = await startMockLsServer({ credentials: [{ appKey: APP_KEY, appSecretKey: SECRET }] });
  lc = makeLifecycle();
  http = axios.create({ baseURL: mock.url });
});

afterEach(async () => {
  await lc.shutdown({ deadlineMs: 2_000 });
  await mock.close();
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

describe('lifecycle.attach(axios)', () => {
  it('puts the current token on TR requests and leaves LS\'s own /oauth2/ requests alone', async () => {
    const seen: Array<[string, string | undefined]> = [];
    // Registered before attach, so it runs after attach's interceptor (axios runs them last-in first).
    http.interceptors.request.use((config) => {
      seen.push([String(config.url), config.headers.get('authorization') as string | undefined]);
      return config;
    });
    lc.attach(http);
    const res = await http.post<TrAnswer>(TR_PATH, TR_BODY);
    expect(res.data).toMatchObject({ rsp_cd: '00000', echo: TR_BODY });
    const token = mock.activeTokens()[0]!;
    expect(seen[0]).toEqual([TR_PATH, `Bearer ${token}`]);

    await http.post('/oauth2/revoke', 'x=1', { validateStatus: () => true });
    expect(seen[1]).toEqual(['/oauth2/revoke', undefined]);
    expect(mock.isActive(token)).toBe(true); // the header-less revoke request killed nothing
  });

  it('on IGW00121 in a 200 body gets a fresh token once and repeats the request once, body intact', async () => {
    lc.attach(http);
    await http.post(TR_PATH, TR_BODY);
    const old = mock.activeTokens()[0]!;
    mock.revokeToken(old); // LS killed it (another program issued for this key, or the 07:00 cut-off)
    mock.resetStats();

    const res = await http.post<TrAnswer>(TR_PATH, TR_BODY);
    expect(res.data).toMatchObject({ rsp_cd: '00000', echo: TR_BODY });
    expect(mock.stats()).toMatchObject({ trRequests: 2, tokenRequests: 1, issued: 1 });
    const fresh = mock.activeTokens()[0]!;
    expect(fresh).not.toBe(old);
    expect(lc.status().current?.id).toBe(tokenId(fresh));
    expect(await lc.store.get(tokenId(old))).toMatchObject({ state: 'revoked', reason: 'superseded' });
  });

  it('on HTTP 401 carrying IGW00121 gets a fresh token once and repeats the request once', async () => {
    lc.attach(http);
    await http.post(TR_PATH, TR_BODY);
    const old = mock.activeTokens()[0]!;
    mock.inject({ endpoint: 'tr', kind: 'invalid-token', count: 1 }); // HTTP 401 { rsp_cd: IGW00121 }
    mock.resetStats();

    const res = await http.post<TrAnswer>(TR_PATH, TR_BODY);
    expect(res.status).toBe(200);
    expect(res.data.rsp_cd).toBe('00000');
    expect(mock.stats()).toMatchObject({ trRequests: 2, issued: 1 });
    expect(mock.activeTokens()).not.toContain(old);
  });

  it('does not re-issue on a 401 whose body code is not a dead-token code (IGW40342: no permission)', async () => {
    const tr = await startTrServer(() => ({ status: 401, body: { rsp_cd: 'IGW40342', rsp_msg: '권한이 없습니다.' } }));
    const api = axios.create({ baseURL: tr.url });
    lc.attach(api, { origins: [tr.url] });
    const err = await api.post(TR_PATH).catch((e: unknown) => e);
    expect((err as AxiosError).response?.status).toBe(401);
    expect(tr.seen).toHaveLength(1); // not repeated
    expect(mock.stats().issued).toBe(1); // and the fleet's token was not killed by a re-issue
    expect(mock.isActive(tr.seen[0]!)).toBe(true);
  });

  it('reads the dead-token codes of the lifecycle\'s provider: KIS answers EGW00123 in msg_cd (HTTP 500) on a TR call', async () => {
    let t = Date.now();
    const kis = await startMockKisServer({ credentials: [{ appKey: APP_KEY, appSecretKey: SECRET }], now: () => t });
    const kisLc = new TokenLifecycle({ provider: 'kis', appKey: APP_KEY, appSecretKey: SECRET, baseUrl: kis.url, now: () => t, sweepIntervalMs: 0, supersededGraceMs: 0 });
    try {
      let first: string | undefined;
      const tr = await startTrServer((token) => {
        first ??= token;
        if (token !== first) return { status: 200, body: { rsp_cd: '00000', rt_cd: '0' } as never };
        // KIS killed it, and KIS allows one issuance a minute: the re-issue comes a minute later
        // (past the lifecycle's margin over KIS's minute, and the grace of the store's mark).
        kis.revokeToken(first!);
        t += 68_000;
        return { status: 500, body: { rsp_cd: '', rt_cd: '1', msg_cd: 'EGW00123', msg1: '기간이 만료된 token 입니다.' } as never };
      });
      const api = axios.create({ baseURL: tr.url });
      kisLc.attach(api, { origins: [tr.url] });
      const res = await api.post<TrAnswer>(TR_PATH);
      expect(res.status).toBe(200);
      expect(tr.seen).toHaveLength(2);
      expect(tr.seen[1]).not.toBe(tr.seen[0]); // repeated once, with a fresh token
      // An LS code means nothing to a KIS lifecycle, and the reverse.
      expect(kisLc.isDeadTokenAnswer({ rsp_cd: 'IGW00121' })).toBe(false);
      expect(lc.isDeadTokenAnswer({ msg_cd: 'EGW00121' })).toBe(false);
      expect(lc.isDeadTokenAnswer('{"rsp_cd":"IGW00122"}')).toBe(true);
    } finally {
      await kisLc.shutdown({ deadlineMs: 2_000 });
      await kis.close();
    }
  });

  it('treats IGW00123 (expired) in the body like IGW00121', async () => {
    const tr = await startTrServer((token) =>
      token !== undefined && mock.isActive(token) ? { status: 200, body: { rsp_cd: '00000' } } : { status: 200, body: { rsp_cd: 'IGW00123', rsp_msg: '만료된 토큰입니다.' } },
    );
    const api = axios.create({ baseURL: tr.url });
    lc.attach(api, { origins: [tr.url] });
    await api.post(TR_PATH);
    const old = mock.activeTokens()[0]!;
    mock.revokeToken(old);

    const res = await api.post<TrAnswer>(TR_PATH);
    expect(res.data.rsp_cd).toBe('00000');
    expect(tr.seen.slice(1)).toEqual([old, mock.activeTokens()[0]]);
  });

  it('repeats a request only once: a second invalid-token answer is returned (200) or thrown (401) as it is', async () => {
    const tr = await startTrServer(() => ({ status: 200, body: { rsp_cd: 'IGW00121', rsp_msg: '유효하지 않은 토큰입니다.' } }));
    const api = axios.create({ baseURL: tr.url });
    lc.attach(api, { origins: [tr.url] });
    const res = await api.post<TrAnswer>(TR_PATH);
    expect(res.data.rsp_cd).toBe('IGW00121');
    expect(tr.seen).toHaveLength(2);
    expect(tr.seen[0]).not.toBe(tr.seen[1]); // the repeat carried the fresh token
    expect(mock.stats().issued).toBe(2);

    lc.attach(http);
    mock.inject({ endpoint: 'tr', kind: 'invalid-token', count: 2 });
    mock.resetStats();
    const err = await http.post(TR_PATH, TR_BODY).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AxiosError);
    expect((err as AxiosError).response?.status).toBe(401);
    expect(mock.stats()).toMatchObject({ trRequests: 2, issued: 1 });
  });

  it('shares one re-issue among concurrent requests that all met the dead token', async () => {
    lc.attach(http);
    await http.post(TR_PATH, TR_BODY);
    mock.revokeToken(mock.activeTokens()[0]!);
    mock.resetStats();

    const results = await Promise.all(Array.from({ length: 5 }, (_, i) => http.post<TrAnswer>(TR_PATH, { i })));
    expect(results.map((r) => r.data)).toEqual(Array.from({ length: 5 }, (_, i) => expect.objectContaining({ rsp_cd: '00000', echo: { i } })));
    expect(mock.stats()).toMatchObject({ trRequests: 10, issued: 1 });
  });

  it('does not repeat requests that failed for other reasons', async () => {
    lc.attach(http);
    await http.post(TR_PATH, TR_BODY);
    mock.inject({ endpoint: 'tr', kind: 'http500', count: 1 });
    mock.resetStats();
    const err = await http.post(TR_PATH, TR_BODY).catch((e: unknown) => e);
    expect((err as AxiosError).response?.status).toBe(500);
    expect(mock.stats()).toMatchObject({ trRequests: 1, issued: 0 });
  });

  it('rejects with an LsTokenError when no fresh token may be had (forced re-issue cap)', async () => {
    await lc.shutdown();
    lc = makeLifecycle({ issueThrottle: { maxForcedReissues: 1 } });
    lc.attach(http);
    await http.post(TR_PATH, TR_BODY);
    mock.revokeToken(mock.activeTokens()[0]!);
    await http.post(TR_PATH, TR_BODY); // the one forced re-issue allowed
    mock.revokeToken(mock.activeTokens()[0]!);
    const err = await http.post(TR_PATH, TR_BODY).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LsTokenError);
    expect((err as LsTokenError).code).toBe(ErrorCodes.ISSUE_THROTTLED);
    expect(JSON.stringify(err)).not.toContain(SECRET);
  });

  it('sends the token only to the origin of the lifecycle\'s baseUrl: a foreign absolute URL gets no Authorization', async () => {
    const foreign = await startTrServer(() => ({ status: 200, body: { rsp_cd: '00000' } }));
    lc.attach(http);
    await http.post(TR_PATH, TR_BODY); // the broker's origin: token sent (the mock answers 00000 only then)
    await http.post(`${foreign.url}${TR_PATH}`, TR_BODY);
    await http.post(`${foreign.url.replace('127.0.0.1', 'localhost')}${TR_PATH}`, TR_BODY); // same host, other origin
    expect(foreign.seen).toEqual([undefined, undefined]);
    // A protocol-relative URL is another origin too.
    const port = new URL(foreign.url).port;
    await http.post(`//localhost:${port}${TR_PATH}`, TR_BODY).catch(() => undefined);
    expect(foreign.seen.every((t) => t === undefined)).toBe(true);
  });

  it('`origins` widens where the token goes; a bad origin names the option', async () => {
    const other = await startTrServer(() => ({ status: 200, body: { rsp_cd: '00000' } }));
    lc.attach(http, { origins: [`${other.url}/any/path`] });
    await http.post(`${other.url}${TR_PATH}`, TR_BODY);
    expect(other.seen).toEqual([await lc.getAccessToken()]);
    expect(() => lc.attach(axios.create(), { origins: ['not a url'] })).toThrow(expect.objectContaining({ code: ErrorCodes.INVALID_OPTION, field: 'origins[0]' }) as never);
  });

  it('detaches: afterwards requests carry no token and are not repeated', async () => {
    const detach = lc.attach(http);
    await http.post(TR_PATH, TR_BODY);
    detach();
    mock.resetStats();
    const res = await http.post<TrAnswer>(TR_PATH, TR_BODY);
    expect(res.data.rsp_cd).toBe('IGW00121');
    expect(mock.stats().trRequests).toBe(1);
  });
});
