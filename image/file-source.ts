import { open, type FileHandle } from 'node:fs/promises';
import { NodeimgError } from './formats/errors.js';
import { checkRange, type ByteSource } from './formats/source.js';

/** A ByteSource over a file handle: reads only the ranges a parser asks for. */
export interface FileSource extends ByteSource {
  close(): Promise<void>;
}

export async function openFileSource(path: string): Promise<FileSource> {
  let fh: FileHandle;
  try {
    fh = await open(path, 'r');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'IO_NOT_FOUND' : 'IO_FAILED';
    throw new NodeimgError(code, `cannot open ${path}: ${(err as Error).message}`, { cause: err });
  }
  const st = await fh.stat();
  if (!st.isFile() && !st.isBlockDevice()) {
    await fh.close();
    throw new NodeimgError('IO_FAILED', `${path} is not a regular file`);
  }
  const src: FileSource = {
    size: st.size,
    base: 0,
    name: path,
    async read(offset, length, into) {
      checkRange(src, offset, length);
      // every byte is overwritten by the read below; allocUnsafeSlow skips the zero fill and the
      // shared pool; a caller's reused buffer (`into`, formats/source.ts) skips the page faults too
      const buf =
        into && into.byteLength >= length
          ? into.subarray(0, length)
          : new Uint8Array(Buffer.allocUnsafeSlow(length).buffer, 0, length);
      let done = 0;
      while (done < length) {
        const { bytesRead } = await fh.read(buf, done, length - done, offset + done);
        if (bytesRead === 0)
          throw new NodeimgError('IO_FAILED', `${path}: file shrank while reading at ${offset + done}`);
        done += bytesRead;
      }
      return buf;
    },
    close: () => fh.close(),
  };
  return src;
}

/** Runs fn with an open file source and always closes it. */
export async function withFileSource<T>(path: string, fn: (src: FileSource) => Promise<T>): Promise<T> {
  const src = await openFileSource(path);
  try {
    return await fn(src);
  } finally {
    await src.close();
  }
}
