/**
 * Issue 21, item 3: `TokenStore`, the client and every public object print without raw tokens or
 * secrets at any `util.inspect` depth, the in-memory store without an encryption key included (what
 * `console.log(lifecycle.store)` prints). The test walks every object reachable through public
 * properties (own keys, non-enumerable and symbols included) from the lifecycle and the other
 * public objects, and inspects each at depth Infinity with `showHidden`, and as JSON.
 */
import { inspect } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { LsOAuthClient, OAuthClient, RevocationScheduler, SecretRedactor, TokenLifecycle, TokenStore, summarizeCause } from '../../src/index.js';
import { startMockLsServer, type MockLsServer } from '../../src/testing/index.js';

const APP_KEY = 'INSPECTKEY-0123456789abcdefghijklmn';
const SECRET = 'INSPECT-SECRET-0123456789abcdefghij';

/** Every object reachable from `roots` through own properties (not Map/Set entries: those are data), to `maxDepth`. */
function reachable(roots: readonly unknown[], maxDepth = 8): object[] {
  const seen = new Set<object>();
  const walk = (value: unknown, depth: number): void => {
    if ((typeof value !== 'object' && typeof value !== 'function') || value === null || seen.has(value) || depth > maxDepth) return;
    seen.add(value);
    if (typeof value === 'function') return; // a function's own properties are its name and prototype
    for (const key of Reflect.ownKeys(value)) {
      const d = Object.getOwnPropertyDescriptor(value, key);
      if (d !== undefined && 'value' in d) walk(d.value, depth + 1);
    }
  };
  for (const r of roots) walk(r, 0);
  return [...seen].filter((o) => typeof o === 'object');
}

function printed(o: object): string {
  let json = '';
  try {
    json = JSON.stringify(o) ?? '';
  } catch {
    json = ''; // circular: JSON is not how such an object is printed
  }
  let str = '';
  try {
    str = String(o);
  } catch {
    str = ''; // a null-prototype object has no string form
  }
  return `${inspect(o, { depth: Infinity, showHidden: true })}\n${json}\n${str}`;
}

describe('every public object prints without tokens or secrets (util.inspect depth Infinity, showHidden)', () => {
  let mock: MockLsServer;
  beforeEach(async () => {
    mock = await startMockLsServer();
  });
  afterEach(async () => {
    await mock.close();
  });

  it.each([
    ['the in-memory store without an encryption key', {}],
    ['an encrypted store', { encryptionKey: 'a'.repeat(64) }],
  ])('a lifecycle on %s, holding a token, with a revoked one in the store', async (_name, extra) => {
    const lc = new TokenLifecycle({ appKey: APP_KEY, appSecretKey: SECRET, baseUrl: mock.url, sweepIntervalMs: 0, ...extra });
    await lc.start();
    const first = await lc.getAccessToken();
    const held = await lc.invalidate(first); // a second token; the first one is superseded (and revoked)
    expect(held).not.toBe(first);
    const secrets = [first, held, SECRET, APP_KEY];

    const lsClient = new LsOAuthClient({ appKey: APP_KEY, appSecretKey: SECRET, baseUrl: mock.url });
    const oauthClient = new OAuthClient({ provider: 'kis', appKey: APP_KEY, appSecretKey: SECRET });
    const redactor = new SecretRedactor();
    redactor.add(held);
    const store = new TokenStore({ keyv: lc.store.keyv, redactor });
    const scheduler = new RevocationScheduler({ store, revoke: async () => ({ outcome: 'revoked' }) });
    const roots = [
      lc,
      lc.store,
      lc.store.keyv,
      lc.client,
      lc.scheduler,
      lc.provider,
      lc.status(),
      await lc.health(),
      await lc.store.list(),
      lsClient,
      oauthClient,
      redactor,
      store,
      scheduler,
      summarizeCause(new Error('x')),
    ];
    const objects = reachable(roots);
    expect(objects.length).toBeGreaterThan(40); // the walk really went into the graph
    for (const o of objects) {
      const text = printed(o);
      for (const s of secrets) {
        if (text.includes(s)) throw new Error(`${inspect(o, { depth: 0 }).slice(0, 80)} prints a secret or token`);
      }
    }
    // What the issue reproduced: console.log(lifecycle.store) and of its keyv.
    expect(inspect(lc.store, { depth: Infinity, showHidden: true })).toMatch(/^TokenStore \{/);
    expect(inspect(lc.store.keyv, { depth: Infinity, showHidden: true })).not.toContain(held);
    lsClient.close();
    oauthClient.close();
    await lc.shutdown();
  });
});
