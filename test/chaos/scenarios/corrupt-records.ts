/**
 * Corrupt, truncated and wrong-version records in the store, on memory, SQLite and Redis: a
 * restarting lifecycle's sweep must skip them, move them aside (quarantine, reported as
 * ERR_CORRUPT_RECORD `error` events) and revoke every valid record next to them.
 *
 * The valid records hold real mock tokens that are due (revokeAt in the past), written by a
 * TokenStore as a crashed process would have left them; the damaged ones are written as raw bytes
 * past keyv. Then a fresh TokenLifecycle starts on the same store.
 */
import { randomBytes } from 'node:crypto';
import { LsOAuthClient } from '../../../src/providers/ls/ls-client.js';
import { TokenLifecycle } from '../../../src/lifecycle/token-lifecycle.js';
import { TokenStore } from '../../../src/store/token-store.js';
import { ErrorCodes, isLsTokenError } from '../../../src/core/errors.js';
import { tokenId } from '../../../src/core/fingerprint.js';
import { appKeyIdFor } from '../../../src/providers/provider.js';
import { lsProvider } from '../../../src/providers/ls/ls-provider.js';
import { startMockLsServer } from '../../../src/testing/index.js';
import { createMemoryBackend, createRedisBackend, createSqliteBackend, type StoreBackend } from '../../helpers/store-backends.js';
import { EventLog, SENTINEL_SECRET, emptyResult, waitFor, type ScenarioResult, type SecretCorpus } from '../lib.js';

const VALID = 20;

function fakeToken(): string {
  return `eyJ0eXAiOiJKV1QiLCJhbGciOiJIUzUxMiJ9.${randomBytes(60).toString('base64url')}.${randomBytes(64).toString('base64url')}`;
}

async function onBackend(name: string, backend: StoreBackend, corpus: SecretCorpus, res: ScenarioResult): Promise<void> {
  const mock = await startMockLsServer({ credentials: 'any', reissue: 'independent', latencyMs: 1 });
  const appKey = `CHAOSKEYCORRUPT${name.toUpperCase()}`;
  const issuer = new LsOAuthClient({ appKey, appSecretKey: SENTINEL_SECRET, baseUrl: mock.url });
  const log = new EventLog();
  let lc: TokenLifecycle | undefined;
  try {
    // What a crashed process left: valid, due records...
    const scope = appKeyIdFor(lsProvider, appKey, mock.url);
    const writer = new TokenStore({ keyv: backend.makeKeyv() }).forAppKey(scope);
    const tokens = await Promise.all(Array.from({ length: VALID }, async () => (await issuer.issueToken()).accessToken));
    corpus.addTokens(tokens);
    const now = Date.now();
    for (const t of tokens) {
      await writer.put({ appKeyId: scope, tokenType: 'Bearer', issuedAt: now - 60_000, expiresAt: now + 3_600_000, revokeAt: now - 1_000, ownerId: 'crashed-instance' }, t);
    }
    // ...and damaged ones, written past keyv.
    const validRaw = (await backend.readRaw(writer.recordKey(tokenId(tokens[0]!))))!;
    const validValue = (JSON.parse(validRaw) as { value: Record<string, unknown> }).value;
    const damaged: Array<[string, (id: string) => string]> = [
      ['not json', () => 'this is {not json'],
      ['truncated', () => validRaw.slice(0, Math.floor(validRaw.length * 0.6))],
      ['wrong version', (id) => JSON.stringify({ value: { ...validValue, id, schema: 2 } })],
      ['future version with new fields', (id) => JSON.stringify({ value: { schema: 3, id, layout: 'v3', token: { alg: 'xchacha', data: 'AAAA' } } })],
      ['wrong types', (id) => JSON.stringify({ value: { ...validValue, id, state: 'zombie', expiresAt: 'tomorrow' } })],
      ['not an object', () => JSON.stringify({ value: [1, 2, 3] })],
      ['token missing', (id) => JSON.stringify({ value: { ...validValue, id, token: undefined } })],
      ['empty envelope', () => '{}'],
    ];
    const badIds: string[] = [];
    for (const [, make] of damaged) {
      // Listed by the app key's index (written through the store), then damaged.
      const id = (await writer.put({ appKeyId: scope, tokenType: 'Bearer', issuedAt: now - 120_000, expiresAt: now + 3_600_000, revokeAt: now - 1_000 }, fakeToken())).id;
      badIds.push(id);
      await backend.writeRaw(writer.recordKey(id), make(id));
    }
    res.faults += damaged.length;
    res.tokens += VALID;

    // A fresh process on the same store.
    lc = new TokenLifecycle({
      appKey,
      appSecretKey: SENTINEL_SECRET,
      baseUrl: mock.url,
      store: new TokenStore({ keyv: backend.makeKeyv(), onError: (error, ctx) => lc?.emit('error', { error, op: `store.${ctx.op}` }) }),
      sweepIntervalMs: 0,
      instanceId: `chaos-corrupt-${name}`,
    });
    log.attach(lc, `corrupt-${name}`);
    await lc.start();
    await waitFor(`${VALID} revocations on ${name}`, () => log.count('revoked') + log.count('revokeFailed') >= VALID && lc!.scheduler.inflight === 0, 20_000);

    const revoked = tokens.filter((t) => !mock.isActive(t)).length;
    res.revoked += revoked;
    res.failed += log.count('revokeFailed');
    res.lost += VALID - revoked;
    const corruptEvents = log.errors.filter((e) => isLsTokenError(e, ErrorCodes.CORRUPT_RECORD)).length;
    let quarantined = 0;
    let originalsLeft = 0;
    for (const id of badIds) {
      if ((await backend.readRaw(writer.quarantineKey(id))) !== undefined) quarantined++;
      if ((await backend.readRaw(writer.recordKey(id))) !== undefined) originalsLeft++;
    }
    res.info.push(`${name}: ${revoked}/${VALID} valid revoked; ${quarantined}/${damaged.length} damaged quarantined, ${originalsLeft} left in place; ${corruptEvents} ERR_CORRUPT_RECORD events`);
    if (revoked !== VALID) res.problems.push(`${name}: ${VALID - revoked} valid token(s) not revoked`);
    if (quarantined !== damaged.length || originalsLeft !== 0) res.problems.push(`${name}: ${quarantined}/${damaged.length} quarantined, ${originalsLeft} originals left`);
    if (corruptEvents < damaged.length) res.problems.push(`${name}: only ${corruptEvents} corrupt-record events for ${damaged.length} damaged records`);
    const states = (await lc.list()).map((r) => r.state);
    if (states.some((s) => s !== 'revoked')) res.problems.push(`${name}: records not all revoked: ${states.join(',')}`);

    log.feed(corpus, `corrupt-${name}`);
    corpus.add(`corrupt-${name} store bytes`, await backend.dumpAll(), true);
  } finally {
    log.detach();
    await lc?.shutdown({ deadlineMs: 3_000 });
    issuer.close();
    await mock.close();
  }
}

export async function corruptRecordsScenario(corpus: SecretCorpus, redisUrl: string): Promise<ScenarioResult> {
  const res = emptyResult();
  const backends: Array<[string, () => StoreBackend]> = [
    ['memory', createMemoryBackend],
    ['sqlite', createSqliteBackend],
    ['redis', () => createRedisBackend(redisUrl)],
  ];
  for (const [name, make] of backends) {
    const backend = make();
    try {
      await onBackend(name, backend, corpus, res);
    } catch (err) {
      res.problems.push(`${name}: ${err instanceof Error ? err.message : String(err)}`);
    } finally {
      await backend.cleanup().catch(() => undefined);
    }
  }
  return res;
}
