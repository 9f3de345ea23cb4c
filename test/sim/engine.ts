/**
 * The simulated trading week: a fleet of lifecycles sharing one app key and one store, driven
 * through several broker days in simulated time (fake timers: every `setTimeout`, `setInterval`,
 * `Date` and `performance` of the process), against a mock's socket-free model through an
 * axios adapter. Random restarts, crashes (a process whose I/O is cut, as a killed one's is),
 * 5xx and rate-limit faults on the token endpoint, and host clocks up to +-5 s off the broker's.
 *
 * `provider` picks the broker and so its day: LS's runs from 07:00 KST to 07:00 KST (every token
 * dies at the cut-off); KIS's and Kiwoom's days are 24 h windows from the start (their tokens live
 * 24 h from issuance). KIS refreshes 6 min before its token ends, so its first window holds the
 * first issuance and the first refresh; Kiwoom's token is used to its end (a re-issue returns it).
 *
 * Every call's token is checked against the model at the instant it is handed out. The report
 * lists each violation of the invariants:
 * - non-forced issuances per broker day <= what the day allows (1, +1 per restart that found no
 *   live token; KIS's first window 2);
 * - never two live tokens for the app key;
 * - no call handed a token the broker considers dead, except: LS within [cut-off, cut-off + 1 s];
 *   KIS and Kiwoom within [its expiry, + 1 s], and KIS within 5 s of the issuance that superseded
 *   it (a sibling's refresh: the holder meets EGW00121 and adopts the new token);
 * - KIS: the broker never refuses an issuance for its one-a-minute rule (no EGW00133 but injected ones);
 * - after the final shutdown, no token alive;
 * - availability: no call fails unless the fault it met outlasted `issueLockWaitMs` (a store
 *   freeze longer than it) or cannot be retried (a non-retryable error other than a 5xx answer, or
 *   the call's process was stopped or crashed under it). Checked unless `SIM_AVAILABILITY_INVARIANT=off` (see
 *   {@link CHECK_AVAILABILITY}).
 *
 * Besides restarts, crashes and token-endpoint faults, the week holds store faults (a freeze:
 * writes, then every call, hang for 5-60 s, then thaw; the store emptied), a slow broker (answers
 * after 3 s) and failed clock probes. The report gives, per day, the failed calls by cause (error
 * code and the faults the call met) and the p50/p99/max wait of `getAccessToken()`.
 *
 * Used by `npm run test:sim` (test/sim/trading-days.sim.test.ts) and by the benchmark row
 * "token requests per LS day" (bench/sim-day.ts). Deterministic for a seed.
 */
import FakeTimers from '@sinonjs/fake-timers';
import axios, { AxiosError, type AxiosAdapter } from 'axios';
import { Keyv } from 'keyv';
import { TokenLifecycle, type ProviderName } from '../../src/index.js';
import { createKisModel, createKiwoomModel, createLsModel, mockAxiosAdapter, type MockModel } from '../../src/testing/index.js';
import { seededRandom } from '../helpers/net-and-random.js';

/**
 * Whether the availability invariant is checked (default on). `SIM_AVAILABILITY_INVARIANT=off`
 * switches it off, to look at the other invariants while callers still fail on a fault they
 * could have waited through; the failures are reported either way.
 */
export const CHECK_AVAILABILITY = process.env['SIM_AVAILABILITY_INVARIANT'] !== 'off';

/** `SIM_TRACE=1`: every event of the week and of every lifecycle on stdout, to find what caused a violation. */
const TRACE = process.env['SIM_TRACE'] !== undefined;
function trace(line: string): void {
  process.stdout.write(`${new Date(Date.now()).toISOString()} ${line}\n`);
}

/** The lifecycles' `issueLockWaitMs` (the default): how long a caller with no token may wait. */
const ISSUE_LOCK_WAIT_MS = 15_000;

/** Options of {@link runSimulation}. */
export interface SimOptions {
  readonly seed: number;
  /** The broker. Default `'ls'`. */
  readonly provider?: ProviderName;
  /** LS days to run. Default 7. */
  readonly days?: number;
  /** Lifecycles sharing the app key. Default 3. */
  readonly fleet?: number;
  /** Largest host clock offset from LS's, ms. Default 5000. */
  readonly maxSkewMs?: number;
  /** Graceful restarts per day (random process, random time). Default 2. */
  readonly restartsPerDay?: number;
  /** Crashes per day. Default 1. */
  readonly crashesPerDay?: number;
  /** Token-endpoint faults (5xx or rate limit) per day. Default 3. */
  readonly faultsPerDay?: number;
  /** Store freezes (writes, then every call, hang for 5-60 s) per day. Default 1. */
  readonly storeFreezesPerDay?: number;
  /** The store emptied (every key gone) per day. Default 1. */
  readonly storeEmptiesPerDay?: number;
  /** Slow-broker spells (the next 1-3 answers come after 3 s) per day. Default 1. */
  readonly slowBrokersPerDay?: number;
  /** Clock probes failing for 10 min on one process slot (its next start included) per day. Default 1. */
  readonly probeFailuresPerDay?: number;
}

/** One simulated day's availability. */
export interface SimDay {
  /** The broker day (LS: from a cut-off). */
  readonly day: number;
  readonly calls: number;
  readonly failed: number;
  /** Failed calls by `code (faults met)`. */
  readonly failedByCause: Readonly<Record<string, number>>;
  /** Wait of `getAccessToken()` in simulated ms: median, 99th percentile, longest. */
  readonly waitP50Ms: number;
  readonly waitP99Ms: number;
  readonly waitMaxMs: number;
}

/** What {@link runSimulation} found. */
export interface SimReport {
  readonly seed: number;
  readonly provider: ProviderName;
  readonly days: number;
  readonly fleet: number;
  /** Requests to the token endpoint (faulted ones included). */
  readonly tokenRequests: number;
  /** Tokens LS issued. */
  readonly issuances: number;
  /** Issuances that followed an invalidate() (a dead token met on a call). */
  readonly forcedIssuances: number;
  /** Issuances per LS day, and what the invariant allows each day. */
  readonly issuancesByDay: readonly number[];
  readonly allowedByDay: readonly number[];
  readonly calls: number;
  readonly failedCalls: number;
  /** Failed calls by error code. */
  readonly failedByCode: Readonly<Record<string, number>>;
  /** Dead tokens handed out inside the cut-off second (allowed). */
  readonly deadInWindow: number;
  readonly restarts: number;
  readonly crashes: number;
  readonly faults: number;
  readonly aliveAtEnd: number;
  readonly violations: readonly string[];
  /** Store freezes, store emptyings, slow-broker spells and failed-probe spells. */
  readonly infraFaults: number;
  /** Availability per day. */
  readonly byDay: readonly SimDay[];
  /** Failed calls the availability invariant allows (a fault longer than `issueLockWaitMs`, not retryable, process stopped). */
  readonly allowedFailures: number;
  /** Failed calls it does not allow, each with its cause (at most 50 listed; `availabilityFailures` counts them all). */
  readonly availabilityViolations: readonly string[];
  readonly availabilityFailures: number;
}

/** A fault's window, for the causes of failed calls. */
interface FaultWindow {
  readonly label: string;
  from: number;
  to: number;
  /** Broker faults: faulted answers still to come (FIFO, as the model applies them). */
  remaining: number;
  /** Broker faults: how long past its answer the fault lasts (Retry-After; a slow answer's delay before it). */
  readonly afterMs: number;
  readonly beforeMs: number;
}

/** The shared store's state: a freeze holds calls until the thaw. */
interface StoreFreeze {
  writes: boolean;
  all: boolean;
  readonly waiters: Array<() => void>;
}

function nearestRank(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

const APP_KEY = 'SIMappKey000000000000000000000000001';
const SECRET = 'SIM-SENTINEL-SECRET-0123456789abcd';
const DAY = 86_400_000;
/** 07:00 KST on 2026-11-23 (22:00 UTC on the 22nd): the first cut-off of the week. */
const CUTOFF0 = Date.UTC(2026, 10, 22, 22, 0, 0);

interface Proc {
  readonly slot: number;
  readonly name: string;
  readonly lc: TokenLifecycle;
  readonly io: { up: boolean };
}

/**
 * A keyv over the fleet's shared map whose every call fails once the process's I/O is cut, and
 * hangs while the store is frozen (writes first, then every call) until the thaw.
 */
function processKeyv(map: Map<string, unknown>, io: { up: boolean }, freeze: StoreFreeze): Keyv {
  const held = async (write: boolean): Promise<void> => {
    while (freeze.all || (write && freeze.writes)) await new Promise<void>((r) => freeze.waiters.push(r));
  };
  /** Throws when the process is down; a promise to await while frozen (nothing to await otherwise: the week makes millions of calls). */
  const check = (write: boolean): Promise<void> | void => {
    if (freeze.all || (write && freeze.writes)) return held(write).then(() => check(write));
    if (!io.up) throw Object.assign(new Error('connect ECONNREFUSED (process is down)'), { code: 'ECONNREFUSED' });
  };
  const store = {
    async get(k: string) {
      await check(false);
      return map.get(k);
    },
    async set(k: string, v: unknown) {
      await check(true);
      map.set(k, v);
      return true;
    },
    async delete(k: string) {
      await check(true);
      return map.delete(k);
    },
    async clear() {
      await check(true);
      map.clear();
    },
    async *iterator() {
      await check(false);
      for (const e of [...map.entries()]) yield e;
    },
    on() {
      return store;
    },
  };
  return new Keyv({ store: store as never, throwOnErrors: true });
}

/** The model's adapter, refusing connections once the process's I/O is cut (and the clock probe while `probeDown()`). */
function processAdapter(model: MockModel, io: { up: boolean }, probeDown: () => boolean, onAnswer: (body: unknown, faulted: boolean) => void): AxiosAdapter {
  const inner = mockAxiosAdapter(model, { latencyMs: 20 });
  return async (config) => {
    if (!io.up) throw new AxiosError('connect ECONNREFUSED', 'ECONNREFUSED', config);
    if (config.method?.toLowerCase() === 'head' && probeDown()) throw new AxiosError('connect ETIMEDOUT', 'ETIMEDOUT', config);
    const faultsBefore = model.stats().faultsInjected;
    const res = await inner(config);
    onAnswer(res.data, model.stats().faultsInjected !== faultsBefore);
    return res;
  };
}

/** A model of `provider` with the simulation's credentials and seeded randomness. */
function modelOf(provider: ProviderName, seed: number): MockModel {
  const credentials = [{ appKey: APP_KEY, appSecretKey: SECRET }];
  const random = seededRandom(seed ^ 0x5a5a);
  if (provider === 'kis') return createKisModel({ credentials, random, jwtSecret: 'sim-jwt-secret-0123456789abcdef' });
  if (provider === 'kiwoom') return createKiwoomModel({ credentials, random, tokenSecret: 'sim-token-secret-0123456789abcd' });
  return createLsModel({ credentials, random, jwtSecret: 'sim-jwt-secret-0123456789abcdef' });
}

/** How long before a KIS token ends the fleet refreshes it (refreshMarginMs + revokeMarginMs). */
const KIS_REFRESH_LEAD_MS = 360_000;

/** Runs the simulation; see the module notes. Installs and removes fake timers itself. */
export async function runSimulation(options: SimOptions): Promise<SimReport> {
  const days = options.days ?? 7;
  const fleet = options.fleet ?? 3;
  const provider = options.provider ?? 'ls';
  const maxSkewMs = options.maxSkewMs ?? 5_000;
  const rnd = seededRandom(options.seed);
  const start = CUTOFF0 + 3_600_000; // 08:00 KST, day 0
  const end = start + days * DAY;
  const clock = FakeTimers.install({ now: start, toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'setImmediate', 'clearImmediate', 'Date', 'performance'] });
  const violations: string[] = [];
  const violate = (what: string): void => {
    if (violations.length < 50) violations.push(`${new Date(Date.now()).toISOString()} ${what}`);
  };
  // The broker's day: LS's from cut-off to cut-off, the others' 24 h windows from the start.
  const dayOrigin = provider === 'ls' ? CUTOFF0 : start;
  const lsDay = (t: number): number => Math.floor((t - dayOrigin) / DAY);

  try {
    const model = modelOf(provider, options.seed);
    const windows: FaultWindow[] = [];
    const onAnswer = (body: unknown, faulted: boolean): void => {
      if (faulted) {
        const w = windows.find((x) => x.remaining > 0);
        if (w !== undefined) {
          w.remaining--;
          w.from = Math.min(w.from, Date.now() - w.beforeMs);
          w.to = Math.max(w.to, Date.now() + w.afterMs);
        }
      }
      if (provider !== 'kis' || faulted) return;
      const text = typeof body === 'string' ? body : JSON.stringify(body);
      if (text.includes('EGW00133')) violate('KIS refused an issuance for its one-a-minute rule (EGW00133)');
    };
    const storeMap = new Map<string, unknown>();
    const freeze: StoreFreeze = { writes: false, all: false, waiters: [] };
    const thaw = (): void => {
      freeze.writes = false;
      freeze.all = false;
      for (const release of freeze.waiters.splice(0)) release();
    };
    const probeDownUntil = new Array<number>(fleet).fill(-Infinity);
    let infraFaults = 0;
    /** Per day: calls, waits (simulated ms) and failed calls by cause. */
    const dayBook = Array.from({ length: days + 1 }, () => ({ calls: 0, waits: [] as number[], failedByCause: {} as Record<string, number>, failed: 0 }));
    let allowedFailures = 0;
    let availabilityFailures = 0;
    const availabilityViolations: string[] = [];
    const procs = new Array<Proc | undefined>(fleet).fill(undefined);
    const generation = new Array<number>(fleet).fill(0);
    const allowed = new Array<number>(days + 1).fill(1);
    if (provider === 'kis') allowed[0] = 2; // the first issuance and the first refresh, 6 min before 24 h
    const stopping: Promise<unknown>[] = [];
    let calls = 0;
    let failedCalls = 0;
    const failedByCode: Record<string, number> = {};
    let deadInWindow = 0;
    let forced = 0;
    let restarts = 0;
    let crashes = 0;
    let faults = 0;

    const startProc = (slot: number): void => {
      const g = ++generation[slot]!;
      const io = { up: true };
      const skew = Math.round((rnd() * 2 - 1) * maxSkewMs);
      if (model.activeTokens().length === 0 && Date.now() > start) allowed[lsDay(Date.now())]! += 1; // found no live token
      const lc = new TokenLifecycle({
        provider,
        appKey: APP_KEY,
        appSecretKey: SECRET,
        baseUrl: 'http://127.0.0.1:9',
        axios: axios.create({ adapter: processAdapter(model, io, () => Date.now() < probeDownUntil[slot]!, onAnswer) }),
        store: processKeyv(storeMap, io, freeze),
        now: () => Date.now() + skew,
        random: seededRandom(options.seed + slot * 1_000 + g),
        instanceId: `sim-${slot}-${g}`,
        timeoutMs: 5_000,
        issueLockWaitMs: ISSUE_LOCK_WAIT_MS,
      });
      procs[slot] = { slot, name: `sim-${slot}-${g}`, lc, io };
      if (TRACE) {
        for (const ev of ['issued', 'revoked', 'expired', 'error', 'revokeFailed', 'scheduled'] as const) {
          lc.on(ev, (e: unknown) => trace(`sim-${slot}-${g} ${ev} ${JSON.stringify(e, (k, v: unknown) => (k === 'error' ? String((v as Error).message) : v))} clock ${JSON.stringify(lc.status().clockSkew)}`));
        }
      }
    };

    const call = (p: Proc): void => {
      calls++;
      const t0 = Date.now();
      const book = dayBook[Math.min(days, lsDay(t0))]!;
      book.calls++;
      p.lc.getAccessToken().then(
        (token) => {
          const now = Date.now();
          book.waits.push(now - t0);
          if (model.isActive(token)) return;
          if (deadAllowed(token, now)) deadInWindow++;
          else violate(`${p.name} was handed a token the broker considers dead (${model.tokenInfo(token)?.state ?? 'unknown'})`);
          // As attach() would on IGW00121/IGW00123: report it and take the next token.
          if (procs[p.slot] === p && p.io.up) {
            forced++;
            p.lc.invalidate(token).catch(() => undefined);
          }
        },
        (err: unknown) => {
          const now = Date.now();
          book.waits.push(now - t0);
          failedCalls++;
          const e = err as { code?: string; retryable?: boolean; httpStatus?: number };
          const code = e.code ?? 'unknown';
          failedByCode[code] = (failedByCode[code] ?? 0) + 1;
          // The faults this call met: any whose window overlaps its wait (or ended within issueLockWaitMs before it).
          const met = windows.filter((w) => w.from <= now && w.to >= t0 - ISSUE_LOCK_WAIT_MS);
          const stopped = procs[p.slot] !== p || !p.io.up || code === 'ERR_CLOSED';
          const cause = `${code} (${stopped ? 'process stopped' : met.length === 0 ? 'no fault' : [...new Set(met.map((w) => w.label))].join(' + ')})`;
          book.failed++;
          book.failedByCause[cause] = (book.failedByCause[cause] ?? 0) + 1;
          const outlasted = met.some((w) => w.to - w.from > ISSUE_LOCK_WAIT_MS);
          // Cannot be retried: the library says so, and it is not the broker's passing trouble (a 5xx).
          const permanent = e.retryable === false && !(typeof e.httpStatus === 'number' && e.httpStatus >= 500);
          if (stopped || outlasted || permanent) {
            allowedFailures++;
            return;
          }
          availabilityFailures++;
          if (availabilityViolations.length < 50) availabilityViolations.push(`${new Date(now).toISOString()} ${p.name}: a call failed after ${now - t0} ms with ${cause}`);
        },
      );
    };

    /** Whether a dead token handed out at `now` is inside the window the invariants allow (see the module notes). */
    const deadAllowed = (token: string, now: number): boolean => {
      if (provider === 'ls') {
        const cut = CUTOFF0 + lsDay(now) * DAY;
        return now >= cut && now <= cut + 1_000;
      }
      const info = model.tokenInfo(token);
      if (info === undefined) return false;
      if (now >= info.expiresAtMs && now <= info.expiresAtMs + 1_000) return true;
      if (provider !== 'kis' || info.state !== 'superseded') return false;
      const all = model.issuedTokens();
      const next = all[all.indexOf(token) + 1];
      const killedAt = next === undefined ? undefined : model.tokenInfo(next)?.issuedAtMs;
      return killedAt !== undefined && now >= killedAt && now <= killedAt + 5_000;
    };
    /** Instants around which calls are made every 200 ms: the LS cut-off; KIS's refresh; Kiwoom's expiry. */
    const hotSpot = (t: number): number => {
      if (provider === 'ls') return CUTOFF0 + (lsDay(t) + 1) * DAY;
      const live = model.activeTokens().map((tok) => model.tokenInfo(tok)!.expiresAtMs);
      if (live.length === 0) return Infinity;
      return Math.min(...live) - (provider === 'kis' ? KIS_REFRESH_LEAD_MS : 0);
    };

    // The random events of the week, drawn up front.
    type Ev = { at: number; kind: 'restart' | 'crash' | 'fault' | 'store-freeze' | 'store-empty' | 'slow-broker' | 'probe-fail'; slot: number };
    const events: Ev[] = [];
    for (let d = 0; d < days; d++) {
      const dayStart = start + d * DAY;
      const draw = (n: number, kind: Ev['kind']): void => {
        for (let i = 0; i < n; i++) events.push({ at: dayStart + Math.floor(rnd() * DAY), kind, slot: Math.floor(rnd() * fleet) });
      };
      draw(options.restartsPerDay ?? 2, 'restart');
      draw(options.crashesPerDay ?? 1, 'crash');
      draw(options.faultsPerDay ?? 3, 'fault');
      draw(options.storeFreezesPerDay ?? 1, 'store-freeze');
      draw(options.storeEmptiesPerDay ?? 1, 'store-empty');
      draw(options.slowBrokersPerDay ?? 1, 'slow-broker');
      draw(options.probeFailuresPerDay ?? 1, 'probe-fail');
      // One event each day lands in the minute around the day's change (LS: the cut-off), where it hurts most.
      const kinds = (['restart', 'crash', 'fault'] as const).filter((k) => (k === 'restart' ? options.restartsPerDay ?? 2 : k === 'crash' ? options.crashesPerDay ?? 1 : options.faultsPerDay ?? 3) > 0);
      if (kinds.length > 0) events.push({ at: dayOrigin + (d + 1) * DAY - 30_000 + Math.floor(rnd() * 60_000), kind: kinds[Math.floor(rnd() * kinds.length)]!, slot: Math.floor(rnd() * fleet) });
    }
    events.sort((a, b) => a.at - b.at);
    const pendingStarts: Array<{ at: number; slot: number }> = [];

    const apply = (ev: Ev): void => {
      if (TRACE) trace(`event ${ev.kind} slot ${ev.slot}`);
      const p = procs[ev.slot];
      const now = Date.now();
      if (ev.kind === 'fault') {
        faults++;
        if (rnd() < 0.5) {
          const count = 1 + Math.floor(rnd() * 2);
          model.inject({ endpoint: 'token', kind: 'http500', count });
          windows.push({ label: 'token 5xx', from: Infinity, to: -Infinity, remaining: count, afterMs: 0, beforeMs: 0 });
        } else {
          const retryAfterS = 1 + Math.floor(rnd() * 3);
          model.inject({ endpoint: 'token', kind: 'rate-limit', count: 1, retryAfterS });
          windows.push({ label: 'rate limit', from: Infinity, to: -Infinity, remaining: 1, afterMs: retryAfterS * 1000, beforeMs: 0 });
        }
        return;
      }
      if (ev.kind === 'slow-broker') {
        infraFaults++;
        const count = 1 + Math.floor(rnd() * 3);
        model.inject({ endpoint: 'any', kind: 'hang', hangMs: 3_000, count });
        windows.push({ label: 'slow broker', from: Infinity, to: -Infinity, remaining: count, afterMs: 0, beforeMs: 3_000 });
        return;
      }
      if (ev.kind === 'store-freeze') {
        infraFaults++;
        const ms = 5_000 + Math.floor(rnd() * 55_000);
        const writesOnly = Math.floor(ms * rnd() * 0.5);
        windows.push({ label: `store freeze ${Math.round(ms / 1000)} s`, from: now, to: now + ms, remaining: 0, afterMs: 0, beforeMs: 0 });
        freeze.writes = true;
        setTimeout(() => (freeze.all = freeze.writes), writesOnly); // then every call hangs
        setTimeout(thaw, ms);
        return;
      }
      if (ev.kind === 'store-empty') {
        infraFaults++;
        windows.push({ label: 'store emptied', from: now, to: now, remaining: 0, afterMs: 0, beforeMs: 0 });
        storeMap.clear();
        return;
      }
      if (ev.kind === 'probe-fail') {
        infraFaults++;
        probeDownUntil[ev.slot] = now + 600_000;
        windows.push({ label: 'probe failing', from: now, to: now + 600_000, remaining: 0, afterMs: 0, beforeMs: 0 });
        return;
      }
      if (p === undefined) return;
      procs[ev.slot] = undefined;
      if (ev.kind === 'restart') {
        restarts++;
        stopping.push(p.lc.shutdown({ deadlineMs: 5_000 }));
      } else {
        crashes++;
        p.io.up = false; // nothing it does from now on reaches LS or the store
        stopping.push(p.lc.shutdown({ deadlineMs: 1_000 })); // only clears its timers: its I/O is cut
      }
      pendingStarts.push({ at: Date.now() + 1_000 + Math.floor(rnd() * 120_000), slot: ev.slot });
    };

    for (let s = 0; s < fleet; s++) startProc(s);
    let t = start;
    let lastSpot = -Infinity;
    while (t < end) {
      const cut = hotSpot(t);
      const dense = cut - t <= 10_000 || t - lastSpot < 10_000;
      if (cut - t <= 10_000) lastSpot = cut;
      const step = dense ? 200 : 60_000;
      let next = Math.min(t + step, end, cut - 10_000 > t ? cut - 10_000 : Infinity);
      if (events.length > 0) next = Math.min(next, events[0]!.at);
      pendingStarts.sort((a, b) => a.at - b.at);
      if (pendingStarts.length > 0) next = Math.min(next, pendingStarts[0]!.at);
      await clock.tickAsync(Math.max(0, next - t));
      t = next;
      while (events.length > 0 && events[0]!.at <= t) apply(events.shift()!);
      while (pendingStarts.length > 0 && pendingStarts[0]!.at <= t) startProc(pendingStarts.shift()!.slot);
      for (const p of procs) if (p !== undefined) call(p);
      if (model.activeTokens().length > 1) violate(`${model.activeTokens().length} live tokens for one app key`);
    }

    // The end: every slot runs again, settles for a minute, then the whole fleet shuts down.
    thaw();
    for (const { slot } of pendingStarts.splice(0)) if (procs[slot] === undefined) startProc(slot);
    for (const p of procs) if (p !== undefined) call(p);
    await clock.tickAsync(60_000);
    const finals = procs.filter((p): p is Proc => p !== undefined).map((p) => p.lc.shutdown({ deadlineMs: 10_000 }));
    await clock.tickAsync(15_000);
    await Promise.all([...finals, ...stopping]);
    const aliveAtEnd = model.activeTokens().length;
    if (aliveAtEnd > 0) violate(`${aliveAtEnd} token(s) alive after the final shutdown`);

    const issuancesByDay = new Array<number>(days + 1).fill(0);
    for (const tok of model.issuedTokens()) issuancesByDay[lsDay(model.tokenInfo(tok)!.issuedAtMs)]! += 1;
    const stats = model.stats();
    // Forced issuances are outside the budget by design; they are reported, not counted against a day.
    issuancesByDay.forEach((n, d) => {
      if (n - forced > allowed[d]!) violate(`LS day ${d}: ${n} issuances, allowed ${allowed[d]} (+${forced} forced)`);
    });
    return {
      seed: options.seed,
      provider,
      days,
      fleet,
      tokenRequests: stats.tokenRequests,
      issuances: stats.issued,
      forcedIssuances: forced,
      issuancesByDay,
      allowedByDay: allowed,
      calls,
      failedCalls,
      failedByCode,
      deadInWindow,
      restarts,
      crashes,
      faults,
      aliveAtEnd,
      violations,
      infraFaults,
      byDay: dayBook.map((b, day) => {
        const sorted = [...b.waits].sort((x, y) => x - y);
        return { day, calls: b.calls, failed: b.failed, failedByCause: b.failedByCause, waitP50Ms: nearestRank(sorted, 50), waitP99Ms: nearestRank(sorted, 99), waitMaxMs: sorted.at(-1) ?? 0 };
      }),
      allowedFailures,
      availabilityViolations,
      availabilityFailures,
    };
  } finally {
    clock.uninstall();
  }
}
