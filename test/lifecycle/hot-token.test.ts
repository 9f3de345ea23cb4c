/**
 * The hot path's clock-free answer (hot-token.ts): served until its time by the timers, and a
 * host clock stepped forward (the timers do not see it) is noticed within one slice.
 */
import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { HOT_SLICE_MS, HotToken } from '../../src/lifecycle/hot-token.js';

const T0 = Date.UTC(2026, 11, 5, 1, 0, 0);

describe('HotToken', () => {
  beforeEach(() => {
    jest.useFakeTimers({ now: T0 });
  });
  afterEach(() => {
    jest.useRealTimers();
  });

  const answer = Promise.resolve('token');

  it('serves the held answer until its time, then nothing', () => {
    const hot = new HotToken(() => Date.now());
    hot.hold(answer, T0 + 5_500);
    expect(hot.value).toBe(answer);
    jest.advanceTimersByTime(5_499);
    expect(hot.value).toBe(answer);
    jest.advanceTimersByTime(1);
    expect(hot.value).toBeUndefined();
    expect(jest.getTimerCount()).toBe(0); // nothing left armed
  });

  it('a time already reached serves nothing', () => {
    const hot = new HotToken(() => Date.now());
    hot.hold(answer, T0);
    expect(hot.value).toBeUndefined();
    expect(jest.getTimerCount()).toBe(0);
  });

  it('a host clock stepped forward past the time is noticed within one slice', () => {
    const hot = new HotToken(() => Date.now());
    hot.hold(answer, T0 + 3_600_000);
    jest.setSystemTime(T0 + 2 * 3_600_000); // a suspended host wakes up: the timers did not run meanwhile
    jest.advanceTimersByTime(HOT_SLICE_MS - 1);
    expect(hot.value).toBe(answer); // the bound the module promises, no better
    jest.advanceTimersByTime(1);
    expect(hot.value).toBeUndefined();
  });

  it('a host clock stepped back serves until the time by the wall clock, not by the timers', () => {
    const hot = new HotToken(() => Date.now());
    hot.hold(answer, T0 + 10_000);
    jest.setSystemTime(T0 - 5_000);
    jest.advanceTimersByTime(14_999);
    expect(hot.value).toBe(answer);
    jest.advanceTimersByTime(1);
    expect(hot.value).toBeUndefined();
  });

  it('drop() stops at once; hold() replaces the answer and its time', () => {
    const hot = new HotToken(() => Date.now());
    hot.hold(answer, T0 + 60_000);
    hot.drop();
    expect(hot.value).toBeUndefined();
    expect(jest.getTimerCount()).toBe(0);
    const next = Promise.resolve('next');
    hot.hold(answer, T0 + 60_000);
    hot.hold(next, T0 + 2_000);
    expect(hot.value).toBe(next);
    jest.advanceTimersByTime(2_000);
    expect(hot.value).toBeUndefined();
    expect(jest.getTimerCount()).toBe(0);
  });
});
