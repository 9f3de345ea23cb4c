/**
 * The demo daemon: `npm run demo` (add `-- --duration 25` to stop by itself).
 *
 * Starts the bundled LS mock server on 127.0.0.1 and two lifecycles on the in-memory store, with
 * short lifetimes so a whole token life fits in ~20 s:
 * - "orders" calls a TR endpoint every second through `lifecycle.attach(axios)`; its token is
 *   refreshed in the background 4 s before it is due, and the replaced token is revoked (superseded);
 * - "reports" takes one token and goes quiet; that token is revoked at expiry.
 * Every event is printed as one line. Ctrl-C (or --duration) shuts both down, revoking what is left,
 * and prints how many tokens are still alive at the mock (should be 0).
 */
import { parseArgs } from 'node:util';
import axios from 'axios';
import { TokenLifecycle, type LifecycleEvents } from '../src/index.js';
import { startMockLsServer } from '../src/testing/index.js';

const { values } = parseArgs({ options: { duration: { type: 'string' } } });
const durationS = values.duration === undefined ? undefined : Number(values.duration);
if (durationS !== undefined && !(durationS > 0)) {
  console.error('--duration must be a positive number of seconds');
  process.exit(2);
}

const t0 = Date.now();
const stamp = (): string => `+${((Date.now() - t0) / 1000).toFixed(3).padStart(7, '0')}s`;
const clock = (ms: number): string => new Date(ms).toISOString().slice(11, 19);
const fp = (id: string): string => id.slice(0, 12);

// The mock accepts any well-formed key/secret pair; these are demo values, not real credentials.
// LS's 07:00 KST cut-off is off here: the demo shows a token's whole life in 20 s at any hour
// (examples/trading-day.ts rehearses the cut-off).
const mock = await startMockLsServer({ tokenLifetimeS: 12, latencyMs: 20, cutoffKst: null });
console.log(`${stamp()} mock LS server on ${mock.url} (tokens live 12 s)`);

function observe(name: string, lc: TokenLifecycle): void {
  const line = (event: string, text: string): void => console.log(`${stamp()} ${name.padEnd(7)} ${event.padEnd(12)} ${text}`);
  const on = <K extends keyof LifecycleEvents>(k: K, fn: LifecycleEvents[K]): void => void lc.on(k, fn as never);
  on('issued', (e) => line('issued', `token ${fp(e.id)} (${e.source}) expires ${clock(e.expiresAt)} revoke at ${clock(e.revokeAt)}`));
  on('scheduled', (e) => line('scheduled', `token ${fp(e.id)} ${e.reason} revocation at ${clock(e.revokeAt)}`));
  on('revoked', (e) => line('revoked', `token ${fp(e.id)} reason=${e.reason} outcome=${e.outcome} attempts=${e.attempts} in ${e.durationMs} ms`));
  on('retrying', (e) => line('retrying', `token ${fp(e.id)} attempt ${e.attempt} failed (${e.error.code}); next in ${e.delayMs} ms`));
  on('revokeFailed', (e) => line('revokeFailed', `token ${fp(e.id)} gave up after ${e.attempts} attempts: ${e.error.code}`));
  on('expired', (e) => line('expired', `token ${fp(e.id)} expired at ${clock(e.expiresAt)} before it was revoked`));
  on('error', (e) => line('error', `${e.op}: ${e.error.code} ${e.error.message}`));
}

// Tokens live 12 s here, so the issuance budget (one issuance per app key a minute by default,
// as brokers on LS's gateway allow) is shortened to match.
const common = { baseUrl: mock.url, revokeMarginMs: 2_000, supersededGraceMs: 1_000, sweepIntervalMs: 0, minIssueIntervalMs: 2_000 } as const;
const orders = new TokenLifecycle({ appKey: 'DEMO-ORDERS-APPKEY-0000000000000001', appSecretKey: 'demo-secret-orders', refreshMarginMs: 4_000, ...common });
const reports = new TokenLifecycle({ appKey: 'DEMO-REPORTS-APPKEY-000000000000002', appSecretKey: 'demo-secret-reports', refreshMarginMs: 0, ...common });
observe('orders', orders);
observe('reports', reports);
await Promise.all([orders.start(), reports.start()]);

const tr = axios.create({ baseURL: mock.url });
orders.attach(tr);
await reports.getAccessToken();

let n = 0;
const loop = setInterval(() => {
  const i = ++n;
  tr.post('/stock/order', { order: i })
    .then((res) => console.log(`${stamp()} orders  ${`order #${i}`.padEnd(12)} ${(res.data as { rsp_cd?: string }).rsp_cd === '00000' ? 'accepted' : 'rejected'}`))
    .catch((err: unknown) => console.log(`${stamp()} orders  ${`order #${i}`.padEnd(12)} failed: ${(err as Error).message}`));
}, 1_000);

let stoppingAt = 0;
async function stop(why: string): Promise<void> {
  if (stoppingAt !== 0) {
    // Under `npm run demo` one Ctrl-C arrives two or three times (the terminal signals the process
    // group, and npm and tsx forward it too, as late as a busy machine lets them): only a second
    // press, a second or more later, means "leave now" (the library's exit hooks count the same way).
    if (Date.now() - stoppingAt > 1_000) process.exit(130);
    return;
  }
  stoppingAt = Date.now();
  clearInterval(loop);
  console.log(`${stamp()} ${why}: shutting down`);
  const [a, b] = await Promise.all([orders.shutdown({ deadlineMs: 5_000 }), reports.shutdown({ deadlineMs: 5_000 })]);
  console.log(`${stamp()} shutdown revoked ${a.revoked + b.revoked}, failed ${a.failed + b.failed}, pending ${a.pending + b.pending}`);
  console.log(`${stamp()} tokens still alive at the mock LS: ${mock.activeTokens().length}`);
  await mock.close();
  process.exit(a.failed + b.failed + a.pending + b.pending === 0 ? 0 : 1);
}
// One handler per signal: stop() itself treats a second Ctrl-C as "leave now".
process.on('SIGINT', () => void stop('Ctrl-C'));
process.on('SIGTERM', () => void stop('SIGTERM'));
if (durationS !== undefined) setTimeout(() => void stop(`${durationS} s elapsed`), durationS * 1_000);
console.log(`${stamp()} running; Ctrl-C to stop${durationS === undefined ? '' : ` (or wait ${durationS} s)`}`);
