// Runs before `nodeimg measure` loads its modules (cli.ts CommandEntry.prepare): when an argument
// names a file large enough that measureFile will hash on a worker thread, that worker is started
// now, so its start-up overlaps the module loading (bench/measure.mjs: ~40 ms off a 64 MiB-initrd
// disk). Kept to node:fs and hash-thread.ts, which loads no module of ours but errors.js.
import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import {
  discardPrestartedHashThread,
  HASH_THREAD_MIN_BYTES,
  prestartHashThread,
} from '../../image/hash-thread.js';
import type { CommandIo } from '../command.js';

/**
 * Starts the hash worker when a non-option argument is a regular file of HASH_THREAD_MIN_BYTES or
 * more. Option values are not told apart from the input here (the options are parsed later): at
 * worst a large file given as an option value, or a disk whose UKI turns out small, costs an idle
 * worker's start-up on the other core, which the returned cleanup then closes.
 */
export function prestartForLargeInput(args: readonly string[], io: CommandIo): () => Promise<void> {
  for (const a of args) {
    if (a.startsWith('-') || a === '') continue;
    let large = false;
    try {
      const st = statSync(resolve(io.cwd, a), { throwIfNoEntry: false });
      large = st !== undefined && st.isFile() && st.size >= HASH_THREAD_MIN_BYTES;
    } catch {
      // EACCES, ENOTDIR, ENAMETOOLONG...: only a hint here; the command reports it if it matters
    }
    if (large) {
      prestartHashThread();
      break;
    }
  }
  // run when the command has ended, however it ended
  return discardPrestartedHashThread;
}
