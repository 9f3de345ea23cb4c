/**
 * Every example in the README runs with one command against its own mock LS and ends cleanly:
 * exit 0 with `--duration`, its tokens revoked, nothing left alive.
 */
import { afterAll, describe, expect, it } from '@jest/globals';
import { killAllChildren, spawnFixture } from './fixtures/harness.js';

const cases: Array<[string, RegExp[]]> = [
  ['minimal-daemon', [/t1102 -> 00000/, /revoked \(shutdown, revoked\)/, /shutdown: 1 revoked, 0 failed, 0 pending/]],
  ['sqlite-daemon', [/revoked \(shutdown, revoked\)/, /records in the file for this app key: \w+=revoked/]],
  ['redis-daemon', [/t1102 -> 00000/, /shutdown: 1 revoked, 0 kept for other processes, 0 pending/]],
  ['fleet', [/LS mock: 1 token\(s\) issued, 1 revoked, 0 still alive/, /OK: one token for the whole fleet/]],
  ['observability', [/ls_token_revocations_total\{reason="shutdown",outcome="revoked"\} 1/, /ls_token_live_tokens 0/]],
];

describe('examples', () => {
  afterAll(() => killAllChildren());

  it.each(cases)('%s runs and shuts down cleanly', async (name, expected) => {
    const ex = spawnFixture(`../../examples/${name}.ts`, { LS_BASE_URL: undefined }, ['--duration', '2']);
    const exit = await ex.exited;
    const out = `${ex.lines.join('\n')}\n${ex.stderr()}`;
    expect({ name, code: exit.code }).toEqual({ name, code: 0 });
    for (const re of expected) expect(out).toMatch(re);
  }, 45_000);
});
