// `nodeimg tlog serve|pin|trusted-root|checkpoint`: the local transparency log as a Rekor v1 server
// (pipeline/adapters/tlog-server.ts), pinning a served log's key, and the log directory's trusted
// root and checkpoint (as `nodeimg log` prints them, which stays as it is).
import { resolve } from 'node:path';
import { writeJson, type Command, type CommandIo } from '../command.js';
import { NodeimgError, UsageError } from '../errors.js';
import { EXIT } from '../exit-codes.js';
import { VerifyPool } from '../adapters/local-log/verify-pool.js';
import { startTlogServer } from '../adapters/tlog-server.js';
import { assertValid } from '../schema/validate.js';
import tlogServeSchema from '../schema/tlog-serve.schema.json' with { type: 'json' };
import { DEFAULT_LOG } from './log.js';
import { openLogDir } from './tlog-open.js';
import { pinLog } from './tlog-pin.js';

const DEFAULT_DIR = DEFAULT_LOG.slice('dir:'.length);
const USAGE = {
  serve: 'nodeimg tlog serve [--dir DIR] [--port N] [--host ADDR] [--json]',
  pin: 'nodeimg tlog pin URL -o FILE',
  'trusted-root': 'nodeimg tlog trusted-root [--dir DIR]',
  checkpoint: 'nodeimg tlog checkpoint [--dir DIR]',
} as const;
type Sub = keyof typeof USAGE;
const ACCEPTS: Record<Sub, readonly string[]> = {
  serve: ['dir', 'port', 'host', 'json'],
  pin: ['out'],
  'trusted-root': ['dir'],
  checkpoint: ['dir'],
};
const isSub = (s: string | undefined): s is Sub => s !== undefined && Object.hasOwn(USAGE, s);

/** Resolves on SIGINT or SIGTERM. */
function untilSignal(): Promise<string> {
  return new Promise((done) => {
    const on = (sig: string) => () => {
      process.off('SIGINT', int);
      process.off('SIGTERM', term);
      done(sig);
    };
    const int = on('SIGINT');
    const term = on('SIGTERM');
    process.on('SIGINT', int);
    process.on('SIGTERM', term);
  });
}

async function serve(values: Record<string, unknown>, io: CommandIo): Promise<number> {
  const dir = resolve(io.cwd, typeof values['dir'] === 'string' ? values['dir'] : DEFAULT_DIR);
  const portText = typeof values['port'] === 'string' ? values['port'] : '0';
  if (!/^\d{1,5}$/.test(portText) || Number(portText) > 65535)
    throw new UsageError(`--port ${portText} is not a port number (0 picks a free one)`, {
      hint: `usage: ${USAGE.serve}`,
    });
  const host = typeof values['host'] === 'string' ? values['host'] : '127.0.0.1';
  const pool = new VerifyPool();
  let log;
  try {
    log = await openLogDir(dir, io, { verify: pool.verify });
  } catch (err) {
    await pool.close();
    throw err;
  }
  let server;
  try {
    server = await startTlogServer({ log, host, port: Number(portText) });
  } catch (err) {
    await log.close();
    await pool.close();
    throw new NodeimgError('IO_FAILED', `cannot listen on ${host}:${portText}: ${(err as Error).message}`, {
      cause: err,
    });
  }
  const stopped = untilSignal();
  const treeSize = await log.size();
  const doc = {
    url: server.url,
    host,
    port: server.port,
    dir,
    origin: log.info.origin,
    logID: log.logID.toString('hex'),
    treeSize,
  };
  if (values['json'] === true) {
    assertValid('tlog serve document', tlogServeSchema, doc);
    writeJson(io, doc);
  } else
    io.stdout.write(
      `nodeimg tlog: serving ${dir} at ${server.url} (Rekor API v1)\n` +
        `  log ID:    ${doc.logID}\n  tree size: ${treeSize}\n` +
        `  pin it:    nodeimg tlog pin ${server.url} -o log-root.json\n`,
    );
  const sig = await stopped;
  io.stderr.write(`nodeimg tlog: ${sig}, stopping\n`);
  await server.close();
  await pool.close();
  return EXIT.ok;
}

export const tlogCommand: Command = {
  name: 'tlog',
  summary: 'Serve the local transparency log over the Rekor v1 API, pin a served log, show its trusted root.',
  usage: 'nodeimg tlog <serve|pin|trusted-root|checkpoint> [options]',
  help: `subcommands:
  ${USAGE.serve}
      serve the log in DIR (default ${DEFAULT_DIR}; created with a fresh log key if missing) over
      the Rekor API v1 subset nodeimg sign --rekor and sigstore's RekorWitness use, until SIGINT
      or SIGTERM. Only this process writes DIR while it runs (DIR/lock). Entries are answered
      only once durable; a torn tail left by a crash is cut off (and reported) on start.
      Endpoints: POST/GET /api/v1/log/entries, GET /api/v1/log/entries/{uuid|entryID},
      POST /api/v1/log/entries/retrieve, POST /api/v1/index/retrieve, GET /api/v1/log,
      /api/v1/log/publicKey, /api/v1/log/proof, and /api/v1/log/trustedRoot (nodeimg extension).
  ${USAGE.pin}
      fetch a served log's trusted root, check it against the key and checkpoint the log serves,
      write it to FILE, and print the log ID to compare with what tlog serve printed. A FILE that
      pins another key is never replaced.
  ${USAGE['trusted-root']}
  ${USAGE.checkpoint}
      the same as nodeimg log trusted-root|checkpoint --log dir:DIR

options:
  --dir DIR        the log directory (default ${DEFAULT_DIR})
  --port N         TCP port (default 0: a free one, printed)
  --host ADDR      address to listen on (default 127.0.0.1, loopback only)
  --json           serve: print {url, host, port, dir, origin, logID, treeSize} as JSON
                   (schema: pipeline/schema/tlog-serve.schema.json) once listening
  -o, --out FILE   pin: where to write the trusted root
`,
  options: {
    dir: { type: 'string' },
    port: { type: 'string' },
    host: { type: 'string' },
    json: { type: 'boolean' },
    out: { type: 'string', short: 'o' },
  },
  positionals: { min: 1, max: 2 },
  async run(args, io: CommandIo): Promise<number> {
    const [sub, arg] = args.positionals;
    if (!isSub(sub))
      throw new UsageError(`unknown subcommand '${String(sub)}'`, { hint: `usage: ${tlogCommand.usage}` });
    const hint = `usage: ${USAGE[sub]}`;
    for (const k of Object.keys(args.values))
      if (args.values[k] !== undefined && !ACCEPTS[sub].includes(k))
        throw new UsageError(`tlog ${sub} does not take --${k}`, { hint });
    if ((sub === 'pin') !== (arg !== undefined))
      throw new UsageError(sub === 'pin' ? 'tlog pin needs the log URL' : `unexpected argument ${arg}`, {
        hint,
      });
    if (sub === 'serve') return serve(args.values, io);
    if (sub === 'pin') {
      const out = args.values['out'];
      if (typeof out !== 'string') throw new UsageError('tlog pin needs -o FILE', { hint });
      await pinLog(arg as string, resolve(io.cwd, out), io);
      return EXIT.ok;
    }
    const dir = resolve(io.cwd, typeof args.values['dir'] === 'string' ? args.values['dir'] : DEFAULT_DIR);
    const log = await openLogDir(dir, io);
    try {
      if (sub === 'trusted-root') io.stdout.write(`${JSON.stringify(log.trustedRoot(), null, 2)}\n`);
      else io.stdout.write((await log.checkpoint()).checkpoint);
    } finally {
      await log.close();
    }
    return EXIT.ok;
  },
};
