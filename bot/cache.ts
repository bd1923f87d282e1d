/** A small map with a time to live and a size cap (oldest entries go first). */
export class TtlCache<K, V> {
  private readonly map = new Map<K, { value: V; expires: number }>();

  constructor(
    private readonly ttlMs: number,
    private readonly maxSize: number,
    private readonly now: () => number = Date.now,
  ) {}

  get(key: K): V | undefined {
    const hit = this.map.get(key);
    if (!hit) return undefined;
    // Expired entries stay for peek() until evicted, overwritten or deleted.
    if (hit.expires <= this.now()) return undefined;
    return hit.value;
  }

  set(key: K, value: V, ttlMs = this.ttlMs): void {
    this.map.delete(key);
    if (this.map.size >= this.maxSize) {
      const oldest = this.map.keys().next();
      if (!oldest.done) this.map.delete(oldest.value);
    }
    this.map.set(key, { value, expires: this.now() + ttlMs });
  }

  /** Like get, but tells "cached as undefined/null" apart from "not cached". */
  lookup(key: K): { hit: true; value: V } | { hit: false } {
    const hit = this.map.get(key);
    if (!hit || hit.expires <= this.now()) return { hit: false };
    return { hit: true, value: hit.value };
  }

  /**
   * The value even past its time to live (until evicted or deleted), and whether it is still
   * fresh: for callers that would rather answer from a stale copy and refresh it behind.
   */
  peek(key: K): { value: V; fresh: boolean } | undefined {
    const hit = this.map.get(key);
    return hit ? { value: hit.value, fresh: hit.expires > this.now() } : undefined;
  }

  delete(key: K): void {
    this.map.delete(key);
  }
}
