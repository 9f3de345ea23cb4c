/**
 * A fleet: three processes share one app key through Redis. LS keeps one live token per app key,
 * so the fleet must hold exactly one token: the three start at once, one issues (under the Redis
 * issuance lock) and the others adopt it; on the way out each drops its lease and only the last
 * holder revokes.
 *
 * Run (needs Redis; LS_TOKEN_STORE defaults to redis://127.0.0.1:6379):
 *
 * ```sh
 * npx tsx examples/fleet.ts --duration 5     # or without --duration: until Ctrl-C
 * ```
 *
 * The parent starts the LS mock (unless LS_BASE_URL is set), forks the three workers, waits for
 * --duration or Ctrl-C, then stops the workers one after another and checks the outcome against
 * the mock: one token issued, one revoked, none left alive. It exits 1 if that did not hold.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import axios from 'axios';
import { createKeyv } from '@keyv/redis';
import type { Keyv } from 'keyv';
import { TokenLifecycle } from '../src/index.js'; // in your code: from 'ls-token-lifecycle'
import { every, sampleTrCall, setUp, short } from './_support.js';

const WORKERS = ['worker-1', 'worker-2', 'worker-3'];
const redisUrl = process.env['LS_TOKEN_STORE'] || 'redis://127.0.0.1:6379';

/** Messages between the parent and a worker. */
type ToWorker = { type: 'stop' };
type FromWorker = { type: 'ready'; tokenId: string } | { type: 'stopped'; revoked: number; keptForOthers: number } | { type: 'failed'; message: string };

function openRedis(): Keyv {
  return createKeyv({ url: redisUrl, socket: { connectTimeout: 2_000, reconnectStrategy: false } }, { throwOnErrors: true });
}

const ex = await setUp('fleet', { extra: { worker: { type: 'string' }, namespace: { type: 'string' } } });
const workerName = ex.values['worker'] as string | undefined;
if (workerName === undefined) await runParent();
else await runWorker(workerName, ex.values['namespace'] as string);

// ------------------------------------------------------------------------------------------------
// One process of the fleet: an ordinary daemon, nothing fleet-specific in its code.

async function runWorker(name: string, namespace: string): Promise<void> {
  const log = (m: string): void => void process.stderr.write(`[fleet:${name}] ${m}\n`);
  const send = (m: FromWorker): void => void process.send?.(m);
  const keyv = openRedis();
  const lifecycle = new TokenLifecycle({
    appKey: ex.appKey,
    appSecretKey: ex.appSecretKey,
    baseUrl: ex.baseUrl,
    store: keyv,
    namespace,
    instanceId: `fleet-${name}-${process.pid}`,
    retainMs: 10 * 60 * 1000,
  });
  lifecycle.on('issued', (e) => log(`token ${short(e.id)} ${e.source === 'issued' ? 'ISSUED' : 'adopted'}`));
  lifecycle.on('revoked', (e) => log(`token ${short(e.id)} revoked (${e.reason})`));
  lifecycle.on('error', (e) => log(`${e.op}: ${e.error.code} ${e.error.message}`));
  lifecycle.installExitHooks({ exitCode: 0 }); // a crash or a signal of its own still revokes what it must

  let stopping = false;
  const stop = async (): Promise<void> => {
    if (stopping) return;
    stopping = true;
    const s = await lifecycle.shutdown();
    log(s.keptForOthers > 0 ? `stopped: token left to ${s.keptForOthers === 1 ? 'the others' : 'others'}` : `stopped: revoked ${s.revoked} (last holder)`);
    send({ type: 'stopped', revoked: s.revoked, keptForOthers: s.keptForOthers });
    await keyv.disconnect();
    process.disconnect?.();
  };
  process.on('message', (m: ToWorker) => void (m.type === 'stop' && stop()));
  process.on('disconnect', () => void stop()); // the parent went away

  const ls = axios.create({ baseURL: ex.baseUrl, timeout: 10_000 });
  lifecycle.attach(ls);
  try {
    const code = await sampleTrCall(ls);
    log(`first t1102 -> ${code}`);
    send({ type: 'ready', tokenId: lifecycle.status().current?.id ?? '' });
  } catch (err) {
    send({ type: 'failed', message: err instanceof Error ? err.message : String(err) });
    await stop();
    return;
  }
  await every(1_000, async () => void (await sampleTrCall(ls)), {
    durationMs: undefined,
    stop: () => stopping,
    onError: (err) => log(`TR call failed: ${err instanceof Error ? err.message : String(err)}`),
  });
}

// ------------------------------------------------------------------------------------------------
// The parent: starts the workers together, stops them one by one, and checks the result.

async function runParent(): Promise<void> {
  const namespace = ex.mock === undefined ? 'ls-token-fleet-example' : `ls-token-fleet-${process.pid}`;
  const probe = openRedis();
  try {
    await probe.get('ls-token-fleet-probe');
  } catch (err) {
    ex.log(`the fleet shares its tokens through Redis, which is not reachable at ${redisUrl} (${err instanceof Error ? err.message : String(err)}); start Redis or set LS_TOKEN_STORE`);
    await probe.disconnect();
    await ex.close();
    process.exitCode = 1;
    return;
  }
  await probe.disconnect();

  const file = fileURLToPath(import.meta.url);
  const workers = new Map<string, ChildProcess>();
  const messages = new Map<string, FromWorker[]>();
  const waitFor = (name: string, type: FromWorker['type'] | 'exit'): Promise<FromWorker | undefined> =>
    new Promise((resolve) => {
      const child = workers.get(name)!;
      const seen = messages.get(name)!.find((m) => m.type === type || (type === 'ready' && m.type === 'failed'));
      if (seen !== undefined) return resolve(seen);
      if (child.exitCode !== null) return resolve(undefined);
      const onMessage = (m: FromWorker): void => {
        if (m.type === type || (type === 'ready' && m.type === 'failed')) done(m);
      };
      const onExit = (): void => done(undefined);
      const done = (m: FromWorker | undefined): void => {
        child.off('message', onMessage);
        child.off('exit', onExit);
        resolve(m);
      };
      child.on('message', onMessage);
      child.once('exit', onExit);
    });

  ex.log(`starting ${WORKERS.length} workers at once on ${redisUrl} (namespace ${namespace})`);
  for (const name of WORKERS) {
    const child = fork(file, ['--worker', name, '--namespace', namespace], {
      env: { ...process.env, LS_BASE_URL: ex.baseUrl, LS_APPKEY: ex.appKey, LS_APPSECRETKEY: ex.appSecretKey },
      detached: true, // Ctrl-C reaches the parent only; it stops the workers in order
    });
    workers.set(name, child);
    messages.set(name, []);
    child.on('message', (m: FromWorker) => messages.get(name)!.push(m));
  }
  const ready = await Promise.all(WORKERS.map((n) => waitFor(n, 'ready')));
  const ids = ready.map((m) => (m?.type === 'ready' ? m.tokenId : undefined));
  const shared = ids.every((id) => id !== undefined && id !== '' && id === ids[0]);
  ex.log(shared ? `all ${WORKERS.length} workers use token ${short(ids[0])}` : `workers hold different tokens: ${ids.map((id) => short(id)).join(', ')}`);

  // Run for --duration, or until Ctrl-C (a second Ctrl-C leaves at once).
  await new Promise<void>((resolve) => {
    const timer = ex.durationMs === undefined ? undefined : setTimeout(done, ex.durationMs);
    function done(): void {
      if (timer !== undefined) clearTimeout(timer);
      process.off('SIGINT', done);
      process.off('SIGTERM', done);
      process.once('SIGINT', () => {
        for (const w of workers.values()) w.kill('SIGKILL');
        process.exit(130);
      });
      resolve();
    }
    process.once('SIGINT', done);
    process.once('SIGTERM', done);
  });

  // Stop them one after another: the first two leave the token to the others, the last revokes.
  for (const name of WORKERS) {
    const child = workers.get(name)!;
    if (child.exitCode === null && child.connected) child.send({ type: 'stop' } satisfies ToWorker);
    await waitFor(name, 'stopped');
    await waitFor(name, 'exit');
  }

  let ok = shared;
  if (ex.mock !== undefined) {
    const s = ex.mock.stats();
    ex.log(`LS mock: ${s.issued} token(s) issued, ${s.revoked} revoked, ${s.active} still alive`);
    ok = ok && s.issued === 1 && s.revoked === 1 && s.active === 0;
  }
  ex.log(ok ? 'OK: one token for the whole fleet, revoked once by the last holder' : 'UNEXPECTED: see the lines above');
  await ex.close();
  process.exitCode = ok ? 0 : 1;
}
