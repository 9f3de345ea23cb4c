/**
 * Rehearse LS's 07:00 KST cut-off in 13 seconds, against the bundled mock: the mock (LS's clock)
 * and the lifecycle (the host's clock) share one clock that starts at 06:59:49 KST.
 *
 * Run:
 *
 * ```sh
 * npx tsx examples/trading-day.ts
 * ```
 *
 * What it shows, with the default options: the token issued at 06:59:49 lives 11 s (every LS token
 * dies at 07:00 KST); it is used until it dies, because a successor issued before 07:00 would die
 * with it, and issuing one would kill the live token early. Calls in the last moment before 07:00
 * wait for the cut-off; one new token is issued just after it. The old token is left to die: no
 * revoke request (an `expired` event follows a minute later). A TR call every 200 ms checks that
 * every token handed out was alive at LS. Exit code 1 if one was not, or if LS saw more than two
 * token requests.
 *
 * To rehearse with your own daemon, give both the same clock: `startMockLsServer({ now })` and
 * `new TokenLifecycle({ ..., now })`. A daemon in another process can use
 * `ls-token mock-server --control` and move the mock's clock with `POST /__mock/clock`.
 */
import axios from 'axios';
import { TokenLifecycle } from '../src/index.js'; // in your code: from 'ls-token-lifecycle'
import { startMockLsServer } from '../src/testing/index.js'; // in your code: from 'ls-token-lifecycle/testing'

const KST = 9 * 3_600_000;
const DAY = 86_400_000;
const at = (t: number): string => `${new Date(t + KST).toISOString().slice(11, 23)} KST`;

// The next 07:00 KST, and a clock that reads 06:59:49 KST now and runs at the speed of real time.
const cutoff = Math.ceil((Date.now() + KST - 7 * 3_600_000) / DAY) * DAY + 7 * 3_600_000 - KST;
const offset = cutoff - 11_000 - Date.now();
const now = (): number => Date.now() + offset;

const mock = await startMockLsServer({ now }); // LS's day: every token dies at 07:00 KST
const lifecycle = new TokenLifecycle({ appKey: 'demo-app-key', appSecretKey: 'demo-app-secret', baseUrl: mock.url, now });
const say = (text: string): void => console.log(`${at(now())}  ${text}`);
// revokeAt: handed out until then. Here it is the token's death at 07:00 by LS's clock, minus the
// uncertainty of the lifecycle's estimate of that clock (LS stamps whole seconds).
lifecycle.on('issued', (e) => say(`token ${e.id.slice(0, 8)} ${e.source}, handed out until ${new Date(e.revokeAt + KST).toISOString().slice(0, 10)} ${at(e.revokeAt)}`));
lifecycle.on('revoked', (e) => say(`token ${e.id.slice(0, 8)} revoked (${e.reason}, ${e.outcome})`));
lifecycle.on('error', (e) => say(`${e.op}: ${e.error.code} ${e.error.message}`));
say('start (mock LS and lifecycle on one clock)');

const ls = axios.create({ baseURL: mock.url });
lifecycle.attach(ls);
let calls = 0;
let dead = 0;
let waited = 0;
while (now() < cutoff + 2_000) {
  const t0 = now();
  const token = await lifecycle.getAccessToken();
  if (now() - t0 > 100) {
    waited++;
    say(`a call asked at ${at(t0)} waited ${now() - t0} ms for the token after the cut-off`);
  }
  if (!mock.isActive(token)) dead++;
  const res = await ls.post('/stock/market-data', { t1102InBlock: { shcode: '005930' } }, { headers: { tr_cd: 't1102' } });
  if (res.data.rsp_cd !== '00000') say(`t1102 -> ${res.data.rsp_cd}`);
  calls++;
  await new Promise((r) => setTimeout(r, 200));
}

const requests = mock.stats().tokenRequests;
say(`${calls} calls, ${waited} waited for the cut-off, ${dead} handed a token LS had killed; token requests at LS: ${requests}`);
const summary = await lifecycle.shutdown();
say(`shutdown: ${summary.revoked} revoked, ${summary.notRevoked.length} not revoked; tokens alive at LS: ${mock.activeTokens().length}`);
await mock.close();
process.exitCode = dead === 0 && requests === 2 ? 0 : 1;
