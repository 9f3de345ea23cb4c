/** A source of wall-clock time in epoch ms. Injected so tests can control time. */
export type Clock = () => number;

/** The default clock: `Date.now` (which jest's modern fake timers also control). */
export const systemClock: Clock = () => Date.now();
