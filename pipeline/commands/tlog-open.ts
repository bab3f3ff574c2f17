// Opens the local transparency log for a command: errors become NodeimgErrors with hints (the
// directory is locked by another process, its data file is damaged), and what the store repaired
// on open (a torn tail, a migration from the first on-disk format) is reported on stderr.
import type { CommandIo } from '../command.js';
import { CheckFailedError, NodeimgError } from '../errors.js';
import { DirLockedError } from '../adapters/local-log/dir-lock.js';
import type { DigestVerifier } from '../adapters/local-log/hashedrekord-verify.js';
import { LocalLog } from '../adapters/local-log/local-log.js';
import { StoreCorruptError } from '../adapters/local-log/log-store.js';
import { systemClock } from '../adapters/system-clock.js';
import type { Clock } from '../ports.js';

export async function openLogDir(
  dir: string,
  io?: Pick<CommandIo, 'stderr'>,
  options: { clock?: Clock; verify?: DigestVerifier } = {},
): Promise<LocalLog> {
  try {
    return await LocalLog.open(dir, options.clock ?? systemClock, {
      ...(io ? { warn: (m: string) => io.stderr.write(`warning: ${m}\n`) } : {}),
      ...(options.verify ? { verify: options.verify } : {}),
    });
  } catch (err) {
    if (err instanceof DirLockedError)
      throw new NodeimgError('IO_FAILED', `cannot open the local log: ${err.message}`, {
        cause: err,
        hint: 'one process writes a log directory at a time; if nodeimg tlog serve holds it, sign through it with --rekor URL',
      });
    if (err instanceof StoreCorruptError)
      throw new CheckFailedError(`the local log is damaged: ${err.message}`, { cause: err });
    throw new NodeimgError('IO_FAILED', `cannot open the local log ${dir}: ${(err as Error).message}`, {
      cause: err,
    });
  }
}
