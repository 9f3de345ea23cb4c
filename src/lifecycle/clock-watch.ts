/**
 * Keeps the estimate of the broker's clock ({@link ClockSkew}) alive. Every broker answer is a
 * reading: the `Date` header of token, revoke and probe answers (whatever the provider, error
 * answers included) and the JWT `iat` of a new token. A `HEAD /` probe reads the clock soon after
 * start, unless a token answer did first; a failed probe is retried with backoff until a reading
 * arrives (from it or from any answer), and a reading older than {@link CLOCK_RESAMPLE_MS} is
 * refreshed by another probe. Whenever a reading
 * moves the estimate, `onMoved` runs, and the lifecycle re-times the token it hands out: a host
 * 5 s behind the broker learns it before 07:00, not after.
 *
 * The timer is unref'd (it never keeps a process alive) and stops when the lifecycle closes.
 */
import type { Clock } from '../core/clock.js';
import type { ServerTimeSample } from '../providers/oauth-client.js';
import type { ClockSample, ClockSkew } from './clock-skew.js';

/**
 * How long after {@link ClockWatch.start} the first probe goes, ms. A lifecycle that starts
 * usually issues at once, and that answer reads the clock (its `Date`, the JWT `iat`): the probe
 * is then not sent at all, and its request no longer competes with the token request of a
 * stampede of callers. One that adopts a stored token gets its reading this much later.
 */
export const PROBE_START_DELAY_MS = 250;
/** First retry of a failed clock probe, ms; it doubles up to {@link PROBE_MAX_BACKOFF_MS}. */
export const PROBE_RETRY_MS = 1_000;
/** Longest wait between two failed clock probes, ms (5 min). */
export const PROBE_MAX_BACKOFF_MS = 300_000;
/** A newest reading this old is refreshed by a probe, ms (1 h). */
export const CLOCK_RESAMPLE_MS = 3_600_000;
/** `health()` reports `clock-unsampled` when the newest reading (or the start, before any) is older than this, ms (2 h). */
export const CLOCK_SAMPLE_MAX_AGE_MS = 2 * 3_600_000;

/** What {@link ClockWatch} works with. */
export interface ClockWatchDeps {
  readonly skew: ClockSkew;
  /** A `HEAD /` to the broker; the client reports its `Date` through {@link ClockWatch.serverTime} itself. */
  readonly probe: (signal: AbortSignal) => Promise<ServerTimeSample | undefined>;
  readonly now: Clock;
  /** Stops the probes (the lifecycle closed). */
  readonly closing: AbortSignal;
  /** Aborts a probe in flight (shutdown gave up on requests). */
  readonly requests: AbortSignal;
  /** The estimate moved: re-time what is handed out. */
  readonly onMoved: () => void;
  /** Random source in [0, 1), for the backoff's jitter. */
  readonly random: () => number;
}

/** Feeds and refreshes the clock estimate; see the module notes. */
export class ClockWatch {
  readonly #d: ClockWatchDeps;
  #timer: NodeJS.Timeout | undefined;
  #failures = 0;
  #startedAt: number | undefined;
  #lastSampleAt: number | undefined;
  #probing = false;

  constructor(deps: ClockWatchDeps) {
    this.#d = deps;
    deps.closing.addEventListener('abort', () => clearTimeout(this.#timer), { once: true });
  }

  /** When the newest reading was taken (host time), or `undefined` before the first. */
  get lastSampleAt(): number | undefined {
    return this.#lastSampleAt;
  }

  /** When {@link start} ran (host time), or `undefined`. */
  get startedAt(): number | undefined {
    return this.#startedAt;
  }

  /** A broker answer's `Date` header (1 s resolution). */
  serverTime(s: ServerTimeSample): void {
    this.sample({ sentAt: s.sentAt, receivedAt: s.receivedAt, serverMs: s.serverMs, resolutionMs: 1000 });
  }

  /** One reading of the broker's clock; `onMoved` runs when the estimate moved. */
  sample(s: ClockSample): void {
    const { skew } = this.#d;
    const before = skew.bounds();
    if (!skew.sample(s)) return;
    this.#lastSampleAt = s.receivedAt;
    const after = skew.bounds();
    if (after.lowMs === before.lowMs && after.highMs === before.highMs) return;
    try {
      this.#d.onMoved();
    } catch {
      // Re-timing is the lifecycle's; a failure there must not fail the request that read the clock.
    }
  }

  /** Probes once {@link PROBE_START_DELAY_MS} from now (unless an answer read the clock by then), then as the module notes say. Idempotent. */
  start(): void {
    if (this.#startedAt !== undefined || this.#d.closing.aborted) return;
    this.#startedAt = this.#d.now();
    this.#arm(PROBE_START_DELAY_MS);
  }

  async #probe(): Promise<void> {
    this.#timer = undefined;
    if (this.#d.closing.aborted || this.#probing) return;
    const last = this.#lastSampleAt;
    if (last !== undefined && this.#d.now() - last < CLOCK_RESAMPLE_MS) {
      this.#failures = 0; // another answer read the clock meanwhile
      this.#arm(last + CLOCK_RESAMPLE_MS - this.#d.now());
      return;
    }
    this.#probing = true;
    let read = false;
    try {
      read = (await this.#d.probe(this.#d.requests)) !== undefined;
    } catch {
      // A network error or a timeout: retried below.
    } finally {
      this.#probing = false;
    }
    if (read) {
      this.#failures = 0;
      this.#arm(CLOCK_RESAMPLE_MS);
      return;
    }
    this.#failures++;
    const backoff = Math.min(PROBE_MAX_BACKOFF_MS, PROBE_RETRY_MS * 2 ** Math.min(this.#failures - 1, 20));
    this.#arm(backoff * (0.75 + this.#d.random() * 0.5));
  }

  #arm(delayMs: number): void {
    if (this.#d.closing.aborted) return;
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => void this.#probe(), Math.max(10, Math.round(delayMs))).unref();
  }
}
