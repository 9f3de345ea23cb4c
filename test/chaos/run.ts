/**
 * `npm run test:chaos`: the fault-injection suite. Loopback only (the mock LS, KIS and Kiwoom servers on
 * 127.0.0.1, a private redis-server on a free port), every scenario bounded in time, and the whole
 * suite well under 4 minutes. Prints one line per scenario,
 * `scenario: <name> faults=<n> tokens=<n> revoked=<n> failed=<n> lost=<n> <PASS|FAIL>`, then
 * `N passed, N failed`, and exits 1 if any failed.
 *
 * Seeded: `CHAOS_SEED=1234 npm run test:chaos` repeats a run (the seed is printed).
 * `npm run test:chaos -- faults sigkill` runs only those scenarios (the secret scan always runs).
 * The fault scenarios also run against the KIS and Kiwoom mocks (`mock-faults-kis`, `sigkill-kiwoom`, ...).
 */
import { corruptRecordsScenario } from './scenarios/corrupt-records.js';
import { failoverScenario } from './scenarios/failover.js';
import { faultsScenario } from './scenarios/faults.js';
import { propertyScenario } from './scenarios/property.js';
import { redisRestartScenario } from './scenarios/redis-restart.js';
import { redisRestartEmptyScenario } from './scenarios/redis-restart-empty.js';
import { sigkillScenario } from './scenarios/sigkill.js';
import { KIS_BROKER, KIWOOM_BROKER } from './brokers.js';
import { PrivateRedis, SecretCorpus, emptyResult, scanForSecrets, type ScenarioResult } from './lib.js';

const seed = Number(process.env['CHAOS_SEED'] ?? Math.floor(Math.random() * 2 ** 31));
const corpus = new SecretCorpus();
const sharedRedis = new PrivateRedis();

// An unhandled rejection or uncaught exception anywhere is a crash: record it against the scenario.
const crashes: string[] = [];
process.on('unhandledRejection', (err) => crashes.push(`unhandled rejection: ${String(err)}`));
process.on('uncaughtException', (err) => crashes.push(`uncaught exception: ${String(err)}`));

interface Scenario {
  readonly name: string;
  readonly timeoutMs: number;
  run(): Promise<ScenarioResult>;
}

const scenarios: Scenario[] = [
  { name: 'property', timeoutMs: 60_000, run: () => propertyScenario(seed) },
  { name: 'corrupt-records', timeoutMs: 30_000, run: () => corruptRecordsScenario(corpus, sharedRedis.url) },
  { name: 'mock-faults', timeoutMs: 90_000, run: () => faultsScenario(corpus, seed) },
  { name: 'redis-restart', timeoutMs: 60_000, run: () => redisRestartScenario(corpus) },
  { name: 'redis-restart-empty', timeoutMs: 60_000, run: () => redisRestartEmptyScenario(corpus) },
  { name: 'sigkill', timeoutMs: 180_000, run: () => sigkillScenario(corpus, seed) },
  // A Sentinel primary and a Cluster master SIGKILLed under a fleet of 3 daemons, mid-day and at 06:59:58 KST.
  ...(['sentinel', 'cluster'] as const).flatMap((mode): Scenario[] => [
    { name: `failover-${mode}`, timeoutMs: 150_000, run: () => failoverScenario(corpus, { mode, at: 'midday' }) },
    { name: `failover-${mode}-cutoff`, timeoutMs: 150_000, run: () => failoverScenario(corpus, { mode, at: 'cutoff' }) },
  ]),
  // The fault scenarios against the KIS and Kiwoom mocks (their own error shapes and token rules).
  ...[KIS_BROKER, KIWOOM_BROKER].flatMap((b): Scenario[] => [
    { name: `mock-faults${b.suffix}`, timeoutMs: 90_000, run: () => faultsScenario(corpus, seed, b, 300) },
    { name: `redis-restart${b.suffix}`, timeoutMs: 60_000, run: () => redisRestartScenario(corpus, b) },
    { name: `redis-restart-empty${b.suffix}`, timeoutMs: 60_000, run: () => redisRestartEmptyScenario(corpus, b) },
    { name: `sigkill${b.suffix}`, timeoutMs: 120_000, run: () => sigkillScenario(corpus, seed, b, 8) },
  ]),
];
const only = process.argv.slice(2);
const selected = only.length === 0 ? scenarios : scenarios.filter((s) => only.includes(s.name));

function line(name: string, r: ScenarioResult): string {
  return `scenario: ${name} faults=${r.faults} tokens=${r.tokens} revoked=${r.revoked} failed=${r.failed} lost=${r.lost} ${r.problems.length === 0 ? 'PASS' : 'FAIL'}`;
}

const started = Date.now();
console.log(`chaos suite, seed ${seed}`);
const summary: string[] = [];
let passed = 0;
let failed = 0;
const record = (name: string, r: ScenarioResult): void => {
  for (const i of r.info) console.log(`  ${name}: ${i}`);
  for (const p of r.problems) console.log(`  ${name}: PROBLEM ${p}`);
  const l = line(name, r);
  console.log(l);
  summary.push(l);
  if (r.problems.length === 0) passed++;
  else failed++;
};

try {
  await sharedRedis.start();
} catch (err) {
  console.log(`could not start a private redis-server: ${String(err)}`);
}
for (const s of selected) {
  const t0 = Date.now();
  const crashesBefore = crashes.length;
  let r: ScenarioResult;
  let timer: NodeJS.Timeout | undefined;
  try {
    r = await Promise.race([
      s.run(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`did not finish within ${s.timeoutMs} ms`)), s.timeoutMs);
      }),
    ]);
  } catch (err) {
    r = emptyResult();
    r.problems.push(err instanceof Error ? err.message : String(err));
  } finally {
    clearTimeout(timer);
  }
  for (const c of crashes.slice(crashesBefore)) r.problems.push(c);
  r.info.push(`took ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  record(s.name, r);
}

// The secret scan over everything the scenarios produced: events, pino logs, errors (inspect,
// JSON, String, stack), child-process output, and the bytes of every store.
const scan = emptyResult();
const { leaks, bytes } = scanForSecrets(corpus);
scan.tokens = corpus.tokens.size;
scan.faults = leaks.length;
scan.problems.push(...leaks);
if (corpus.texts.length === 0) scan.problems.push('nothing to scan (no scenario produced output)');
scan.info.push(`sentinel app secret and ${corpus.tokens.size} raw tokens searched in ${corpus.texts.length} texts, ${(bytes / 1e6).toFixed(1)} MB; raw tokens allowed only in unencrypted store bytes; faults= counts leaks`);
record('secret-scan', scan);

await sharedRedis.stop();
console.log(`\nchaos suite finished in ${((Date.now() - started) / 1000).toFixed(1)} s (seed ${seed})`);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed > 0 ? 1 : 0);
