/**
 * The README's main-job command (`npm run demo`) does what the README says: within ~20 s it shows a
 * background refresh with the replaced token revoked, an expiry revocation, and a Ctrl-C that
 * revokes what is left, leaving no token alive at the mock LS.
 */
import { afterAll, describe, expect, it } from '@jest/globals';
import { killAllChildren, spawnFixture } from './fixtures/harness.js';

const DEMO = '../../examples/demo.ts';

describe('npm run demo', () => {
  afterAll(() => killAllChildren());

  it('shows a refresh, a superseded and an expiry revocation, then stops by itself with nothing alive', async () => {
    // Spawned directly (not through npm) so the exit status is the demo's own.
    const demo = spawnFixture(DEMO, {}, ['--duration', '11']);
    const exit = await demo.exited;
    const out = demo.lines.join('\n');
    expect(exit.code).toBe(0);
    expect(out.match(/orders\s+issued\s+token \w+ \(issued\)/g)?.length ?? 0).toBeGreaterThanOrEqual(2);
    expect(out).toMatch(/orders\s+revoked\s+token \w+ reason=superseded/);
    expect(out).toMatch(/reports\s+revoked\s+token \w+ reason=expiry outcome=revoked/);
    expect(out).toMatch(/order #\d+\s+accepted/);
    expect(out).not.toMatch(/rejected|failed:/);
    expect(out).toContain('tokens still alive at the mock LS: 0');
  }, 40_000);

  it('revokes what is left on Ctrl-C and exits 0', async () => {
    const demo = spawnFixture(DEMO, {});
    await demo.waitForLine((l) => /order #1\s+accepted/.test(l));
    demo.signal('SIGINT');
    const exit = await demo.exited;
    const out = demo.lines.join('\n');
    expect(exit.code).toBe(0);
    expect(out).toMatch(/Ctrl-C: shutting down/);
    expect(out).toMatch(/orders\s+revoked\s+token \w+ reason=shutdown/);
    expect(out).toMatch(/reports\s+revoked\s+token \w+ reason=shutdown/);
    expect(out).toContain('tokens still alive at the mock LS: 0');
  }, 40_000);
});
