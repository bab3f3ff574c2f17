// An append-only RFC 6962 Merkle tree kept in memory for the log store: the hash of every complete
// (perfect, aligned) subtree is computed once, when its last leaf arrives, so appending is O(1)
// amortized and any root, inclusion proof or consistency proof over a prefix of the leaves costs
// O(log^2 n) hash look-ups/computations instead of rehashing every leaf (merkle.ts is the
// recursive reference, RFC 6962 section 2.1; the tests compare the two).
import { createHash } from 'node:crypto';
import { nodeHash } from './merkle.js';

const EMPTY_ROOT = createHash('sha256').digest();

/** Largest power of two strictly smaller than n (n >= 2). */
function split(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

export class MerkleTree {
  /** levels[h][i] = hash of the perfect subtree of 2^h leaves starting at leaf i * 2^h. */
  private readonly levels: Buffer[][] = [[]];

  get size(): number {
    return (this.levels[0] as Buffer[]).length;
  }

  /** Appends a leaf hash (already SHA-256(0x00 || data)). */
  append(leaf: Buffer): void {
    let h = 0;
    let node = leaf;
    for (;;) {
      const level = this.levels[h] as Buffer[];
      level.push(node);
      if (level.length % 2 === 1) return;
      node = nodeHash(level[level.length - 2] as Buffer, node);
      h += 1;
      if (this.levels.length === h) this.levels.push([]);
    }
  }

  /** Drops every leaf from `size` on (used to undo an append batch that could not be written). */
  truncate(size: number): void {
    for (let h = 0; h < this.levels.length; h++)
      (this.levels[h] as Buffer[]).length = Math.floor(size / 2 ** h);
  }

  leaf(index: number): Buffer {
    const l = (this.levels[0] as Buffer[])[index];
    if (l === undefined) throw new RangeError(`leaf ${index} is not in a tree of size ${this.size}`);
    return l;
  }

  /** MTH(D[start:end]) for the ranges RFC 6962's recursion visits (start aligned to the left part). */
  private mth(start: number, end: number): Buffer {
    const n = end - start;
    if (n === 0) return EMPTY_ROOT;
    if ((n & (n - 1)) === 0 && start % n === 0) {
      const h = Math.log2(n);
      const cached = this.levels[h]?.[start / n];
      if (cached !== undefined) return cached;
    }
    if (n === 1) return this.leaf(start);
    const k = split(n);
    return nodeHash(this.mth(start, start + k), this.mth(start + k, end));
  }

  private checkSize(size: number): void {
    if (!Number.isSafeInteger(size) || size < 0 || size > this.size)
      throw new RangeError(`no tree of size ${size} (the tree has ${this.size} leaves)`);
  }

  /** Root of the tree of the first `size` leaves. */
  root(size = this.size): Buffer {
    this.checkSize(size);
    return this.mth(0, size);
  }

  /** PATH(m, D[0:size]), leaf -> root. */
  inclusionProof(m: number, size = this.size): Buffer[] {
    this.checkSize(size);
    if (!Number.isSafeInteger(m) || m < 0 || m >= size)
      throw new RangeError(`leaf ${m} is not in a tree of size ${size}`);
    const out: Buffer[] = [];
    const path = (idx: number, start: number, end: number): void => {
      const n = end - start;
      if (n === 1) return;
      const k = split(n);
      if (idx < k) {
        path(idx, start, start + k);
        out.push(this.mth(start + k, end));
      } else {
        path(idx - k, start + k, end);
        out.push(this.mth(start, start + k));
      }
    };
    path(m, 0, size);
    return out;
  }

  /** PROOF(first, D[0:last]), 0 < first <= last. */
  consistencyProof(first: number, last = this.size): Buffer[] {
    this.checkSize(last);
    if (!Number.isSafeInteger(first) || first <= 0 || first > last)
      throw new RangeError(`no consistency proof from ${first} to ${last}`);
    const out: Buffer[] = [];
    const sub = (m: number, start: number, end: number, complete: boolean): void => {
      const n = end - start;
      if (m === n) {
        if (!complete) out.push(this.mth(start, end));
        return;
      }
      const k = split(n);
      if (m <= k) {
        sub(m, start, start + k, complete);
        out.push(this.mth(start + k, end));
      } else {
        sub(m - k, start + k, end, false);
        out.push(this.mth(start, start + k));
      }
    };
    sub(first, 0, last, true);
    return out;
  }
}
