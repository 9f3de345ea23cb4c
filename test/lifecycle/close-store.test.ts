/**
 * `closeStoreOnShutdown`: the store the lifecycle was given is the user's, so `shutdown()` leaves
 * its connection open by default; with the option it closes it after the revocations (which write
 * their outcomes to it), and a script ends by itself after `shutdown()` instead of hanging on the
 * open Redis connection.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import type KeyvRedis from '@keyv/redis';
import { createKeyv } from '@keyv/redis';
import type { Keyv } from 'keyv';
import { ErrorCodes } from '../../src/core/errors.js';
import { TokenLifecycle } from '../../src/lifecycle/token-lifecycle.js';
import { startMockLsServer, type MockLsServer } from '../../src/testing/index.js';
import { TEST_REDIS_URL, deleteRedisKeys, fastFailRedisOptions } from '../helpers/store-backends.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
let mock: MockLsServer;
let ns: string;
const keyvs: Keyv[] = [];

beforeEach(async () => {
  mock = await startMockLsServer({ cutoffKst: null });
  ns = `lstest-close-${process.pid}-${randomBytes(4).toString('hex')}`;
});
afterEach(async () => {
  await Promise.all(keyvs.splice(0).map((k) => k.disconnect().catch(() => undefined)));
  await mock.close();
  await deleteRedisKeys(`${ns}:*`);
});

function redisKeyv(): Keyv {
  const keyv = createKeyv(fastFailRedisOptions(), { throwOnErrors: true });
  keyvs.push(keyv);
  return keyv;
}

const isOpen = (keyv: Keyv): boolean => (keyv.store as KeyvRedis<unknown>).client.isOpen;

describe('closeStoreOnShutdown', () => {
  it('closes the given Redis connection after the revocations; by default the connection stays open', async () => {
    const mine = redisKeyv();
    const closing = new TokenLifecycle({ appKey: 'CLOSESTOREKEY0001', appSecretKey: 's3cret-close', baseUrl: mock.url, store: mine, namespace: ns, closeStoreOnShutdown: true });
    await closing.getAccessToken();
    expect(isOpen(mine)).toBe(true);
    const summary = await closing.shutdown({ deadlineMs: 5_000 });
    expect(summary.revoked).toBe(1); // the outcome was written before the connection closed
    expect(mock.activeTokens()).toEqual([]);
    expect(isOpen(mine)).toBe(false);

    const theirs = redisKeyv();
    const keeping = new TokenLifecycle({ appKey: 'CLOSESTOREKEY0002', appSecretKey: 's3cret-keep', baseUrl: mock.url, store: theirs, namespace: ns });
    await keeping.getAccessToken();
    await keeping.shutdown({ deadlineMs: 5_000 });
    expect(isOpen(theirs)).toBe(true);
    expect(await theirs.get(`${ns}:probe`)).toBeUndefined(); // still usable by its owner
  });

  it('is validated like every option', () => {
    expect(() => new TokenLifecycle({ appKey: 'k', appSecretKey: 's', closeStoreOnShutdown: 'yes' as unknown as boolean })).toThrow(
      expect.objectContaining({ code: ErrorCodes.INVALID_OPTION, field: 'closeStoreOnShutdown' }),
    );
  });

  it('a script ends by itself after shutdown() with it (the open connection kept it alive before)', async () => {
    const started = Date.now();
    const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'test', 'fixtures', 'script-ends.ts')], {
      cwd: ROOT,
      env: { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '', LS_URL: mock.url, LS_STORE: TEST_REDIS_URL, LS_NAMESPACE: ns, LS_CLOSE_STORE: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    // Generous for a loaded machine; a script that hangs is killed here and fails below.
    const killer = setTimeout(() => child.kill('SIGKILL'), 25_000);
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve)).finally(() => clearTimeout(killer));
    expect({ code, out }).toEqual({ code: 0, out: expect.stringContaining('shutdown: 1 revoked') });
    expect(Date.now() - started).toBeLessThan(25_000);
  }, 40_000);
});
