/**
 * The one place that decides how the library talks to the Redis under an `@keyv/redis` adapter,
 * whichever of the three connections `@keyv/redis` offers it holds:
 *
 * - a plain node-redis client (`createClient`, or a URL): `sendCommand(args)`;
 * - Sentinel (`createSentinel`): `sendCommand(isReadonly, args)`, sent to the current primary (the
 *   client follows a failover through the sentinels);
 * - Cluster (`createCluster`): `sendCommand(firstKey, isReadonly, args)`, routed to the master of
 *   the key's hash slot (the client follows `MOVED` and a promoted replica).
 *
 * The issuance lock (`SET NX PX`, a compare-and-delete script) runs its commands through
 * {@link RedisCommands.run}; the budget, the leases and the records go through keyv, whose adapter
 * routes them the same way. Every command names its key, and each touches one key only: no
 * command or script spans two keys, so none can cross hash slots on Cluster.
 *
 * A `@keyv/redis` adapter whose connection is none of the three is refused at construction
 * ({@link redisCommandsOf} throws): a lock whose every call fails would let a cold fleet issue one
 * token per process, each killing the previous one.
 */
import { invalidOption } from '../core/errors.js';

/** Which `@keyv/redis` connection a store runs on. */
export type RedisMode = 'client' | 'sentinel' | 'cluster';

/** Raw commands on the Redis under an `@keyv/redis` adapter, the same way on every connection. */
export interface RedisCommands {
  /** The connection the adapter holds. */
  readonly mode: RedisMode;
  /**
   * Sends one command whose (only) key is `key`, e.g. `run(k, ['SET', k, v, 'NX', 'PX', '5000'])`;
   * on Cluster it goes to the master of `key`'s hash slot. Connects first if needed.
   */
  run(key: string, args: string[]): Promise<unknown>;
}

type Send = (...args: unknown[]) => Promise<unknown>;

/** The parts of an `@keyv/redis` adapter read here (`client` is its connection, unconnected until first use). */
interface AdapterShape {
  opts?: { dialect?: unknown };
  client?: unknown;
  getClient?: () => Promise<unknown>;
}

/**
 * The connection mode of a node-redis connection object, recognised as `@keyv/redis` itself
 * recognises them (a cluster has `slots`, a sentinel `getSentinelNode`), or `undefined` when it has
 * no `sendCommand` at all.
 */
function modeOf(client: unknown): RedisMode | undefined {
  if (typeof client !== 'object' || client === null) return undefined;
  const c = client as Record<string, unknown>;
  if (typeof c['sendCommand'] !== 'function') return undefined;
  if (c['slots'] !== undefined) return 'cluster';
  if (typeof c['getSentinelNode'] === 'function') return 'sentinel';
  return 'client';
}

/** True when `store` is an `@keyv/redis` adapter (`opts.dialect` is `'redis'`, as keyv recognises it). */
export function isRedisAdapter(store: unknown): boolean {
  if (typeof store !== 'object' || store === null || store instanceof Map) return false;
  try {
    return (store as AdapterShape).opts?.dialect === 'redis' && typeof (store as AdapterShape).getClient === 'function';
  } catch {
    return false; // an adapter whose opts getter throws is not one we know
  }
}

/**
 * Raw commands on the Redis under `store` (a keyv store adapter), or `undefined` when it is not an
 * `@keyv/redis` adapter.
 * @throws LsTokenError `ERR_INVALID_OPTION` naming `keyv` when it is an `@keyv/redis` adapter whose
 *   connection is none of a client, Sentinel or Cluster (nothing could lock on it).
 */
export function redisCommandsOf(store: unknown): RedisCommands | undefined {
  if (!isRedisAdapter(store)) return undefined;
  const adapter = store as AdapterShape;
  const mode = modeOf(adapter.client);
  if (mode === undefined) {
    throw invalidOption('keyv', 'its @keyv/redis adapter holds a connection that is neither a node-redis client, createSentinel() nor createCluster(): the issuance lock cannot run on it');
  }
  const connected = async (): Promise<Record<string, Send>> => (await adapter.getClient!()) as Record<string, Send>;
  const run: RedisCommands['run'] =
    mode === 'cluster'
      ? async (key, args) => (await connected())['sendCommand']!(key, false, args)
      : mode === 'sentinel'
        ? async (_key, args) => (await connected())['sendCommand']!(false, args)
        : async (_key, args) => (await connected())['sendCommand']!(args);
  return { mode, run };
}
