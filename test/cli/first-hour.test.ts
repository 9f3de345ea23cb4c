/**
 * The operator's first hour, as separate CLI processes on one store (each its own pid, as an
 * operator's commands are): a command that fails leaves the app key as it found it, one rule for
 * the fleet's token nobody holds yet (`issue`, `status` and `sweep` agree: it lives until its
 * revokeAt), a store the CLI cannot open is a configuration error that changes nothing, and the
 * messages say what holds an issuance back in the broker's terms and the CLI's flags.
 */
import { describe, expect, it } from '@jest/globals';
import { appKeyId, shortId } from '../../src/core/fingerprint.js';
import { appKeyIdFor } from '../../src/providers/provider.js';
import { kisProvider } from '../../src/providers/kis.js';
import { startMockKisServer, startMockKiwoomServer } from '../../src/testing/index.js';
import { APP_KEY, ENCRYPTION_KEY, SECRET, lastLine, useCliHarness } from './harness.js';

const h = useCliHarness();
// Several CLI processes per test, one after another: generous bounds for a loaded machine.
const run: typeof h.run = (args, opts = {}) => h.run(args, { killAfterMs: 60_000, ...opts });
const TEST_MS = 240_000;

describe('a token nobody holds yet (one rule: issue, status, sweep)', () => {
  it('lives until its revokeAt: status says the next daemon adopts it, sweep keeps it; --revoke-shared revokes it', async () => {
    const issued = await run(['issue', '--json']);
    expect(issued.code).toBe(0);
    const { id } = JSON.parse(issued.stdout) as { id: string };
    const status = await run(['status', '--json']);
    expect(JSON.parse(status.stdout)).toMatchObject({ adopt: { id, holders: [] }, actions: [{ id, action: 'adopt' }], health: { ok: true } });

    const sweep = await run(['sweep']);
    expect(sweep.code).toBe(0);
    expect(lastLine(sweep.stdout)).toMatch(/^sweep: nothing to revoke; 0 revoked, 0 already invalid, 0 expired, 1 left to their holders or not due/);
    const { store } = h.openStore();
    expect(await store.get(id)).toMatchObject({ state: 'active', reason: null });
    expect(h.mock.activeTokens()).toHaveLength(1);
    expect(h.mock.stats().revokeRequests).toBe(0);

    const all = await run(['sweep', '--revoke-shared']);
    expect(all.code).toBe(0);
    expect(all.stdout).toMatch(new RegExp(`^revoked +${shortId(id)} +reason=recovery `, 'm'));
    expect(h.mock.activeTokens()).toEqual([]);
    expect((await store.get(id))?.state).toBe('revoked');
  }, TEST_MS);
});

describe('a store the CLI cannot open (no or the wrong encryption key)', () => {
  it('sweep and revoke --id exit 2 naming the key, send nothing and change no record; with the key they revoke', async () => {
    const sealed = await run(['issue', '--json'], { env: { LS_TOKEN_ENCRYPTION_KEY: ENCRYPTION_KEY } });
    expect(sealed.code).toBe(0);
    const { id } = JSON.parse(sealed.stdout) as { id: string };
    const { store } = h.openStore();
    const before = await store.get(id);

    for (const env of [{}, { LS_TOKEN_ENCRYPTION_KEY: 'cd'.repeat(32) }]) {
      const [sweep, revoke] = await Promise.all([run(['sweep', '--revoke-shared'], { env }), run(['revoke', '--id', shortId(id)], { env })]);
      for (const r of [sweep, revoke]) {
        expect({ code: r.code, stdout: r.stdout }).toEqual({ code: 2, stdout: '' });
        expect(r.stderr.trim().split('\n')).toHaveLength(1);
        expect(r.stderr).toMatch(new RegExp(`^ls-token: ERR_DECRYPT: cannot open 1 stored token of this app key \\(${shortId(id)}\\): .*LS_TOKEN_ENCRYPTION_KEY.*nothing was sent and no record changed`, 'i'));
      }
    }
    expect(await store.get(id)).toEqual(before); // not marked failed: a later run with the key revokes it
    expect(h.mock.stats().revokeRequests).toBe(0);
    expect(h.mock.activeTokens()).toHaveLength(1);
    const status = await run(['status', '--exit-code']);
    expect({ code: status.code, health: lastLine(status.stdout) }).toEqual({ code: 0, health: 'health     ok' });

    const withKey = await run(['sweep', '--revoke-shared'], { env: { LS_TOKEN_ENCRYPTION_KEY: ENCRYPTION_KEY } });
    expect(withKey.code).toBe(0);
    expect(withKey.stdout).toMatch(new RegExp(`^revoked +${shortId(id)} `, 'm'));
    expect(h.mock.activeTokens()).toEqual([]);
  }, TEST_MS);
});

describe('issue --new inside KIS\'s one issuance a minute', () => {
  it('fails with one line in KIS\'s terms naming --deadline-ms, and leaves the live token alive and recorded', async () => {
    const kis = await startMockKisServer({ credentials: [{ appKey: APP_KEY, appSecretKey: SECRET }] });
    try {
      const env = { LS_PROVIDER: 'kis', LS_BASE_URL: kis.url, KIS_APPKEY: APP_KEY, KIS_APPSECRET: SECRET };
      const first = await run(['issue', '--json'], { env });
      expect(first.code).toBe(0);
      const { id } = JSON.parse(first.stdout) as { id: string };
      const again = await run(['issue', '--new'], { env });
      expect(again.code).toBe(1);
      // The app key keeps its token: alive at KIS and active in the store (it used to be revoked).
      expect(kis.activeTokens()).toHaveLength(1);
      const { store } = h.openStore();
      expect(await store.get(id)).toMatchObject({ state: 'active', reason: null, appKeyId: appKeyIdFor(kisProvider, APP_KEY, kis.url) });
      expect(appKeyIdFor(kisProvider, APP_KEY, kis.url)).not.toBe(appKeyId(APP_KEY));
      expect(again.stderr.trim().split('\n')).toHaveLength(1); // no note and warning besides the error
      expect(again.stderr).toMatch(/^ls-token: ERR_ISSUE_THROTTLED: No token may be issued for \d+ s \(KIS allows one issuance per app key per 60 s, or another process issuing\): longer than --deadline-ms 30000 lets it wait: run it again then, or give --deadline-ms \d+ to wait it out\n$/);
      expect(again.stderr).not.toMatch(/cut-off|issueLockWaitMs/);
    } finally {
      await kis.close();
    }
  }, TEST_MS);
});

describe('a string too short to be a token', () => {
  it('is refused in words, not redacted out of them (Kiwoom: "too short")', async () => {
    const kiwoom = await startMockKiwoomServer({ credentials: [{ appKey: APP_KEY, appSecretKey: SECRET }] });
    try {
      const env = { LS_PROVIDER: 'kiwoom', LS_BASE_URL: kiwoom.url, KIWOOM_APPKEY: APP_KEY, KIWOOM_SECRETKEY: SECRET };
      const r = await run(['revoke', '-'], { env, stdin: 'short\n' });
      expect(r.code).toBe(2);
      expect(r.stderr).toBe('ls-token: ERR_INVALID_TOKEN: token is not a Kiwoom access token of this app key: it is too short to be a Kiwoom token (truncated?)\n');
      // A value long enough to be a token is still never printed back.
      const long = 'abcdefghij0123456789XY'; // 22 b64token characters: could be a Kiwoom token
      h.extraSecrets.push(long);
      const echoed = await run(['revoke', '-'], { env, stdin: `${long}\n` });
      expect(echoed.stderr).not.toContain(long);
    } finally {
      await kiwoom.close();
    }
  }, TEST_MS);
});
