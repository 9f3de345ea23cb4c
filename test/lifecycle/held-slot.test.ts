/**
 * The held token and its hot answer across LS's 07:00 KST cut-off, on the host clock (jest's fake
 * timers move Date and the timers together): a token that ends at the cut-off is handed out from
 * memory until then and not a moment after, and a step of the host clock past the cut-off is
 * noticed within one slice.
 */
import { afterEach, describe, expect, it, jest } from '@jest/globals';
import { systemClock } from '../../src/core/clock.js';
import { HeldSlot } from '../../src/lifecycle/held-slot.js';
import { HOT_SLICE_MS } from '../../src/lifecycle/hot-token.js';
import type { HeldToken } from '../../src/lifecycle/held-token.js';

const kst = (h: number, m: number, s = 0): number => Date.UTC(2026, 11, 3, h - 9, m, s); // 2026-12-03, KST = UTC+9
const CUTOFF = kst(7, 0);

function held(revokeAt: number, refreshAt: number): HeldToken {
  const token = 'eyJ.held.token';
  return { id: 'a'.repeat(64), token, resolved: Promise.resolve(token), times: { issuedAt: kst(6, 55), expiresAt: CUTOFF, revokeAt, letDie: true, refreshAt } } as unknown as HeldToken;
}

afterEach(() => {
  jest.useRealTimers();
});

describe('HeldSlot across 07:00 KST, host clock', () => {
  it.each([
    ['06:55', kst(6, 55)],
    ['06:59:59', kst(6, 59, 59)],
  ])('held at %s: served from memory until 07:00, never after; the refresh is due at the cut-off', (_at, from) => {
    jest.useFakeTimers({ now: from });
    const refreshes: number[] = [];
    const slot = new HeldSlot(systemClock, () => refreshes.push(Date.now()));
    const h = held(CUTOFF, CUTOFF); // LS ends it at the cut-off: left to die, refreshed then
    slot.set(h);
    expect(slot.hot).toBe(h.resolved);
    jest.advanceTimersByTime(CUTOFF - from - 1);
    expect(slot.hot).toBe(h.resolved); // 06:59:59.999
    jest.advanceTimersByTime(1);
    expect(slot.hot).toBeUndefined(); // 07:00:00.000
    expect(refreshes).toEqual([CUTOFF]);
    jest.advanceTimersByTime(60_000);
    expect(slot.hot).toBeUndefined(); // 07:01
    slot.close();
  });

  it('a host clock stepped from 06:58 to 07:01 (the timers did not run) stops the hot answer within one slice', () => {
    jest.useFakeTimers({ now: kst(6, 58) });
    const slot = new HeldSlot(systemClock, () => undefined);
    slot.set(held(CUTOFF, CUTOFF));
    jest.setSystemTime(kst(7, 1));
    jest.advanceTimersByTime(HOT_SLICE_MS);
    expect(slot.hot).toBeUndefined();
    slot.close();
  });

  it('with a custom clock there is no hot answer at all: the lifecycle reads that clock on every call', () => {
    const slot = new HeldSlot(() => kst(6, 58), () => undefined);
    slot.set(held(CUTOFF, CUTOFF));
    expect(slot.hot).toBeUndefined();
    expect(slot.current?.id).toBe('a'.repeat(64));
    slot.close();
    expect(slot.current).toBeUndefined();
  });
});
