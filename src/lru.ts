/** A Map bounded to `max` entries that drops the least recently used (a Map keeps insertion order). */
export class Lru<K, V> {
  /**
   * Each entry keeps the key it was set with: a hit moves the entry to the end
   * under that key, not under the caller's equal one (a string read from the
   * store or a header, which would otherwise outlive its request and reach
   * the old generation: 120 KB of row texts per servers/detail page).
   */
  private readonly map = new Map<K, { key: K; value: V }>();

  constructor(readonly max: number) {
    if (!(Number.isInteger(max) && max > 0)) throw new Error(`Lru: max must be a positive integer, not ${max}`);
  }

  get size(): number {
    return this.map.size;
  }

  /** The value, now the most recently used. */
  get(key: K): V | undefined {
    const entry = this.map.get(key);
    if (!entry) return undefined;
    this.map.delete(key);
    this.map.set(entry.key, entry);
    return entry.value;
  }

  set(key: K, value: V): void {
    this.map.delete(key);
    this.map.set(key, { key, value });
    if (this.map.size > this.max) this.map.delete(this.map.keys().next().value as K);
  }

  delete(key: K): void {
    this.map.delete(key);
  }

  clear(): void {
    this.map.clear();
  }
}
