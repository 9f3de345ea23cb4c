/**
 * A min-heap of due times keyed by id, so the scheduler arms one timer for the earliest entry
 * instead of one timer per token. Replacing or removing an entry marks the old one dead (lazy
 * deletion); dead entries are dropped when they reach the top or when they outnumber live ones.
 */
export interface DueEntry<T> {
  readonly id: string;
  readonly at: number;
  readonly data: T;
  dead: boolean;
}

export class DueQueue<T> {
  #heap: DueEntry<T>[] = [];
  readonly #live = new Map<string, DueEntry<T>>();

  /** Live entries. */
  get size(): number {
    return this.#live.size;
  }

  /** Adds or replaces the entry for `id`. */
  set(id: string, at: number, data: T): void {
    const old = this.#live.get(id);
    if (old !== undefined) old.dead = true;
    const entry: DueEntry<T> = { id, at, data, dead: false };
    this.#live.set(id, entry);
    this.#push(entry);
    if (this.#heap.length > 64 && this.#heap.length > 2 * this.#live.size) this.#compact();
  }

  /** The entry for `id`, if scheduled. */
  get(id: string): DueEntry<T> | undefined {
    return this.#live.get(id);
  }

  has(id: string): boolean {
    return this.#live.has(id);
  }

  /** Removes the entry for `id`. */
  delete(id: string): boolean {
    const old = this.#live.get(id);
    if (old === undefined) return false;
    old.dead = true;
    this.#live.delete(id);
    return true;
  }

  /** The earliest live entry, without removing it. */
  peek(): DueEntry<T> | undefined {
    this.#dropDeadTop();
    return this.#heap[0];
  }

  /** Removes and returns every live entry with `at <= now`, earliest first. */
  popDue(now: number): DueEntry<T>[] {
    const out: DueEntry<T>[] = [];
    for (let top = this.peek(); top !== undefined && top.at <= now; top = this.peek()) {
      this.#pop();
      this.#live.delete(top.id);
      out.push(top);
    }
    return out;
  }

  /** Removes and returns every live entry (for a drain). */
  popAll(): DueEntry<T>[] {
    const out = [...this.#live.values()].sort((a, b) => a.at - b.at);
    this.#live.clear();
    this.#heap = [];
    return out;
  }

  /** Live ids, in no particular order. */
  ids(): IterableIterator<string> {
    return this.#live.keys();
  }

  #dropDeadTop(): void {
    while (this.#heap.length > 0 && this.#heap[0]!.dead) this.#pop();
  }

  #compact(): void {
    this.#heap = this.#heap.filter((e) => !e.dead);
    for (let i = (this.#heap.length >> 1) - 1; i >= 0; i--) this.#down(i);
  }

  #push(entry: DueEntry<T>): void {
    const h = this.#heap;
    h.push(entry);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (h[p]!.at <= entry.at) break;
      h[i] = h[p]!;
      i = p;
    }
    h[i] = entry;
  }

  #pop(): void {
    const h = this.#heap;
    const last = h.pop();
    if (last !== undefined && h.length > 0) {
      h[0] = last;
      this.#down(0);
    }
  }

  #down(i: number): void {
    const h = this.#heap;
    const n = h.length;
    const item = h[i]!;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const c = r < n && h[r]!.at < h[l]!.at ? r : l;
      if (h[c]!.at >= item.at) break;
      h[i] = h[c]!;
      i = c;
    }
    h[i] = item;
  }
}
