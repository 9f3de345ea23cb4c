/**
 * Where a lifecycle's events go, in this order: the health book, the metrics (if any), the logger (if any), then the
 * public listeners. A listener that throws is reported as an `error` event (`ERR_LISTENER`) and
 * never breaks the lifecycle's own work, which is done before anything is emitted.
 */
import type { EventEmitter } from 'eventemitter3';
import { ErrorCodes, type TextScrubber, toLsTokenError } from '../core/errors.js';
import type { LifecycleEvents } from '../core/events.js';
import { type LifecycleLogger, logEvent } from '../integrations/logger.js';
import type { LifecycleMetrics } from './lifecycle-metrics.js';
import type { HealthBook } from './lifecycle-status.js';

/** Delivers a lifecycle's events; see the module notes. */
export class EventOutbox {
  readonly #emitter: EventEmitter<LifecycleEvents>;
  readonly #book: HealthBook;
  readonly #logger: LifecycleLogger | undefined;
  readonly #bindings: Record<string, unknown>;
  readonly #scrubber: TextScrubber;
  readonly #metrics: LifecycleMetrics | undefined;

  constructor(emitter: EventEmitter<LifecycleEvents>, book: HealthBook, logger: LifecycleLogger | undefined, bindings: Record<string, unknown>, scrubber: TextScrubber, metrics?: LifecycleMetrics) {
    this.#scrubber = scrubber;
    this.#metrics = metrics;
    this.#emitter = emitter;
    this.#book = book;
    this.#logger = logger;
    this.#bindings = bindings;
  }

  /** Records, logs and emits one event. Never throws. */
  emit<K extends keyof LifecycleEvents>(name: K, event: Parameters<LifecycleEvents[K]>[0]): void {
    this.#book.note(name, event);
    this.#metrics?.note(name, event);
    if (this.#logger !== undefined) logEvent(this.#logger, name, event, this.#bindings);
    try {
      (this.#emitter.emit as (n: K, e: unknown) => boolean).call(this.#emitter, name, event);
    } catch (err) {
      // An error listener that throws as well: nothing left to tell.
      if (name !== 'error') this.emit('error', { error: toLsTokenError(err, ErrorCodes.LISTENER, `a listener of "${name}" threw`, false, this.#scrubber), op: 'listener' });
    }
  }

  /** Reports trouble the lifecycle survived as an `error` event (`ERR_STORE` unless it already has a code). */
  report(err: unknown, op: string, id?: string): void {
    this.emit('error', { error: toLsTokenError(err, ErrorCodes.STORE, `${op} failed`, true, this.#scrubber), op, id });
  }
}
