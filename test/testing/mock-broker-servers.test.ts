/**
 * The KIS and Kiwoom mocks behind the shared transports: the HTTP shell (with the control
 * endpoint) and the axios adapter.
 */
import { afterEach, describe, expect, it } from '@jest/globals';
import axios from 'axios';
import { createKiwoomModel, mockAxiosAdapter, startMockKisServer, startMockKiwoomServer, type MockBrokerServer, type MockModel } from '../../src/testing/index.js';

const servers: MockBrokerServer<MockModel>[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function post(url: string, body: unknown, headers: Record<string, string> = { 'content-type': 'application/json' }): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(url, { method: 'POST', headers, body: typeof body === 'string' ? body : JSON.stringify(body) });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

describe('startMockKisServer', () => {
  it('serves tokenP and revokeP over HTTP with KIS dates, and the control endpoint arms faults and kills tokens', async () => {
    const server = await startMockKisServer({ control: true });
    servers.push(server);
    const issued = await post(`${server.url}/oauth2/tokenP`, { grant_type: 'client_credentials', appkey: 'k', appsecret: 's' });
    expect(issued.status).toBe(200);
    expect(issued.json.access_token_token_expired).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);
    const fault = await post(`${server.url}/__mock/faults`, '"token:rate-limit"');
    expect(fault.status).toBe(201);
    expect((await post(`${server.url}/oauth2/tokenP`, { grant_type: 'client_credentials', appkey: 'k2', appsecret: 's' })).json.error_code).toBe('EGW00133');
    expect((await post(`${server.url}/__mock/tokens/kill`, {})).json).toEqual({ killed: 1 });
    expect(server.isActive(issued.json.access_token as string)).toBe(false);
    const state = (await (await fetch(`${server.url}/__mock/state`)).json()) as Record<string, unknown>;
    expect(state).toMatchObject({ provider: 'kis', stats: { issued: 1, tokenRequests: 2, faultsInjected: 1 } });
  });
});

describe('startMockKiwoomServer', () => {
  it('serves au10001/au10002 over HTTP, the same token twice, and revokes it', async () => {
    const server = await startMockKiwoomServer();
    servers.push(server);
    const a = await post(`${server.url}/oauth2/token`, { grant_type: 'client_credentials', appkey: 'k', secretkey: 's' });
    const b = await post(`${server.url}/oauth2/token`, { grant_type: 'client_credentials', appkey: 'k', secretkey: 's' });
    expect(b.json.token).toBe(a.json.token);
    expect(server.stats()).toMatchObject({ issued: 1, sameTokenAnswers: 1 });
    expect((await post(`${server.url}/oauth2/revoke`, { appkey: 'k', secretkey: 's', token: a.json.token })).json.return_code).toBe(0);
    expect(server.activeTokens()).toEqual([]);
  });
});

describe('mockAxiosAdapter with a Kiwoom model', () => {
  it('carries requests to the model with no socket, answers dated by the model clock', async () => {
    const t0 = Date.UTC(2024, 10, 5, 23, 37, 13);
    const model = createKiwoomModel({ now: () => t0 });
    const http = axios.create({ adapter: mockAxiosAdapter(model) });
    const res = await http.post('http://127.0.0.1:9/oauth2/token', { grant_type: 'client_credentials', appkey: 'k', secretkey: 's' });
    expect(res.status).toBe(200);
    expect(res.data).toMatchObject({ expires_dt: '20241107083713', return_code: 0 });
    expect(res.headers['date']).toBe(new Date(t0).toUTCString());
  });
});
