/**
 * The fleet: every process sharing one app key and one store. LS keeps one live token per app
 * key, so they must share one token and must not revoke it while another still uses it. What a
 * process tells the others lives in the store's meta keys, laid out here and nowhere else:
 *
 * - `instance:<instanceId>`: a heartbeat, `{ pid, at }`, TTL `leaseTtlMs`; a crashed process stops
 *   counting as alive when it runs out.
 * - `lease:<appKeyId>:<tokenId>:<instanceId>`: "this process holds this token", same TTL. The app
 *   key's id is in the key so that a process can see the fleet's leases even when the records are
 *   gone (a Redis that restarted empty).
 *
 * The heartbeat also writes the held token's record again when it is missing, so a store that lost
 * its data is repaired within one beat, and a newcomer that finds live leases on a token it has no
 * record of waits for that record instead of issuing (which would kill the fleet's token).
 *
 * - `epoch:<appKeyId>`: the store epoch mark, `{ id }`, no TTL, written at first use. A store that
 *   lost its data (FLUSHALL, a restart without persistence, a failover to a replica that had not
 *   synced) lost the mark too, and the leases and records with it: a process that saw the mark and
 *   finds it gone (or replaced by another process's) knows it, and writes its lease and record again
 *   at once. On Redis the mark is watched every {@link Fleet.epochWatchMs}; a process that has seen
 *   no mark, or sees it change, holds off issuing for {@link Fleet.settleMs} so that the holders can
 *   write their token back first (see {@link Fleet.storeQuietUntil}).
 *
 * The adopt/revoke handshake: an adopter writes its lease first and then re-reads the record
 * ({@link Fleet.leaseThenRecheck}); a revoker writes its intent (`revoking`) first and then
 * re-reads the leases ({@link Fleet.claimForRevocation}). Of two processes doing both at once, at
 * least one sees the other.
 */
import { randomUUID } from 'node:crypto';
import { ErrorCodes, LsTokenError, type TextScrubber, toLsTokenError } from '../core/errors.js';
import type { Clock } from '../core/clock.js';
import { sleep } from '../core/sleep.js';
import { boundedStoreCall } from '../store/store-call.js';
import type { NewTokenRecord } from '../store/token-record.js';
import type { RevokeReason } from '../core/events.js';
import type { TokenStore } from '../store/token-store.js';

const TOKEN_ID = '[0-9a-f]{64}';
const LEASE_KEY = new RegExp(`^lease:([0-9a-f]{1,64}):(${TOKEN_ID}):(.+)$`);

/** The meta key of an app key's store epoch mark. */
export function epochKey(appKeyId: string): string {
  return `epoch:${appKeyId}`;
}

/** The meta key of an instance's heartbeat. */
export function instanceKey(instanceId: string): string {
  return `instance:${instanceId}`;
}

/** The meta key of `instanceId`'s lease on token `tokenId` of app key `appKeyId`. */
export function leaseKey(appKeyId: string, tokenId: string, instanceId: string): string {
  return `lease:${appKeyId}:${tokenId}:${instanceId}`;
}

/** The meta key prefix of every lease of one app key (or of all, without one). */
export function leasePrefix(appKeyId?: string): string {
  return appKeyId === undefined ? 'lease:' : `lease:${appKeyId}:`;
}

/** A lease key's parts, or `undefined` for a key that is not a lease. */
export function parseLeaseKey(key: string): { appKeyId: string; tokenId: string; instanceId: string } | undefined {
  const m = LEASE_KEY.exec(key);
  return m === null ? undefined : { appKeyId: m[1]!, tokenId: m[2]!, instanceId: m[3]! };
}

/** Live lease holders by token id (one store scan), optionally leaving one instance out. */
export async function leaseHolders(store: TokenStore, appKeyId?: string, except?: string): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>();
  for (const { key } of await store.listMeta(leasePrefix(appKeyId))) {
    const lease = parseLeaseKey(key);
    if (lease === undefined || lease.instanceId === except) continue;
    out.set(lease.tokenId, [...(out.get(lease.tokenId) ?? []), lease.instanceId]);
  }
  return out;
}

/** Instance ids with a live heartbeat (one store scan). */
export async function liveInstances(store: TokenStore): Promise<Set<string>> {
  return new Set((await store.listMeta('instance:')).map((m) => m.key.slice('instance:'.length)));
}

/** A token this process holds, as the heartbeat needs it. */
export interface HeldForFleet {
  /** The token id. */
  readonly id: string;
  /** The raw token (to write the record again if the store lost it). */
  readonly token: string;
  /** The record's fields, for writing it again. */
  readonly input: NewTokenRecord;
}

/** What {@link Fleet} needs. */
export interface FleetOptions {
  readonly store: TokenStore;
  readonly appKeyId: string;
  readonly instanceId: string;
  readonly leaseTtlMs: number;
  readonly storeTimeoutMs: number;
  readonly now: Clock;
  /** Scrubs secrets out of foreign error text. */
  readonly scrubber: TextScrubber;
  /**
   * Watch the store epoch mark (true on Redis, where a fleet's store can lose its data under it).
   * Default false: a `Map` or SQLite file does not empty itself while the processes run.
   */
  readonly watchEpoch?: boolean;
  /** Store trouble; the fleet carries on. */
  readonly onError: (error: LsTokenError, op: string, id?: string) => void;
}

/** One process's side of the fleet protocol; see the module notes. Every store call is time-bounded. */
export class Fleet {
  readonly #o: FleetOptions;
  #beating: Promise<void> | undefined;
  #beatAgain = false;
  #stopped = false;
  /** The epoch mark this process last saw (`undefined`: none yet). */
  #epochSeen: string | undefined;
  /**
   * Until then this process issues nothing: the store just lost its data. Real elapsed time
   * (`performance.now()`), not the lifecycle's clock: it waits for the holders' timers, which run
   * in real time whatever a test or a skewed clock says.
   */
  #quietUntil = -Infinity;
  #epochCheck: Promise<'intact' | 'new' | 'lost'> | undefined;

  /** How often the epoch mark is read (`undefined`: not watched): a third of the lease, at most 1 s. */
  readonly epochWatchMs: number | undefined;
  /** How long a process that finds the store emptied holds off issuing: two watches and a margin. */
  readonly settleMs: number;

  constructor(options: FleetOptions) {
    this.#o = options;
    this.epochWatchMs = options.watchEpoch === true ? Math.max(100, Math.min(1_000, Math.floor(options.leaseTtlMs / 3))) : undefined;
    this.settleMs = this.epochWatchMs === undefined ? 0 : 2 * this.epochWatchMs + 250;
  }

  /**
   * Reads the epoch mark: `intact` (the one seen before, or a first look at a store that has one),
   * `new` (a first look at a store with none: new, or emptied; this process wrote one), `lost` (the
   * mark seen before is gone or was replaced: the store lost its data). On `new` and `lost` this
   * process holds off issuing for {@link Fleet.settleMs}. One read at a time; store trouble rejects.
   */
  checkEpoch(): Promise<'intact' | 'new' | 'lost'> {
    this.#epochCheck ??= this.#readEpoch().finally(() => {
      this.#epochCheck = undefined;
    });
    return this.#epochCheck;
  }

  async #readEpoch(): Promise<'intact' | 'new' | 'lost'> {
    const { store, appKeyId, now } = this.#o;
    const mark = await this.#call(store.getMeta<{ id?: unknown }>(epochKey(appKeyId)), 'epoch');
    const id = typeof mark?.id === 'string' ? mark.id : undefined;
    if (id !== undefined && id === this.#epochSeen) return 'intact';
    const firstLook = this.#epochSeen === undefined;
    if (id !== undefined && firstLook) {
      this.#epochSeen = id;
      return 'intact';
    }
    if (id === undefined) {
      const fresh = randomUUID();
      await this.#call(store.setMeta(epochKey(appKeyId), { id: fresh, at: now() }, undefined), 'epoch');
      this.#epochSeen = fresh;
    } else {
      this.#epochSeen = id;
    }
    this.#quietUntil = Math.max(this.#quietUntil, performance.now() + this.settleMs);
    return firstLook ? 'new' : 'lost';
  }

  /**
   * How long (ms, real time) this process must still not issue because the store may just have
   * lost the fleet's token (see the module notes); 0 when it may. Reads the epoch mark first when
   * watched. Never rejects: a store that fails does not stop trading.
   */
  async storeQuietForMs(): Promise<number> {
    if (this.epochWatchMs === undefined || this.#stopped) return 0;
    try {
      await this.checkEpoch();
    } catch (err) {
      this.#report(err, 'epoch');
    }
    return Math.max(0, Math.ceil(this.#quietUntil - performance.now()));
  }

  /**
   * One watch of the epoch mark: when the store lost its data, writes this process's lease and
   * record again at once (a heartbeat round) and reports it. Never rejects.
   */
  async watchEpoch(held: () => HeldForFleet | undefined): Promise<void> {
    if (this.epochWatchMs === undefined || this.#stopped) return;
    let state: 'intact' | 'new' | 'lost';
    try {
      state = await this.checkEpoch();
    } catch (err) {
      this.#report(err, 'epoch');
      return;
    }
    if (state !== 'lost') return;
    const h = held();
    this.#o.onError(new LsTokenError(ErrorCodes.STORE, 'The store lost its data (its epoch mark is gone); what this process holds is being written again', { retryable: true }), 'store.lost', h?.id);
    await this.heartbeat(held);
  }

  #call<T>(p: Promise<T>, op: string): Promise<T> {
    return boundedStoreCall(p, this.#o.storeTimeoutMs, op);
  }

  #lease(id: string): string {
    return leaseKey(this.#o.appKeyId, id, this.#o.instanceId);
  }

  /** Writes this process's lease on `id` (the one place that builds its value), bounded. */
  #writeLease(id: string, op: string): Promise<void> {
    const { store, instanceId, leaseTtlMs, now } = this.#o;
    return this.#call(store.setMeta(this.#lease(id), { instanceId, at: now() }, leaseTtlMs), op);
  }

  #report(err: unknown, op: string, id?: string): void {
    this.#o.onError(toLsTokenError(err, ErrorCodes.STORE, `${op} failed`, true, this.#o.scrubber), op, id);
  }

  /**
   * Renews the heartbeat and the lease on `held()` (read at write time), and writes its record
   * again if the store lost it. One round at a time; calls meanwhile ask for one more round, so a
   * hanging store never builds a chain. Never rejects.
   */
  heartbeat(held: () => HeldForFleet | undefined): Promise<void> {
    if (this.#stopped) return Promise.resolve();
    if (this.#beating !== undefined) {
      this.#beatAgain = true;
      return this.#beating;
    }
    const rounds = async (): Promise<void> => {
      do {
        this.#beatAgain = false;
        await this.#beat(held);
      } while (this.#beatAgain && !this.#stopped);
    };
    this.#beating = rounds().finally(() => {
      this.#beating = undefined;
    });
    return this.#beating;
  }

  async #beat(held: () => HeldForFleet | undefined): Promise<void> {
    const { store, instanceId, leaseTtlMs, now } = this.#o;
    try {
      // The first beat sees (or writes) the epoch mark, so that a later loss can be told.
      if (this.epochWatchMs !== undefined && this.#epochSeen === undefined) await this.checkEpoch();
      await this.#call(store.setMeta(instanceKey(instanceId), { pid: process.pid, at: now() }, leaseTtlMs), 'heartbeat');
      const h = held();
      if (h === undefined || this.#stopped) return;
      await this.#writeLease(h.id, 'heartbeat');
      if ((await this.#call(store.get(h.id), 'heartbeat')) === undefined && !this.#stopped) {
        // The store lost the record (restart without persistence, failover, FLUSHDB): write it again,
        // or a newcomer would find no token, issue, and kill ours.
        await this.#call(store.put(h.input, h.token), 'heartbeat');
        this.#o.onError(new LsTokenError(ErrorCodes.STORE, 'The store had lost the record of the held token; it has been written again', { retryable: true }), 'heartbeat.rewrite', h.id);
      }
    } catch (err) {
      this.#report(err, 'heartbeat');
    }
  }

  /** Stops heartbeats (no lease may appear after shutdown) and waits for a round in flight. */
  async stop(): Promise<void> {
    this.#stopped = true;
    await this.#beating;
  }

  /** Drops this instance's leases on `ids` and its heartbeat. Never rejects (trouble is reported). */
  async leave(ids: readonly string[]): Promise<void> {
    const { store, instanceId } = this.#o;
    try {
      await this.#call(Promise.all([...ids.map((id) => store.deleteMeta(this.#lease(id))), store.deleteMeta(instanceKey(instanceId))]), 'leave');
    } catch (err) {
      this.#report(err, 'store.deleteMeta');
    }
  }

  /** Drops this instance's lease on `id` (the token was replaced). Never rejects. */
  async release(id: string): Promise<void> {
    try {
      await this.#call(this.#o.store.deleteMeta(this.#lease(id)), 'release');
    } catch (err) {
      this.#report(err, 'store.deleteMeta', id);
    }
  }

  /** Other live holders by token id, for this app key. */
  holders(): Promise<Map<string, string[]>> {
    return this.#call(leaseHolders(this.#o.store, this.#o.appKeyId, this.#o.instanceId), 'leases');
  }

  /** Whether `instanceId` has a live heartbeat (this instance always has). */
  async instanceAlive(instanceId: string | null): Promise<boolean> {
    if (instanceId === null) return false;
    if (instanceId === this.#o.instanceId) return true;
    return (await this.#call(this.#o.store.getMeta(instanceKey(instanceId)), 'instance')) !== undefined;
  }

  /**
   * Token ids of this app key that other live processes hold but that have no record: the store
   * lost its data and the holders have not written their record again yet.
   */
  async unrecordedLeases(): Promise<string[]> {
    const holders = await this.holders();
    const out: string[] = [];
    for (const id of holders.keys()) if ((await this.#call(this.#o.store.get(id), 'leases')) === undefined) out.push(id);
    return out;
  }

  /**
   * Writes this process's lease on `id` and nothing else (see {@link heartbeat} for a whole beat).
   * No lease after {@link stop}. Never rejects: trouble is reported, as a beat's is.
   */
  async lease(id: string): Promise<void> {
    if (this.#stopped) return;
    try {
      await this.#writeLease(id, 'heartbeat');
    } catch (err) {
      this.#report(err, 'heartbeat', id);
    }
  }

  /**
   * The adopting half of the handshake: write our lease on `id`, then re-read its record. False when
   * the token is being revoked (our lease is dropped again). Store trouble: adopt anyway.
   */
  async leaseThenRecheck(id: string): Promise<boolean> {
    const { store } = this.#o;
    // Shut down: no lease may appear after shutdown dropped ours (siblings would count a ghost holder).
    if (this.#stopped) return false;
    try {
      await this.#writeLease(id, 'lease');
      const record = await this.#call(store.get(id), 'lease');
      if (record === undefined || record.state === 'active') return true;
      await this.#call(store.deleteMeta(this.#lease(id)), 'lease');
      return false;
    } catch (err) {
      this.#report(err, 'store.lease', id);
      return true;
    }
  }

  /**
   * For a token the broker answered again while the store says it is being revoked (KIS repeats
   * its live token): write our lease, so that a revoker that has not re-read the leases yet gives
   * it back (the adopting half of the handshake), then wait until the revoke is decided, polling
   * the record until `untilMs` (host time). `active`: the revoker gave it back, take it over;
   * `ended`: revoked, or the record is gone; `pending`: still `revoking` at `untilMs`. Our lease is
   * dropped unless `active`. Store trouble counts as `pending` (never hand out on a guess).
   */
  async awaitRevokeDecision(id: string, untilMs: number, signal: AbortSignal): Promise<'active' | 'ended' | 'pending'> {
    const { store, now } = this.#o;
    let state: 'active' | 'ended' | 'pending' = 'pending';
    try {
      if (!this.#stopped) await this.#writeLease(id, 'lease');
      for (;;) {
        const record = await this.#call(store.get(id), 'lease');
        if (record?.state === 'active') state = 'active';
        else if (record === undefined || record.state !== 'revoking') state = 'ended';
        if (state !== 'pending' || now() >= untilMs || signal.aborted) break;
        await sleep(Math.min(100, untilMs - now()), signal).catch(() => undefined);
      }
    } catch (err) {
      this.#report(err, 'store.lease', id);
      state = 'pending';
    }
    if (state !== 'active') await this.release(id);
    return state;
  }

  /**
   * The revoking half of the handshake, for `ids` this process would revoke unless another live
   * process holds them. Those with another holder's lease are kept with no write. For the others
   * the intent is written first (`revoking`), the leases read again, and a token that gained a
   * holder meanwhile is given back (`active`). Ids whose record is not `active` go to `revoke` (the
   * scheduler skips ended ones). On store trouble, ids not known to be kept go to `revoke` when
   * `onStoreError` is `'revoke'` (a token left alive is the worse failure at shutdown), else nowhere.
   */
  async claimForRevocation(ids: readonly string[], reason: RevokeReason, onStoreError: 'revoke' | 'skip'): Promise<{ revoke: Set<string>; kept: Set<string> }> {
    const revoke = new Set<string>();
    const kept = new Set<string>();
    if (ids.length === 0) return { revoke, kept };
    const { store } = this.#o;
    try {
      const before = await this.holders();
      const claimed: string[] = [];
      for (const id of ids) {
        if ((before.get(id)?.length ?? 0) > 0) {
          kept.add(id);
          continue;
        }
        const rec = await this.#call(store.update(id, { state: 'revoking', reason }, { expectStates: ['active'] }), 'claim');
        if (rec === undefined) revoke.add(id);
        else claimed.push(id);
      }
      const after = claimed.length === 0 ? new Map<string, string[]>() : await this.holders();
      for (const id of claimed) {
        if ((after.get(id)?.length ?? 0) === 0) {
          revoke.add(id);
          continue;
        }
        kept.add(id);
        await this.#call(store.update(id, { state: 'active', reason: null }, { expectStates: ['revoking'] }), 'claim');
      }
    } catch (err) {
      this.#report(err, 'claim');
      if (onStoreError === 'skip') revoke.clear();
      else for (const id of ids) if (!kept.has(id)) revoke.add(id);
    }
    return { revoke, kept };
  }
}
