/**
 * The store deadline of one flight: the steps of a phase share one bound (and one timer); a step
 * that outlasts it fails as a store timeout, and the flight's later steps are skipped at once.
 */
import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { ErrorCodes } from '../../src/core/errors.js';
import { StoreDeadline, isSkippedStep } from '../../src/lifecycle/store-deadline.js';
import { isStoreTimeout } from '../../src/store/store-call.js';
import { rejection } from '../helpers/rejection.js';

const never = <T>(): Promise<T> => new Promise<T>(() => undefined);

beforeEach(() => {
  jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask'] });
});
afterEach(() => {
  jest.useRealTimers();
});

describe('StoreDeadline', () => {
  it('the steps of one phase share one timer, however many run one after another or at once', async () => {
    const path = new StoreDeadline(1_000);
    for (let i = 0; i < 5; i++) expect(await path.run(async () => i, 'step')).toBe(i);
    await Promise.all([path.run(async () => 'a', 'a'), path.run(async () => 'b', 'b'), path.run(async () => 'c', 'c')]);
    expect(jest.getTimerCount()).toBe(1);
    await jest.advanceTimersByTimeAsync(1_000); // it lapses with no step waiting: nothing is failed
    expect(path.gaveUp).toBe(false);
    expect(jest.getTimerCount()).toBe(0);
  });

  it('a step still waiting when the phase ends fails as a store timeout; the later steps are skipped without being made', async () => {
    const timedOut: string[] = [];
    const path = new StoreDeadline(500, (op) => timedOut.push(op));
    expect(await path.run(async () => 'first', 'first')).toBe('first');
    const hung = rejection(path.run(never, 'hung'));
    await jest.advanceTimersByTimeAsync(499);
    expect(path.gaveUp).toBe(false);
    await jest.advanceTimersByTimeAsync(1);
    const err = await hung;
    expect(err).toMatchObject({ code: ErrorCodes.STORE });
    expect(isStoreTimeout(err)).toBe(true);
    expect(timedOut).toEqual(['hung']);
    expect(path.gaveUp).toBe(true);
    const made: string[] = [];
    const skipped = await rejection(path.run(async () => made.push('later'), 'later'));
    expect(isSkippedStep(skipped)).toBe(true);
    expect(made).toEqual([]);
    await rejection(path.run(async () => made.push('always'), 'always', true)); // made, not waited for
    expect(made).toEqual(['always']);
  });

  it('a new phase moves the bound of the step waiting', async () => {
    const path = new StoreDeadline(100);
    let answer!: (v: string) => void;
    const step = path.run(() => new Promise<string>((r) => (answer = r)), 'step');
    await jest.advanceTimersByTimeAsync(80);
    path.phase(); // now + 100
    await jest.advanceTimersByTimeAsync(90); // 170: past the first bound, within the second
    expect(path.gaveUp).toBe(false);
    answer('late but in time');
    expect(await step).toBe('late but in time');
  });

  it('an answer after the deadline is ignored, and so is a failure', async () => {
    const path = new StoreDeadline(50);
    let fail!: (e: unknown) => void;
    const step = rejection(path.run(() => new Promise<string>((_, r) => (fail = r)), 'step'));
    await jest.advanceTimersByTimeAsync(50);
    expect(isStoreTimeout(await step)).toBe(true);
    fail(new Error('too late')); // no unhandled rejection, nothing else happens
    await jest.advanceTimersByTimeAsync(10);
    expect(path.leftMs).toBe(0);
  });
});
