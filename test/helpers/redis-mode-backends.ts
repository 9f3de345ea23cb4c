/**
 * The store backends on Redis Sentinel and Redis Cluster: the same {@link StoreBackend} as the
 * single-node Redis one, over a set-up of real servers that the suite starts in `beforeAll`
 * (`factory.setup()`) and stops in `afterAll` (`factory.teardown()`); see
 * test/fixtures/redis-topology.ts.
 *
 * Usage:
 * ```ts
 * describe.each([...STORE_BACKENDS, ...REDIS_MODE_BACKENDS])('$name', (factory) => {
 *   beforeAll(() => factory.setup?.(), 60_000);
 *   afterAll(() => factory.teardown?.());
 * });
 * ```
 */
import { randomBytes } from 'node:crypto';
import type { Keyv } from 'keyv';
import { type RedisSetup, startClusterSetup, startSentinelSetup } from '../fixtures/redis-topology.js';
import type { BackendFactory, StoreBackend } from './store-backends.js';

/** A {@link StoreBackend} over a running Sentinel or Cluster set-up, keyv keys stored as `${namespace}::${key}`. */
export function createSetupBackend(setup: RedisSetup): StoreBackend {
  const namespace = `lstest-${process.pid}-${randomBytes(6).toString('hex')}`;
  const physical = (key: string): string => `${namespace}::${key}`;
  const keyvs: Keyv[] = [];
  return {
    name: setup.mode === 'sentinel' ? 'redis-sentinel' : 'redis-cluster',
    namespace,
    makeKeyv: () => {
      const keyv = setup.makeKeyv(namespace);
      keyvs.push(keyv);
      return keyv;
    },
    readRaw: async (key) => ((await setup.command(physical(key), ['GET', physical(key)])) as string | null) ?? undefined,
    writeRaw: async (key, value) => {
      await setup.command(physical(key), ['SET', physical(key), value]);
    },
    dumpAll: async () => {
      const keys = await setup.keys(`${namespace}::*`);
      // Strings only (as MGET reads them on one node): the app key's index is a sorted set.
      const values = await Promise.all(keys.map(async (k) => ((await setup.command(k, ['TYPE', k])) === 'string' ? setup.command(k, ['GET', k]) : null)));
      return JSON.stringify(keys.map((k, i) => [k, values[i]]));
    },
    nativeTtlMs: async (key) => (await setup.command(physical(key), ['PTTL', physical(key)])) as number,
    cleanup: async () => {
      try {
        for (const k of await setup.keys(`${namespace}::*`)) await setup.command(k, ['DEL', k]);
      } finally {
        await Promise.all(keyvs.map((k) => k.disconnect().catch(() => undefined)));
      }
    },
  };
}

/** A factory whose set-up is started by `setup()` (once per suite) and stopped by `teardown()`. */
function setupFactory(name: 'redis-sentinel' | 'redis-cluster', start: () => Promise<RedisSetup>): BackendFactory {
  let setup: RedisSetup | undefined;
  return {
    name,
    setup: async () => {
      setup ??= await start();
    },
    teardown: async () => {
      await setup?.stop();
      setup = undefined;
    },
    create: () => {
      if (setup === undefined) throw new Error(`${name}: call factory.setup() in beforeAll first`);
      return createSetupBackend(setup);
    },
  };
}

/** Sentinel (one primary, one replica, one sentinel) and Cluster (three masters) backends. */
export const REDIS_MODE_BACKENDS: readonly BackendFactory[] = [setupFactory('redis-sentinel', startSentinelSetup), setupFactory('redis-cluster', () => startClusterSetup())];
