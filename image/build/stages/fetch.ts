// Stage `fetch`: one locked .deb in the content-addressed store --cache DIR/debs/sha256/<hex>.deb.
// A missing file is downloaded with `apt-get download name=version` into a private temporary folder,
// hashed, and renamed into place only when its sha256 and size are the lock's. A stored file is
// hashed again whenever a stage is about to read it: a file that does not match (damaged, tampered)
// is removed and the build stops with CHECK_FAILED, so the next build downloads it afresh. Files put
// into the store by hand (an offline rebuild from an archive of the debs) are used when they match.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { chmod, mkdir, mkdtemp, readdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { NodeimgError } from '../../formats/errors.js';
import { ToolError } from '../../../pipeline/errors.js';
import { runTool } from '../run-tool.js';
import type { KnownFile, SourceContext, SourceStage } from './types.js';

export type FetchParams = {
  readonly name: string;
  readonly version: string;
  readonly architecture: string;
  readonly sha256: string;
  readonly size: number;
};

export async function sha256OfFile(path: string, signal?: AbortSignal): Promise<KnownFile> {
  const h = createHash('sha256');
  let size = 0;
  for await (const chunk of createReadStream(path, { highWaterMark: 4 * 1024 * 1024 })) {
    signal?.throwIfAborted();
    h.update(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  return { sha256: h.digest('hex'), size };
}

/** Where a .deb with this sha256 lives in the store. Pure. */
export function debPath(storeDir: string, sha256: string): string {
  return join(storeDir, 'sha256', `${sha256}.deb`);
}

const label = (p: FetchParams): string => `${p.name}=${p.version} (${p.architecture})`;

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    (s) => s.isFile(),
    () => false,
  );
}

async function download(ctx: SourceContext<FetchParams>, target: string): Promise<void> {
  const p = ctx.params;
  await mkdir(join(ctx.storeDir, 'sha256'), { recursive: true });
  const tmp = await mkdtemp(join(ctx.storeDir, '.tmp-fetch-'));
  try {
    await chmod(tmp, 0o755); // apt-get download drops privileges to _apt when it can
    ctx.progress(`downloading ${(p.size / 1e6).toFixed(1)} MB`);
    await runTool('apt-get', ['download', '-q', `${p.name}=${p.version}`], {
      cwd: tmp,
      timeoutMs: 900_000,
      signal: ctx.signal,
    }).catch((err: unknown) => {
      if (!(err instanceof ToolError) || err.code !== 'TOOL_FAILED' || ctx.signal.aborted) throw err;
      const info = { tool: err.tool, argv: err.argv, stderrTail: err.stderrTail };
      throw new ToolError('TOOL_FAILED', info, `apt-get download ${label(p)} failed: ${err.message}`, {
        cause: err,
        hint:
          `the host's apt indexes may no longer offer this version (the archive moved on; reproducible-build.md §10): ` +
          `put the locked file (sha256 ${p.sha256}) at ${target} by hand, or run nodeimg lock again and review the change`,
      });
    });
    const file = (await readdir(tmp)).find((f) => f.endsWith('.deb'));
    if (file === undefined)
      throw new NodeimgError('IO_FAILED', `apt-get download ${p.name}=${p.version} wrote no .deb`);
    const got = await sha256OfFile(join(tmp, file), ctx.signal);
    if (got.sha256 !== p.sha256 || got.size !== p.size)
      throw new NodeimgError(
        'CHECK_FAILED',
        `downloaded ${label(p)} has sha256 ${got.sha256} (${got.size} bytes); the lock pins ${p.sha256} (${p.size} bytes)`,
        { hint: 'the archive serves other bytes under this version; the download was not kept' },
      );
    await rename(join(tmp, file), target);
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

export const fetchStage: SourceStage<FetchParams> = {
  kind: 'fetch',
  version: 1,
  tools: [{ bin: 'apt-get', package: 'apt' }],
  known: (p) => ({ deb: { sha256: p.sha256, size: p.size } }),
  async present(ctx) {
    const path = debPath(ctx.storeDir, ctx.params.sha256);
    return (await exists(path)) ? { deb: path } : undefined;
  },
  async materialize(ctx) {
    const p = ctx.params;
    const path = debPath(ctx.storeDir, p.sha256);
    if (!(await exists(path))) {
      if (ctx.download) {
        const from = await ctx.download(ctx.signal, ctx.progress);
        // the downloader checked size and sha256 against the lock; it must have put it here
        if (!(await exists(path)))
          throw new NodeimgError('INTERNAL', `${label(p)} came from ${from} but is not at ${path}`);
        ctx.progress(`from ${from}`);
      } else await download(ctx, path);
      return { paths: { deb: path }, fetched: true };
    }
    ctx.progress('verifying the stored .deb');
    const got = await sha256OfFile(path, ctx.signal);
    if (got.sha256 !== p.sha256 || got.size !== p.size) {
      await rm(path, { force: true });
      throw new NodeimgError(
        'CHECK_FAILED',
        `the stored .deb of ${label(p)} (${path}) has sha256 ${got.sha256} (${got.size} bytes); the lock pins ${p.sha256} (${p.size} bytes)`,
        {
          hint: 'the file was damaged or tampered with; it has been removed and the next build downloads it again',
        },
      );
    }
    return { paths: { deb: path }, fetched: false };
  },
};
