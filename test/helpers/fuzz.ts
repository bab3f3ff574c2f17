// Shared plumbing for the image/formats fuzzers: in-place mutation with undo (so multi-MiB
// images are not copied per case), interesting values, and a tally that insists every failure
// is a NodeimgError and that no case hangs.
import { NodeimgError } from '../../image/formats/errors.js';
import type { Prng } from './prng.js';

/** Boundary values for integer fields: zero, one, powers of two and their neighbours, all-ones. */
export const INTERESTING = [
  0, 1, 2, 3, 7, 8, 15, 16, 31, 32, 33, 34, 63, 64, 127, 128, 129, 255, 256, 511, 512, 513, 1023, 1024, 1025,
  4095, 4096, 4097, 0x7fff, 0x8000, 0xfff7, 0xfff8, 0xffff, 0x10000, 0x0ffffff7, 0x0ffffff8, 0x0fffffff,
  0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff,
] as const;

export function interesting(rng: Prng, extra: readonly number[] = []): number {
  if (extra.length > 0 && rng.chance(0.4)) return rng.pick(extra);
  return rng.chance(0.8) ? rng.pick(INTERESTING) : rng.u32();
}

/** Writes into a buffer and remembers the old bytes so restore() brings back the pristine image. */
export class Mutator {
  private readonly undo: { at: number; old: Uint8Array }[] = [];

  constructor(readonly buf: Uint8Array) {}

  write(at: number, bytes: Uint8Array): void {
    if (at < 0 || at >= this.buf.length) return;
    const len = Math.min(bytes.length, this.buf.length - at);
    this.undo.push({ at, old: new Uint8Array(this.buf.subarray(at, at + len)) }); // a copy, even for a Buffer
    this.buf.set(bytes.subarray(0, len), at);
  }

  u8(at: number, v: number): void {
    this.write(at, new Uint8Array([v & 0xff]));
  }

  uint(at: number, size: 1 | 2 | 4 | 8, v: number | bigint): void {
    const b = new Uint8Array(8);
    new DataView(b.buffer).setBigUint64(0, BigInt.asUintN(64, BigInt(v)), true);
    this.write(at, b.subarray(0, size));
  }

  flip(at: number, bit: number): void {
    if (at >= 0 && at < this.buf.length) this.u8(at, (this.buf[at] as number) ^ (1 << bit));
  }

  restore(): void {
    for (let i = this.undo.length - 1; i >= 0; i--) {
      const u = this.undo[i] as { at: number; old: Uint8Array };
      this.buf.set(u.old, u.at);
    }
    this.undo.length = 0;
  }
}

export class FuzzTally {
  cases = 0;
  ok = 0;
  readonly codes = new Map<string, number>();
  slowest = { ms: 0, label: '' };

  constructor(
    private readonly name: string,
    private readonly caseTimeoutMs: number,
  ) {}

  /**
   * Runs one case. Returns normally when it parsed or failed with a NodeimgError; anything else
   * (TypeError, RangeError, stack overflow, a hang past the timeout) is rethrown with the label.
   */
  async run(label: string, body: () => Promise<void>): Promise<void> {
    this.cases++;
    const start = performance.now();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`${this.name} case ${label} still running after ${this.caseTimeoutMs} ms`)),
        this.caseTimeoutMs,
      );
    });
    try {
      await Promise.race([body(), timeout]);
      this.ok++;
    } catch (err) {
      if (!(err instanceof NodeimgError)) {
        const e = new Error(
          `${this.name} case ${label}: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`,
        );
        throw e;
      }
      this.codes.set(err.code, (this.codes.get(err.code) ?? 0) + 1);
    } finally {
      clearTimeout(timer);
      const ms = performance.now() - start;
      if (ms > this.slowest.ms) this.slowest = { ms, label };
    }
  }

  summary(): string {
    const errs = [...this.codes]
      .sort()
      .map(([c, n]) => `${c} ${n}`)
      .join(', ');
    return `${this.name}: ${this.cases} cases, ${this.ok} parsed OK, ${this.cases - this.ok} NodeimgError (${errs}); slowest ${this.slowest.ms.toFixed(1)} ms (${this.slowest.label})`;
  }
}
