/**
 * KIS answers its live token again for 6 h, also while another process of the fleet is revoking
 * it. Such an answer must never be handed out: the process waits for that revoke to settle and
 * asks again, for a fresh token, once KIS's minute (which the budget counts) has passed.
 *
 * Two lifecycles on one store, the KIS mock over HTTP; one clock shared by the mock and the
 * lifecycles, pinned to 12:00 KST and moved by hand past KIS's one-a-minute limit.
 */
import { afterEach, describe, expect, it } from '@jest/globals';
import { Keyv } from 'keyv';
import { ErrorCodes, TokenLifecycle, TokenStore, tokenId } from '../../src/index.js';
import { startMockKisServer, type MockKisServer } from '../../src/testing/index.js';
import { waitUntil } from '../fixtures/harness.js';

const APP_KEY = 'PSkisRepeatAppKey00000000000000001';
const SECRET = 'SENTINEL-KIS-REPEAT-SECRET-0123456';
/** 12:00 KST on a weekday, moving with real time, plus what the test adds. */
const T_BASE = Date.UTC(2026, 0, 15, 3, 0, 0);
const started = Date.now();
let skipped = 0;
const clock = (): number => T_BASE + (Date.now() - started) + skipped;

const closers: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c();
});

describe('kis: a repeated token that the fleet is revoking', () => {
  it('is never handed out; a fresh token is issued once the revoke settled and KIS\'s minute passed', async () => {
    const mock: MockKisServer = await startMockKisServer({ credentials: [{ appKey: APP_KEY, appSecretKey: SECRET }], now: clock });
    closers.push(() => mock.close());
    const shared = new Map<string, unknown>(); // one store, as a fleet on one Redis would share
    const make = (instanceId: string): TokenLifecycle => {
      const lc = new TokenLifecycle({
        retry: { retries: 3, minDelayMs: 700, maxDelayMs: 700 }, provider: 'kis', appKey: APP_KEY, appSecretKey: SECRET, baseUrl: mock.url, now: clock, sweepIntervalMs: 0, instanceId, store: new Keyv({ store: shared }), issueLockWaitMs: 2_000 });
      closers.push(() => lc.shutdown({ deadlineMs: 2_000 }));
      return lc;
    };
    const a = make('kis-a');
    const t = await a.getAccessToken();
    const id = tokenId(t);
    const store = new TokenStore({ keyv: new Keyv({ store: shared }) });

    // A, the last holder, shuts down: it marks T `revoking`; KIS fails its first two revoke
    // requests, so T stays alive at KIS (and `revoking` in the store) while A retries.
    mock.inject({ endpoint: 'revoke', kind: 'http500', count: 2 });
    const aDown = a.shutdown({ deadlineMs: 5_000 });
    await waitUntil(async () => (await store.get(id))?.state === 'revoking', 5_000, 'A to mark T revoking');

    // B needs a token past KIS's minute: KIS answers T again (same token within 6 h).
    skipped += 68_000; // past KIS's minute, its margin and the budget's grace (#18)
    const b = make('kis-b');
    const handedOut: string[] = [];
    const first = await b.getAccessToken().then(
      (tok) => (handedOut.push(tok), undefined),
      (err: unknown) => err,
    );
    await aDown;
    expect(mock.stats().sameTokenAnswers).toBe(1); // the path under test was taken
    expect(handedOut).toEqual([]); // T was not handed out...
    expect(first).toMatchObject({ code: ErrorCodes.ISSUE_THROTTLED }); // ...B waits for KIS's minute instead
    expect((first as { retryAfterMs: number }).retryAfterMs).toBeGreaterThan(50_000);
    expect(mock.isActive(t)).toBe(false); // A's revoke went through
    expect(await store.get(id)).toMatchObject({ state: 'revoked' });

    // Past the minute B issues a fresh token, which is alive.
    skipped += 75_000; // past KIS's minute from B's last request, its margin and the budget's grace (#18)
    const fresh = await b.getAccessToken();
    expect(fresh).not.toBe(t);
    expect(mock.isActive(fresh)).toBe(true);
    expect(mock.stats().issued).toBe(2);
  });
});
