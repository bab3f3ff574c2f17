// Finds PE images (an "MZ" DOS header whose e_lfanew points at "PE\0\0") under a directory.
import { open, readdir } from 'node:fs/promises';
import { join } from 'node:path';

export async function findPeFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (!e.isFile()) continue;
    const path = join(e.parentPath, e.name);
    if (await isPe(path)) out.push(path);
  }
  return out.sort();
}

export async function isPe(path: string): Promise<boolean> {
  const fh = await open(path, 'r');
  try {
    const dos = Buffer.alloc(64);
    if ((await fh.read(dos, 0, 64, 0)).bytesRead < 64 || dos.toString('latin1', 0, 2) !== 'MZ') return false;
    const sig = Buffer.alloc(4);
    const { bytesRead } = await fh.read(sig, 0, 4, dos.readUInt32LE(0x3c));
    return bytesRead === 4 && sig.toString('latin1') === 'PE\0\0';
  } finally {
    await fh.close();
  }
}
