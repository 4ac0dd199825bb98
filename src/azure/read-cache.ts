/**
 * The adapter's read cache: within one command, a resource is read from Azure once and the answer
 * is reused — the registry that preflight inspects is the one five later steps check — so a full
 * run makes the round trips the workflow needs and no more.
 *
 * What keeps it safe:
 * - Only reads go through it, per resource (a key such as `registry:rg/name`), for at most
 *   `maxAgeMs` (a minute by default; 0 turns it off).
 * - A write to a resource forgets it, before and after the call, and a read that was in flight
 *   across the write is not kept.
 * - After our own write, a read is kept only once it shows that write (`expect`): a step's check
 *   after its apply always reads fresh data, and the engine's settle loop, which re-checks until
 *   Azure reports the change, keeps reading from the wire until it does. After a write that
 *   failed (it may or may not have happened) the next read is fresh, and kept.
 * - Values are copied in and out, so a caller that changes what it got cannot change the cache.
 */

export interface ReadCacheOptions {
  /** How long an answer is reused (ms). 0: never. */
  maxAgeMs: number;
  now?: () => number;
}

export class ReadCache {
  private readonly entries = new Map<string, { at: number; value: unknown }>();
  private readonly generations = new Map<string, number>();
  private readonly expectations = new Map<string, (value: unknown) => boolean>();
  private readonly now: () => number;

  constructor(private readonly opts: ReadCacheOptions) {
    this.now = opts.now ?? Date.now;
  }

  /**
   * The cached answer for `key`, or `load()`'s. The answer is kept when `keep` says so (a run is
   * kept only once it has finished, for example) and no write of ours is still to be seen.
   */
  async read<T>(key: string, load: () => Promise<T>, keep: (value: T) => boolean = () => true): Promise<T> {
    if (this.opts.maxAgeMs <= 0) return load();
    const hit = this.entries.get(key);
    if (hit && this.now() - hit.at <= this.opts.maxAgeMs) return structuredClone(hit.value) as T;
    const generation = this.generations.get(key) ?? 0;
    const at = this.now();
    const value = await load();
    if ((this.generations.get(key) ?? 0) !== generation) return value; // written meanwhile
    const expected = this.expectations.get(key);
    if (expected && !expected(value)) return value; // our write is not visible yet: read again next time
    this.expectations.delete(key);
    if (keep(value)) this.entries.set(key, { at, value: structuredClone(value) });
    return value;
  }

  /** True while `key` holds a kept answer. */
  has(key: string): boolean {
    const hit = this.entries.get(key);
    return hit !== undefined && this.now() - hit.at <= this.opts.maxAgeMs;
  }

  /**
   * Runs a write to the resources `keys`: they are forgotten before and after it. When it
   * succeeds, `expect` (per key) says what a read must show before it is kept again.
   */
  async write<T>(keys: readonly string[], fn: () => Promise<T>, expect: Record<string, (value: any) => boolean> = {}): Promise<T> {
    for (const key of keys) this.forget(key);
    let ok = false;
    try {
      const result = await fn();
      ok = true;
      return result;
    } finally {
      for (const key of keys) {
        this.forget(key);
        // A failed write may or may not have happened: an earlier expectation stands.
        if (!ok) continue;
        const expected = expect[key];
        if (expected) this.expectations.set(key, expected);
        else this.expectations.delete(key);
      }
    }
  }

  /** Forgets `key` (and makes a read in flight for it not kept). */
  forget(key: string): void {
    this.entries.delete(key);
    this.generations.set(key, (this.generations.get(key) ?? 0) + 1);
  }

  /** Forgets every key that starts with `prefix`. */
  forgetPrefix(prefix: string): void {
    const keys = new Set([...this.entries.keys(), ...this.generations.keys()]);
    for (const key of keys) if (key.startsWith(prefix)) this.forget(key);
  }
}
