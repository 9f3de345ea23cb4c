/**
 * `ls-token mock-server`: a mock of `ls-token-lifecycle/testing` (LS by default, KIS or Kiwoom
 * with `--provider`) in the foreground, for trying the CLI and the examples without broker
 * credentials, and for daemons in any language to rehearse the broker's day and its faults. The
 * only command-line runner of the mocks (`npm run mock-server` runs this command too). Resolves
 * (exit code 0) after SIGINT/SIGTERM once the server has closed; a second signal exits at once.
 *
 * Secrets never come from the command line: accepted credentials are read from the JSON file
 * named by `--credentials-file` (or `LS_MOCK_CREDENTIALS_FILE`), an array of
 * `{ "appKey", "appSecretKey", "paper"? }`.
 */
import { isLoopbackAddress } from '../../testing/control-endpoint.js';
import { usageError } from '../args.js';
import type { ConfigReader } from '../config.js';
import type { Command } from '../context.js';
import type { Output } from '../output.js';
import { readSecretFile, type StdinOnce } from '../secret-input.js';
// This module is itself loaded only for `mock-server`, so the mock is imported statically here.
import { parseFaultSpec, type MockFault } from '../../testing/faults.js';
import type { MockCredential } from '../../testing/ls-model-options.js';
import { parseHhMm } from '../../testing/mock-jwt.js';
import { startMockLsServer, type MockLsServerOptions } from '../../testing/mock-ls-server.js';
import { startMockKisServer, startMockKiwoomServer } from '../../testing/mock-broker-servers.js';
import type { MockHttpServer } from '../../testing/http-shell.js';
import type { MockControls } from '../../testing/broker-model.js';
import type { ProviderName } from '../../providers/provider.js';

async function readCredentials(cfg: ConfigReader, out: Output, stdin: StdinOnce): Promise<{ list: MockCredential[]; path: string } | undefined> {
  const path = cfg.string('credentials-file');
  if (path === undefined) return undefined;
  const where = `${cfg.source('credentials-file')} (${path})`;
  // It holds app secrets: the same checks as every secret file (private unless
  // --allow-shared-secret-file, a regular file, bounded).
  const text = await readSecretFile({ path, source: cfg.origin('credentials-file'), what: 'credentials', allowShared: cfg.flag('allow-shared-secret-file'), stdin });
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw usageError(`the credentials file ${where} is not JSON: expected [{ "appKey": "...", "appSecretKey": "...", "paper": false }]`, 'credentials-file');
  }
  if (!Array.isArray(value) || value.length === 0) {
    throw usageError(`the credentials file ${where} must hold a non-empty JSON array of { "appKey", "appSecretKey", "paper"? }`, 'credentials-file');
  }
  for (const c of value as Partial<MockCredential>[]) out.addSecret(typeof c?.appSecretKey === 'string' ? c.appSecretKey : undefined);
  return { list: value as MockCredential[], path }; // the model checks each entry and names the bad one
}

function readFaults(cfg: ConfigReader): MockFault[] {
  const text = cfg.string('fault');
  if (text === undefined) return [];
  return text
    .split(',')
    .filter((s) => s.trim() !== '')
    .map((spec) => {
      try {
        return parseFaultSpec(spec);
      } catch (err) {
        throw usageError(`--fault: ${(err as Error).message.replace(/^Invalid mock option "fault": /, '')}`, 'fault');
      }
    });
}

function oneOf<T extends string>(cfg: ConfigReader, name: string, allowed: readonly T[]): T | undefined {
  const v = cfg.string(name);
  if (v !== undefined && !(allowed as readonly string[]).includes(v)) throw usageError(`--${name} must be ${allowed.join(' or ')}`, name);
  return v as T | undefined;
}

/** The variables a daemon reads its credentials from, per provider (the CLI's own names). */
const DEMO_ENV: Readonly<Record<ProviderName, string>> = {
  ls: 'LS_APPKEY=demo-app-key LS_APPSECRETKEY=demo-app-secret',
  kis: 'LS_PROVIDER=kis KIS_APPKEY=demo-app-key KIS_APPSECRET=demo-app-secret',
  kiwoom: 'LS_PROVIDER=kiwoom KIWOOM_APPKEY=demo-app-key KIWOOM_SECRETKEY=demo-app-secret',
};

const BROKER_NAME: Readonly<Record<ProviderName, string>> = { ls: 'LS', kis: 'KIS', kiwoom: 'Kiwoom' };

/** Refuses the options of another broker's mock, naming them. */
function refuseOptions(cfg: ConfigReader, provider: ProviderName, names: readonly string[]): void {
  for (const name of names) if (cfg.given(name)) throw usageError(`--${name} is not an option of the ${BROKER_NAME[provider]} mock`, name);
}

/** Starts the mock of `provider` with the options every broker's mock shares plus its own. */
async function startMock(cfg: ConfigReader, provider: ProviderName, common: Omit<MockLsServerOptions, 'trRoutes'>, cutoffKst: string | null): Promise<MockHttpServer & MockControls> {
  const lifetime = cfg.string('lifetime-s') === undefined ? {} : { tokenLifetimeS: cfg.integer('lifetime-s', 86_400, 1, 10 * 86_400) };
  const revokeCode = oneOf(cfg, 'revoke-code', ['number', 'string'] as const);
  if (provider === 'ls') {
    const reissue = oneOf(cfg, 'reissue', ['invalidate-previous', 'independent'] as const);
    const lifetimeField = oneOf(cfg, 'lifetime-field', ['expires_in', 'expire_in'] as const);
    refuseOptions(cfg, provider, ['same-token-window-ms']);
    return startMockLsServer({
      ...common,
      ...lifetime,
      minIssueIntervalMs: cfg.integer('min-issue-interval-ms', 0, 0, 86_400_000),
      cutoffKst,
      ...(reissue === undefined ? {} : { reissue }),
      ...(lifetimeField === undefined ? {} : { lifetimeField }),
      ...(revokeCode === undefined ? {} : { revokeCode }),
    });
  }
  refuseOptions(cfg, provider, ['cutoff', 'lifetime-field']);
  if (provider === 'kis') {
    const afterWindow = oneOf(cfg, 'reissue', ['invalidate-previous', 'independent'] as const);
    return startMockKisServer({
      ...common,
      ...lifetime,
      minIssueIntervalMs: cfg.integer('min-issue-interval-ms', 60_000, 0, 86_400_000),
      sameTokenWindowMs: cfg.integer('same-token-window-ms', 21_600_000, 0, 10 * 86_400_000),
      ...(afterWindow === undefined ? {} : { afterWindow }),
      ...(revokeCode === undefined ? {} : { revokeCode }),
    });
  }
  refuseOptions(cfg, provider, ['same-token-window-ms', 'revoke-code']);
  const reissue = oneOf(cfg, 'reissue', ['same-token', 'invalidate-previous', 'independent'] as const);
  return startMockKiwoomServer({ ...common, ...lifetime, minIssueIntervalMs: cfg.integer('min-issue-interval-ms', 0, 0, 86_400_000), ...(reissue === undefined ? {} : { reissue }) });
}

/** Runs `ls-token mock-server`. */
export const mockServerCommand: Command = async (ctx) => {
  const { out, cfg } = ctx;
  const provider = cfg.provider();
  const cutoffText = cfg.string('cutoff') ?? '07:00';
  if (cutoffText !== 'none') {
    try {
      parseHhMm(cutoffText);
    } catch {
      throw usageError('--cutoff must be HH:MM (KST), e.g. 07:00, or none', 'cutoff');
    }
  }
  const cutoffKst = cutoffText === 'none' ? null : cutoffText;
  const credentials = await readCredentials(cfg, out, ctx.stdin);
  const faults = readFaults(cfg);
  const common: Omit<MockLsServerOptions, 'trRoutes'> = {
    port: cfg.integer('port', 8080, 0, 65_535),
    host: cfg.string('host') ?? '127.0.0.1',
    latencyMs: cfg.integer('latency-ms', 0, 0, 600_000),
    control: cfg.flag('control'),
    ...(credentials === undefined ? {} : { credentials: credentials.list }),
  };
  const server = await startMock(cfg, provider, common, cutoffKst).catch((err: unknown) => {
    const code = (err as { code?: unknown } | null)?.code;
    const at = `${common.host}:${common.port}`;
    if (code === 'EADDRINUSE') throw usageError(`${at} is already in use (another mock or server?): give another --port, or --port 0 for any free one`, 'port');
    if (code === 'EACCES' || code === 'EADDRNOTAVAIL') throw usageError(`cannot listen on ${at} (${code}): give another --port or --host`, 'port');
    throw err;
  });
  for (const f of faults) server.inject(f);

  const name = BROKER_NAME[provider];
  // Say where it really listens: a wildcard host is reachable from the network, while its url names loopback.
  if (server.boundUrl === server.url) out.out(`mock ${name} server listening on ${server.url}`);
  else out.out(`mock ${name} server listening on ${server.boundUrl} (clients on this host: ${server.url})`);
  if (!isLoopbackAddress(server.boundHost)) {
    out.err(`mock-server: warning: listening on ${server.boundHost}, not a loopback address: anyone who can reach this host can issue and revoke tokens of the mock`);
  }
  if (credentials === undefined) {
    out.out(`  export LS_BASE_URL=${server.url} ${DEMO_ENV[provider]}`);
    out.out('  credentials: any app key and secret are accepted (--credentials-file to check them)');
  } else {
    const paper = credentials.list.filter((c) => c.paper === true).length;
    out.out(`  credentials: ${credentials.list.length} app key(s) from ${credentials.path}${paper > 0 ? `, ${paper} paper` : ''}`);
  }
  const interval = cfg.integer('min-issue-interval-ms', provider === 'kis' ? 60_000 : 0, 0, 86_400_000);
  const lifetimeS = cfg.string('lifetime-s') === undefined ? 86_400 : cfg.integer('lifetime-s', 86_400, 1, 10 * 86_400);
  const limit = interval === 0 ? 'no issuance limit (--min-issue-interval-ms sets one)' : `one issuance per app key per ${interval} ms`;
  if (provider === 'ls') out.out(`  tokens die at ${cutoffKst === null ? `iat + ${lifetimeS} s (no cut-off)` : `${cutoffKst} KST`}; ${limit}`);
  else out.out(`  tokens live ${lifetimeS} s; ${provider === 'kis' ? `the same token within ${cfg.integer('same-token-window-ms', 21_600_000, 0, 10 * 86_400_000)} ms of its issuance` : 'the same token while it lives'}; ${limit}`);
  if (faults.length > 0) out.out(`  faults armed: ${faults.map((f) => `${f.endpoint}:${f.kind}${f.count === undefined ? '' : `:${f.count}`}`).join(', ')}`);
  if (common.control === true) out.out(`  control endpoint: ${server.url}/__mock/ (loopback callers only)`);
  // The handlers are in place before the line a script waits for: a SIGTERM sent the moment it is
  // read (a test, a supervisor) must stop the mock, not kill it mid-way.
  const stopped = new Promise<void>((resolve) => {
    const onSignal = (): void => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      process.once('SIGINT', () => process.exit(130));
      process.once('SIGTERM', () => process.exit(143));
      const s = server.stats();
      out.err(`mock-server: stopping (issued ${s.issued}, revoked ${s.revoked}, still active ${s.active})`);
      void server.close().then(resolve, resolve);
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
  out.out('  Ctrl-C stops it');
  await stopped;
  return 0;
};
