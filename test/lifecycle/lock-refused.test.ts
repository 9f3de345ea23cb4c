/**
 * An issuance lock that refuses fast (a Redis failing over answers READONLY or refuses the
 * connection for a few seconds) is tried again before a flight goes on without it: in a fleet, an
 * issuance without the lock at 07:00 is one issuance per member, each killing the one before. A
 * lock that keeps refusing does not stop trading: after the retry window the token is issued anyway.
 */
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { TokenLifecycle, type IssueLockProvider } from '../../src/index.js';
import { startMockLsServer, type MockLsServer } from '../../src/testing/index.js';

const APP_KEY = 'PSlockRefusedAppKey000000000000001';
const SECRET = 'SENTINEL-LOCK-REFUSED-SECRET-012345';

/** A lock that refuses its first `refusals` calls (Infinity: every call), then grants; records what happened in order. */
function refusingLock(refusals: number, log: string[]): IssueLockProvider {
  let calls = 0;
  return {
    scope: 'process',
    tryAcquire: async () => {
      calls++;
      if (calls <= refusals) {
        log.push('refused');
        throw new Error('READONLY You can\'t write against a read only replica.');
      }
      log.push('granted');
      return true;
    },
    release: async () => void log.push('released'),
  };
}

describe('an issuance lock that refuses fast', () => {
  let mock: MockLsServer;
  const lifecycles: TokenLifecycle[] = [];
  beforeEach(async () => {
    mock = await startMockLsServer({ credentials: [{ appKey: APP_KEY, appSecretKey: SECRET }], cutoffKst: null });
  });
  afterEach(async () => {
    for (const lc of lifecycles.splice(0)) await lc.shutdown({ deadlineMs: 2_000 });
    await mock.close();
  });

  it('is tried again, and the token is issued under it once it grants (a failover of a few refusals)', async () => {
    const log: string[] = [];
    const lc = new TokenLifecycle({ appKey: APP_KEY, appSecretKey: SECRET, baseUrl: mock.url, sweepIntervalMs: 0, issueLock: refusingLock(3, log) });
    lifecycles.push(lc);
    const token = await lc.getAccessToken();
    expect(mock.isActive(token)).toBe(true);
    expect(mock.stats().tokenRequests).toBe(1);
    expect(log.slice(0, 4)).toEqual(['refused', 'refused', 'refused', 'granted']);
  });

  it('does not stop trading when it keeps refusing: after the retry window the token is issued without it', async () => {
    const log: string[] = [];
    const lc = new TokenLifecycle({ appKey: APP_KEY, appSecretKey: SECRET, baseUrl: mock.url, sweepIntervalMs: 0, storeTimeoutMs: 200, issueLockWaitMs: 15_000, issueLock: refusingLock(Infinity, log) });
    lifecycles.push(lc);
    const token = await lc.getAccessToken();
    expect(mock.isActive(token)).toBe(true);
    expect(mock.stats().tokenRequests).toBe(1);
    expect(log.filter((x) => x === 'refused').length).toBeGreaterThan(3);
    expect(log).not.toContain('granted');
    expect((await lc.health()).problems).toContain('issue-lock-failing');
  }, 20_000);
});
