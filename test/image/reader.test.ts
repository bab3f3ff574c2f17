import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { NodeimgError, ParseError } from '../../image/formats/errors.js';
import { ByteReader, asciiz, utf16z } from '../../image/formats/reader.js';
import { chunks, fromBytes, slice } from '../../image/formats/source.js';

describe('ByteReader', () => {
  it('reads little-endian integers at the cursor and at random positions', () => {
    const r = new ByteReader(Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15]));
    expect(r.u8()).toBe(1);
    expect(r.u16()).toBe(0x0302);
    expect(r.u32()).toBe(0x07060504);
    expect(r.u64()).toBe(0x0f0e0d0c0b0a0908n);
    expect(r.remaining).toBe(0);
    expect(r.u32At(1)).toBe(0x05040302);
  });

  it('never reads past its slice, even when the underlying buffer continues', () => {
    const buf = new Uint8Array(64).fill(0xaa);
    const r = new ByteReader(buf.subarray(8, 12), 'hdr', 100);
    expect(r.u32At(0)).toBe(0xaaaaaaaa);
    const err = (() => {
      try {
        r.u32At(1);
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(ParseError);
    expect((err as ParseError).code).toBe('PARSE_TRUNCATED');
    expect((err as ParseError).offset).toBe(101);
    expect((err as ParseError).message).toContain('hdr at byte 101');
  });

  it('sub-readers report absolute offsets', () => {
    const r = new ByteReader(new Uint8Array(32), 'disk', 1000);
    const s = r.sub(16, 8, 'entry');
    expect(() => s.u64At(4)).toThrow(/entry at byte 1020/);
  });

  it('rejects u64 values that do not fit a safe integer', () => {
    const r = new ByteReader(new Uint8Array(8).fill(0xff));
    expect(() => r.u64nAt(0)).toThrow(ParseError);
    expect(r.u64At(0)).toBe(0xffffffffffffffffn);
  });

  it('rejects negative, fractional and huge positions with a typed error', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 32 }),
        fc.oneof(fc.integer(), fc.double()),
        fc.integer({ min: -4, max: 1 << 30 }),
        (bytes, pos, n) => {
          const r = new ByteReader(bytes);
          try {
            const v = r.bytesAt(pos, n);
            expect(v.length).toBe(n);
            expect(pos + n).toBeLessThanOrEqual(bytes.length);
          } catch (e) {
            expect(e).toBeInstanceOf(NodeimgError);
          }
        },
      ),
    );
  });

  it('decodes NUL-terminated text', () => {
    expect(asciiz(Uint8Array.from([0x61, 0x62, 0, 0x63]))).toBe('ab');
    expect(utf16z(Uint8Array.from([0x61, 0, 0x62, 0, 0, 0, 0x63, 0]))).toBe('ab');
  });
});

describe('ByteSource', () => {
  it('slices map reads and refuse ranges outside the window', async () => {
    const src = fromBytes(
      Uint8Array.from({ length: 100 }, (_, i) => i),
      'disk',
    );
    const part = slice(src, 10, 20, 'part');
    expect(Array.from(await part.read(0, 3))).toEqual([10, 11, 12]);
    await expect(part.read(18, 3)).rejects.toThrow(/part at byte 28/);
    expect(() => slice(src, 90, 20)).toThrow(ParseError);
  });

  it('chunks() streams a range in order with bounded chunk size', async () => {
    const data = Uint8Array.from({ length: 1000 }, (_, i) => i & 0xff);
    const got: number[] = [];
    for await (const c of chunks(fromBytes(data), 5, 990, 64)) {
      expect(c.length).toBeLessThanOrEqual(64);
      got.push(...c);
    }
    expect(got).toEqual(Array.from(data.subarray(5, 995)));
    await expect(async () => {
      for await (const _ of chunks(fromBytes(data), 990, 20, 64)) void _;
    }).rejects.toThrow(ParseError);
  });
});
