/**
 * The raw tokens this process holds, by id. A token enters the moment LS returns it (or the
 * lifecycle adopts it from the store), before any store write, and leaves only when it is revoked
 * or LS says it is dead: so whatever the store does, shutdown can still revoke it from memory.
 * The scheduler reads tokens from here first and from the store only for tokens found there.
 */
export class TokenVault {
  readonly #tokens = new Map<string, string>();
  readonly #onHold: ((token: string) => void) | undefined;
  readonly #onForget: ((token: string) => void) | undefined;

  /**
   * @param hooks `onHold`/`onForget` see each raw token as it enters and leaves (e.g. to register
   *   it with a redactor, so that no message can quote it).
   */
  constructor(hooks: { onHold?: (token: string) => void; onForget?: (token: string) => void } = {}) {
    this.#onHold = hooks.onHold;
    this.#onForget = hooks.onForget;
  }

  /** Keeps `token` under `id`. */
  hold(id: string, token: string): void {
    if (this.#tokens.get(id) === token) return;
    this.#tokens.set(id, token);
    this.#onHold?.(token);
  }

  /** The raw token of `id`, if held. */
  get(id: string): string | undefined {
    return this.#tokens.get(id);
  }

  /** Whether `id` is held. */
  has(id: string): boolean {
    return this.#tokens.has(id);
  }

  /** Lets go of `id` (it was revoked, or LS said it is dead). */
  forget(id: string): void {
    const token = this.#tokens.get(id);
    if (token === undefined) return;
    this.#tokens.delete(id);
    this.#onForget?.(token);
  }

  /** The ids held. */
  ids(): string[] {
    return [...this.#tokens.keys()];
  }

  /** How many tokens are held. */
  get size(): number {
    return this.#tokens.size;
  }
}
