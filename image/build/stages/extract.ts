// Stage `extract`: files out of a .deb without installing it. `ar x` takes the data member out of
// the .deb (deb(5): an ar archive of debian-binary, control.tar.*, data.tar.*), then `tar -x
// --occurrence=1` extracts only the wanted paths and stops reading as soon as it has them: a
// kernel image sits near the start of linux-image's 400 MB data.tar, so this takes a fraction of a
// second where `dpkg-deb -x` unpacks every module (5-15 s). The last component of a wanted path may
// hold one `*` (boot/vmlinuz-*), which must match exactly one file; each is copied to an output of
// its own name.
import { copyFile, mkdir, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { NodeimgError } from '../../formats/errors.js';
import { ToolError } from '../../../pipeline/errors.js';
import { runTool } from '../run-tool.js';
import type { BuildStage } from './types.js';

export type ExtractParams = {
  /** The package, for messages. */
  readonly package: string;
  /** Output name -> path inside the package (no leading slash). */
  readonly files: { readonly [output: string]: string };
};

/** Whether `name` matches `pattern` (one optional `*`). Pure. */
export function matchesPattern(pattern: string, name: string): boolean {
  const star = pattern.indexOf('*');
  if (star < 0) return name === pattern;
  const head = pattern.slice(0, star);
  const tail = pattern.slice(star + 1);
  return name.length >= head.length + tail.length && name.startsWith(head) && name.endsWith(tail);
}

function notFound(pkg: string, pattern: string, detail: string): NodeimgError {
  return new NodeimgError('PARSE_INVALID', `package ${pkg}: ${pattern} ${detail}`, {
    hint: 'the recipe names a package that does not hold the file the stage needs',
  });
}

async function resolveIn(root: string, pattern: string, pkg: string): Promise<string> {
  const parts = pattern.split('/');
  const last = parts.pop() as string;
  const dir = join(root, ...parts);
  const names = await readdir(dir).catch(() => [] as string[]);
  const hits: string[] = [];
  for (const n of names.filter((x) => matchesPattern(last, x)).sort()) {
    if ((await stat(join(dir, n))).isFile()) hits.push(n);
  }
  if (hits.length !== 1)
    throw notFound(
      pkg,
      pattern,
      `matches ${hits.length === 0 ? 'no regular file' : `${hits.length} files (${hits.join(', ')})`}`,
    );
  return join(dir, hits[0] as string);
}

export const extractStage: BuildStage<ExtractParams> = {
  kind: 'extract',
  version: 1,
  tools: [
    { bin: 'ar', package: 'binutils' },
    { bin: 'tar', package: 'tar' },
    { bin: 'xz', package: 'xz-utils' },
  ],
  outputs: (p) => Object.keys(p.files).sort(),
  async run(ctx) {
    const pkg = ctx.params.package;
    const members = join(ctx.workDir, 'deb');
    const root = join(ctx.workDir, 'root');
    await mkdir(members);
    await mkdir(root);
    ctx.progress(`ar x ${pkg}`);
    await runTool('ar', ['x', `--output=${members}`, ctx.inputs['deb'] as string], {
      timeoutMs: 300_000,
      signal: ctx.signal,
    });
    const data = (await readdir(members)).find((f) => /^data\.tar(\.\w+)?$/.test(f));
    if (data === undefined)
      throw new NodeimgError('PARSE_INVALID', `package ${pkg}: the .deb has no data.tar member`);
    const patterns = Object.values(ctx.params.files);
    ctx.progress(`tar -x ${patterns.join(' ')}`);
    await runTool(
      'tar',
      [
        '-x',
        '-f',
        join(members, data),
        '-C',
        root,
        '--no-same-owner',
        '--wildcards',
        '--occurrence=1',
        ...patterns.map((p) => `./${p}`),
      ],
      { timeoutMs: 300_000, signal: ctx.signal },
    ).catch((err: unknown) => {
      if (err instanceof ToolError && /Not found in archive/.test(err.stderrTail))
        throw notFound(
          pkg,
          patterns.join(', '),
          `is not in the package (${err.stderrTail.split('\n')[0] ?? ''})`,
        );
      throw err;
    });
    for (const [out, pattern] of Object.entries(ctx.params.files)) {
      ctx.signal.throwIfAborted();
      await copyFile(await resolveIn(root, pattern, pkg), join(ctx.outDir, out));
    }
  },
};
