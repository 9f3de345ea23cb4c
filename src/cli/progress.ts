/**
 * Progress of a sweep: on a terminal a bar redrawn in place on stderr (finished tokens are
 * printed above it); otherwise plain lines only, one per finished token, that logs and `grep`
 * can use. The caller decides which by passing `tty`.
 */
import type { CliWritable } from './output.js';

const BAR_WIDTH = 24;

/** Counts shown by the bar. */
export interface ProgressCounts {
  /** Finished in any way. */
  readonly done: number;
  /** Revoked or already invalid. */
  readonly revoked: number;
  /** Gave up or could not finish. */
  readonly failed: number;
}

/** Progress reporter; see the module notes. */
export class Progress {
  readonly #lines: (line: string) => void;
  readonly #bar: CliWritable;
  readonly #tty: boolean;
  readonly #label: string;
  #total: number | undefined;
  #done = 0;
  #revoked = 0;
  #failed = 0;
  #drawn = false;

  /**
   * @param lines writes one finished-item line (already redacted by the caller's output).
   * @param bar where the bar is drawn when `tty`.
   * @param tty draw a bar (true on a terminal).
   * @param label shown before the bar, e.g. `sweep`.
   */
  constructor(lines: (line: string) => void, bar: CliWritable, tty: boolean, label: string) {
    this.#lines = lines;
    this.#bar = bar;
    this.#tty = tty;
    this.#label = label;
  }

  /** The counts so far. */
  get counts(): ProgressCounts {
    return { done: this.#done, revoked: this.#revoked, failed: this.#failed };
  }

  /** Sets (or corrects) the total once it is known. */
  setTotal(total: number): void {
    this.#total = Math.max(total, this.#done);
    this.#draw();
  }

  /** Records one finished item and prints its line. */
  item(line: string, ok: boolean): void {
    this.#done++;
    if (ok) this.#revoked++;
    else this.#failed++;
    if (this.#total !== undefined && this.#done > this.#total) this.#total = this.#done;
    this.#clear();
    this.#lines(line);
    this.#draw();
  }

  /** Removes the bar (call before printing the summary). */
  finish(): void {
    this.#clear();
  }

  /** The bar's text, e.g. `sweep [##########--------------] 3/7  revoked 3  failed 0`. */
  render(): string {
    const total = this.#total;
    if (total === undefined) return `${this.#label} … ${this.#done} done`;
    const filled = total === 0 ? BAR_WIDTH : Math.round((this.#done / total) * BAR_WIDTH);
    return `${this.#label} [${'#'.repeat(filled)}${'-'.repeat(BAR_WIDTH - filled)}] ${this.#done}/${total}  revoked ${this.#revoked}  failed ${this.#failed}`;
  }

  #draw(): void {
    if (!this.#tty) return;
    this.#bar.write(`\r${this.render()}\x1b[K`);
    this.#drawn = true;
  }

  #clear(): void {
    if (!this.#tty || !this.#drawn) return;
    this.#bar.write('\r\x1b[K');
    this.#drawn = false;
  }
}

/**
 * Progress of a walk of the whole store (`list --all`), whose length is unknown: on a terminal,
 * once the walk has taken longer than `afterMs`, one line redrawn in place on stderr with the keys
 * read so far; nothing otherwise.
 */
export class WalkProgress {
  readonly #bar: CliWritable;
  readonly #tty: boolean;
  readonly #label: string;
  readonly #afterMs: number;
  readonly #now: () => number;
  readonly #startedAt: number;
  #drawn = false;

  /**
   * @param bar where the line is drawn when `tty`.
   * @param tty draw (true on a terminal).
   * @param label shown first, e.g. `list --all`.
   * @param afterMs draw only once the walk has taken this long (short walks show nothing).
   * @param now the clock (ms).
   */
  constructor(bar: CliWritable, tty: boolean, label: string, afterMs = 500, now: () => number = Date.now) {
    this.#bar = bar;
    this.#tty = tty;
    this.#label = label;
    this.#afterMs = afterMs;
    this.#now = now;
    this.#startedAt = now();
  }

  /** Hears the number of keys read so far. */
  seen(keysRead: number): void {
    if (!this.#tty || this.#now() - this.#startedAt < this.#afterMs) return;
    this.#bar.write(`\r${this.render(keysRead)}\x1b[K`);
    this.#drawn = true;
  }

  /** The line's text. */
  render(keysRead: number): string {
    return `${this.#label}: walking the whole store … ${keysRead.toLocaleString('en-US')} keys read`;
  }

  /** Removes the line (call before printing the result). */
  finish(): void {
    if (!this.#drawn) return;
    this.#bar.write('\r\x1b[K');
    this.#drawn = false;
  }
}
