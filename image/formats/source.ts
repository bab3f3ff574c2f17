import { ParseError } from './errors.js';

/**
 * Random-access bytes: a file, a range of a disk image, or a buffer. One parser serves tests
 * (fromBytes) and multi-GB images (image/file-source.ts) alike. `read` returns exactly `length`
 * bytes or throws ParseError('PARSE_TRUNCATED'); it never returns bytes outside the source.
 *
 * `into` (optional, at least `length` bytes) lets a streaming caller reuse its buffers: a source
 * that has to copy the bytes anyway (a file) may write them there and return a view of `into`
 * instead of allocating a new buffer; others ignore it. The caller must not touch `into` while the
 * read is pending nor reuse it while it still needs the result, and must not assume the result
 * is `into`. Fresh buffers cost a page fault per 4 KiB: reading 72 MiB into 1 MiB buffers took
 * 57-95 ms, into two reused ones 19-24 ms (bench/measure.mjs).
 */
export interface ByteSource {
  readonly size: number;
  /** Absolute offset of byte 0 of this source in the outermost input (for error messages). */
  readonly base: number;
  /** What this source is, for error messages ("disk.raw", "ESP partition"). */
  readonly name: string;
  read(offset: number, length: number, into?: Uint8Array): Promise<Uint8Array>;
}

/** Largest single read a parser may ask for; larger ranges must be streamed with chunks(). */
export const MAX_READ = 64 * 1024 * 1024;

export function checkRange(src: ByteSource, offset: number, length: number): void {
  if (
    !Number.isSafeInteger(offset) ||
    !Number.isSafeInteger(length) ||
    offset < 0 ||
    length < 0 ||
    offset + length > src.size
  ) {
    throw new ParseError(
      'PARSE_TRUNCATED',
      src.name,
      src.base + Math.max(0, Math.min(Number.isSafeInteger(offset) ? offset : 0, src.size)),
      `range [${offset}, +${length}) is outside the ${src.size}-byte input`,
    );
  }
  if (length > MAX_READ) {
    throw new ParseError(
      'PARSE_LIMIT',
      src.name,
      src.base + offset,
      `single read of ${length} bytes exceeds ${MAX_READ}`,
    );
  }
}

export function fromBytes(bytes: Uint8Array, name = 'input', base = 0): ByteSource {
  return {
    size: bytes.byteLength,
    base,
    name,
    async read(offset, length) {
      checkRange(this, offset, length);
      return bytes.subarray(offset, offset + length);
    },
  };
}

/** A window [offset, offset+size) of another source, e.g. one partition of a disk image. */
export function slice(src: ByteSource, offset: number, size: number, name = src.name): ByteSource {
  if (
    !Number.isSafeInteger(offset) ||
    !Number.isSafeInteger(size) ||
    offset < 0 ||
    size < 0 ||
    offset + size > src.size
  ) {
    throw new ParseError(
      'PARSE_TRUNCATED',
      src.name,
      src.base + Math.max(0, Math.min(offset, src.size)),
      `window [${offset}, +${size}) is outside the ${src.size}-byte input`,
    );
  }
  return {
    size,
    base: src.base + offset,
    name,
    async read(off, length, into) {
      checkRange(this, off, length);
      return src.read(offset + off, length, into);
    },
  };
}

/** Options of chunks(). */
export interface ChunkOptions {
  /**
   * Read into two buffers allocated once and used in turn (see ByteSource `into`): a chunk is then
   * valid only until the consumer asks for the next one, so only consumers that are done with each
   * chunk by then (hashing it) may set this.
   */
  readonly reuse?: boolean;
  /**
   * Read into buffers borrowed from `lend` instead (chunks of at most its slotSize): the consumer
   * owns each chunk it is given and hands its buffer back (giveBack, or whatever the lender
   * offers) before asking for the next one; chunks() gives back what it borrowed for a read that
   * failed or was not consumed.
   */
  readonly lend?: BufferLender;
}

/** Buffers a consumer lends to chunks() (image/hash-thread.ts: the hash worker's shared slots). */
export interface BufferLender {
  readonly slotSize: number;
  /** A free buffer of slotSize bytes; waits until one is free. */
  borrow(): Promise<Uint8Array>;
  giveBack(buffer: Uint8Array): void;
}

/**
 * Streams [offset, offset+length) in chunks, reading the next chunk while the caller consumes the
 * current one, so hashing and I/O overlap. Memory stays at about two chunks whatever the length.
 */
export async function* chunks(
  src: ByteSource,
  offset: number,
  length: number,
  chunkSize = 4 * 1024 * 1024,
  options: ChunkOptions = {},
): AsyncGenerator<Uint8Array> {
  if (length === 0) return;
  checkRange(src, offset, 0);
  if (offset + length > src.size) checkRange(src, offset, length);
  const end = offset + length;
  const lend = options.lend;
  const step = lend ? Math.min(chunkSize, lend.slotSize) : chunkSize;
  const size = Math.min(step, length);
  const buffers = options.reuse && !lend ? [new Uint8Array(size), new Uint8Array(size)] : undefined;
  let turn = 0;
  const read = lend
    ? async (pos: number): Promise<Uint8Array> => {
        const buf = await lend.borrow();
        const n = Math.min(step, end - pos);
        try {
          const got = await src.read(pos, n, buf);
          // a source that could not read in place answered with its own buffer
          if (got.buffer !== buf.buffer || got.byteOffset !== buf.byteOffset) buf.set(got);
          return buf.subarray(0, n);
        } catch (err) {
          lend.giveBack(buf);
          throw err;
        }
      }
    : (pos: number): Promise<Uint8Array> => src.read(pos, Math.min(step, end - pos), buffers?.[turn++ & 1]);
  let pos = offset;
  let next: Promise<Uint8Array> | undefined = read(pos);
  try {
    while (next) {
      const cur = await next;
      pos += cur.byteLength;
      next = pos < end ? read(pos) : undefined;
      yield cur;
    }
  } finally {
    // A consumer that stops early (break, return, throw) leaves the prefetched read pending; if it
    // then failed, Node would crash on the unhandled rejection. A borrowed buffer goes back.
    next?.then((c) => lend?.giveBack(c)).catch(() => undefined);
  }
}
