/**
 * `ls-token mock-server`: the LS mock of `ls-token-lifecycle/testing` in the foreground, for
 * trying the CLI and the examples without LS credentials. Resolves (exit code 0) after
 * SIGINT/SIGTERM once the server has closed; a second signal exits at once.
 */
import { usageError } from '../args.js';
import type { Command } from '../context.js';

/** Runs `ls-token mock-server`. */
export const mockServerCommand: Command = async (ctx) => {
  const { out, cfg } = ctx;
  const reissue = cfg.string('reissue');
  if (reissue !== undefined && reissue !== 'invalidate-previous' && reissue !== 'independent') {
    throw usageError('--reissue must be invalidate-previous or independent', 'reissue');
  }
  const cutoff = cfg.string('cutoff-kst');
  if (cutoff !== undefined && !/^([01]\d|2[0-3]):[0-5]\d$/.test(cutoff)) throw usageError('--cutoff-kst must be HH:MM, e.g. 07:00', 'cutoff-kst');
  const port = cfg.integer('port', 8080, 0, 65_535);
  const lifetime = cfg.string('lifetime-s') === undefined ? undefined : cfg.integer('lifetime-s', 86_400, 1, 10 * 86_400);
  const latency = cfg.integer('latency-ms', 0, 0, 600_000);
  // Loaded only here: the testing entry is not needed by the other commands.
  const { startMockLsServer } = await import('../../testing/mock-ls-server.js');
  const server = await startMockLsServer({
    port,
    host: cfg.string('host') ?? '127.0.0.1',
    latencyMs: latency,
    ...(lifetime === undefined ? {} : { tokenLifetimeS: lifetime }),
    ...(cutoff === undefined ? {} : { cutoffKst: cutoff }),
    ...(reissue === undefined ? {} : { reissue }),
  });
  out.out(`mock LS server listening on ${server.url}`);
  out.out(`  export LS_BASE_URL=${server.url} LS_APPKEY=demo-app-key LS_APPSECRETKEY=demo-app-secret`);
  out.out('  (any app key and secret are accepted; Ctrl-C stops it)');
  await new Promise<void>((resolve) => {
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
  return 0;
};
