/**
 * The offset between this host's clock and the broker's, learnt from the broker's own answers.
 *
 * Every LS token dies at 07:00 KST *by LS's clock*. A host 5 s behind LS that trusts its own clock
 * hands out a dead token for 5 s every morning; a host 5 s ahead issues at 06:59:55 LS time, gets a
 * token that dies 5 s later, and issues again. So the lifecycle keeps an interval that surely holds
 * the offset (`LS time - host time`) and makes every cut-off decision on the safe side of it.
 *
 * A sample is a server timestamp read from a response (the JWT `iat` of a new token, or the HTTP
 * `Date` header), which the server stamped at some moment between our send and our receive, and
 * which is truncated to whole seconds. So the offset lies in
 * `[server - receivedAt, server + resolution - sentAt]`. Samples are intersected, which narrows the
 * interval below a second; if a new sample does not overlap (a clock was stepped), it replaces
 * the old ones. Pure: no I/O, no timers.
 */

/** What {@link ClockSkew.sample} needs. */
export interface ClockSample {
  /** Host time the request was sent, epoch ms. */
  readonly sentAt: number;
  /** Host time the answer was received, epoch ms. */
  readonly receivedAt: number;
  /** The server's timestamp, epoch ms (already truncated by the server). */
  readonly serverMs: number;
  /** How coarse the server's timestamp is, ms (1000 for JWT `iat` and the HTTP `Date` header). */
  readonly resolutionMs: number;
}

/** The offset interval: LS time = host time + offset, with `low <= offset <= high`. */
export interface ClockBounds {
  /** Smallest possible offset, ms. */
  readonly lowMs: number;
  /** Largest possible offset, ms. */
  readonly highMs: number;
}

/** The estimate as {@link TokenLifecycle.status} reports it. */
export interface ClockSkewEstimate extends ClockBounds {
  /** Best single value (middle of the interval), ms: positive when LS's clock is ahead of this host's. */
  readonly offsetMs: number;
  /** Samples taken since the interval was last reset. */
  readonly samples: number;
  /** Host time of the newest sample, epoch ms. */
  readonly sampledAt: number;
}

/** Until a sample arrives, the host clock is trusted (NTP keeps hosts within milliseconds). */
const TRUST_HOST: ClockBounds = Object.freeze({ lowMs: 0, highMs: 0 });

/** A sample whose round trip took longer than this says too little to be worth keeping. */
const MAX_USEFUL_RTT_MS = 30_000;

/**
 * An offset beyond this is not believed: a proxy's or a cache's `Date`, not LS's clock. (A host
 * really that far off has bigger problems than the cut-off, and trusting it is no worse.)
 */
const MAX_PLAUSIBLE_OFFSET_MS = 6 * 3_600_000;

/** Tracks the host-to-broker clock offset; see the module notes. */
export class ClockSkew {
  #low = 0;
  #high = 0;
  #samples = 0;
  #sampledAt = 0;

  /** Adds one sample. Returns false when it was ignored (inconsistent or useless). */
  sample(s: ClockSample): boolean {
    const rtt = s.receivedAt - s.sentAt;
    if (![s.sentAt, s.receivedAt, s.serverMs, s.resolutionMs].every(Number.isFinite) || rtt < 0 || rtt > MAX_USEFUL_RTT_MS || s.resolutionMs < 0) return false;
    const low = s.serverMs - s.receivedAt;
    const high = s.serverMs + s.resolutionMs - s.sentAt;
    if (Math.abs(low) > MAX_PLAUSIBLE_OFFSET_MS || Math.abs(high) > MAX_PLAUSIBLE_OFFSET_MS) return false;
    if (this.#samples === 0 || low > this.#high || high < this.#low) {
      // First sample, or a clock was stepped: start again from this one.
      this.#low = low;
      this.#high = high;
      this.#samples = 1;
    } else {
      this.#low = Math.max(this.#low, low);
      this.#high = Math.min(this.#high, high);
      this.#samples++;
    }
    this.#sampledAt = s.receivedAt;
    return true;
  }

  /** The interval decisions use: the host clock (0, 0) until the first sample. */
  bounds(): ClockBounds {
    return this.#samples === 0 ? TRUST_HOST : { lowMs: this.#low, highMs: this.#high };
  }

  /** The estimate, or `null` before the first sample. */
  estimate(): ClockSkewEstimate | null {
    if (this.#samples === 0) return null;
    return { offsetMs: Math.round((this.#low + this.#high) / 2), lowMs: this.#low, highMs: this.#high, samples: this.#samples, sampledAt: this.#sampledAt };
  }
}
