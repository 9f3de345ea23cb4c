/**
 * Shared parts of the fault-injection suite: the result shape, sentinel credentials, an event
 * recorder that logs every event through pino (what a user's daemon would do), the secret scan,
 * a private redis-server, and bounded waiting on conditions.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { inspect } from 'node:util';
import pino from 'pino';
import type { EventEmitter } from 'eventemitter3';
import type { LifecycleEvents } from '../../src/core/events.js';
import { freePort, seededRandom } from '../helpers/net-and-random.js';

export { freePort, seededRandom };

/** Sentinel credentials: if these strings show up anywhere but the request body, it is a leak. */
export const SENTINEL_SECRET = 'SENTINEL-APPSECRET-7f3a9c1e5b2d4f60';
export const SENTINEL_APPKEY_PREFIX = 'CHAOSKEY';

/** What one scenario reports. */
export interface ScenarioResult {
  faults: number;
  tokens: number;
  revoked: number;
  failed: number;
  lost: number;
  /** Reasons it failed; empty when it passed. */
  problems: string[];
  /** Extra lines for the reader. */
  info: string[];
}

/** Text a scenario produced, to be scanned for secrets. */
export interface ScanText {
  readonly where: string;
  readonly text: string;
  /** Raw tokens may appear here (the store, unencrypted). The app secret may appear nowhere. */
  readonly tokensAllowed: boolean;
}

/** Everything the secret scan looks at, filled by the scenarios. */
export class SecretCorpus {
  readonly texts: ScanText[] = [];
  readonly tokens = new Set<string>();
  add(where: string, text: string, tokensAllowed = false): void {
    this.texts.push({ where, text, tokensAllowed });
  }
  addTokens(tokens: Iterable<string>): void {
    for (const t of tokens) this.tokens.add(t);
  }
}

/** Finds the app secret anywhere, and raw tokens (whole, or their signature part) where not allowed. */
export function scanForSecrets(corpus: SecretCorpus, secret = SENTINEL_SECRET): { leaks: string[]; bytes: number } {
  const leaks: string[] = [];
  let bytes = 0;
  const sigs = [...corpus.tokens].map((t) => t.slice(t.lastIndexOf('.') + 1)).filter((s) => s.length >= 20);
  for (const { where, text, tokensAllowed } of corpus.texts) {
    bytes += text.length;
    if (text.includes(secret)) leaks.push(`app secret in ${where}`);
    if (tokensAllowed) continue;
    const hits = sigs.filter((s) => text.includes(s)).length;
    if (hits > 0) leaks.push(`${hits} raw token(s) in ${where}`);
  }
  return { leaks, bytes };
}

const EVENT_NAMES = ['issued', 'scheduled', 'revoked', 'retrying', 'revokeFailed', 'expired', 'error'] as const;

/** Records every event of an emitter, logs it through pino into memory, and keeps the errors. */
export class EventLog {
  readonly counts: Record<string, number> = {};
  readonly errors: unknown[] = [];
  #logText = '';
  readonly #logger = pino(
    { level: 'debug' },
    new Writable({
      write: (chunk: Buffer, _enc, cb) => {
        this.#logText += chunk.toString();
        cb();
      },
    }),
  );
  readonly #listeners: Array<() => void> = [];

  attach(emitter: EventEmitter<LifecycleEvents>, source = 'lifecycle'): void {
    for (const name of EVENT_NAMES) {
      const fn = (payload: Record<string, unknown>): void => {
        this.counts[name] = (this.counts[name] ?? 0) + 1;
        if (name === 'error') {
          this.errors.push(payload['error']);
          this.#logger.warn({ source, event: name, op: payload['op'], id: payload['id'], err: payload['error'] }, 'lifecycle error');
        } else {
          this.#logger.debug({ source, event: name, ...payload }, name);
        }
      };
      emitter.on(name, fn as never);
      this.#listeners.push(() => emitter.off(name, fn as never));
    }
  }

  count(name: (typeof EVENT_NAMES)[number]): number {
    return this.counts[name] ?? 0;
  }

  detach(): void {
    for (const off of this.#listeners.splice(0)) off();
  }

  /** The pino log, plus every error as users would print it (inspect, JSON, String, stack). */
  texts(): { logs: string; errors: string } {
    const errors = this.errors
      .map((e) => [inspect(e, { depth: 6 }), JSON.stringify(e), String(e), (e as Error | undefined)?.stack ?? ''].join('\n'))
      .join('\n');
    return { logs: this.#logText, errors };
  }

  feed(corpus: SecretCorpus, label: string): void {
    const { logs, errors } = this.texts();
    corpus.add(`${label} logs/events`, logs);
    corpus.add(`${label} errors`, errors);
  }
}

/**
 * Resolves when `cond()` is true, checking after each `wake` event source fires or every
 * `pollMs` (a bounded poll of a condition, not a sleep standing in for one); rejects after `ms`.
 */
export async function waitFor(what: string, cond: () => boolean | Promise<boolean>, ms: number, pollMs = 20): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await cond()) return;
    if (Date.now() >= deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, Math.min(pollMs, Math.max(1, deadline - Date.now()))));
  }
}

/** A private redis-server on a free loopback port, with its data dir (RDB only on explicit SAVE). */
export class PrivateRedis {
  readonly dir = mkdtempSync(join(tmpdir(), 'ls-chaos-redis-'));
  port = 0;
  #proc: ChildProcess | undefined;

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    if (this.port === 0) this.port = await freePort();
    const proc = spawn('redis-server', ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', this.dir, '--dbfilename', 'dump.rdb'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.#proc = proc;
    await new Promise<void>((resolve, reject) => {
      let out = '';
      const timer = setTimeout(() => reject(new Error(`redis-server did not start: ${out.slice(-300)}`)), 10_000);
      const onData = (d: Buffer): void => {
        out += d.toString();
        if (/Ready to accept connections/i.test(out)) {
          clearTimeout(timer);
          proc.stdout?.off('data', onData);
          resolve();
        }
      };
      proc.stdout?.on('data', onData);
      proc.once('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
      proc.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`redis-server exited with ${code}: ${out.slice(-300)}`));
      });
    });
    proc.stdout?.resume();
    proc.stderr?.resume();
  }

  /** Stops it the hard way (SIGKILL) after saving the data set, so a restart finds the same data. */
  async crash(): Promise<void> {
    const proc = this.#proc;
    if (proc === undefined || proc.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      const save = spawn('redis-cli', ['-p', String(this.port), 'SAVE'], { stdio: 'ignore' });
      save.once('exit', () => resolve());
      save.once('error', () => resolve());
    });
    const exited = new Promise<void>((r) => proc.once('exit', () => r()));
    proc.kill('SIGKILL');
    await exited;
    this.#proc = undefined;
  }

  /** Stops it the hard way (SIGKILL) without saving, and drops any saved data: a restart comes up empty. */
  async killLosingData(): Promise<void> {
    const proc = this.#proc;
    this.#proc = undefined;
    if (proc !== undefined && proc.exitCode === null) {
      const exited = new Promise<void>((r) => proc.once('exit', () => r()));
      proc.kill('SIGKILL');
      await exited;
    }
    rmSync(join(this.dir, 'dump.rdb'), { force: true });
  }

  async stop(): Promise<void> {
    await this.killLosingData();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export function emptyResult(): ScenarioResult {
  return { faults: 0, tokens: 0, revoked: 0, failed: 0, lost: 0, problems: [], info: [] };
}
