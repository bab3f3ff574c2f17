// The output folder (-o, default out/<recipe name>/): the final artefacts and manifest.json appear
// together or not at all. Everything is written into a fresh .tmp-<name>-XXXXXX folder next to it;
// only when that is complete does it take the output's place (the old folder is renamed aside and
// removed afterwards). A folder that is not a previous nodeimg output (no manifest.json) and not
// empty is never replaced. Files are copied sparse (cp --sparse=always), so a 1 GiB disk with a
// small ESP costs a few MiB.
import { chmod, mkdir, mkdtemp, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { NodeimgError, ToolError } from '../errors.js';
import { runTool } from '../../image/build/run-tool.js';
import { contextError } from './errors.js';

/**
 * Copies `src` to the new file `dst` with `cp --sparse=always --reflink=auto`: a reflink where the
 * file system has them, else a copy that skips the source's holes (SEEK_DATA) and leaves zero blocks
 * as holes. Reading a 1 GiB mostly-empty disk image through node costs ~0.35 s of CPU per GiB; cp
 * never reads the holes (bench/build.mjs). A full disk is IO_FAILED, as any other write.
 */
export async function copySparse(src: string, dst: string, signal?: AbortSignal): Promise<number> {
  try {
    await runTool('cp', ['--sparse=always', '--reflink=auto', '--no-preserve=all', '-T', src, dst], {
      timeoutMs: 3_600_000,
      ...(signal ? { signal } : {}),
    });
  } catch (err) {
    if (err instanceof ToolError && /No space left on device|Disk quota exceeded/.test(err.stderrTail))
      throw Object.assign(new Error(`ENOSPC: no space left on device, cp ${basename(dst)}`), {
        code: 'ENOSPC',
      });
    throw err;
  }
  return (await stat(dst)).size;
}

export interface OutputFile {
  /** File name in the output folder. */
  readonly name: string;
  readonly source: string;
  readonly size: number;
}

async function replaceable(dir: string): Promise<boolean> {
  const st = await stat(dir).catch(() => undefined);
  if (!st) return true;
  if (!st.isDirectory()) return false;
  const entries = await readdir(dir);
  return entries.length === 0 || entries.includes('manifest.json');
}

/** Writes `files` and manifest.json as the folder `outDir`, atomically as described above. */
export async function writeOutputDir(
  outDir: string,
  files: readonly OutputFile[],
  manifestText: string,
  signal?: AbortSignal,
): Promise<void> {
  if (!(await replaceable(outDir)))
    throw new NodeimgError(
      'USAGE',
      `${outDir} exists and is not a nodeimg build output; refusing to replace it`,
      {
        hint: 'choose another -o folder, or empty this one',
      },
    );
  const parent = dirname(outDir);
  let tmp: string | undefined;
  try {
    await mkdir(parent, { recursive: true });
    tmp = await mkdtemp(join(parent, `.tmp-${basename(outDir)}-`));
    await chmod(tmp, 0o755);
    for (const f of files) {
      const size = await copySparse(f.source, join(tmp, f.name), signal);
      if (size !== f.size)
        throw new NodeimgError(
          'CHECK_FAILED',
          `${f.name}: copied ${size} bytes, the build recorded ${f.size}`,
        );
    }
    await writeFile(join(tmp, 'manifest.json'), manifestText);
    signal?.throwIfAborted();
    const old = join(parent, `.old-${basename(tmp).slice('.tmp-'.length)}`);
    const hadOld = await rename(outDir, old).then(
      () => true,
      (err: NodeJS.ErrnoException) => {
        if (err.code === 'ENOENT') return false;
        throw err;
      },
    );
    try {
      await rename(tmp, outDir);
    } catch (err) {
      if (hadOld) await rename(old, outDir).catch(() => undefined); // put the previous output back
      throw err;
    }
    tmp = undefined;
    if (hadOld) await rm(old, { recursive: true, force: true });
  } catch (err) {
    if (tmp !== undefined) await rm(tmp, { recursive: true, force: true }).catch(() => undefined);
    if (signal?.aborted) throw err;
    throw contextError(`writing ${outDir}`, err);
  }
}
