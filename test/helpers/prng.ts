// Deterministic pseudo-random numbers for tests (mulberry32): the same seed gives the same
// images, mutations and file contents on every machine.

export class Prng {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** Uniform 32-bit unsigned integer. */
  u32(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }

  /** Integer in [0, n). */
  int(n: number): number {
    return Math.floor((this.u32() / 0x1_0000_0000) * n);
  }

  chance(p: number): boolean {
    return this.u32() / 0x1_0000_0000 < p;
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)] as T;
  }

  bytes(n: number): Uint8Array {
    return fillRandom(new Uint8Array(n), this.u32());
  }
}

/** Fills `out` with bytes derived from `seed` (fast: 4 bytes per step). */
export function fillRandom(out: Uint8Array, seed: number): Uint8Array {
  const rng = new Prng(seed);
  const words = Math.floor(out.length / 4);
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
  for (let i = 0; i < words; i++) view.setUint32(i * 4, rng.u32(), true);
  for (let i = words * 4; i < out.length; i++) out[i] = rng.u32() & 0xff;
  return out;
}

/** A () => [0, 1) function over the same generator, for code written against Math.random's shape. */
export function prngFn(seed: number): () => number {
  const p = new Prng(seed);
  return () => p.u32() / 0x1_0000_0000;
}
