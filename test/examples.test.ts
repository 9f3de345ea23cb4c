/**
 * Every example the README links runs with one command against its own mock LS and ends cleanly:
 * exit 0 with `--duration`, its tokens revoked, nothing left alive. (The quick start and the
 * trading-day rehearsal are README commands: test/readme.test.ts runs them.) The Redis examples run
 * on a private redis-server and the SQLite one on a file of its own, both removed afterwards, so
 * nothing is left in the machine's Redis or temp directory.
 */
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { killAllChildren, spawnFixture, startPrivateRedis, type PrivateRedis } from './fixtures/harness.js';

const SQLITE_FILE = join(tmpdir(), `ls-token-examples-${process.pid}.sqlite`);

const cases: Array<[name: string, durationS: number, expected: RegExp[]]> = [
  ['minimal-daemon', 2, [/t1102 -> 00000/, /revoked \(shutdown, revoked\)/, /shutdown: 1 revoked, 0 failed, 0 pending/]],
  ['sqlite-daemon', 2, [/revoked \(shutdown, revoked\)/, /records in the file for this app key: \w+=revoked/]],
  ['redis-daemon', 2, [/t1102 -> 00000/, /shutdown: 1 revoked, 0 kept for other processes, 0 pending/]],
  ['fleet', 2, [/LS mock: 1 token\(s\) issued, 1 revoked, 0 still alive/, /OK: one token for the whole fleet/]],
  [
    'observability',
    // 8-second tokens, revoked 1 s before expiry, refreshed 3 s before that: one refresh at ~4 s.
    6,
    [
      // Logs come from the `logger` option: one JSON line per event, with the lifecycle's instanceId.
      /"component":"ls-token","instanceId":"[^"]+","event":"issued"/,
      /"event":"revoked".*"reason":"superseded"/,
      // Metrics come from the events.
      /ls_token_issued_total\{source="issued"\} 2/,
      /ls_token_revocations_total\{reason="superseded",outcome="(revoked|already-invalid)"\} 1/,
      /ls_token_revocations_total\{reason="shutdown",outcome="revoked"\} 1/,
      /ls_token_live_tokens 0/,
    ],
  ],
  [
    'healthz',
    2,
    [/GET \/healthz -> 503 ok=false problems: not-started/, /GET \/healthz -> 200 ok=true store [\d.]+ ms/, /shutdown: 1 revoked, 0 not revoked/, /GET \/healthz -> 503 ok=false problems: shut-down/],
  ],
];

describe('examples', () => {
  let redis: PrivateRedis;
  beforeAll(async () => {
    redis = await startPrivateRedis();
  });
  afterAll(async () => {
    await killAllChildren();
    await redis.stop();
    await Promise.all(['', '-journal', '-wal', '-shm'].map((suffix) => rm(`${SQLITE_FILE}${suffix}`, { force: true })));
  });

  it.each(cases)('%s runs and shuts down cleanly', async (name, durationS, expected) => {
    const args = ['--duration', String(durationS), ...(name === 'sqlite-daemon' ? ['--db', SQLITE_FILE] : [])];
    const ex = spawnFixture(`../../examples/${name}.ts`, { LS_BASE_URL: undefined, LS_TOKEN_STORE: redis.url }, args);
    const exit = await ex.exited;
    const out = `${ex.lines.join('\n')}\n${ex.stderr()}`;
    expect({ name, code: exit.code }).toEqual({ name, code: 0 });
    for (const re of expected) expect(out).toMatch(re);
    expect(out).not.toMatch(/ERR_ISSUE_THROTTLED/);
  }, 45_000);
});
