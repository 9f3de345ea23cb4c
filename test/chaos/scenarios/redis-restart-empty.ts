/**
 * Redis restarts without its data (no persistence, or a failover to an empty replica). Three
 * lifecycles of one app key share a private redis-server (`--save ''`) and call getAccessToken
 * every 20 ms; Redis is killed and started again empty on the same port. The holders must write
 * their lease and record again, a newcomer must adopt the fleet's token instead of issuing (which
 * would kill it for everyone), and no call may be handed a dead token. At the end the fleet shuts
 * down and no token may be alive.
 *
 * Figures: token requests, dead tokens handed out (target 0), tokens alive at the end (target 0).
 */
import { createKeyv } from '@keyv/redis';
import { randomBytes } from 'node:crypto';
import { TokenLifecycle } from '../../../src/lifecycle/token-lifecycle.js';
import { LS_BROKER, type ChaosBroker } from '../brokers.js';
import { EventLog, PrivateRedis, SENTINEL_SECRET, emptyResult, waitFor, type ScenarioResult, type SecretCorpus } from '../lib.js';

const APP_KEY = 'CHAOSKEYEMPTY000000000000000000000';

export async function redisRestartEmptyScenario(corpus: SecretCorpus, broker: ChaosBroker = LS_BROKER): Promise<ScenarioResult> {
  const res = emptyResult();
  const redis = new PrivateRedis();
  await redis.start();
  const mock = await broker.start({ many: false, latencyMs: 5, ls: { cutoffKst: null } });
  const namespace = `chaos-empty-${randomBytes(4).toString('hex')}`;
  const log = new EventLog();
  const keyvs: Array<ReturnType<typeof createKeyv>> = [];
  const lifecycles: TokenLifecycle[] = [];
  const make = (name: string): TokenLifecycle => {
    // A client that reconnects (every 100 ms) and does not queue commands while Redis is away.
    const keyv = createKeyv({ url: redis.url, socket: { connectTimeout: 500, reconnectStrategy: () => 100 }, disableOfflineQueue: true }, { namespace, throwOnErrors: true });
    keyvs.push(keyv);
    const lc = new TokenLifecycle({ provider: broker.provider, appKey: APP_KEY, appSecretKey: SENTINEL_SECRET, baseUrl: mock.url, store: keyv, instanceId: name, leaseTtlMs: 1_500, storeTimeoutMs: 500, sweepIntervalMs: 0 });
    log.attach(lc, name);
    lifecycles.push(lc);
    return lc;
  };
  let dead = 0;
  let calls = 0;
  let running = true;
  const loops: Promise<void>[] = [];
  const callLoop = (lc: TokenLifecycle): void => {
    loops.push(
      (async () => {
        while (running) {
          const token = await lc.getAccessToken().catch(() => undefined);
          calls++;
          if (token !== undefined && !mock.isActive(token)) dead++;
          await new Promise((r) => setTimeout(r, 20));
        }
      })(),
    );
  };
  try {
    const fleet = ['empty-a', 'empty-b', 'empty-c'].map(make);
    const tokens = await Promise.all(fleet.map((lc) => lc.getAccessToken()));
    corpus.addTokens(tokens);
    if (new Set(tokens).size !== 1) res.problems.push(`the fleet holds ${new Set(tokens).size} tokens, not one`);
    const token = tokens[0]!;
    for (const lc of fleet) callLoop(lc);

    await redis.killLosingData(); // SIGKILL, and nothing was saved
    res.faults++;
    await redis.start(); // same port, empty
    const view = make('empty-view'); // reads the store as a newcomer would, once the holders are back
    view.removeAllListeners();
    await waitFor('the holders to write the record again', async () => (await view.store.get(lifecycles[0]!.status().current?.id ?? '')) !== undefined, 10_000, 50);
    const newcomer = make('empty-new');
    const adopted = await newcomer.getAccessToken();
    if (adopted !== token) res.problems.push('the newcomer issued a new token instead of adopting the fleet\'s');
    callLoop(newcomer);
    await waitFor('a second of calls after the newcomer joined', () => calls > 200, 10_000, 20);
    running = false;
    await Promise.all(loops);

    await Promise.all(lifecycles.map((lc) => lc.shutdown({ deadlineMs: 5_000 })));
    res.tokens = mock.stats().issued;
    res.revoked = mock.issuedTokens().filter((t) => !mock.isActive(t)).length;
    res.lost = mock.activeTokens().length;
    res.info.push(`token requests ${mock.stats().tokenRequests}, calls ${calls}, dead tokens handed out ${dead} (target 0), alive at the end ${res.lost} (target 0)`);
    if (mock.stats().tokenRequests !== 1) res.problems.push(`${mock.stats().tokenRequests} token requests (expected 1: the data loss must not cause an issuance)`);
    if (dead > 0) res.problems.push(`${dead} dead token(s) handed out`);
    if (res.lost > 0) res.problems.push(`${res.lost} token(s) alive at the end`);
    log.feed(corpus, `redis-restart-empty${broker.suffix}`);
  } finally {
    running = false;
    log.detach();
    await Promise.all(lifecycles.map((lc) => lc.shutdown({ deadlineMs: 1_000 }).catch(() => undefined)));
    for (const k of keyvs) await k.disconnect().catch(() => undefined);
    await mock.close();
    await redis.stop();
  }
  return res;
}
