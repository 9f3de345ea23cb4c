/**
 * The callers waiting for a token (caller-waits.ts): each is counted and told once, a burst of
 * callers shares one wait, and no caller waits longer than its bound.
 */
import { describe, expect, it } from '@jest/globals';
import { CallerWaits, type WaitGroup } from '../../src/lifecycle/caller-waits.js';

function harness(startAt = 1_000) {
  let now = startAt;
  const failed: unknown[] = [];
  const waits = new CallerWaits(() => now, (err) => failed.push(err));
  let group: WaitGroup | undefined;
  let finish!: { resolve: (t: string) => void; reject: (e: unknown) => void };
  let starts = 0;
  const start = (g: WaitGroup): Promise<string> => {
    starts++;
    group = g;
    return new Promise<string>((resolve, reject) => (finish = { resolve, reject }));
  };
  return {
    waits,
    failed,
    start,
    setNow: (t: number) => (now = t),
    group: () => group!,
    finish: () => finish,
    starts: () => starts,
  };
}

const settled = <T>(p: Promise<T>) => p.then((v) => ({ v }), (e: unknown) => ({ e }));

describe('CallerWaits', () => {
  it('a synchronous burst shares one flight and one wait, yet every caller is counted and answered', async () => {
    const h = harness();
    const calls = Array.from({ length: 1_000 }, () => h.waits.wait(5_000, h.start, undefined));
    expect(h.starts()).toBe(1);
    expect(h.waits.waiting).toBe(1_000);
    expect(new Set(calls).size).toBe(1); // one promise for the burst
    expect(h.group().latest()).toBe(1_000 + 5_000);
    h.finish().resolve('tok');
    expect(await Promise.all(calls)).toEqual(Array(1_000).fill('tok'));
    expect(h.waits.waiting).toBe(0);
    expect(h.failed).toEqual([]);
  });

  it('a failure is counted once per caller of the burst, not once per shared wait', async () => {
    const h = harness();
    const calls = Array.from({ length: 7 }, () => h.waits.wait(5_000, h.start, undefined));
    const err = new Error('LS down');
    h.finish().reject(err);
    const outcomes = await Promise.all(calls.map(settled));
    expect(outcomes).toEqual(Array(7).fill({ e: err }));
    expect(h.failed).toHaveLength(7);
    expect(h.waits.waiting).toBe(0);
  });

  it('a caller after the burst (the caller\'s code yielded) waits on its own deadline, in the same flight', async () => {
    const h = harness();
    const first = h.waits.wait(5_000, h.start, undefined);
    await Promise.resolve(); // the burst ends at the next microtask
    h.setNow(3_000);
    const later = h.waits.wait(5_000, h.start, undefined);
    expect(later).not.toBe(first);
    expect(h.starts()).toBe(1);
    expect(h.group().latest()).toBe(3_000 + 5_000);
    // The flight lets go of the callers whose wait ends before it tries again: only the first.
    h.group().expireBefore(7_000, () => new Error('throttled'));
    expect(await settled(first)).toEqual({ e: new Error('throttled') });
    expect(h.waits.waiting).toBe(1);
    h.finish().resolve('tok');
    expect(await later).toBe('tok');
    expect(h.failed).toHaveLength(1);
  });

  it('a burst never makes a caller wait past its own bound: a joiner takes the first caller\'s (earlier) deadline', async () => {
    const h = harness();
    const a = h.waits.wait(5_000, h.start, undefined);
    h.setNow(1_004); // time passed inside the burst (a custom clock can move between calls)
    const b = h.waits.wait(5_000, h.start, undefined);
    expect(h.group().latest()).toBe(6_000); // not 6_004
    h.finish().resolve('tok'); // nobody may be left waiting: the wait holds the process open
    return Promise.all([a, b]);
  });

  it('callers with another bound, or arriving once the burst\'s wait was let go, get a wait of their own', async () => {
    const h = harness();
    const a = h.waits.wait(5_000, h.start, undefined);
    const b = h.waits.wait(9_000, h.start, undefined);
    expect(b).not.toBe(a);
    expect(h.group().latest()).toBe(10_000);
    h.group().expireBefore(7_000, () => new Error('gone'));
    const c = h.waits.wait(5_000, h.start, undefined); // same burst, but the shared wait was already let go
    expect(c).not.toBe(a);
    expect(await settled(a)).toEqual({ e: new Error('gone') });
    h.finish().resolve('tok');
    expect(await Promise.all([b, c])).toEqual(['tok', 'tok']);
    expect(h.waits.waiting).toBe(0);
  });

  it('a caller arriving after the flight settled starts a new flight, even within the same burst', async () => {
    const h = harness();
    const a = h.waits.wait(5_000, h.start, undefined);
    h.finish().resolve('tok');
    await a;
    const b = h.waits.wait(5_000, h.start, undefined);
    expect(h.starts()).toBe(2);
    h.finish().resolve('tok2');
    expect(await b).toBe('tok2');
  });
});
