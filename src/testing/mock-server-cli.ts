/**
 * Command-line runner for the mock LS server.
 *
 * ```sh
 * npm run mock-server -- --port 8080 --cutoff-kst 07:00 --latency-ms 20
 * ```
 *
 * Flags: `--port` (default 8080), `--host` (default 127.0.0.1), `--latency-ms`, `--lifetime-s`,
 * `--cutoff-kst HH:MM`, `--reissue invalidate-previous|independent`, `--help`.
 * Prints `mock LS server listening on <url>` once listening; SIGINT/SIGTERM close it cleanly
 * (a second signal exits at once).
 *
 * @module
 */
import { parseArgs } from 'node:util';
import { startMockLsServer, type MockLsServerOptions } from './mock-ls-server.js';

const USAGE = `usage: mock-server [--port 8080] [--host 127.0.0.1] [--latency-ms N] [--lifetime-s N]
                   [--cutoff-kst HH:MM] [--reissue invalidate-previous|independent]`;

function fail(message: string): never {
  process.stderr.write(`mock-server: ${message}\n${USAGE}\n`);
  process.exit(2);
}

function toNumber(name: string, text: string | undefined, integer: boolean): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (text.trim() === '' || !Number.isFinite(n) || n < 0 || (integer && !Number.isInteger(n))) {
    fail(`--${name} must be a ${integer ? 'non-negative integer' : 'non-negative number'}, got ${JSON.stringify(text)}`);
  }
  return n;
}

async function main(): Promise<void> {
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        port: { type: 'string', default: '8080' },
        host: { type: 'string', default: '127.0.0.1' },
        'latency-ms': { type: 'string' },
        'lifetime-s': { type: 'string' },
        'cutoff-kst': { type: 'string' },
        reissue: { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    fail((err as Error).message);
  }
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const reissue = values.reissue;
  if (reissue !== undefined && reissue !== 'invalidate-previous' && reissue !== 'independent') {
    fail(`--reissue must be invalidate-previous or independent, got ${JSON.stringify(reissue)}`);
  }
  const options: MockLsServerOptions = { host: values.host };
  const port = toNumber('port', values.port, true);
  if (port !== undefined) options.port = port;
  const latencyMs = toNumber('latency-ms', values['latency-ms'], false);
  if (latencyMs !== undefined) options.latencyMs = latencyMs;
  const lifetimeS = toNumber('lifetime-s', values['lifetime-s'], true);
  if (lifetimeS !== undefined) options.tokenLifetimeS = lifetimeS;
  if (values['cutoff-kst'] !== undefined) options.cutoffKst = values['cutoff-kst'];
  if (reissue !== undefined) options.reissue = reissue;

  let server;
  try {
    server = await startMockLsServer(options);
  } catch (err) {
    process.stderr.write(`mock-server: ${(err as Error).message}\n`);
    process.exit(1);
  }
  process.stdout.write(`mock LS server listening on ${server.url}\n`);

  let stopping = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (stopping) process.exit(130); // second signal: leave at once
    stopping = true;
    server.close().then(
      () => {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
        process.exitCode = 0;
      },
      (err: unknown) => {
        process.stderr.write(`mock-server: close failed after ${signal}: ${String(err)}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
}

await main();
