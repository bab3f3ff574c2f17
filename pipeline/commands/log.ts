// `nodeimg log trusted-root|checkpoint --log dir:PATH`: the local transparency log's trusted root
// (for verify-bundle --trusted-root) and its current signed checkpoint.
import { resolve } from 'node:path';
import type { Command, CommandIo } from '../command.js';
import { NodeimgError, UsageError } from '../errors.js';
import { EXIT } from '../exit-codes.js';
import { LocalLog } from '../adapters/local-log/local-log.js';
import { systemClock } from '../adapters/system-clock.js';

const USAGE = 'nodeimg log <trusted-root|checkpoint> [--log dir:PATH]';
export const DEFAULT_LOG = 'dir:.nodeimg/tlog';

/** `dir:PATH` -> absolute directory; other schemes (a Rekor URL) are not implemented yet. */
export function parseLogRef(ref: string, cwd: string, usage: string): string {
  if (ref.startsWith('dir:') && ref.length > 4) return resolve(cwd, ref.slice(4));
  throw new UsageError(`--log ${ref}: only a local log, dir:PATH, is supported`, { hint: `usage: ${usage}` });
}

/** Opens (creating if needed) the local log; file errors become IO errors. */
export async function openLocalLog(dir: string): Promise<LocalLog> {
  try {
    return await LocalLog.open(dir, systemClock);
  } catch (err) {
    throw new NodeimgError('IO_FAILED', `cannot open the local log ${dir}: ${(err as Error).message}`, {
      cause: err,
    });
  }
}

export const logCommand: Command = {
  name: 'log',
  summary: "Show the local transparency log's trusted root (for verify-bundle) or its signed checkpoint.",
  usage: USAGE,
  help: `subcommands:
  trusted-root   write a Sigstore trusted_root.json that pins the log's key to stdout (also kept
                 as PATH/trusted_root.json); pass it to verify-bundle --trusted-root
  checkpoint     write the log's current signed checkpoint (Rekor v1 signed note) to stdout

options:
  --log dir:PATH   the local log directory (default ${DEFAULT_LOG}; created if missing)
`,
  options: { log: { type: 'string' } },
  positionals: { min: 1, max: 1 },
  async run(args, io: CommandIo): Promise<number> {
    const sub = args.positionals[0];
    if (sub !== 'trusted-root' && sub !== 'checkpoint')
      throw new UsageError(`unknown subcommand '${String(sub)}'`, { hint: `usage: ${USAGE}` });
    const ref = typeof args.values['log'] === 'string' ? args.values['log'] : DEFAULT_LOG;
    const log = await openLocalLog(parseLogRef(ref, io.cwd, USAGE));
    if (sub === 'trusted-root') io.stdout.write(`${JSON.stringify(log.trustedRoot(), null, 2)}\n`);
    else io.stdout.write((await log.checkpoint()).checkpoint);
    return EXIT.ok;
  },
};
