// The single-writer lock of a log directory: DIR/lock, created with O_EXCL, holding the owner's
// pid, host name and start time. Node has no flock(), so a lock left by a process that died
// (kill -9) is recognised by its pid no longer running on this host and taken over; a lock from
// another host (a shared file system) is never taken over. A stale lock is moved aside with rename()
// (atomic) and the new lock is read back to make sure it is ours; without flock() a narrow race
// remains when two processes take over the same stale lock at the same instant.
import { randomBytes } from 'node:crypto';
import { readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { processAlive } from '../process-alive.js';

interface LockInfo {
  readonly pid: number;
  readonly host: string;
  readonly started: string;
  readonly token: string;
}

export class DirLockedError extends Error {
  override readonly name = 'DirLockedError';
}

const alive = processAlive;

export class DirLock {
  private constructor(
    readonly path: string,
    private readonly token: string,
  ) {}

  /** Takes DIR/lock or throws DirLockedError naming the holder. */
  static async acquire(dir: string): Promise<DirLock> {
    const path = join(dir, 'lock');
    const info: LockInfo = {
      pid: process.pid,
      host: hostname(),
      started: new Date().toISOString(),
      token: randomBytes(8).toString('hex'),
    };
    for (let attempt = 0; attempt < 50; attempt++) {
      try {
        await writeFile(path, `${JSON.stringify(info)}\n`, { flag: 'wx', mode: 0o644 });
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
        const holder = await readHolder(path);
        if (holder === 'absent') continue; // removed meanwhile: try again
        if (holder === 'garbage') {
          // A lock file cut short by a crash between create and write: stale once it is old.
          if (Date.now() - (await stat(path)).mtimeMs < 5000) {
            await new Promise((r) => setTimeout(r, 200));
            continue;
          }
        } else if (holder.host !== info.host || alive(holder.pid))
          throw new DirLockedError(
            `${dir} is in use by process ${holder.pid} on ${holder.host} (since ${holder.started})`,
          );
        const aside = `${path}.stale-${randomBytes(6).toString('hex')}`;
        try {
          await rename(path, aside);
          await rm(aside, { force: true });
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
        }
        continue;
      }
      const back = await readHolder(path);
      if (typeof back === 'object' && back.token === info.token) return new DirLock(path, info.token);
    }
    throw new DirLockedError(`could not take the lock ${path} (contended)`);
  }

  /** Removes the lock if it is still ours. */
  async release(): Promise<void> {
    const holder = await readHolder(this.path);
    if (typeof holder === 'object' && holder.token === this.token) await rm(this.path, { force: true });
  }
}

async function readHolder(path: string): Promise<LockInfo | 'absent' | 'garbage'> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 'absent';
    throw err;
  }
  try {
    const v = JSON.parse(text) as LockInfo;
    return typeof v.pid === 'number' && typeof v.host === 'string' && typeof v.token === 'string'
      ? v
      : 'garbage';
  } catch {
    return 'garbage';
  }
}
