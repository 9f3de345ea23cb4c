/**
 * The token policy with each provider's rules: no cut-off for KIS and Kiwoom, and the same-token
 * window (KIS 6 h, Kiwoom while the token lives), inside which a token request is no successor.
 */
import { describe, expect, it } from '@jest/globals';
import { TokenPolicy, kisProvider, kiwoomProvider, lsProvider, type ProviderDefinition, type TokenPolicyOptions } from '../../src/index.js';

const HOUR = 3_600_000;
const MIN = 60_000;
const T0 = Date.UTC(2026, 0, 15, 3, 0, 0); // 12:00 KST

function policyOf(p: ProviderDefinition, extra: Partial<TokenPolicyOptions> = {}, bounds = { lowMs: 0, highMs: 0 }): TokenPolicy {
  const r = p.rules;
  return new TokenPolicy(
    { refreshMarginMs: 5 * MIN, revokeMarginMs: MIN, maxLifetimeMs: Infinity, lifetimeMs: r.lifetimeMs, cutoff: r.dailyCutoff, sameTokenWithinMs: r.sameTokenWithinMs, cutoffJitterMs: 100, ...extra },
    () => bounds,
  );
}

describe('KIS: 24 h tokens, the same token within 6 h', () => {
  it('revokes a margin before expiry and refreshes before that (past the 6 h window)', () => {
    const t = policyOf(kisProvider).times(T0, T0 + 24 * HOUR);
    expect(t).toEqual({ issuedAt: T0, expiresAt: T0 + 24 * HOUR, revokeAt: T0 + 24 * HOUR - MIN, refreshAt: T0 + 24 * HOUR - 6 * MIN, letDie: false });
  });

  it('with a policy lifetime, the refresh never falls inside the window: past it as usual, else once the token is revoked', () => {
    const p = policyOf(kisProvider, { maxLifetimeMs: 8 * HOUR });
    const t = p.times(T0, T0 + 24 * HOUR);
    expect(t.revokeAt).toBe(T0 + 8 * HOUR);
    expect(t.refreshAt).toBe(T0 + 8 * HOUR - 5 * MIN); // past 6 h: a new token
    const short = policyOf(kisProvider, { maxLifetimeMs: 2 * HOUR }).times(T0, T0 + 24 * HOUR);
    expect(short.revokeAt).toBe(T0 + 2 * HOUR);
    expect(short.refreshAt).toBe(T0 + 2 * HOUR + 100); // once it is revoked (the window outlasts it)
  });

  it('inside the window, issueDecision keeps the token: the broker would only answer it again', () => {
    const p = policyOf(kisProvider, { maxLifetimeMs: 8 * HOUR });
    const current = p.times(T0, T0 + 24 * HOUR);
    expect(p.issueDecision(T0 + 3 * HOUR, current)).toEqual({ kind: 'keep', retryAt: T0 + 8 * HOUR - 5 * MIN });
    expect(p.successorExpiry(T0 + 3 * HOUR, current)).toBe(current.expiresAt);
    expect(p.successorExpiry(T0 + 7 * HOUR, current)).toBe(T0 + 31 * HOUR);
  });
});

describe('Kiwoom: the same token for as long as it lives', () => {
  it('a token is used to its expiry and left to die; its successor is fetched once the broker has surely seen it end', () => {
    const t = policyOf(kiwoomProvider, {}, { lowMs: -400, highMs: 600 }).times(T0, T0 + 20 * HOUR);
    expect(t).toMatchObject({ revokeAt: T0 + 20 * HOUR, letDie: true, refreshAt: T0 + 20 * HOUR + 1_000 + 100 });
  });

  it('a stored token near its end is adopted: issuing would only return it', () => {
    const p = policyOf(kiwoomProvider);
    const stored = p.times(T0 - 20 * HOUR, T0 + 2 * MIN);
    expect(p.worthAdopting(stored, T0)).toBe(true);
    expect(policyOf(lsProvider, { cutoff: null }).worthAdopting(policyOf(lsProvider, { cutoff: null }).times(T0 - 20 * HOUR, T0 + 2 * MIN), T0)).toBe(false);
  });
});

describe('LS keeps its day', () => {
  it('no same-token window: the policy is the one LS always had', () => {
    expect(lsProvider.rules.sameTokenWithinMs).toBe(0);
    const with0 = policyOf(lsProvider).times(T0, T0 + 19 * HOUR);
    const without = new TokenPolicy({ refreshMarginMs: 5 * MIN, revokeMarginMs: MIN, maxLifetimeMs: Infinity, lifetimeMs: lsProvider.rules.lifetimeMs, cutoff: lsProvider.rules.dailyCutoff, cutoffJitterMs: 100 }, () => ({ lowMs: 0, highMs: 0 })).times(T0, T0 + 19 * HOUR);
    expect(with0).toEqual(without);
  });
});
