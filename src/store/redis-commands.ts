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
 * routes them the same way. Every command names its key, and each touches one key only, except
 * the put script (`app-key-index.ts`), whose keys all belong to one app key and so share its hash
 * tag: no call can cross hash slots on Cluster.
 *
 * node-redis' Cluster client learns a new slot map only from `MOVED`/`ASK` answers: when a master
 * dies, the commands for its slots go to a node that never answers again, also after its replica
 * was promoted, and they wait (or fail) for good. {@link redisCommandsOf} therefore asks the
 * cluster client for a fresh slot map (`rediscover`, from a live node) whenever one of its node
 * connections reports an error, at most twice a second, so that the lock and the store follow a
 * failover within moments of the promotion.
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

/** Cluster clients already following failovers (one listener each, whatever the number of lifecycles). */
const followed = new WeakSet<object>();

/** The parts of a node-redis cluster client used to follow a failover (see the module notes). */
interface ClusterShape {
  on(event: 'node-error', listener: () => void): unknown;
  masters?: Array<{ client?: { isReady?: boolean } }>;
  _slots?: { rediscover?: (startWith: unknown) => Promise<void> };
}

/** Makes `cluster` fetch a fresh slot map after a node connection failed; see the module notes. */
function followFailovers(cluster: ClusterShape): void {
  if (followed.has(cluster) || typeof cluster.on !== 'function') return;
  followed.add(cluster);
  let last = 0;
  cluster.on('node-error', () => {
    const rediscover = cluster._slots?.rediscover;
    const t = Date.now();
    if (typeof rediscover !== 'function' || t - last < 500) return;
    last = t;
    const live = (cluster.masters ?? []).map((m) => m.client).find((c) => c?.isReady === true);
    if (live !== undefined) void rediscover.call(cluster._slots, live).catch(() => undefined);
  });
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
  if (mode === 'cluster') followFailovers(adapter.client as ClusterShape);
  const connected = async (): Promise<Record<string, Send>> => (await adapter.getClient!()) as Record<string, Send>;
  const run: RedisCommands['run'] =
    mode === 'cluster'
      ? async (key, args) => (await connected())['sendCommand']!(key, false, args)
      : mode === 'sentinel'
        ? async (_key, args) => (await connected())['sendCommand']!(false, args)
        : async (_key, args) => (await connected())['sendCommand']!(args);
  return { mode, run };
}
