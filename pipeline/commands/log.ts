// `nodeimg log trusted-root|checkpoint --log dir:PATH`: the local transparency log's trusted root
// (for verify-bundle --trusted-root) and its current signed checkpoint.
import { resolve } from 'node:path';
import type { Command, CommandIo } from '../command.js';
import { UsageError } from '../errors.js';
import { EXIT } from '../exit-codes.js';
import type { LocalLog } from '../adapters/local-log/local-log.js';
import { openLogDir } from './tlog-open.js';
import { KEYLESS_TRUST_HELP, KEYLESS_TRUST_OPTIONS, withKeylessTrust } from './log-keyless.js';

const USAGE =
  'nodeimg log <trusted-root|checkpoint> [--log dir:PATH] [--fulcio-ca FILE|public-good [--ctlog-key FILE]]';
export const DEFAULT_LOG = 'dir:.nodeimg/tlog';

/** `dir:PATH` -> absolute directory; other schemes (a Rekor URL) are not implemented yet. */
export function parseLogRef(ref: string, cwd: string, usage: string): string {
  if (ref.startsWith('dir:') && ref.length > 4) return resolve(cwd, ref.slice(4));
  throw new UsageError(`--log ${ref}: only a local log, dir:PATH, is supported`, { hint: `usage: ${usage}` });
}

/** Opens (creating if needed) the local log; file errors become IO errors. */
export function openLocalLog(dir: string, io?: Pick<CommandIo, 'stderr'>): Promise<LocalLog> {
  return openLogDir(dir, io);
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
${KEYLESS_TRUST_HELP}
`,
  options: { log: { type: 'string' }, ...KEYLESS_TRUST_OPTIONS },
  positionals: { min: 1, max: 1 },
  async run(args, io: CommandIo): Promise<number> {
    const sub = args.positionals[0];
    if (sub !== 'trusted-root' && sub !== 'checkpoint')
      throw new UsageError(`unknown subcommand '${String(sub)}'`, { hint: `usage: ${USAGE}` });
    const ref = typeof args.values['log'] === 'string' ? args.values['log'] : DEFAULT_LOG;
    const log = await openLocalLog(parseLogRef(ref, io.cwd, USAGE), io);
    if (sub === 'trusted-root')
      io.stdout.write(
        `${JSON.stringify(await withKeylessTrust(log.trustedRoot(), args, io, USAGE), null, 2)}\n`,
      );
    else io.stdout.write((await log.checkpoint()).checkpoint);
    await log.close();
    return EXIT.ok;
  },
};
