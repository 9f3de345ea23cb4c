/**
 * A `Map` that counts reads, for proving that a code path does not touch the store. It stays a
 * real `Map` (keyv and TokenStore treat it as the in-memory backend) and counts every way of
 * reading it: `get`, `has`, `getMany` (keyv calls it when present), and every iteration
 * (`entries`, `keys`, `values`, `forEach`, `for...of`).
 */
export class CountingMap<V = unknown> extends Map<string, V> {
  reads = { get: 0, has: 0, getMany: 0, iterate: 0 };
  writes = 0;

  /** Total reads of any kind. */
  get totalReads(): number {
    return this.reads.get + this.reads.has + this.reads.getMany + this.reads.iterate;
  }

  reset(): void {
    this.reads = { get: 0, has: 0, getMany: 0, iterate: 0 };
    this.writes = 0;
  }

  override get(key: string): V | undefined {
    this.reads.get++;
    return super.get(key);
  }

  override has(key: string): boolean {
    this.reads.has++;
    return super.has(key);
  }

  getMany(keys: string[]): Array<V | undefined> {
    this.reads.getMany++;
    return keys.map((k) => super.get(k));
  }

  override set(key: string, value: V): this {
    this.writes++;
    return super.set(key, value);
  }

  override entries(): MapIterator<[string, V]> {
    this.reads.iterate++;
    return super.entries();
  }

  override keys(): MapIterator<string> {
    this.reads.iterate++;
    return super.keys();
  }

  override values(): MapIterator<V> {
    this.reads.iterate++;
    return super.values();
  }

  override forEach(cb: (value: V, key: string, map: Map<string, V>) => void, thisArg?: unknown): void {
    this.reads.iterate++;
    super.forEach(cb, thisArg);
  }

  override [Symbol.iterator](): MapIterator<[string, V]> {
    this.reads.iterate++;
    return super.entries();
  }
}
