/**
 * The axios adapter onto the LS model, driven by the library's own LsOAuthClient under jest's fake
 * timers: no socket, no real wait.
 */
import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import axios, { AxiosError, CanceledError } from 'axios';
import { ErrorCodes, LsTokenError } from '../../src/core/errors.js';
import { LsOAuthClient } from '../../src/providers/ls/ls-client.js';
import { createLsModel, mockLsAxiosAdapter, type LsModel } from '../../src/testing/index.js';
import { seededRandom } from '../helpers/net-and-random.js';

const KEY = 'PSd7orrAJnAfr202g4MpbzVxwqPBjjkvjLf2';
const SECRET = 'puQoMSRYZwOHt8goiEHbOazdBqLRUyYA';
/** 2024-03-15 06:59:00 KST. */
const KST_06_59 = Date.UTC(2024, 2, 14, 21, 59, 0);
const KST_07_00 = Date.UTC(2024, 2, 14, 22, 0, 0);

function clientOn(model: LsModel, opts: { latencyMs?: number; timeoutMs?: number } = {}): LsOAuthClient {
  const adapter = mockLsAxiosAdapter(model, { latencyMs: opts.latencyMs ?? 0 });
  return new LsOAuthClient({
    appKey: KEY,
    appSecretKey: SECRET,
    baseUrl: 'http://127.0.0.1:9', // never contacted: a loopback URL passes the client's plain-http check
    timeoutMs: opts.timeoutMs ?? 10_000,
    axios: axios.create({ adapter }),
  });
}

/** The error a promise rejects with (fails the test if it resolves). */
async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error('expected a rejection');
}

beforeEach(() => {
  // performance stays real: the simulated-days test measures how long it really takes
  jest.useFakeTimers({ now: KST_06_59, doNotFake: ['performance'] });
});
afterEach(() => {
  jest.useRealTimers();
});

describe('mockLsAxiosAdapter with LsOAuthClient under fake timers', () => {
  it('issues after the latency on the fake clock; a token issued at 06:59 KST dies at 07:00', async () => {
    const model = createLsModel(); // default clock: Date.now, which the fake timers own
    const client = clientOn(model, { latencyMs: 20 });
    let done = false;
    const pending = client.issueToken().finally(() => (done = true));
    await jest.advanceTimersByTimeAsync(19);
    expect(done).toBe(false);
    await jest.advanceTimersByTimeAsync(1);
    const token = await pending;
    expect(token.expiresAt).toBe(KST_07_00);
    expect(model.isActive(token.accessToken)).toBe(true);
    jest.setSystemTime(KST_07_00);
    expect(model.isActive(token.accessToken)).toBe(false);
    expect(jest.getTimerCount()).toBe(0);
  });

  it('revokes, then reports the dead token as already invalid', async () => {
    const model = createLsModel();
    const client = clientOn(model);
    const token = await client.issueToken();
    await expect(client.revokeToken(token.accessToken)).resolves.toEqual({ outcome: 'revoked' });
    await expect(client.revokeToken(token.accessToken)).resolves.toEqual({ outcome: 'already-invalid' });
    expect(model.stats()).toMatchObject({ issued: 1, revoked: 1, inflight: 0 });
  });

  it('honours config.timeout on the fake clock: a hung request times out (ECONNABORTED → ERR_TIMEOUT)', async () => {
    const model = createLsModel();
    model.inject({ endpoint: 'token', kind: 'hang' });
    const client = clientOn(model, { timeoutMs: 1000 });
    const failed = rejection(client.issueToken());
    await jest.advanceTimersByTimeAsync(999);
    expect(model.stats().inflight).toBe(1);
    await jest.advanceTimersByTimeAsync(1);
    const err = (await failed) as LsTokenError;
    expect(err).toBeInstanceOf(LsTokenError);
    expect(err.code).toBe(ErrorCodes.TIMEOUT);
    expect((err.cause as AxiosError).code).toBe('ECONNABORTED');
    expect(model.stats()).toMatchObject({ inflight: 0, issued: 0 });
    expect(jest.getTimerCount()).toBe(0);
  });

  it('honours config.signal: an abort rejects like axios (ERR_CANCELED → ERR_ABORTED)', async () => {
    const model = createLsModel();
    model.inject({ endpoint: 'revoke', kind: 'hang' });
    const client = clientOn(model);
    const token = await client.issueToken();
    const ac = new AbortController();
    const failed = rejection(client.revokeToken(token.accessToken, 'access_token', { signal: ac.signal }));
    await jest.advanceTimersByTimeAsync(50);
    ac.abort();
    const err = (await failed) as LsTokenError;
    expect(err.code).toBe(ErrorCodes.ABORTED);
    // The client keeps a secret-free summary of axios's CanceledError as the cause, not the error itself.
    expect(err.cause).toMatchObject({ name: 'CanceledError', code: 'ERR_CANCELED' });
    expect(model.isActive(token.accessToken)).toBe(true);
    expect(model.stats().inflight).toBe(0);
    expect(jest.getTimerCount()).toBe(0);
  });

  it('a reset rejects like a reset socket (ECONNRESET → ERR_NETWORK)', async () => {
    const model = createLsModel();
    model.inject({ endpoint: 'token', kind: 'reset' });
    const failed = rejection(clientOn(model, { latencyMs: 5 }).issueToken());
    await jest.advanceTimersByTimeAsync(5);
    const err = (await failed) as LsTokenError;
    expect(err.code).toBe(ErrorCodes.NETWORK);
    expect((err.cause as AxiosError).code).toBe('ECONNRESET');
    expect(err.retryable).toBe(true);
  });

  it('hands the client status, lower-case retry-after and the raw body: faults classify as over HTTP', async () => {
    const model = createLsModel();
    const client = clientOn(model);
    model.inject({ endpoint: 'token', kind: 'rate-limit', retryAfterS: 2 });
    const limited = (await rejection(client.issueToken())) as LsTokenError;
    expect([limited.code, limited.lsCode, limited.httpStatus, limited.retryAfterMs]).toEqual([ErrorCodes.RATE_LIMITED, 'IGW00201', 403, 2000]);

    model.inject({ endpoint: 'token', kind: 'http500' });
    const json500 = (await rejection(client.issueToken())) as LsTokenError;
    expect([json500.code, json500.lsCode, json500.httpStatus, json500.retryable]).toEqual([ErrorCodes.LS_REJECTED, 'IGW00002', 500, true]);

    model.inject({ endpoint: 'token', kind: 'http500-text' });
    const text500 = (await rejection(client.issueToken())) as LsTokenError;
    expect([text500.code, text500.httpStatus, text500.retryable]).toEqual([ErrorCodes.HTTP, 500, true]);

    model.inject({ endpoint: 'token', kind: 'malformed' });
    expect(((await rejection(client.issueToken())) as LsTokenError).code).toBe(ErrorCodes.BAD_RESPONSE);
  });

  it('checks credentials like the server', async () => {
    const model = createLsModel({ credentials: [{ appKey: KEY, appSecretKey: 'another-secret' }] });
    const err = (await rejection(clientOn(model).issueToken())) as LsTokenError;
    expect([err.code, err.lsCode, err.httpStatus]).toEqual([ErrorCodes.INVALID_CREDENTIALS, 'IGW00105', 403]);
  });

  it('a hang with hangMs answers after hangMs + latency, issuing when the hang ends', async () => {
    const model = createLsModel({ cutoffKst: null });
    model.inject({ endpoint: 'token', kind: 'hang', hangMs: 5000 });
    const pending = clientOn(model, { latencyMs: 10 }).issueToken();
    await jest.advanceTimersByTimeAsync(5000);
    expect(model.stats().issued).toBe(1);
    await jest.advanceTimersByTimeAsync(10);
    const token = await pending;
    expect(model.tokenInfo(token.accessToken)?.issuedAtMs).toBe(KST_06_59 + 5000);
    expect(jest.getTimerCount()).toBe(0);
  });
});

describe('mockLsAxiosAdapter with plain axios', () => {
  it('parses JSON with the default transformResponse, exposes the TR headers, and rejects a 5xx by validateStatus', async () => {
    const model = createLsModel();
    const http = axios.create({ adapter: mockLsAxiosAdapter(model), baseURL: 'http://ls.mock/' });
    const issued = await http.post<{ access_token: string }>(
      '/oauth2/token',
      new URLSearchParams({ grant_type: 'client_credentials', appkey: KEY, appsecretkey: SECRET, scope: 'oob' }),
    );
    const token = issued.data.access_token;
    const res = await http.post('stock/accno', { FOCCQ33600InBlock1: {} }, { headers: { authorization: `Bearer ${token}`, tr_cd: 'FOCCQ33600' } });
    expect(res.status).toBe(200);
    expect(res.data).toMatchObject({ rsp_cd: '00136', FOCCQ33600OutBlock3: [] });
    expect([res.headers['tr_cont'], res.headers['tr_cont_key'], res.headers['tr_cd']]).toEqual(['N', '', 'FOCCQ33600']);

    model.inject({ endpoint: 'tr', kind: 'http500' });
    const err = (await rejection(http.post('/stock/accno', {}, { headers: { authorization: `Bearer ${token}` } }))) as AxiosError;
    expect(err).toBeInstanceOf(AxiosError);
    expect([err.code, err.response?.status, err.response?.data]).toEqual(['ERR_BAD_RESPONSE', 500, { rsp_cd: 'IGW00002', rsp_msg: expect.any(String) }]);
  });

  it('rejects at once when the signal is already aborted, without reaching the model', async () => {
    const model = createLsModel();
    const http = axios.create({ adapter: mockLsAxiosAdapter(model) });
    const err = await rejection(http.post('http://ls.mock/oauth2/token', '', { signal: AbortSignal.abort() }));
    expect(err).toBeInstanceOf(CanceledError);
    expect(model.stats().tokenRequests).toBe(0);
  });

  it('validates its options', () => {
    expect(() => mockLsAxiosAdapter(createLsModel(), { latencyMs: -1 })).toThrow(LsTokenError);
  });
});

describe('simulated LS days', () => {
  it('drives 7 LS days in a fraction of a second, deterministically for a seed', async () => {
    const runWeek = async (seed: number): Promise<string[]> => {
      jest.setSystemTime(KST_06_59);
      const model = createLsModel({ jwtSecret: 'a fixed secret for replays', random: seededRandom(seed) });
      model.inject({ endpoint: 'any', kind: 'http500', rate: 0.05 });
      model.inject({ endpoint: 'token', kind: 'rate-limit', rate: 0.05, retryAfterS: 1 });
      const client = clientOn(model, { latencyMs: 15 });
      const log: string[] = [];
      let token: string | undefined;
      let expiresAt = 0;
      for (let step = 0; step < 7 * 24 * 12; step++) {
        // every 5 simulated minutes: make sure a live token is held, as a daemon would
        if (token === undefined || Date.now() >= expiresAt) {
          const pending = client.issueToken().then(
            (t) => ({ ok: true as const, t }),
            (e: unknown) => ({ ok: false as const, e: e as LsTokenError }),
          );
          await jest.advanceTimersByTimeAsync(15);
          const r = await pending;
          if (r.ok) {
            token = r.t.accessToken;
            expiresAt = r.t.expiresAt;
            log.push(`${new Date(Date.now()).toISOString()} issued until ${new Date(expiresAt).toISOString()}`);
          } else log.push(`${new Date(Date.now()).toISOString()} ${r.e.code}`);
        }
        expect(token === undefined || Date.now() >= expiresAt || model.isActive(token)).toBe(true);
        await jest.advanceTimersByTimeAsync(5 * 60_000 - 15);
      }
      return log;
    };
    const t0 = performance.now();
    const week = await runWeek(11);
    expect(performance.now() - t0).toBeLessThan(10_000);
    // every token dies at a 07:00 KST: one issuance per LS day, plus retries after faults
    const issued = week.filter((l) => l.includes('issued'));
    expect(issued.length).toBeGreaterThanOrEqual(8);
    for (const line of issued) expect(line).toMatch(/until \d{4}-\d\d-\d\dT22:00:00\.000Z$/);
    expect(await runWeek(11)).toEqual(week);
  });
});
