/**
 * SIGKILL at random points during a revocation storm, 20 runs (LS). Per run: a fresh mock (in this
 * process, so it outlives the child) and a fresh SQLite file; a child process
 * (fixtures/revocation-storm.ts) holds one token for each of 12 app keys and, once they are stored,
 * shuts all its lifecycles down at once; it is SIGKILLed after a random delay (seeded) inside the
 * storm. A second child on the same SQLite file plays the restarted daemon (start(), then
 * shutdown()). Afterwards no token may be alive at the mock. Every other run encrypts the store.
 * Run per broker (fewer runs for KIS and Kiwoom: the children are what takes the time).
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LS_BROKER, type ChaosBroker, type ChaosMock } from '../brokers.js';
import { SENTINEL_SECRET, emptyResult, seededRandom, type ScenarioResult, type SecretCorpus } from '../lib.js';

const DEFAULT_RUNS = 20;
const KEYS = 12;
const LEASE_TTL_MS = 300;
const FIXTURE = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'revocation-storm.ts');

interface Child {
  lines: string[];
  output: () => string;
  waitLine: (prefix: string, ms: number) => Promise<string>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  kill: () => void;
}

function startChild(config: Record<string, unknown>): Child {
  const proc = spawn(process.execPath, ['--import', 'tsx', FIXTURE, JSON.stringify(config)], { stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  let text = '';
  let pending = '';
  const waiters: Array<{ prefix: string; resolve: (l: string) => void }> = [];
  proc.stdout.on('data', (d: Buffer) => {
    text += d.toString();
    pending += d.toString();
    const parts = pending.split('\n');
    pending = parts.pop() ?? '';
    for (const line of parts) {
      lines.push(line);
      for (const w of [...waiters]) {
        if (line.startsWith(w.prefix)) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve(line);
        }
      }
    }
  });
  proc.stderr.on('data', (d: Buffer) => {
    text += d.toString();
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => proc.once('exit', (code, signal) => resolve({ code, signal })));
  return {
    lines,
    output: () => text,
    waitLine: (prefix, ms) =>
      new Promise<string>((resolve, reject) => {
        const found = lines.find((l) => l.startsWith(prefix));
        if (found !== undefined) return resolve(found);
        const timer = setTimeout(() => reject(new Error(`no "${prefix}" line within ${ms} ms; output: ${text.slice(-500)}`)), ms);
        waiters.push({ prefix, resolve: (l) => (clearTimeout(timer), resolve(l)) });
        void exited.then(() => setTimeout(() => reject(new Error(`child exited before "${prefix}"; output: ${text.slice(-500)}`)), 50));
      }),
    exited,
    kill: () => proc.kill('SIGKILL'),
  };
}

export async function sigkillScenario(corpus: SecretCorpus, seed: number, broker: ChaosBroker = LS_BROKER, RUNS = DEFAULT_RUNS): Promise<ScenarioResult> {
  const res = emptyResult();
  const random = seededRandom(seed);
  const killPoints: string[] = [];
  for (let run = 0; run < RUNS; run++) {
    const mock: ChaosMock = await broker.start({ many: false, latencyMs: 8 });
    const sqlite = join(tmpdir(), `ls-chaos-kill-${process.pid}-${run}-${randomBytes(3).toString('hex')}.sqlite`);
    const encrypted = run % 2 === 1;
    const base = {
      provider: broker.provider,
      mockUrl: mock.url,
      sqlite,
      namespace: 'chaos',
      appKeys: Array.from({ length: KEYS }, (_, i) => `CHAOSKEYKILL${run}x${i}`),
      appSecretKey: SENTINEL_SECRET,
      leaseTtlMs: LEASE_TTL_MS,
      ...(encrypted ? { encryptionKeyHex: randomBytes(32).toString('hex') } : {}),
    };
    try {
      const storm = startChild({ ...base, mode: 'storm', instanceId: `storm-${run}` });
      await storm.waitLine('ready', 30_000);
      const issued = mock.issuedTokens();
      corpus.addTokens(issued);
      // Kill somewhere in the storm: it lasts ~30-70 ms here (12 revocations at 8 ms latency,
      // two SQLite writes each); some kills land before the first revoke, some after the last.
      const delayMs = Math.floor(random() * 65);
      const before = mock.stats().revoked;
      await new Promise((r) => setTimeout(r, delayMs)); // the fault's timing, not a synchronisation
      storm.kill();
      const { signal } = await storm.exited;
      const revokedAtKill = mock.stats().revoked - before;
      killPoints.push(`${delayMs}ms:${revokedAtKill}/${KEYS}${signal === 'SIGKILL' ? '' : '(exited first)'}`);
      res.faults++;

      const recover = startChild({ ...base, mode: 'recover', instanceId: `recover-${run}`, deadInstanceId: `storm-${run}` });
      const summaryLine = await recover.waitLine('summary', 30_000);
      await recover.exited;
      const summary = JSON.parse(summaryLine.slice('summary '.length)) as { revoked: number; states: Record<string, number> };
      const alive = issued.filter((t) => mock.isActive(t)).length;
      res.tokens += issued.length;
      res.revoked += issued.length - alive;
      res.failed += summary.states['failed'] ?? 0;
      res.lost += alive;
      if (alive > 0) res.problems.push(`run ${run}: ${alive} token(s) alive after restart (killed after ${delayMs} ms, ${revokedAtKill} revoked by then); store ${JSON.stringify(summary.states)}`);
      const open = (summary.states['active'] ?? 0) + (summary.states['revoking'] ?? 0);
      if (open > 0) res.problems.push(`run ${run}: ${open} record(s) still active/revoking`);

      corpus.add(`sigkill${broker.suffix} run ${run} child logs`, storm.output() + recover.output());
      corpus.add(`sigkill${broker.suffix} run ${run} store bytes${encrypted ? ' (encrypted)' : ''}`, readFileSync(sqlite).toString('latin1'), !encrypted);
    } finally {
      await mock.close();
      rmSync(sqlite, { force: true });
      rmSync(`${sqlite}-journal`, { force: true });
    }
  }
  res.info.push(`kill points (delay: revoked at kill / tokens): ${killPoints.join(' ')}`);
  return res;
}
