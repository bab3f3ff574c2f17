import { ParseError } from './errors.js';

/**
 * Bounds-checked little-endian reader over one Uint8Array slice. Never reads outside its slice:
 * every access checks the length first and throws ParseError('PARSE_TRUNCATED') with the absolute
 * offset. `base` is the absolute offset of byte 0 of the slice in the outermost input, used only
 * for error messages.
 */
export class ByteReader {
  readonly bytes: Uint8Array;
  readonly base: number;
  readonly structure: string;
  private readonly view: DataView;
  private pos = 0;

  constructor(bytes: Uint8Array, structure = 'input', base = 0) {
    this.bytes = bytes;
    this.base = base;
    this.structure = structure;
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  get length(): number {
    return this.bytes.byteLength;
  }
  get offset(): number {
    return this.pos;
  }
  get remaining(): number {
    return this.bytes.byteLength - this.pos;
  }

  /** Absolute offset (in the outermost input) of a position in this slice. */
  abs(pos = this.pos): number {
    return this.base + pos;
  }

  fail(
    detail: string,
    pos = this.pos,
    code: 'PARSE_INVALID' | 'PARSE_LIMIT' | 'PARSE_UNSUPPORTED' = 'PARSE_INVALID',
  ): never {
    throw new ParseError(code, this.structure, this.abs(pos), detail);
  }

  private check(pos: number, n: number): void {
    if (
      !Number.isSafeInteger(pos) ||
      !Number.isSafeInteger(n) ||
      pos < 0 ||
      n < 0 ||
      pos + n > this.bytes.byteLength
    ) {
      throw new ParseError(
        'PARSE_TRUNCATED',
        this.structure,
        this.abs(Math.max(0, Math.min(Number.isSafeInteger(pos) ? pos : 0, this.bytes.byteLength))),
        `need ${n} bytes at ${pos}, have ${Math.max(0, this.bytes.byteLength - pos)}`,
      );
    }
  }

  seek(pos: number): this {
    this.check(pos, 0);
    this.pos = pos;
    return this;
  }
  skip(n: number): this {
    this.check(this.pos, n);
    this.pos += n;
    return this;
  }

  // Random access, does not move the cursor.
  u8At(pos: number): number {
    this.check(pos, 1);
    return this.view.getUint8(pos);
  }
  u16At(pos: number): number {
    this.check(pos, 2);
    return this.view.getUint16(pos, true);
  }
  u32At(pos: number): number {
    this.check(pos, 4);
    return this.view.getUint32(pos, true);
  }
  u64At(pos: number): bigint {
    this.check(pos, 8);
    return this.view.getBigUint64(pos, true);
  }
  /** u64 as a number; values above 2^53-1 are rejected rather than rounded. */
  u64nAt(pos: number): number {
    const v = this.u64At(pos);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) this.fail(`64-bit value ${v} is too large`, pos, 'PARSE_LIMIT');
    return Number(v);
  }
  bytesAt(pos: number, n: number): Uint8Array {
    this.check(pos, n);
    return this.bytes.subarray(pos, pos + n);
  }

  // Sequential access, moves the cursor.
  u8(): number {
    const v = this.u8At(this.pos);
    this.pos += 1;
    return v;
  }
  u16(): number {
    const v = this.u16At(this.pos);
    this.pos += 2;
    return v;
  }
  u32(): number {
    const v = this.u32At(this.pos);
    this.pos += 4;
    return v;
  }
  u64(): bigint {
    const v = this.u64At(this.pos);
    this.pos += 8;
    return v;
  }
  u64n(): number {
    const v = this.u64nAt(this.pos);
    this.pos += 8;
    return v;
  }
  read(n: number): Uint8Array {
    const v = this.bytesAt(this.pos, n);
    this.pos += n;
    return v;
  }

  /** A child reader over [pos, pos+n) of this slice; its errors report absolute offsets. */
  sub(pos: number, n: number, structure = this.structure): ByteReader {
    return new ByteReader(this.bytesAt(pos, n), structure, this.abs(pos));
  }

  expectEnd(): void {
    if (this.remaining !== 0) this.fail(`${this.remaining} unexpected trailing bytes`);
  }
}

/** Decodes bytes as Latin-1 text up to the first NUL (or the end). */
export function asciiz(bytes: Uint8Array): string {
  let end = bytes.indexOf(0);
  if (end < 0) end = bytes.length;
  let s = '';
  for (let i = 0; i < end; i++) s += String.fromCharCode(bytes[i] as number);
  return s;
}

/** Decodes UTF-16LE code units up to the first NUL unit (or the end). Odd trailing byte ignored. */
export function utf16z(bytes: Uint8Array): string {
  const units: number[] = [];
  for (let i = 0; i + 1 < bytes.length; i += 2) {
    const u = (bytes[i] as number) | ((bytes[i + 1] as number) << 8);
    if (u === 0) break;
    units.push(u);
  }
  let s = '';
  for (let i = 0; i < units.length; i += 4096) s += String.fromCharCode(...units.slice(i, i + 4096));
  return s;
}

export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}
