/**
 * Logging the lifecycle's events to any pino-compatible logger (`info/warn/error(obj, msg)`, and
 * `debug` if it has one): each event once, at a fitting level, as one structured line. Event
 * payloads carry token fingerprints, never raw tokens or credentials, and errors are logged as
 * their secret-free `toJSON()`, so nothing here can leak a secret.
 */
import type { LifecycleEvents } from '../core/events.js';

/** A pino-compatible logger: `logger.info({ ...fields }, 'message')`. */
export interface LifecycleLogger {
  /** Routine outcomes: a token issued, revoked, expired. */
  info(obj: Record<string, unknown>, msg?: string): void;
  /** Something went wrong and is being retried. */
  warn(obj: Record<string, unknown>, msg?: string): void;
  /** A token may stay alive, or the lifecycle met trouble it survived. */
  error(obj: Record<string, unknown>, msg?: string): void;
  /** Scheduling chatter (revocations planned); logged at `info` when the logger has no `debug`. */
  debug?(obj: Record<string, unknown>, msg?: string): void;
}

/** Checks that `value` can log (the `logger` option is validated with it). */
export function isLifecycleLogger(value: unknown): value is LifecycleLogger {
  const l = value as Partial<LifecycleLogger> | null;
  return typeof l === 'object' && l !== null && typeof l.info === 'function' && typeof l.warn === 'function' && typeof l.error === 'function';
}

/** Writes one event to `logger` at its level. Never throws (a logger that throws is ignored). */
export function logEvent<K extends keyof LifecycleEvents>(logger: LifecycleLogger, name: K, event: Parameters<LifecycleEvents[K]>[0], bindings: Record<string, unknown> = {}): void {
  try {
    const e = event as unknown as Record<string, unknown>;
    const fields = { ...bindings, event: name, ...e };
    switch (name) {
      case 'issued':
        return logger.info(fields, `ls-token: token ${e['source'] === 'adopted' ? 'adopted' : 'issued'}`);
      case 'scheduled':
        return (logger.debug ?? logger.info).call(logger, fields, 'ls-token: revocation scheduled');
      case 'revoked':
        return logger.info(fields, 'ls-token: token revoked');
      case 'expired':
        return logger.info(fields, 'ls-token: token expired before it was revoked');
      case 'retrying':
        return logger.warn(fields, 'ls-token: revoke attempt failed; retrying');
      case 'revokeFailed':
        return logger.error(fields, 'ls-token: revocation gave up; the token may be alive until it expires');
      case 'error': {
        const { error, op, id } = event as Parameters<LifecycleEvents['error']>[0];
        return logger.error({ ...bindings, event: name, op, ...(id === undefined ? {} : { id }), err: error.toJSON() }, `ls-token: ${op} failed`);
      }
      default:
        return logger.info(fields, `ls-token: ${String(name)}`);
    }
  } catch {
    // A logger that throws must not break the lifecycle.
  }
}
