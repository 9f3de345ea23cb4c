/**
 * The fault scenarios run against each broker's mock: what a scenario needs from a broker (its
 * mock server, a client, the store key of an app key), built the same way for LS, KIS and Kiwoom.
 * `many` asks for a mock that lets one app key hold many live tokens at once (LS and Kiwoom
 * `reissue: 'independent'`; KIS without its one-a-minute rule and its same-token window), for the
 * scenarios that track hundreds of tokens; otherwise each broker keeps its own rules.
 */
import { LsOAuthClient } from '../../src/providers/ls/ls-client.js';
import { OAuthClient, PROVIDERS, appKeyIdFor, type ProviderName } from '../../src/index.js';
import { startMockKisServer, startMockKiwoomServer, startMockLsServer, type MockFault, type MockLsServerOptions, type MockStats } from '../../src/testing/index.js';

/** What the scenarios use of a mock server, whichever broker. */
export interface ChaosMock {
  readonly url: string;
  isActive(token: string): boolean;
  stats(): MockStats;
  inject(fault: MockFault): () => void;
  clearFaults(): void;
  issuedTokens(): string[];
  activeTokens(): string[];
  close(): Promise<void>;
}

/** How a scenario starts a mock: many live tokens per key or the broker's own rules, the latency, a seeded random, LS-only extras. */
export interface ChaosMockOptions {
  readonly many: boolean;
  readonly latencyMs: number;
  readonly random?: () => number;
  /** Options only the LS mock takes (its scenarios' original settings). */
  readonly ls?: MockLsServerOptions;
}

/** One broker, as the scenarios see it. */
export interface ChaosBroker {
  readonly provider: ProviderName;
  /** Appended to scenario names: `''` for LS, `-kis`, `-kiwoom`. */
  readonly suffix: string;
  start(o: ChaosMockOptions): Promise<ChaosMock>;
  client(appKey: string, appSecretKey: string, baseUrl: string, timeoutMs?: number): OAuthClient;
  /** The store key of `appKey` for this broker at `baseUrl`. */
  appKeyId(appKey: string, baseUrl: string): string;
}

function broker(provider: ProviderName, start: (o: ChaosMockOptions) => Promise<ChaosMock>): ChaosBroker {
  return {
    provider,
    suffix: provider === 'ls' ? '' : `-${provider}`,
    start,
    client: (appKey, appSecretKey, baseUrl, timeoutMs) =>
      provider === 'ls'
        ? new LsOAuthClient({ appKey, appSecretKey, baseUrl, ...(timeoutMs === undefined ? {} : { timeoutMs }) })
        : new OAuthClient({ provider, appKey, appSecretKey, baseUrl, ...(timeoutMs === undefined ? {} : { timeoutMs }) }),
    appKeyId: (appKey, baseUrl) => appKeyIdFor(PROVIDERS[provider], appKey, baseUrl),
  };
}

const seeded = (o: ChaosMockOptions): { random?: () => number } => (o.random === undefined ? {} : { random: o.random });

export const LS_BROKER = broker('ls', (o) => startMockLsServer({ credentials: 'any', ...(o.many ? { reissue: 'independent' } : {}), latencyMs: o.latencyMs, ...seeded(o), ...o.ls }));
export const KIS_BROKER = broker('kis', (o) =>
  startMockKisServer({ credentials: 'any', ...(o.many ? { minIssueIntervalMs: 0, sameTokenWindowMs: 0, afterWindow: 'independent' } : {}), latencyMs: o.latencyMs, ...seeded(o) }),
);
export const KIWOOM_BROKER = broker('kiwoom', (o) => startMockKiwoomServer({ credentials: 'any', ...(o.many ? { reissue: 'independent' } : {}), latencyMs: o.latencyMs, ...seeded(o) }));
