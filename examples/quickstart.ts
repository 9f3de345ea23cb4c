import axios from 'axios';
import { TokenLifecycle } from '../src/index.js';
import { startMockLsServer } from '../src/testing/index.js';

// A stand-in for LS on 127.0.0.1 (any key and secret). For real LS: no mock, no baseUrl.
const mock = await startMockLsServer();

const lifecycle = new TokenLifecycle({
  appKey: 'demo-app-key',
  appSecretKey: 'demo-app-secret',
  baseUrl: mock.url,
});
lifecycle.on('issued', (e) => console.log(`token ${e.id.slice(0, 12)} ${e.source}, expires ${new Date(e.expiresAt).toISOString()}`));
lifecycle.on('revoked', (e) => console.log(`token ${e.id.slice(0, 12)} revoked (${e.reason})`));
lifecycle.installExitHooks(); // Ctrl-C, SIGTERM, a crash: revoke before the process ends
await lifecycle.start(); // sweeps the store: revokes what a crashed run left behind

// Every request of this instance carries the token (retried once if LS calls it dead).
const ls = axios.create({ baseURL: mock.url });
lifecycle.attach(ls);
const res = await ls.post('/stock/market-data', { t1102InBlock: { shcode: '005930' } }, { headers: { tr_cd: 't1102' } });
console.log(`t1102 -> ${res.data.rsp_cd}`);

// Or take the token yourself: from memory while it is valid, no I/O.
const token = await lifecycle.getAccessToken();

console.log(`healthy: ${(await lifecycle.health()).ok}, token of ${token.length} characters`);

const summary = await lifecycle.shutdown(); // revokes what this process holds
console.log(`shutdown: ${summary.revoked} revoked, ${summary.notRevoked.length} not revoked`);
await mock.close();
