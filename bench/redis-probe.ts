/**
 * The Redis of the benchmarks' Redis rows ($REDIS_URL), and a probe run before using it: the test
 * helpers' backend reconnects for ever when Redis is down (its cleanup never returns), so a bench
 * must find out first and skip its Redis rows rather than hang until the runner kills it.
 */
import { createClient } from '@keyv/redis';

export const BENCH_REDIS_URL = process.env['REDIS_URL'] ?? process.env['LS_TEST_REDIS_URL'] ?? 'redis://127.0.0.1:6379';

/** `null` when Redis at `url` answers a PING within 2 s, else why not. */
export async function redisUnreachable(url: string = BENCH_REDIS_URL): Promise<string | null> {
  const client = createClient({ url, socket: { connectTimeout: 2_000, reconnectStrategy: false } });
  client.on('error', () => {
    /* reported by connect() */
  });
  try {
    await client.connect();
    await client.ping();
    return null;
  } catch (err) {
    return `Redis at ${url} unreachable: ${err instanceof Error ? err.message : String(err)}`;
  } finally {
    if (client.isOpen) await client.close().catch(() => undefined);
  }
}
