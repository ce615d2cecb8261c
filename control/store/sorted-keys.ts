/**
 * A sorted set of strings as a list of bounded chunks (a flat two-level B-tree):
 * insert/remove cost O(log n + chunk size) instead of the O(n) memmove of one big
 * sorted array, and range scans walk chunks in order. Keys compare by UTF-16 code
 * units (JavaScript `<`), which equals etcd's byte order for keys without astral
 * characters.
 */

/** Split a chunk above this many keys. */
const MAX_CHUNK = 512;

/** First index in `arr` whose key is >= `key` (or > `key` when `after`). */
function bound(arr: readonly string[], key: string, after: boolean): number {
  let lo = 0;
  let hi = arr.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const k = arr[mid] as string;
    if (k < key || (after && k === key)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export class SortedKeys {
  private chunks: string[][] = [];
  private count = 0;

  get size(): number { return this.count; }

  static from(sorted: readonly string[]): SortedKeys {
    const s = new SortedKeys();
    for (let i = 0; i < sorted.length; i += MAX_CHUNK / 2) s.chunks.push(sorted.slice(i, i + MAX_CHUNK / 2));
    s.count = sorted.length;
    return s;
  }

  /** Index of the chunk that holds (or would hold) `key`. */
  private chunkFor(key: string): number {
    let lo = 0;
    let hi = this.chunks.length - 1;
    // Last chunk whose first key <= key (0 if none).
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (((this.chunks[mid] as string[])[0] as string) <= key) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  /** Adds `key`; returns false when it was already present. */
  insert(key: string): boolean {
    if (this.chunks.length === 0) {
      this.chunks.push([key]);
      this.count = 1;
      return true;
    }
    const ci = this.chunkFor(key);
    const chunk = this.chunks[ci] as string[];
    const i = bound(chunk, key, false);
    if (chunk[i] === key) return false;
    chunk.splice(i, 0, key);
    this.count++;
    if (chunk.length > MAX_CHUNK) this.chunks.splice(ci + 1, 0, chunk.splice(chunk.length >>> 1));
    return true;
  }

  /** Removes `key`; returns false when it was absent. */
  remove(key: string): boolean {
    if (this.chunks.length === 0) return false;
    const ci = this.chunkFor(key);
    const chunk = this.chunks[ci] as string[];
    const i = bound(chunk, key, false);
    if (chunk[i] !== key) return false;
    chunk.splice(i, 1);
    this.count--;
    if (chunk.length === 0) this.chunks.splice(ci, 1);
    return true;
  }

  /** Keys >= `from` (or > `from` when `after`) in order. */
  *from(from: string, after = false): IterableIterator<string> {
    if (this.chunks.length === 0) return;
    let ci = this.chunkFor(from);
    let i = bound(this.chunks[ci] as string[], from, after);
    for (; ci < this.chunks.length; ci++, i = 0) {
      const chunk = this.chunks[ci] as string[];
      for (; i < chunk.length; i++) yield chunk[i] as string;
    }
  }

  *[Symbol.iterator](): IterableIterator<string> {
    for (const chunk of this.chunks) yield* chunk;
  }
}
