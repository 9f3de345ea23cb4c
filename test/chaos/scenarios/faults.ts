/**
 * Mock faults: 500 tokens revoked while the mock hangs, resets connections, answers HTTP 500 or
 * IGW00201 (rate limit) on 30 % of revoke requests, drawn from a seeded random source. Run per
 * broker: against the KIS and Kiwoom mocks the faults take their brokers' shapes (EGW codes;
 * Kiwoom's return_code at HTTP 200 or 500).
 *
 * The tokens are real mock tokens (`reissue: 'independent'`, so one app key holds 500 live ones),
 * stored encrypted in a TokenStore and revoked by a RevocationScheduler whose `revoke` is an
 * LsOAuthClient over HTTP: the path every revocation takes. Their revokeAt is spread over 0.5 s,
 * so the scheduler's timer fires them. Every token must end `revoked` or, after its retries,
 * `failed` with a `revokeFailed` event; none may stay `revoking`/`active`; no token the library
 * calls revoked may be alive at the mock.
 */
import { randomBytes } from 'node:crypto';
import { RevocationScheduler } from '../../../src/schedule/revocation-scheduler.js';
import { TokenStore } from '../../../src/store/token-store.js';
import { tokenId } from '../../../src/core/fingerprint.js';
import { LS_BROKER, type ChaosBroker } from '../brokers.js';
import { EventLog, SENTINEL_SECRET, emptyResult, seededRandom, waitFor, type ScenarioResult, type SecretCorpus } from '../lib.js';

const DEFAULT_TOKENS = 500;
const FAULT_RATE = 0.3;
const KINDS = ['hang', 'reset', 'http500', 'rate-limit'] as const;

export async function faultsScenario(corpus: SecretCorpus, seed: number, broker: ChaosBroker = LS_BROKER, TOKENS = DEFAULT_TOKENS): Promise<ScenarioResult> {
  const res = emptyResult();
  const random = seededRandom(seed);
  const mock = await broker.start({ many: true, latencyMs: 2, random });
  const appKey = 'CHAOSKEYFAULTS00000000000000000000';
  const client = broker.client(appKey, SENTINEL_SECRET, mock.url, 300);
  const store = new TokenStore({ encryptionKey: randomBytes(32) });
  const log = new EventLog();
  const scheduler = new RevocationScheduler({
    store,
    revoke: (token, signal) => client.revokeToken(token, 'access_token', { signal }),
    concurrency: 16,
    retry: { retries: 5, minDelayMs: 20, maxDelayMs: 200, maxRetryTimeMs: 15_000, rateLimitDelayMs: 50 },
    random,
  });
  log.attach(scheduler.events, 'scheduler');
  try {
    // 1. 500 live tokens, tracked.
    const tokens: string[] = [];
    for (let i = 0; i < TOKENS; i += 50) {
      const batch = await Promise.all(Array.from({ length: Math.min(50, TOKENS - i) }, () => client.issueToken()));
      tokens.push(...batch.map((t) => t.accessToken));
    }
    corpus.addTokens(tokens);
    res.tokens = tokens.length;
    const now = Date.now();
    const records = [];
    for (const t of tokens) {
      records.push(await store.put({ appKeyId: broker.appKeyId(appKey, mock.url), tokenType: 'Bearer', issuedAt: now, expiresAt: now + 86_400_000, revokeAt: now + 3_600_000 }, t));
    }

    // 2. Faults on 30 % of revoke requests, split evenly over the four kinds (checked in order, so
    //    each later kind's rate is conditional on the earlier ones not firing).
    let taken = 0;
    for (const kind of KINDS) {
      const share = FAULT_RATE / KINDS.length;
      mock.inject({ endpoint: 'revoke', kind, rate: share / (1 - taken) });
      taken += share;
    }

    // 3. Due over the next 0.5 s: the timer fires them.
    const t0 = Date.now();
    records.forEach((r, i) => scheduler.schedule(r, 'expiry', t0 + Math.floor((i / TOKENS) * 500)));
    const outcomes = (): number => log.count('revoked') + log.count('revokeFailed') + log.count('expired');
    await waitFor(`${TOKENS} outcomes`, () => outcomes() >= TOKENS && scheduler.inflight === 0, 90_000, 50);
    mock.clearFaults();
    res.info.push(`all ${TOKENS} outcomes in ${Date.now() - t0} ms; ${log.count('retrying')} retries`);

    // 4. Checks.
    const stats = mock.stats();
    res.faults = stats.faultsInjected;
    const byState: Record<string, number> = {};
    const failedIds = new Set<string>();
    for (const r of await store.list()) {
      byState[r.state] = (byState[r.state] ?? 0) + 1;
      if (r.state === 'failed') failedIds.add(r.id);
    }
    res.revoked = byState['revoked'] ?? 0;
    res.failed = byState['failed'] ?? 0;
    res.info.push(`store states: ${JSON.stringify(byState)}; faults: ${stats.faultsInjected} of ${stats.revokeRequests} revoke requests (${((100 * stats.faultsInjected) / stats.revokeRequests).toFixed(1)} %)`);
    const stuck = (byState['revoking'] ?? 0) + (byState['active'] ?? 0);
    if (stuck > 0) res.problems.push(`${stuck} record(s) stuck in revoking/active`);
    if (res.revoked + res.failed !== TOKENS) res.problems.push(`revoked ${res.revoked} + failed ${res.failed} != ${TOKENS}`);
    if (log.count('revokeFailed') !== res.failed) res.problems.push(`${res.failed} failed records but ${log.count('revokeFailed')} revokeFailed events`);
    // Lost: alive at the mock although the library does not report it failed.
    res.lost = tokens.filter((t) => mock.isActive(t) && !failedIds.has(tokenId(t))).length;
    if (res.lost > 0) res.problems.push(`${res.lost} token(s) alive at the mock but not reported failed`);

    // 5. Secret scan material: events/logs/errors, and the store bytes (encrypted: no raw tokens).
    log.feed(corpus, `faults${broker.suffix}`);
    corpus.add(`faults${broker.suffix} store bytes (encrypted)`, JSON.stringify([...(store.keyv.store as Map<string, unknown>).entries()]), false);
  } finally {
    log.detach();
    scheduler.close();
    client.close();
    await mock.close();
  }
  return res;
}
