/**
 * `ERR_ISSUE_THROTTLED` says what holds an issuance back in the broker's own terms: LS's 07:00 KST
 * cut-off only for LS, KIS's own minute for KIS, and the option that lets a caller wait longer
 * (the lifecycle's `issueLockWaitMs`; the CLI words its own with `--deadline-ms`).
 */
import { describe, expect, it } from '@jest/globals';
import { ErrorCodes, issueThrottledError } from '../../src/core/errors.js';
import { waitReasonsOf } from '../../src/lifecycle/assemble.js';
import { TokenLifecycle } from '../../src/lifecycle/token-lifecycle.js';
import { PROVIDERS } from '../../src/providers/registry.js';
import { startMockKisServer } from '../../src/testing/index.js';

describe('the reasons of ERR_ISSUE_THROTTLED, per broker', () => {
  it('LS: its budget, its 07:00 KST cut-off; KIS: its own minute, no cut-off; Kiwoom: the budget only', () => {
    expect(waitReasonsOf(PROVIDERS.ls, 60_000)).toBe("the issuance budget of one issuance per app key per 60 s, LS's 07:00 KST cut-off, or another process issuing");
    expect(waitReasonsOf(PROVIDERS.kis, 60_000)).toBe('KIS allows one issuance per app key per 60 s, or another process issuing');
    expect(waitReasonsOf(PROVIDERS.kiwoom, 0)).toBe('another process issuing');
    const err = issueThrottledError(1_500, waitReasonsOf(PROVIDERS.kis, 60_000), '--deadline-ms 30000 lets it wait');
    expect(err).toMatchObject({ code: ErrorCodes.ISSUE_THROTTLED, retryable: true, retryAfterMs: 1_500 });
    expect(err.message).toBe('No token may be issued for 1.5 s (KIS allows one issuance per app key per 60 s, or another process issuing): longer than --deadline-ms 30000 lets it wait');
  });

  it('a KIS lifecycle asked for a forced token inside KIS\'s minute names KIS\'s limit and issueLockWaitMs, not LS\'s cut-off', async () => {
    const mock = await startMockKisServer();
    const lc = new TokenLifecycle({ provider: 'kis', appKey: 'KISWAITREASONS0001', appSecretKey: 'kis-wait-secret', baseUrl: mock.url, issueLockWaitMs: 100 });
    lc.on('error', () => undefined);
    try {
      const token = await lc.getAccessToken();
      const err = await lc.invalidate(token).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toMatchObject({ code: ErrorCodes.ISSUE_THROTTLED });
      expect((err as Error).message).toMatch(/^No token may be issued for \d+ s \(KIS allows one issuance per app key per 60 s, or another process issuing\): longer than issueLockWaitMs \(100 ms\) lets a caller wait$/);
    } finally {
      await lc.shutdown({ deadlineMs: 2_000 });
      await mock.close();
    }
  });
});
