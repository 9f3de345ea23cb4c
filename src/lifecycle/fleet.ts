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
 * The adopt/revoke handshake: an adopter writes its lease first and then re-reads the record
 * ({@link Fleet.leaseThenRecheck}); a revoker writes its intent (`revoking`) first and then
 * re-reads the leases ({@link Fleet.claimForRevocation}). Of two processes doing both at once, at
 * least one sees the other.
 */
import { ErrorCodes, LsTokenError, type TextScrubber, toLsTokenError } from '../core/errors.js';
import type { Clock } from '../core/clock.js';
import { boundedStoreCall } from '../store/store-call.js';
import type { NewTokenRecord } from '../store/token-record.js';
import type { RevokeReason } from '../core/events.js';
import type { TokenStore } from '../store/token-store.js';

const TOKEN_ID = '[0-9a-f]{64}';
const LEASE_KEY = new RegExp(`^lease:([0-9a-f]{1,64}):(${TOKEN_ID}):(.+)$`);

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
  /** Store trouble; the fleet carries on. */
  readonly onError: (error: LsTokenError, op: string, id?: string) => void;
}

/** One process's side of the fleet protocol; see the module notes. Every store call is time-bounded. */
export class Fleet {
  readonly #o: FleetOptions;
  #beating: Promise<void> | undefined;
  #beatAgain = false;
  #stopped = false;

  constructor(options: FleetOptions) {
    this.#o = options;
  }

  #call<T>(p: Promise<T>, op: string): Promise<T> {
    return boundedStoreCall(p, this.#o.storeTimeoutMs, op);
  }

  #lease(id: string): string {
    return leaseKey(this.#o.appKeyId, id, this.#o.instanceId);
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
      await this.#call(store.setMeta(instanceKey(instanceId), { pid: process.pid, at: now() }, leaseTtlMs), 'heartbeat');
      const h = held();
      if (h === undefined || this.#stopped) return;
      await this.#call(store.setMeta(this.#lease(h.id), { instanceId, at: now() }, leaseTtlMs), 'heartbeat');
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
   * The adopting half of the handshake: write our lease on `id`, then re-read its record. False when
   * the token is being revoked (our lease is dropped again). Store trouble: adopt anyway.
   */
  async leaseThenRecheck(id: string): Promise<boolean> {
    const { store, instanceId, leaseTtlMs, now } = this.#o;
    // Shut down: no lease may appear after shutdown dropped ours (siblings would count a ghost holder).
    if (this.#stopped) return false;
    try {
      await this.#call(store.setMeta(this.#lease(id), { instanceId, at: now() }, leaseTtlMs), 'lease');
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
