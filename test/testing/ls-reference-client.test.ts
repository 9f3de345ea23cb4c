/**
 * An LS client written from LS's published API alone (not the library's LsOAuthClient), the way
 * third-party LS clients are: it logs in (token, then the account TR FOCCQ33600 whose rsp_msg
 * tells a paper key), reads the tr_cont/tr_cont_key answer headers unconditionally, pages, revokes,
 * and branches on the LS body shapes. The mock must satisfy it as LS would, faults included.
 */
import { afterEach, describe, expect, it } from '@jest/globals';
import { startMockLsServer, type MockFaultKind, type MockLsServer, type MockLsServerOptions, type MockTrRoute } from '../../src/testing/index.js';

const KEY = 'PSd7orrAJnAfr202g4MpbzVxwqPBjjkvjLf2';
const SECRET = 'puQoMSRYZwOHt8goiEHbOazdBqLRUyYA';
const PAPER_KEY = 'PSpaperAJnAfr202g4MpbzVxwqPBjjkvjLf2';

/** What a TR call gives back. */
interface TrResult {
  status: number;
  body: Record<string, unknown>;
  trCont: string;
  trContKey: string;
}

/** The reference client: a few lines of fetch following LS's pages. */
class ReferenceLsClient {
  token: string | undefined;
  isSimulation = false;

  constructor(
    readonly baseUrl: string,
    readonly appKey: string,
    readonly appSecretKey: string,
  ) {}

  /** POST /oauth2/token (form: grant_type, appkey, appsecretkey, scope=oob). */
  async issue(): Promise<Response> {
    return fetch(`${this.baseUrl}/oauth2/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'client_credentials', appkey: this.appKey, appsecretkey: this.appSecretKey, scope: 'oob' }),
    });
  }

  /** POST /oauth2/revoke (form: appkey, appsecretkey, token, token_type_hint). */
  async revoke(token: string): Promise<Response> {
    return fetch(`${this.baseUrl}/oauth2/revoke`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ appkey: this.appKey, appsecretkey: this.appSecretKey, token, token_type_hint: 'access_token' }),
    });
  }

  /** A TR call: JSON body, tr_cd/tr_cont/tr_cont_key headers; the answer headers are read unconditionally. */
  async request(trCode: string, path: string, body: unknown, trCont = 'N', trContKey = ''): Promise<TrResult> {
    const res = await fetch(`${this.baseUrl}${path}`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json; charset=utf-8',
        ...(this.token === undefined ? {} : { authorization: `Bearer ${this.token}` }),
        tr_cd: trCode,
        tr_cont: trCont,
        tr_cont_key: trContKey,
      },
      body: JSON.stringify(body),
    });
    const cont = res.headers.get('tr_cont');
    const contKey = res.headers.get('tr_cont_key');
    if (cont === null || contKey === null) throw new Error("KeyError('tr_cont')"); // what a Python client hits
    return { status: res.status, body: (await res.json()) as Record<string, unknown>, trCont: cont, trContKey: contKey };
  }

  /** Login as LS clients do it: a token, then the account TR; a paper key shows in its rsp_msg. */
  async login(): Promise<TrResult> {
    const res = await this.issue();
    if (res.status !== 200) throw new Error(`login failed: HTTP ${res.status}`);
    this.token = ((await res.json()) as { access_token: string }).access_token;
    const acct = await this.request('FOCCQ33600', '/stock/accno', { FOCCQ33600InBlock1: { QrySrtDt: '20240301', QryEndDt: '20240315', TermTp: '1' } });
    if (acct.status !== 200) throw new Error('FOCCQ33600 failed');
    this.isSimulation = String(acct.body.rsp_msg).includes('모의투자');
    return acct;
  }
}

const servers: MockLsServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function start(options: MockLsServerOptions = {}): Promise<MockLsServer> {
  const s = await startMockLsServer({
    credentials: [
      { appKey: KEY, appSecretKey: SECRET },
      { appKey: PAPER_KEY, appSecretKey: SECRET, paper: true },
    ],
    ...options,
  });
  servers.push(s);
  return s;
}

describe('a reference LS client against the mock', () => {
  it('logs in through the account TR with a live key and reads the continuation headers', async () => {
    const s = await start();
    const client = new ReferenceLsClient(s.url, KEY, SECRET);
    const acct = await client.login();
    expect(client.isSimulation).toBe(false);
    expect(acct).toEqual({
      status: 200,
      trCont: 'N',
      trContKey: '',
      body: {
        rsp_cd: '00136',
        rsp_msg: '조회가 완료되었습니다.',
        FOCCQ33600OutBlock1: expect.objectContaining({ QrySrtDt: '20240301', QryEndDt: '20240315', TermTp: '1' }),
        FOCCQ33600OutBlock2: expect.objectContaining({ RecCnt: 1 }),
        FOCCQ33600OutBlock3: [],
      },
    });
  });

  it("tells a paper key from the account TR's rsp_msg, as LS's paper service answers it", async () => {
    const s = await start();
    const client = new ReferenceLsClient(s.url, PAPER_KEY, SECRET);
    const acct = await client.login();
    expect(client.isSimulation).toBe(true);
    expect(acct.body).toEqual({ rsp_cd: '01900', rsp_msg: expect.stringContaining('모의투자') });
  });

  it('a wrong secret gets no token once credentials are configured', async () => {
    const s = await start();
    const res = await new ReferenceLsClient(s.url, KEY, 'wrong-secret').issue();
    expect(res.status).toBe(403);
    expect(await res.json()).toEqual({ error_code: 'IGW00105', error_description: expect.any(String) });
    await expect(new ReferenceLsClient(s.url, KEY, 'wrong-secret').login()).rejects.toThrow('login failed');
  });

  it('pages through a TR added with the route table, following tr_cont/tr_cont_key', async () => {
    const pages = [['005930', '000660'], ['035420', '035720'], ['051910']];
    const t8407: MockTrRoute = {
      path: '/stock/market-data',
      trCode: 't8407',
      answer: (call) => {
        const page = call.trCont === 'Y' ? Number(call.trContKey) : 0;
        const more = page + 1 < pages.length;
        return {
          rspCd: '00000',
          rspMsg: '정상적으로 조회가 완료되었습니다.',
          blocks: { t8407OutBlock1: pages[page]!.map((shcode) => ({ shcode })) },
          ...(more ? { trCont: 'Y' as const, trContKey: String(page + 1) } : {}),
        };
      },
    };
    const s = await start({ trRoutes: [t8407] });
    const client = new ReferenceLsClient(s.url, KEY, SECRET);
    await client.login();
    const codes: string[] = [];
    let cont = 'N';
    let key = '';
    for (let i = 0; i < 10; i++) {
      const r = await client.request('t8407', '/stock/market-data', { t8407InBlock: { nrec: 2 } }, cont, key);
      codes.push(...(r.body.t8407OutBlock1 as { shcode: string }[]).map((x) => x.shcode));
      if (r.trCont !== 'Y') break;
      [cont, key] = ['Y', r.trContKey];
    }
    expect(codes).toEqual(pages.flat());
  });

  it('a TR without a route answers the stand-in, with the headers too', async () => {
    const s = await start();
    const client = new ReferenceLsClient(s.url, KEY, SECRET);
    await client.login();
    const r = await client.request('t1305', '/stock/market-data', { t1305InBlock: { shcode: '005930' } });
    expect(r).toEqual({ status: 200, trCont: 'N', trContKey: '', body: { rsp_cd: '00000', rsp_msg: expect.any(String), echo: { t1305InBlock: { shcode: '005930' } } } });
  });

  it('a missing, revoked or superseded token answers IGW00121 and an expired one IGW00123, HTTP 200 with the headers', async () => {
    let t = Date.UTC(2024, 2, 15, 3, 0, 0); // 12:00 KST
    const s = await start({ now: () => t });
    const client = new ReferenceLsClient(s.url, KEY, SECRET);
    const call = (): Promise<TrResult> => client.request('t1102', '/stock/market-data', {});
    const expectCode = async (code: string): Promise<void> => {
      const r = await call();
      expect(r).toEqual({ status: 200, trCont: 'N', trContKey: '', body: { rsp_cd: code, rsp_msg: expect.any(String) } });
    };
    await expectCode('IGW00121'); // no token at all
    await client.login();
    const first = client.token!;
    expect((await (await client.revoke(first)).json()) as unknown).toEqual({ code: 200, message: '접근토큰 폐기에 성공하였습니다.' });
    await expectCode('IGW00121'); // revoked
    await client.login();
    const second = client.token!;
    await client.login(); // a new token kills the app key's previous one
    client.token = second;
    await expectCode('IGW00121'); // superseded
    await client.login();
    t = Date.UTC(2024, 2, 15, 22, 0, 0); // 07:00 KST the next morning
    await expectCode('IGW00123'); // expired
  });

  // Each fault, on each endpoint, in the shape LS uses there.
  const jsonFaults: [MockFaultKind, number, string][] = [
    ['http500', 500, 'IGW00002'],
    ['rate-limit', 403, 'IGW00201'],
    ['invalid-token', 401, 'IGW00121'],
  ];
  it.each(jsonFaults)('fault %s: token endpoint error_code/error_description, revoke and TR rsp_cd/rsp_msg', async (kind, status, code) => {
    const s = await start();
    const client = new ReferenceLsClient(s.url, KEY, SECRET);
    await client.login();
    s.inject({ endpoint: 'any', kind, count: 3, ...(kind === 'rate-limit' ? { retryAfterS: 1 } : {}) });

    const tok = await client.issue();
    expect(tok.status).toBe(status);
    expect(await tok.json()).toEqual({ error_code: code, error_description: expect.any(String) });
    if (kind === 'rate-limit') expect(tok.headers.get('retry-after')).toBe('1');

    const rev = await client.revoke(client.token!);
    expect(rev.status).toBe(status);
    expect(await rev.json()).toEqual({ rsp_cd: code, rsp_msg: expect.any(String) });

    const tr = await client.request('t1102', '/stock/market-data', {});
    expect(tr).toEqual({ status, trCont: 'N', trContKey: '', body: { rsp_cd: code, rsp_msg: expect.any(String) } });
    expect(s.isActive(client.token!)).toBe(true); // no fault touched the token
  });

  it('fault http500-text: a raw text/plain 5xx with no LS code (and no TR headers: a Python client would KeyError)', async () => {
    const s = await start();
    const client = new ReferenceLsClient(s.url, KEY, SECRET);
    await client.login();
    s.inject({ endpoint: 'any', kind: 'http500-text', count: 2 });
    const tok = await client.issue();
    expect([tok.status, tok.headers.get('content-type'), await tok.text()]).toEqual([500, 'text/plain; charset=utf-8', 'Internal Server Error']);
    await expect(client.request('t1102', '/stock/market-data', {})).rejects.toThrow("KeyError('tr_cont')");
  });

  it('faults malformed, reset and hang', async () => {
    const s = await start();
    const client = new ReferenceLsClient(s.url, KEY, SECRET);
    await client.login();
    s.inject({ endpoint: 'tr', kind: 'malformed' });
    const bad = await fetch(`${s.url}/stock/market-data`, { method: 'POST', headers: { authorization: `Bearer ${client.token!}`, tr_cd: 't1102' }, body: '{}' });
    expect(bad.status).toBe(200);
    expect(bad.headers.get('tr_cont')).toBe('N');
    await expect(bad.json()).rejects.toThrow();

    s.inject({ endpoint: 'token', kind: 'reset' });
    await expect(client.issue()).rejects.toThrow();

    s.inject({ endpoint: 'revoke', kind: 'hang', hangMs: 50 });
    const t0 = performance.now();
    const rev = await client.revoke(client.token!);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(40);
    expect(rev.status).toBe(200);
  });
});
