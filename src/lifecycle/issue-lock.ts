/**
 * The short lock that makes a cold fleet issue one token, not N (LS keeps one live token per app
 * key, so N issuances would leave N-1 processes holding dead tokens).
 *
 * keyv has no compare-and-set, so on Redis the lock is a plain `SET key owner NX PX ttl` on the
 * adapter's own client, released by a compare-and-delete script. Other backends get an in-process
 * lock: correct for one process; several processes on SQLite are serialised only by the
 * re-read-after-lock step (see docs/guarantees.md).
 */
import type Keyv from 'keyv';
import { redisAdapterOf } from '../store/keyv-access.js';
import type { RedisCommands } from '../store/redis-commands.js';

/** A mutual-exclusion primitive for issuance. */
export interface IssueLockProvider {
  /** Takes the lock if free; true when this owner now holds it. */
  tryAcquire(key: string, owner: string, ttlMs: number): Promise<boolean>;
  /** Releases the lock if this owner still holds it. */
  release(key: string, owner: string): Promise<void>;
  /** `redis` when the lock is shared across processes, `process` otherwise. */
  readonly scope: 'redis' | 'process';
}

const processLocks = new Map<string, { owner: string; until: number }>();

/** In-process lock (shared by every lifecycle in this process). */
export class ProcessLockProvider implements IssueLockProvider {
  readonly scope = 'process' as const;
  async tryAcquire(key: string, owner: string, ttlMs: number): Promise<boolean> {
    return this.acquireNow(key, owner, ttlMs);
  }
  /** {@link tryAcquire}, answered in the caller's turn (the lock lives in this process's memory). */
  acquireNow(key: string, owner: string, ttlMs: number): boolean {
    const now = Date.now();
    const held = processLocks.get(key);
    if (held !== undefined && held.until > now && held.owner !== owner) return false;
    processLocks.set(key, { owner, until: now + ttlMs });
    return true;
  }
  async release(key: string, owner: string): Promise<void> {
    if (processLocks.get(key)?.owner === owner) processLocks.delete(key);
  }
}

/** The subset of a node-redis client {@link RedisLockProvider} needs. */
export interface RawRedisClient {
  /** Sends one raw command, e.g. `['SET', key, value, 'NX', 'PX', '5000']`. */
  sendCommand(args: string[]): Promise<unknown>;
}

const RELEASE_SCRIPT = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end";

/**
 * Redis lock (`SET NX PX`, released by a compare-and-delete script) over raw commands: a
 * {@link RedisCommands} (any `@keyv/redis` connection: client, Sentinel or Cluster), or, as before,
 * a function returning a connected plain node-redis client. Both commands touch one key only.
 */
export class RedisLockProvider implements IssueLockProvider {
  readonly scope = 'redis' as const;
  readonly #run: (key: string, args: string[]) => Promise<unknown>;
  constructor(commands: RedisCommands | (() => Promise<RawRedisClient>)) {
    if (typeof commands === 'function') {
      this.#run = async (_key, args) => (await commands()).sendCommand(args);
    } else {
      this.#run = (key, args) => commands.run(key, args);
    }
  }
  async tryAcquire(key: string, owner: string, ttlMs: number): Promise<boolean> {
    const res = await this.#run(key, ['SET', key, owner, 'NX', 'PX', String(Math.max(1, Math.round(ttlMs)))]);
    return res === 'OK';
  }
  async release(key: string, owner: string): Promise<void> {
    await this.#run(key, ['EVAL', RELEASE_SCRIPT, '1', key, owner]);
  }
}

/**
 * Picks the Redis lock when the keyv store is an `@keyv/redis` adapter (plain client, Sentinel or
 * Cluster), else the in-process lock.
 * @throws LsTokenError `ERR_INVALID_OPTION` for an `@keyv/redis` connection nothing can lock on.
 */
export function lockProviderFor(keyv: Keyv): IssueLockProvider {
  const redis = redisAdapterOf(keyv);
  return redis === undefined ? new ProcessLockProvider() : new RedisLockProvider(redis);
}
