/**
 * Redis stopped and restarted mid-run. A private redis-server (own port, own data dir; the shared
 * one is never touched) holds 200 tracked tokens, due over 1.5 s; a TokenLifecycle of another app
 * key runs on the same Redis. After 40 revocations Redis is saved and SIGKILLed; it comes back
 * (same port, same data) once the library has reported the outage through `error` events.
 *
 * Expected: `error` events while Redis is down, no crash and no unhandled rejection, the hot path
 * still answers from memory, revocations that could not read their token are deferred and complete
 * after Redis returns. A final sweep of the store (what the next start does) settles records whose
 * last write was lost with the outage. Then 0 of the tokens may be alive at the mock. Run per broker.
 */
import { createKeyv } from '@keyv/redis';
import { randomBytes } from 'node:crypto';
import { RevocationScheduler } from '../../../src/schedule/revocation-scheduler.js';
import { TokenLifecycle } from '../../../src/lifecycle/token-lifecycle.js';
import { TokenStore } from '../../../src/store/token-store.js';
import { LS_BROKER, type ChaosBroker } from '../brokers.js';
import { fastFailRedisOptions } from '../../helpers/store-backends.js';
import { EventLog, PrivateRedis, SENTINEL_SECRET, emptyResult, waitFor, type ScenarioResult, type SecretCorpus } from '../lib.js';

const TOKENS = 200;

export async function redisRestartScenario(corpus: SecretCorpus, broker: ChaosBroker = LS_BROKER): Promise<ScenarioResult> {
  const res = emptyResult();
  const redis = new PrivateRedis();
  await redis.start();
  const mock = await broker.start({ many: true, latencyMs: 5 });
  const appKey = 'CHAOSKEYREDIS000000000000000000000';
  const appKeyId = broker.appKeyId(appKey, mock.url);
  const client = broker.client(appKey, SENTINEL_SECRET, mock.url, 2_000);
  const namespace = `chaos-${randomBytes(4).toString('hex')}`;
  const keyv = createKeyv(fastFailRedisOptions(redis.url), { namespace, throwOnErrors: true });
  const store = new TokenStore({ keyv });
  const log = new EventLog();
  const scheduler = new RevocationScheduler({
    store,
    revoke: (token, signal) => client.revokeToken(token, 'access_token', { signal }),
    concurrency: 8,
    storeRetryDelayMs: 100,
    retry: { retries: 5, minDelayMs: 20, maxDelayMs: 200 },
  });
  log.attach(scheduler.events, 'scheduler');
  const lcKeyv = createKeyv(fastFailRedisOptions(redis.url), { namespace, throwOnErrors: true });
  const lc = new TokenLifecycle({ provider: broker.provider, appKey: 'CHAOSKEYREDISLC00000000000000000000', appSecretKey: SENTINEL_SECRET, baseUrl: mock.url, store: lcKeyv, sweepIntervalMs: 0, leaseTtlMs: 1_000, revokeOnShutdown: 'always' });
  log.attach(lc, 'lifecycle');
  let redisDownMs = 0;
  try {
    const tokens: string[] = [];
    for (let i = 0; i < TOKENS; i += 50) tokens.push(...(await Promise.all(Array.from({ length: 50 }, () => client.issueToken()))).map((t) => t.accessToken));
    const lcToken = await lc.getAccessToken();
    corpus.addTokens([...tokens, lcToken]);
    res.tokens = TOKENS + 1;
    const now = Date.now();
    const records = [];
    for (const t of tokens) records.push(await store.put({ appKeyId, tokenType: 'Bearer', issuedAt: now, expiresAt: now + 86_400_000, revokeAt: now + 3_600_000 }, t));
    const t0 = Date.now();
    records.forEach((r, i) => scheduler.schedule(r, 'expiry', t0 + Math.floor((i / TOKENS) * 1_500)));

    // Redis goes down after 40 revocations...
    await waitFor('40 revocations', () => log.count('revoked') >= 40, 20_000, 5);
    const errorsBefore = log.count('error');
    await redis.crash();
    const downAt = Date.now();
    res.faults++;
    // ...the library reports it, and the hot path keeps answering from memory...
    await waitFor('store errors reported', () => log.count('error') >= errorsBefore + 10, 20_000, 10);
    if ((await lc.getAccessToken()) !== lcToken) res.problems.push('getAccessToken changed token while Redis was down');
    await waitFor('outage of at least 500 ms', () => Date.now() - downAt >= 500, 5_000, 50);
    const errorsWhileDown = log.count('error') - errorsBefore;
    // ...and comes back with its data.
    await redis.start();
    redisDownMs = Date.now() - downAt;
    const outcomes = (): number => log.count('revoked') + log.count('revokeFailed');
    await waitFor(`${TOKENS} outcomes after Redis returned`, () => outcomes() >= TOKENS && scheduler.inflight === 0 && scheduler.size === 0, 60_000, 50);
    res.info.push(`Redis down ${redisDownMs} ms: ${errorsWhileDown} error events meanwhile; all ${TOKENS} scheduled revocations settled ${Date.now() - t0} ms after the first fell due`);

    // The next start's sweep: records whose final write was lost with the outage.
    const leftovers = await store.list({ appKeyId, states: ['active', 'revoking'] });
    const sweeper = new RevocationScheduler({ store, revoke: (token, signal) => client.revokeToken(token, 'access_token', { signal }), concurrency: 8 });
    log.attach(sweeper.events, 'sweeper');
    const swept = await Promise.all(leftovers.map((r) => sweeper.revoke(r.id, 'recovery', r.expiresAt)));
    res.info.push(`restart sweep: ${leftovers.length} record(s) left active/revoking by the outage -> ${swept.map((s) => s.outcome).join(',') || 'none'}`);
    const summary = await lc.shutdown({ deadlineMs: 5_000 });
    if (summary.revoked !== 1) res.problems.push(`lifecycle shutdown revoked ${summary.revoked} (expected 1)`);

    const states: Record<string, number> = {};
    for (const r of await store.list()) states[r.state] = (states[r.state] ?? 0) + 1;
    res.revoked = [...tokens, lcToken].filter((t) => !mock.isActive(t)).length;
    res.failed = states['failed'] ?? 0;
    res.lost = [...tokens, lcToken].filter((t) => mock.isActive(t)).length - res.failed;
    res.info.push(`store after: ${JSON.stringify(states)}`);
    if (errorsWhileDown === 0) res.problems.push('no error events while Redis was down');
    if ((states['active'] ?? 0) + (states['revoking'] ?? 0) > 0) res.problems.push('records still active/revoking');
    if (res.lost > 0) res.problems.push(`${res.lost} token(s) alive at the mock`);
    log.feed(corpus, `redis-restart${broker.suffix}`);
  } finally {
    log.detach();
    scheduler.close();
    await lc.shutdown({ deadlineMs: 1_000 }).catch(() => undefined);
    client.close();
    await keyv.disconnect().catch(() => undefined);
    await lcKeyv.disconnect().catch(() => undefined);
    await mock.close();
    await redis.stop();
  }
  return res;
}
