// The body of an upload (ports.ts StoreBody) as random-access chunks: bytes in memory, or a file
// opened once (its size fixed at open). Multipart uploads read parts by offset; single uploads and
// the dir store read it in order. Files are never read whole unless they are small.
import { open, type FileHandle } from 'node:fs/promises';
import { NodeimgError } from '../../errors.js';
import type { StoreBody } from '../../ports.js';

const CHUNK = 1024 * 1024;

export interface BodySource {
  readonly size: number;
  /** Exactly `length` bytes from `offset` (the caller keeps within size). */
  read(offset: number, length: number): Promise<Buffer>;
  /** All bytes in order, in chunks of at most 1 MiB. */
  chunks(): AsyncGenerator<Buffer>;
  close(): Promise<void>;
}

function fromBytes(bytes: Uint8Array): BodySource {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return {
    size: buf.length,
    read: async (offset, length) => buf.subarray(offset, offset + length),
    async *chunks() {
      for (let o = 0; o < buf.length; o += CHUNK) yield buf.subarray(o, o + CHUNK);
    },
    close: async () => undefined,
  };
}

async function readFull(fh: FileHandle, path: string, offset: number, length: number): Promise<Buffer> {
  const buf = Buffer.allocUnsafe(length);
  let done = 0;
  while (done < length) {
    const { bytesRead } = await fh.read(buf, done, length - done, offset + done);
    if (bytesRead === 0)
      throw new NodeimgError('IO_FAILED', `${path} became shorter while it was being uploaded`);
    done += bytesRead;
  }
  return buf;
}

async function fromFile(path: string): Promise<BodySource> {
  let fh: FileHandle;
  try {
    fh = await open(path, 'r');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'IO_NOT_FOUND' : 'IO_FAILED';
    throw new NodeimgError(code, `cannot open ${path}: ${(err as Error).message}`, { cause: err });
  }
  const st = await fh.stat();
  if (!st.isFile()) {
    await fh.close();
    throw new NodeimgError('IO_FAILED', `${path} is not a regular file`);
  }
  const size = st.size;
  return {
    size,
    read: (offset, length) => readFull(fh, path, offset, length),
    async *chunks() {
      for (let o = 0; o < size; o += CHUNK) yield await readFull(fh, path, o, Math.min(CHUNK, size - o));
    },
    close: () => fh.close(),
  };
}

export function openBody(body: StoreBody): Promise<BodySource> {
  return body instanceof Uint8Array ? Promise.resolve(fromBytes(body)) : fromFile(body.path);
}

/** Opens the body, runs fn, and closes it whatever happens. */
export async function withBody<T>(body: StoreBody, fn: (src: BodySource) => Promise<T>): Promise<T> {
  const src = await openBody(body);
  try {
    return await fn(src);
  } finally {
    await src.close();
  }
}
