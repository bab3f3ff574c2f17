/** Chains up to this many clusters are tracked in a Set; longer ones switch to a bitmap. */
export const SMALL_SET_LIMIT = 4096;

/**
 * The clusters one chain walk has visited, so a loop in the FAT is caught at its first revisit.
 * Short chains (nearly every file) cost a small Set; a long chain gets a bitmap of
 * (maxCluster + 1) bits, whose size is bounded by the validated volume size (one bit per cluster).
 */
export class ClusterSet {
  private small: Set<number> | undefined = new Set();
  private bits: Uint8Array | undefined;

  constructor(private readonly maxCluster: number) {}

  /** Adds `c`; returns false if it was already present. */
  add(c: number): boolean {
    if (this.small) {
      if (this.small.has(c)) return false;
      this.small.add(c);
      if (this.small.size >= SMALL_SET_LIMIT) this.grow(this.small);
      return true;
    }
    const bits = this.bits as Uint8Array;
    const byte = c >>> 3;
    const mask = 1 << (c & 7);
    const old = bits[byte] as number;
    if (old & mask) return false;
    bits[byte] = old | mask;
    return true;
  }

  private grow(small: Set<number>): void {
    const bits = new Uint8Array((this.maxCluster >>> 3) + 1);
    for (const c of small) bits[c >>> 3] = (bits[c >>> 3] as number) | (1 << (c & 7));
    this.bits = bits;
    this.small = undefined;
  }
}
