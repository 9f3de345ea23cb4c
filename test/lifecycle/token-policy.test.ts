import { describe, expect, it } from '@jest/globals';
import { ClockSkew } from '../../src/lifecycle/clock-skew.js';
import { CUTOFF_WAIT_MS, TokenPolicy, nextCutoffAt, type TokenPolicyOptions } from '../../src/lifecycle/token-policy.js';
import { LS_DAILY_CUTOFF, LS_MAX_LIFETIME_MS } from '../../src/providers/ls/ls-provider.js';
import type { TokenRecord } from '../../src/store/token-record.js';

/** 07:00 KST on 2026-11-25 is 22:00 UTC on the 24th. */
const CUTOFF = Date.UTC(2026, 10, 24, 22, 0, 0);
const MIN = 60_000;
const HOUR = 60 * MIN;
const kst = (h: number, m: number, s = 0): number => CUTOFF + ((h - 7) * 3600 + m * 60 + s) * 1000;

const LS: TokenPolicyOptions = {
  refreshMarginMs: 5 * MIN,
  revokeMarginMs: MIN,
  maxLifetimeMs: Infinity,
  lifetimeMs: LS_MAX_LIFETIME_MS,
  cutoff: LS_DAILY_CUTOFF,
  cutoffJitterMs: 100,
};

function policy(extra: Partial<TokenPolicyOptions> = {}, bounds = { lowMs: 0, highMs: 0 }): TokenPolicy {
  return new TokenPolicy({ ...LS, ...extra }, () => bounds);
}

describe('nextCutoffAt', () => {
  it('is the next 07:00 KST strictly after the given instant, whatever the hour', () => {
    expect(nextCutoffAt(kst(6, 59, 59), LS_DAILY_CUTOFF)).toBe(CUTOFF);
    expect(nextCutoffAt(CUTOFF, LS_DAILY_CUTOFF)).toBe(CUTOFF + 24 * HOUR);
    expect(nextCutoffAt(kst(12, 53, 21), LS_DAILY_CUTOFF)).toBe(CUTOFF + 24 * HOUR);
    // 23:30 KST is 14:30 UTC: the next cut-off is 7.5 h later, on the next KST day.
    expect(nextCutoffAt(kst(7, 0) - 7.5 * HOUR, LS_DAILY_CUTOFF)).toBe(CUTOFF);
    expect(nextCutoffAt(Date.UTC(2026, 10, 24, 21, 59, 59, 999), LS_DAILY_CUTOFF)).toBe(CUTOFF);
  });
});

describe('TokenPolicy: the LS trading day', () => {
  it('predicts that a token issued before 07:00 dies at 07:00, and one issued after lives to the next 07:00', () => {
    const p = policy();
    expect(p.successorExpiry(kst(6, 59))).toBe(CUTOFF);
    expect(p.successorExpiry(kst(12, 53, 21))).toBe(CUTOFF + 24 * HOUR);
    expect(p.successorExpiry(CUTOFF + 1)).toBe(CUTOFF + 24 * HOUR);
    expect(policy({ cutoff: null }).successorExpiry(kst(6, 59))).toBe(kst(6, 59) + LS_MAX_LIFETIME_MS);
  });

  it('a cut-off token whose answer took 3 s (expires_in counted from the send time) is still left to die, with a narrow clock estimate', () => {
    // Found by the simulation's slow broker: revoked a minute early, it died for the whole fleet.
    const p = policy({}, { lowMs: -4_333, highMs: -4_293 });
    const issuedAt = kst(7, 0, 4) - 24 * HOUR; // host time, 4.3 s ahead of LS
    const expiresAt = CUTOFF + 4_300 - 2_900; // by expires_in from the send time: 2.9 s before LS's cut-off
    expect(p.times(issuedAt, expiresAt)).toMatchObject({ revokeAt: expiresAt, letDie: true });
  });

  it('uses a token that ends at the cut-off until the cut-off and lets it die (no margin, no revoke request)', () => {
    const p = policy();
    const t = p.times(kst(12, 53, 21) - 24 * HOUR, CUTOFF + 1_000); // LS's example: issued 12:53:21, exp 07:00:01 the next day
    expect(t).toMatchObject({ revokeAt: CUTOFF + 1_000, letDie: true });
    // No successor before the cut-off would outlive it: the refresh is just after 07:00, plus the jitter.
    expect(t.refreshAt).toBe(CUTOFF + 100);
  });

  it('uses a token issued at 06:59 (a minute of life, less than the margins) until it expires', () => {
    const t = policy({ revokeMarginMs: 2 * MIN }).times(kst(6, 59), CUTOFF);
    expect(t).toMatchObject({ revokeAt: CUTOFF, letDie: true, refreshAt: CUTOFF + 100 });
  });

  it('revokes by the margin, and refreshes before it, when the successor would outlive the token', () => {
    const p = policy({ cutoff: null }); // a broker with 24 h tokens and no cut-off
    const issuedAt = kst(9, 0);
    const t = p.times(issuedAt, issuedAt + 24 * HOUR);
    expect(t).toMatchObject({ revokeAt: issuedAt + 24 * HOUR - MIN, letDie: false, refreshAt: issuedAt + 24 * HOUR - 6 * MIN });
  });

  it('keeps the policy lifetime (maxLifetimeMs) as a hard end, and refreshes before it', () => {
    const p = policy({ maxLifetimeMs: HOUR });
    const t = p.times(kst(10, 0), CUTOFF + 24 * HOUR);
    expect(t).toMatchObject({ revokeAt: kst(11, 0), letDie: false, refreshAt: kst(10, 55) });
    // 06:30 policy end, 07:00 expiry: the successor fetched at 06:25 dies at 07:00 but still outlives
    // the 06:30 end by more than the margin, so it is fetched then.
    const late = p.times(kst(5, 30), CUTOFF);
    expect(late).toMatchObject({ revokeAt: kst(6, 30), refreshAt: kst(6, 25) });
  });

  it('refresh at 0 means no background refresh', () => {
    expect(policy({ refreshMarginMs: 0 }).times(kst(9, 0), CUTOFF + 24 * HOUR).refreshAt).toBe(Infinity);
  });

  it('adopts the fleet\'s 07:00 token at 06:58 instead of issuing one that would die with it', () => {
    const p = policy();
    const now = kst(6, 58);
    const stored = p.times(kst(20, 0) - 24 * HOUR, CUTOFF);
    expect(p.worthAdopting(stored, now)).toBe(true);
    // ...but not a token that has ended, and not an older issuance while we hold a usable one.
    expect(p.worthAdopting(stored, CUTOFF)).toBe(false);
    const current = p.times(kst(21, 0) - 24 * HOUR, CUTOFF);
    expect(p.worthAdopting(stored, now, current)).toBe(false);
    expect(p.worthAdopting(current, now, stored)).toBe(true); // a newer issuance killed ours at LS
  });

  it('never refreshes before the cut-off: the successor would not outlive the current token', () => {
    const p = policy();
    const current = p.times(kst(9, 0) - 24 * HOUR, CUTOFF);
    for (const at of [kst(6, 55), kst(6, 59, 59)]) {
      expect(p.issueDecision(at, current)).toEqual({ kind: 'keep', retryAt: CUTOFF + 100 });
    }
    expect(p.issueDecision(CUTOFF + 100, current)).toEqual({ kind: 'issue' }); // current has ended
  });

  it('with no usable token, waits for an imminent cut-off instead of issuing a token that dies with it', () => {
    const p = policy();
    expect(p.issueDecision(CUTOFF - 4_000)).toEqual({ kind: 'wait', until: CUTOFF + 100 });
    expect(p.issueDecision(CUTOFF - CUTOFF_WAIT_MS - 1)).toEqual({ kind: 'issue' }); // too far: issue a short token now
    expect(p.issueDecision(CUTOFF + 1)).toEqual({ kind: 'issue' });
    expect(policy({ cutoff: null }).issueDecision(CUTOFF - 1)).toEqual({ kind: 'issue' });
  });

  it('judges the cut-off by LS\'s clock: a host 5 s behind LS stops using the token 5 s early by its own clock', () => {
    // LS time = host + 5 s, known to within 1 s.
    const p = policy({}, { lowMs: 4_500, highMs: 5_500 });
    const lsExp = CUTOFF / 1000; // JWT exp of a token dying at 07:00 LS time
    const issuedAt = kst(12, 0) - 24 * HOUR;
    const expiresAt = p.expiryOf(issuedAt, undefined, lsExp);
    expect(expiresAt).toBe(CUTOFF - 5_500); // the earliest host time at which it may be dead
    // LS has surely passed 07:00 from host time 07:00 - 4.5 s on; the refresh is then (+ jitter).
    expect(p.cutoffPassedAt(kst(6, 0))).toBe(CUTOFF - 4_500);
    expect(p.times(issuedAt, expiresAt)).toMatchObject({ revokeAt: CUTOFF - 5_500, letDie: true, refreshAt: CUTOFF - 4_400 });
  });

  it('judges the cut-off by LS\'s clock: a host 5 s ahead of LS waits 5 s past its own 07:00', () => {
    const p = policy({}, { lowMs: -5_500, highMs: -4_500 });
    expect(p.cutoffPassedAt(kst(6, 0))).toBe(CUTOFF + 5_500);
    expect(p.issueDecision(CUTOFF + 1_000)).toEqual({ kind: 'wait', until: CUTOFF + 5_600 });
    expect(p.successorExpiry(CUTOFF + 5_600)).toBe(CUTOFF + 24 * HOUR + 4_500);
  });

  it('picks the newest usable active record as the fleet\'s shared token', () => {
    const base = { schema: 1, appKeyId: 'a', tokenType: 'Bearer', reason: null, attempts: 0, lastError: null, ownerId: null, createdAt: 0, updatedAt: 0 } as const;
    const rec = (id: string, issuedAt: number, extra: Partial<TokenRecord> = {}): TokenRecord => ({ ...base, id, issuedAt, expiresAt: CUTOFF, revokeAt: CUTOFF, state: 'active', ...extra });
    const now = kst(6, 0);
    const records = [rec('old', kst(1, 0)), rec('new', kst(2, 0)), rec('revoking', kst(3, 0), { state: 'revoking' }), rec('ended', kst(4, 0), { revokeAt: now })];
    expect(policy().sharedToken(records, now)?.id).toBe('new');
    expect(policy().sharedToken(records, CUTOFF)).toBeUndefined();
  });
});

describe('ClockSkew', () => {
  it('trusts the host clock until LS has answered, then bounds the offset from whole-second stamps', () => {
    const skew = new ClockSkew();
    expect(skew.bounds()).toEqual({ lowMs: 0, highMs: 0 });
    expect(skew.estimate()).toBeNull();
    // Sent at host 1000.200, received at 1000.300; LS stamped 1005 (whole seconds): LS is 4.7 to 5.8 s ahead.
    expect(skew.sample({ sentAt: 1_000_200, receivedAt: 1_000_300, serverMs: 1_005_000, resolutionMs: 1000 })).toBe(true);
    expect(skew.bounds()).toEqual({ lowMs: 4_700, highMs: 5_800 });
  });

  it('narrows the interval as samples with other sub-second phases arrive, and starts again when a clock steps', () => {
    const skew = new ClockSkew();
    skew.sample({ sentAt: 1_000_200, receivedAt: 1_000_300, serverMs: 1_005_000, resolutionMs: 1000 });
    skew.sample({ sentAt: 2_000_700, receivedAt: 2_000_800, serverMs: 2_006_000, resolutionMs: 1000 }); // offset in [5.2, 6.3]
    expect(skew.bounds()).toEqual({ lowMs: 5_200, highMs: 5_800 });
    expect(skew.estimate()).toMatchObject({ offsetMs: 5_500, samples: 2 });
    skew.sample({ sentAt: 3_000_000, receivedAt: 3_000_100, serverMs: 2_990_000, resolutionMs: 1000 }); // stepped: -10.1 .. -9
    expect(skew.bounds()).toEqual({ lowMs: -10_100, highMs: -9_000 });
    expect(skew.estimate()).toMatchObject({ samples: 1 });
  });

  it('ignores samples that say nothing (a negative or huge round trip, non-finite values)', () => {
    const skew = new ClockSkew();
    expect(skew.sample({ sentAt: 10, receivedAt: 5, serverMs: 0, resolutionMs: 1000 })).toBe(false);
    expect(skew.sample({ sentAt: 0, receivedAt: 60_000, serverMs: 0, resolutionMs: 1000 })).toBe(false);
    expect(skew.sample({ sentAt: 0, receivedAt: 1, serverMs: NaN, resolutionMs: 1000 })).toBe(false);
    expect(skew.estimate()).toBeNull();
  });
});
