/**
 * Runs the mock LS server in a child process, so that the gateway's own CPU work (parsing, JWT
 * minting, JSON) is not charged to the library being measured. Real LS runs on another machine;
 * on this 2-core box the child gets the other core. Talks to it over Node's IPC channel.
 *
 * Child side: `node --import tsx bench/mock-host.ts` (started by {@link startRemoteMock}).
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { MockLsServerOptions, MockLsStats } from '../src/testing/index.js';

type Request = { id: number; op: 'stats' | 'resetStats' | 'close' };
type Reply = { id: number; result?: unknown; error?: string };

/** The parent's handle on a mock running in a child process. */
export interface RemoteMock {
  readonly url: string;
  stats(): Promise<MockLsStats>;
  resetStats(): Promise<void>;
  close(): Promise<void>;
}

/** Serialisable subset of the mock's options. */
export type RemoteMockOptions = Pick<MockLsServerOptions, 'latencyMs' | 'reissue' | 'credentials' | 'tokenLifetimeS'>;

export async function startRemoteMock(options: RemoteMockOptions): Promise<RemoteMock> {
  const child: ChildProcess = fork(fileURLToPath(import.meta.url), [JSON.stringify(options)], {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  let seq = 0;
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('mock host did not start within 20 s')), 20_000);
    child.once('message', (m) => {
      clearTimeout(timer);
      resolve((m as { url: string }).url);
    });
    child.once('exit', (code) => reject(new Error(`mock host exited with ${code}`)));
  });
  child.on('message', (m) => {
    const r = m as Reply;
    const p = pending.get(r.id);
    if (p === undefined) return;
    pending.delete(r.id);
    if (r.error !== undefined) p.reject(new Error(r.error));
    else p.resolve(r.result);
  });
  const call = <T>(op: Request['op']): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      const id = ++seq;
      pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      child.send({ id, op } satisfies Request);
    });
  return {
    url,
    stats: () => call<MockLsStats>('stats'),
    resetStats: () => call<void>('resetStats'),
    close: async () => {
      const exited = new Promise<void>((r) => child.once('exit', () => r()));
      await call<void>('close').catch(() => undefined);
      await Promise.race([exited, new Promise<void>((r) => setTimeout(r, 5_000).unref())]);
      if (child.exitCode === null) child.kill('SIGKILL');
    },
  };
}

// Child side.
if (process.send !== undefined && process.argv[1] === fileURLToPath(import.meta.url)) {
  const { startMockLsServer } = await import('../src/testing/index.js');
  const server = await startMockLsServer(JSON.parse(process.argv[2] ?? '{}') as MockLsServerOptions);
  process.on('message', (m) => {
    const req = m as Request;
    if (req.op === 'stats') process.send!({ id: req.id, result: server.stats() } satisfies Reply);
    else if (req.op === 'resetStats') {
      server.resetStats();
      process.send!({ id: req.id } satisfies Reply);
    } else if (req.op === 'close') {
      void server.close().then(() => {
        process.send!({ id: req.id } satisfies Reply);
        process.disconnect();
      });
    }
  });
  process.send({ url: server.url });
}
