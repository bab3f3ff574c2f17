// `nodeimg serve <dir> [--host 127.0.0.1] [--port N] [--json]`: serves a directory store read-only
// over HTTP (pipeline/adapters/store/serve-handler.ts), so a verifier or a test fetches releases
// exactly as it would from a CDN (`https://...` store refs work the same against http://127.0.0.1).
// Loopback by default; runs until SIGINT or SIGTERM, then closes its connections and exits 0.
import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { writeJson, type Command, type CommandIo } from '../command.js';
import { NodeimgError, UsageError } from '../errors.js';
import { EXIT } from '../exit-codes.js';
import { DirStore } from '../adapters/store/dir-store.js';
import { startStoreServer, type StoreServer } from '../adapters/store/serve-handler.js';
import { assertValid } from '../schema/validate.js';
import serveSchema from '../schema/serve.schema.json' with { type: 'json' };

const USAGE = 'nodeimg serve <dir> [--host 127.0.0.1] [--port N] [--json]';
const LOOPBACK = /^(127\.\d{1,3}\.\d{1,3}\.\d{1,3}|::1|localhost)$/;

function portOf(value: unknown): number {
  if (value === undefined) return 8080;
  const n = typeof value === 'string' && /^\d{1,5}$/.test(value) ? Number(value) : NaN;
  if (!(n >= 0 && n <= 65535))
    throw new UsageError(`--port ${String(value)}: not a port number (0-65535; 0 = any free port)`, {
      hint: `usage: ${USAGE}`,
    });
  return n;
}

async function listen(store: DirStore, host: string, port: number): Promise<StoreServer> {
  try {
    return await startStoreServer(store, host, port);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new NodeimgError('IO_FAILED', `cannot listen on ${host}:${port}: ${(err as Error).message}`, {
      cause: err,
      ...(code === 'EADDRINUSE' ? { hint: 'choose another --port, or --port 0 for any free one' } : {}),
    });
  }
}

/** Resolves on the first SIGINT or SIGTERM. */
function interrupted(): Promise<string> {
  return new Promise((done) => {
    const on = (signal: string): void => {
      process.off('SIGINT', on);
      process.off('SIGTERM', on);
      done(signal);
    };
    process.on('SIGINT', on);
    process.on('SIGTERM', on);
  });
}

export const serveCommand: Command = {
  name: 'serve',
  summary: 'Serve a local directory store read-only over HTTP (GET/HEAD, ETag = sha256), as a CDN would.',
  usage: USAGE,
  help: `Serves the objects of a directory store (a dir:<dir> store ref) at
http://HOST:PORT/<key>: GET and HEAD only, Content-Length, ETag "<sha256>" and x-amz-meta-sha256,
single byte ranges, If-None-Match. Paths with "..", "."-names, empty or encoded "/" segments are
refused (400); nothing outside <dir> and nothing in <dir>/.nodeimg-store is served. The one listing
is GET /?list&prefix=P&after=K (JSON, 1000 keys a page). Fetch from it with a store ref
http://127.0.0.1:PORT/.

options:
  --host ADDR   address to listen on (default 127.0.0.1; anything else is reachable by others)
  --port N      port (default 8080; 0 = any free port, see the printed URL)
  --json        print {"$schema", "url", "host", "port", "root"} as JSON once listening

Runs until interrupted (Ctrl-C or SIGTERM), then exits 0.
`,
  options: { host: { type: 'string' }, port: { type: 'string' }, json: { type: 'boolean' } },
  positionals: { min: 1, max: 1 },
  async run(args, io: CommandIo): Promise<number> {
    const root = resolve(io.cwd, args.positionals[0] as string);
    const host = typeof args.values['host'] === 'string' ? args.values['host'] : '127.0.0.1';
    const port = portOf(args.values['port']);
    const st = await stat(root).catch(() => undefined);
    if (!st?.isDirectory()) throw new NodeimgError('IO_NOT_FOUND', `${root} is not a directory`);
    if (!LOOPBACK.test(host))
      io.stderr.write(
        `nodeimg serve: warning: listening on ${host}, not loopback: anyone who can reach it can read ${root}\n`,
      );
    const stop = interrupted();
    const server = await listen(new DirStore(root), host, port);
    if (args.values['json'] === true) {
      const out = {
        $schema: 'https://nodeimg.dev/schema/serve/v1.json',
        url: server.url,
        host,
        port: server.port,
        root,
      };
      assertValid('serve output', serveSchema, out);
      writeJson(io, out);
    } else {
      io.stdout.write(`serving ${root} read-only at ${server.url}\n`);
      io.stderr.write('(Ctrl-C stops)\n');
    }
    const signal = await stop;
    await server.close();
    io.stderr.write(`nodeimg serve: ${signal}: stopped\n`);
    return EXIT.ok;
  },
};
