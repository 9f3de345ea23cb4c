/**
 * The broker-neutral half of a mock model: the token book (who holds which token, until when, and
 * why it died), the counters, the fault table, the clock offset, and the exchange each request
 * becomes. A broker's model (`ls-model`, `kis-model`, `kiwoom-model`) brings its dialect: which
 * paths are which endpoint, how each endpoint answers, and what a fault looks like on its wire.
 *
 * Pure and socket-free, driven by an injected clock (`now`) and random source (`random`), so it
 * runs the same under fake timers as behind the HTTP shell or the axios adapter.
 *
 * @module
 */
import { FaultTable, mockOptionError, validateFault, type MockEndpoint, type MockFault, type MockFaultState } from './faults.js';
import { textResponse, type MockExchange, type MockRequest, type MockResponse } from './wire.js';

/** Counters of a mock; a snapshot taken by {@link MockControls.stats}. */
export interface MockStats {
  /** Requests to the token endpoint (faulted ones included). */
  tokenRequests: number;
  /** Requests to the revoke endpoint (faulted ones included). */
  revokeRequests: number;
  /** Requests to other paths the broker serves, TR calls (faulted ones included). */
  trRequests: number;
  /** New tokens issued (an answer that repeats a live token is not one). */
  issued: number;
  /** Successful revocations through the revoke endpoint (active token → dead). */
  revoked: number;
  /** Tokens alive now: not revoked, not invalidated by a re-issue, not past their expiry. */
  active: number;
  /** Faults applied so far. */
  faultsInjected: number;
  /** Requests being handled right now. */
  inflight: number;
  /** The largest number of revoke requests handled at the same time. */
  maxInflightRevokes: number;
}

/**
 * Why a token is or is not alive: `active`; `expired` (past its expiry); `revoked` (through the
 * revoke endpoint); `superseded` (a newer token of its app key was issued); `killed` (by
 * {@link MockControls.revokeToken} or the control endpoint).
 */
export type MockTokenState = 'active' | 'expired' | 'revoked' | 'superseded' | 'killed';

/** What a model knows about one token it issued. */
export interface MockTokenInfo {
  /** The app key it was issued to. */
  readonly appKey: string;
  /** Issue time, epoch ms (whole seconds). */
  readonly issuedAtMs: number;
  /** Expiry, epoch ms (whole seconds). */
  readonly expiresAtMs: number;
  /** Its state now, by the model's clock. */
  readonly state: MockTokenState;
}

/** The inspection and fault controls every mock offers (model and HTTP server alike). */
export interface MockControls {
  /** Whether `token` was issued here and is alive now. */
  isActive(token: string): boolean;
  /** A snapshot of the counters. */
  stats(): MockStats;
  /** Adds a fault (checked in injection order, before normal handling). Returns a function that removes it. */
  inject(fault: MockFault): () => void;
  /** Removes every fault. */
  clearFaults(): void;
  /** The raw tokens alive now, in issuance order. */
  activeTokens(): string[];
  /** Every token ever issued, in issuance order. */
  issuedTokens(): string[];
  /**
   * Kills a token server-side, as the broker or another process would. Returns whether it was
   * alive. Not counted in {@link MockStats.revoked}.
   */
  revokeToken(token: string): boolean;
  /** Zeroes the request, issuance, revocation and fault counters (`active` and `inflight` are live values). */
  resetStats(): void;
}

/** One live token in a model's state (never the raw token). */
export interface MockLiveTokenState {
  /** The app key it was issued to. */
  readonly appKey: string;
  /** Issue time, ISO 8601. */
  readonly issuedAt: string;
  /** Expiry, ISO 8601. */
  readonly expiresAt: string;
}

/** What every model offers besides the controls: the transport entry, the clock, the token book. */
export interface MockModel extends MockControls {
  /** Takes one request; see {@link MockExchange}. Never throws. */
  receive(request: MockRequest): MockExchange;
  /** What the model knows about `token`, or `undefined` if it never issued it. */
  tokenInfo(token: string): MockTokenInfo | undefined;
  /** The armed faults, in injection order. */
  faults(): MockFaultState[];
  /** Kills every live token of `appKey` (of every key when omitted), as another process issuing would. Returns how many. */
  killTokens(appKey?: string): number;
  /** The model's clock: the `now` option plus the clock offset, epoch ms. */
  now(): number;
  /** The offset added to the `now` option, ms (0 unless `setClockOffset` moved it). */
  clockOffsetMs(): number;
  /** Shifts the model's clock by `offsetMs` from the `now` option (e.g. to rehearse the moment a token dies). */
  setClockOffset(offsetMs: number): void;
}

/** A token the book holds. */
export interface BookEntry {
  readonly token: string;
  readonly appKey: string;
  readonly iatMs: number;
  readonly expMs: number;
  state: 'active' | 'revoked' | 'superseded' | 'killed';
}

/** The tokens a model issued, by token and by app key (insertion order = issuance order). */
export class TokenBook {
  readonly #tokens = new Map<string, BookEntry>();
  readonly #liveByKey = new Map<string, Set<BookEntry>>();
  readonly #now: () => number;

  constructor(now: () => number) {
    this.#now = now;
  }

  /** Whether `r` is alive at `at` (default now). */
  alive(r: BookEntry, at = this.#now()): boolean {
    return r.state === 'active' && at < r.expMs;
  }

  /** Adds a newly issued token. */
  add(token: string, appKey: string, iatMs: number, expMs: number): BookEntry {
    const entry: BookEntry = { token, appKey, iatMs, expMs, state: 'active' };
    let live = this.#liveByKey.get(appKey);
    if (live === undefined) {
      live = new Set();
      this.#liveByKey.set(appKey, live);
    }
    live.add(entry);
    this.#tokens.set(token, entry);
    return entry;
  }

  /** The entry of `token`, if the model issued it. */
  get(token: string): BookEntry | undefined {
    return this.#tokens.get(token);
  }

  /** Ends `r` with `state`. */
  kill(r: BookEntry, state: BookEntry['state']): void {
    r.state = state;
    this.#liveByKey.get(r.appKey)?.delete(r);
  }

  /** The entries of `appKey` not ended by a kill (some may be past their expiry). */
  unended(appKey: string): BookEntry[] {
    return [...(this.#liveByKey.get(appKey) ?? [])];
  }

  /** The newest entry of `appKey` alive now. */
  newestAlive(appKey: string, at = this.#now()): BookEntry | undefined {
    let best: BookEntry | undefined;
    for (const r of this.#liveByKey.get(appKey) ?? []) if (this.alive(r, at) && (best === undefined || r.iatMs >= best.iatMs)) best = r;
    return best;
  }

  /** Every live entry, of one key or of all. */
  *live(appKey?: string): Generator<BookEntry> {
    const at = this.#now();
    for (const [key, set] of this.#liveByKey) {
      if (appKey !== undefined && key !== appKey) continue;
      for (const r of set) if (this.alive(r, at)) yield r;
    }
  }

  /** Every entry ever added, in issuance order. */
  all(): IterableIterator<BookEntry> {
    return this.#tokens.values();
  }

  /** Kills every unended entry of `appKey` (of all keys when omitted); returns how many were alive. */
  killAll(appKey?: string): number {
    let n = 0;
    const at = this.#now();
    for (const [key, set] of this.#liveByKey) {
      if (appKey !== undefined && key !== appKey) continue;
      for (const r of [...set]) {
        if (this.alive(r, at)) n += 1;
        this.kill(r, 'killed');
      }
    }
    return n;
  }
}

/** The counters a dialect bumps besides the request counters the core keeps. */
export interface CoreCounters {
  issued: number;
  revoked: number;
  /** Issuance answers that repeated a live token (KIS within 6 h, Kiwoom while it lives). */
  sameTokenAnswers: number;
}

/** What a broker's model brings to {@link createBrokerModel}. */
export interface BrokerDialect {
  /** The logical endpoint of a request, or `undefined` for one the broker does not serve (404). */
  endpointOf(method: string, path: string): MockEndpoint | undefined;
  /** Handles a request on `endpoint` now (by the model's clock). */
  handle(endpoint: MockEndpoint, req: MockRequest): MockResponse;
  /** The answer an injected fault gives (not for `hang` and `reset`). */
  faultResponse(fault: MockFault, endpoint: MockEndpoint, req: MockRequest): MockResponse;
  /** What `resume()` of a reset exchange answers (there is no answer on the wire). */
  resetResponse(endpoint: MockEndpoint, req: MockRequest): MockResponse;
  /** Broker-specific fields of `state()`, placed after the clock fields. */
  stateExtras(): Record<string, unknown>;
}

/** The core: the book, the counters and the clock, for the dialect to use. */
export interface BrokerCore {
  readonly book: TokenBook;
  readonly counters: CoreCounters;
  /** The model's clock. */
  now(): number;
}

/** What {@link createBrokerModel} returns: a model, its core, and its state. */
export interface BrokerModelParts {
  /** The model (without a broker-specific `state()`). */
  readonly model: MockModel;
  /** The core, for the dialect. */
  readonly core: BrokerCore;
  /** The JSON-safe state: clock, dialect extras, stats, faults, live tokens. */
  state(): Record<string, unknown>;
}

const NOT_FOUND = textResponse(404, 'Not Found');

/** Creates the core first (so a dialect can close over it), then the model once the dialect is built. */
export function createBrokerCore(options: { readonly now: () => number }): BrokerCore & { readonly clock: { offsetMs: number } } {
  const clock = { offsetMs: 0 };
  const now = (): number => options.now() + clock.offsetMs;
  return { book: new TokenBook(now), counters: { issued: 0, revoked: 0, sameTokenAnswers: 0 }, now, clock };
}

/**
 * Builds the model around `core` and `dialect`; see the module description.
 *
 * @param random the source fault `rate`s are drawn from.
 */
export function createBrokerModel(core: ReturnType<typeof createBrokerCore>, dialect: BrokerDialect, random: () => number): BrokerModelParts {
  const { book, counters, clock } = core;
  const now = core.now;
  const faultTable = new FaultTable();
  const requests = { tokenRequests: 0, revokeRequests: 0, trRequests: 0, maxInflightRevokes: 0 };
  let inflight = 0;
  let inflightRevokes = 0;

  /** Every answer carries the broker's clock (the model's) in its `Date` header, as a real gateway's does. */
  const dated = (res: MockResponse): MockResponse => ({ ...res, headers: { ...res.headers, date: new Date(now()).toUTCString() } });

  function route(req: MockRequest): MockExchange {
    const endpoint = dialect.endpointOf(req.method, req.path);
    inflight += 1;
    if (endpoint === 'token') requests.tokenRequests += 1;
    else if (endpoint === 'tr') requests.trRequests += 1;
    else if (endpoint === 'revoke') {
      requests.revokeRequests += 1;
      inflightRevokes += 1;
      requests.maxInflightRevokes = Math.max(requests.maxInflightRevokes, inflightRevokes);
    }
    let ended = false;
    const end = (): void => {
      if (ended) return;
      ended = true;
      inflight -= 1;
      if (endpoint === 'revoke') inflightRevokes -= 1;
    };
    if (endpoint === undefined) return { endpoint, plan: { kind: 'answer', response: NOT_FOUND }, resume: () => NOT_FOUND, end };
    const fault = faultTable.pick(endpoint, random);
    if (fault?.kind === 'hang') {
      let later: MockResponse | undefined;
      return { endpoint, plan: { kind: 'hang', ms: fault.hangMs }, resume: () => (later ??= dialect.handle(endpoint, req)), end };
    }
    if (fault?.kind === 'reset') return { endpoint, plan: { kind: 'reset' }, resume: () => dialect.resetResponse(endpoint, req), end };
    // The gateway does the work as the request arrives; a transport's latency delays only the answer.
    const response = fault === undefined ? dialect.handle(endpoint, req) : dialect.faultResponse(fault, endpoint, req);
    return { endpoint, plan: { kind: 'answer', response }, resume: () => response, end };
  }

  function stats(): MockStats {
    let active = 0;
    for (const _ of book.live()) active += 1;
    return { ...requests, issued: counters.issued, revoked: counters.revoked, faultsInjected: faultTable.applied, active, inflight };
  }

  const model: MockModel = {
    receive(req: MockRequest): MockExchange {
      const exchange = route(req);
      const { plan } = exchange;
      let resumed: MockResponse | undefined;
      return {
        ...exchange,
        plan: plan.kind === 'answer' ? { kind: 'answer', response: dated(plan.response) } : plan,
        resume: () => (resumed ??= dated(exchange.resume())),
      };
    },
    stats,
    isActive(token: string): boolean {
      const r = book.get(token);
      return r !== undefined && book.alive(r);
    },
    tokenInfo(token: string): MockTokenInfo | undefined {
      const r = book.get(token);
      if (r === undefined) return undefined;
      const state: MockTokenState = r.state !== 'active' ? r.state : book.alive(r) ? 'active' : 'expired';
      return { appKey: r.appKey, issuedAtMs: r.iatMs, expiresAtMs: r.expMs, state };
    },
    inject: (fault: MockFault) => faultTable.add(validateFault(fault)),
    clearFaults: () => void faultTable.clear(),
    faults: () => faultTable.list(),
    activeTokens: () => [...book.all()].filter((r) => book.alive(r)).map((r) => r.token),
    issuedTokens: () => [...book.all()].map((r) => r.token),
    revokeToken(token: string): boolean {
      const r = book.get(token);
      if (r === undefined || !book.alive(r)) return false;
      book.kill(r, 'killed');
      return true;
    },
    killTokens: (appKey?: string) => book.killAll(appKey),
    resetStats(): void {
      requests.tokenRequests = 0;
      requests.revokeRequests = 0;
      requests.trRequests = 0;
      counters.issued = 0;
      counters.revoked = 0;
      counters.sameTokenAnswers = 0;
      faultTable.applied = 0;
      requests.maxInflightRevokes = inflightRevokes;
    },
    now,
    clockOffsetMs: () => clock.offsetMs,
    setClockOffset(offsetMs: number): void {
      if (typeof offsetMs !== 'number' || !Number.isFinite(offsetMs)) throw mockOptionError('offsetMs', 'the clock offset must be a finite number of ms');
      clock.offsetMs = offsetMs;
    },
  };

  return {
    model,
    core,
    state(): Record<string, unknown> {
      const liveTokens: MockLiveTokenState[] = [];
      for (const r of book.live()) liveTokens.push({ appKey: r.appKey, issuedAt: new Date(r.iatMs).toISOString(), expiresAt: new Date(r.expMs).toISOString() });
      return { now: new Date(now()).toISOString(), clockOffsetMs: clock.offsetMs, ...dialect.stateExtras(), stats: stats(), faults: faultTable.list(), liveTokens };
    },
  };
}
