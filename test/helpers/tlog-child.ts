// `nodeimg tlog serve --json` as a child process (node --import tsx pipeline/bin.ts), for tests that
// need a real separate server process: to kill it, or to see it refuse a second writer.
import { execa } from 'execa';
import { join } from 'node:path';

export const ROOT = join(import.meta.dirname, '..', '..');

export interface ServeDoc {
  readonly url: string;
  readonly port: number;
  readonly logID: string;
  readonly treeSize: number;
}

export function nodeimgChild(args: readonly string[]) {
  return execa(process.execPath, ['--import', 'tsx', join(ROOT, 'pipeline', 'bin.ts'), ...args], {
    cwd: ROOT,
    reject: false,
    buffer: true,
  });
}

export type Child = ReturnType<typeof nodeimgChild>;

/** Starts the server on `dir`; resolves with its --json document once it listens. */
export async function serveChild(dir: string): Promise<{ child: Child; doc: ServeDoc }> {
  const child = nodeimgChild(['tlog', 'serve', '--dir', dir, '--port', '0', '--json']);
  let out = '';
  const doc = await new Promise<ServeDoc>((resolve, reject) => {
    child.stdout?.on('data', (c: Buffer) => {
      out += c.toString();
      try {
        resolve(JSON.parse(out) as ServeDoc);
      } catch {
        // not complete yet
      }
    });
    void child.then((r) => reject(new Error(`tlog serve exited ${String(r.exitCode)}: ${String(r.stderr)}`)));
  });
  return { child, doc };
}
