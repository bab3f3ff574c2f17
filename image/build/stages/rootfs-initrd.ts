// Stage `rootfs-initrd`: what a busybox initrd needs to open a dm-verity erofs root, as a second
// cpio archive the initrd stage appends to its own (the kernel unpacks concatenated archives):
// - kernel modules from the locked linux-image .deb (Debian 6.1 ships dm-mod, dm-bufio, dm-verity,
//   erofs, virtio_blk, ... as plain .ko modules and no modules.dep: depmod runs at installation), the
//   wanted ones and the closure of their `depends=` (.modinfo, elf.ts), as /lib/modules/<name>.ko
//   with /lib/modules/load.order listing them dependencies first (the /init script insmods them);
//   modules.builtin names are skipped;
// - programs from the root file system tarball (dmsetup) with their ELF interpreter and the closure
//   of their DT_NEEDED libraries, resolved inside the tree (tree.ts), so every byte comes from the
//   locked packages and none from the build host.
import { chmod, copyFile, mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { NodeimgError } from '../../formats/errors.js';
import { packTree } from '../rootfs-initrd/cpio.js';
import { dynamicNeeds, moduleDepends } from '../rootfs-initrd/elf.js';
import { resolveInTree } from '../rootfs-initrd/tree.js';
import { runTool } from '../run-tool.js';
import type { BuildStage } from './types.js';

export type RootfsInitrdParams = {
  /** Module names, loaded in this order (each after its dependencies). */
  readonly modules: readonly string[];
  /** Absolute paths of programs in the root file system; each goes to /sbin/<name>. */
  readonly programs: readonly string[];
  readonly sourceDateEpoch: number;
};

const LIB_DIRS = ['/usr/lib/x86_64-linux-gnu', '/lib/x86_64-linux-gnu', '/usr/lib', '/lib'];
const MAX_MODULES = 256;
const norm = (name: string): string => name.replace(/-/g, '_');

/** Dependencies first, roots in the order given. Pure. */
export function loadOrder(roots: readonly string[], deps: ReadonlyMap<string, readonly string[]>): string[] {
  const out: string[] = [];
  const seen = new Set<string>();
  const visit = (m: string, path: readonly string[]): void => {
    if (seen.has(m)) return;
    if (path.includes(m))
      throw new NodeimgError('PARSE_INVALID', `modules depend on each other: ${[...path, m].join(' -> ')}`);
    for (const d of deps.get(m) ?? []) visit(d, [...path, m]);
    seen.add(m);
    out.push(m);
  };
  for (const r of roots) visit(r, []);
  return out;
}

async function tarExtract(
  archive: string,
  dir: string,
  members: readonly string[],
  signal: AbortSignal,
): Promise<void> {
  await runTool('tar', ['-x', '-f', archive, '-C', dir, '--no-same-owner', '--wildcards', ...members], {
    timeoutMs: 600_000,
    signal,
  });
}

/** Copies the wanted modules and their closure into stage/lib/modules; returns the load order. */
async function addModules(
  debFile: string,
  work: string,
  stage: string,
  wanted: readonly string[],
  signal: AbortSignal,
): Promise<string[]> {
  const members = join(work, 'deb');
  const root = join(work, 'kernel');
  await mkdir(members);
  await mkdir(root);
  await runTool('ar', ['x', `--output=${members}`, debFile], { timeoutMs: 300_000, signal });
  const data = (await readdir(members)).find((f) => /^data\.tar(\.\w+)?$/.test(f));
  if (data === undefined) throw new NodeimgError('PARSE_INVALID', 'the kernel .deb has no data.tar member');
  // one decompression, then every tar pass (listing, modules.builtin, each round of the
  // dependency closure) reads the plain tar: 4-5 passes over data.tar.xz took ~40 s
  let archive = join(members, data);
  if (data === 'data.tar.xz') {
    await runTool('xz', ['-d', '-T1', archive], { timeoutMs: 600_000, signal });
    archive = join(members, 'data.tar');
  }
  const { stdout } = await runTool('tar', ['-t', '-f', archive], { timeoutMs: 600_000, signal });
  const paths = new Map<string, string>(); // normalised name -> member
  let builtinMember: string | undefined;
  for (const m of stdout.split('\n')) {
    const ko = /\/lib\/modules\/[^/]+\/kernel\/.*\/([^/]+)\.ko$/.exec(m);
    if (ko) paths.set(norm(ko[1] as string), m);
    if (/\/lib\/modules\/[^/]+\/modules\.builtin$/.test(m)) builtinMember = m;
  }
  const builtin = new Set<string>();
  if (builtinMember !== undefined) {
    await tarExtract(archive, root, [builtinMember], signal);
    for (const l of (await readFile(join(root, builtinMember), 'utf8')).split('\n'))
      if (l.endsWith('.ko')) builtin.add(norm(basename(l, '.ko')));
  }
  const deps = new Map<string, string[]>();
  let pending = [...new Set(wanted.map(norm))];
  while (pending.length > 0) {
    const take = pending.filter((m) => !builtin.has(m));
    const missing = take.filter((m) => !paths.has(m));
    if (missing.length > 0)
      throw new NodeimgError('PARSE_INVALID', `the kernel package has no module ${missing.join(', ')}`, {
        hint: 'check /rootfs/modules against the locked linux-image package',
      });
    if (take.length > 0)
      await tarExtract(
        archive,
        root,
        take.map((m) => paths.get(m) as string),
        signal,
      );
    const next: string[] = [];
    for (const m of take) {
      const d = moduleDepends(await readFile(join(root, paths.get(m) as string))).map(norm);
      deps.set(
        m,
        d.filter((x) => !builtin.has(x)),
      );
      for (const x of d)
        if (!deps.has(x) && !builtin.has(x) && !next.includes(x) && !take.includes(x)) next.push(x);
    }
    pending = next.filter((x) => !deps.has(x));
    if (deps.size > MAX_MODULES) throw new NodeimgError('PARSE_LIMIT', `more than ${MAX_MODULES} modules`);
  }
  const order = loadOrder(
    wanted.map(norm).filter((m) => !builtin.has(m)),
    deps,
  );
  await mkdir(join(stage, 'lib', 'modules'), { recursive: true });
  for (const m of order) {
    const to = join(stage, 'lib', 'modules', `${m}.ko`);
    await copyFile(join(root, paths.get(m) as string), to);
    await chmod(to, 0o644);
  }
  const list = join(stage, 'lib', 'modules', 'load.order');
  await writeFile(list, order.map((m) => `${m}\n`).join(''));
  await chmod(list, 0o644);
  return order;
}

/** Copies the programs, their interpreter and library closure out of the rootfs tarball. */
async function addPrograms(
  rootfsTar: string,
  work: string,
  stage: string,
  programs: readonly string[],
  signal: AbortSignal,
): Promise<void> {
  const tree = join(work, 'rootfs');
  await mkdir(tree);
  await tarExtract(
    rootfsTar,
    tree,
    ['./lib', './lib64', './usr/lib64', './usr/lib/x86_64-linux-gnu', ...programs.map((p) => `.${p}`)],
    signal,
  );
  const copied = new Set<string>();
  const put = async (from: string, to: string, mode: number): Promise<void> => {
    await mkdir(join(stage, to, '..'), { recursive: true });
    await copyFile(from, join(stage, to));
    await chmod(join(stage, to), mode);
  };
  const queue: string[] = [];
  for (const p of programs) {
    const real = await resolveInTree(tree, p);
    if (real === undefined) throw new NodeimgError('PARSE_INVALID', `the root file system has no ${p}`);
    await put(real, `sbin/${basename(p)}`, 0o755);
    queue.push(real);
  }
  while (queue.length > 0) {
    const { needed, interpreter } = dynamicNeeds(await readFile(queue.shift() as string));
    if (interpreter !== undefined && !copied.has(interpreter)) {
      const real = await resolveInTree(tree, interpreter);
      if (real === undefined)
        throw new NodeimgError('PARSE_INVALID', `the root file system has no ${interpreter}`);
      copied.add(interpreter);
      await put(real, interpreter.slice(1), 0o755);
    }
    for (const lib of needed) {
      if (copied.has(lib)) continue;
      copied.add(lib);
      let real: string | undefined;
      for (const d of LIB_DIRS) if ((real = await resolveInTree(tree, `${d}/${lib}`)) !== undefined) break;
      if (real === undefined)
        throw new NodeimgError('PARSE_INVALID', `the root file system has no library ${lib}`);
      await put(real, `lib/x86_64-linux-gnu/${lib}`, 0o644);
      queue.push(real);
    }
  }
}

export const rootfsInitrdStage: BuildStage<RootfsInitrdParams> = {
  kind: 'rootfs-initrd',
  version: 1,
  tools: [
    { bin: 'ar', package: 'binutils' },
    { bin: 'tar', package: 'tar' },
    { bin: 'xz', package: 'xz-utils' },
    { bin: 'cpio', package: 'cpio' },
    { bin: 'gzip', package: 'gzip' },
  ],
  outputs: () => ['rootfs-initrd.cpio.gz'],
  async run(ctx) {
    const stage = join(ctx.workDir, 'stage');
    await mkdir(stage, { mode: 0o755 });
    ctx.progress(`kernel modules ${ctx.params.modules.join(' ')}`);
    await addModules(ctx.inputs['kernel'] as string, ctx.workDir, stage, ctx.params.modules, ctx.signal);
    ctx.progress(`${ctx.params.programs.join(' ')} and libraries`);
    await addPrograms(ctx.inputs['rootfs'] as string, ctx.workDir, stage, ctx.params.programs, ctx.signal);
    for (const d of ['lib', 'lib/modules', 'lib/x86_64-linux-gnu', 'lib64', 'sbin'])
      await chmod(join(stage, d), 0o755).catch(() => undefined);
    await packTree(stage, join(ctx.outDir, 'rootfs-initrd.cpio.gz'), ctx.params.sourceDateEpoch, ctx.signal);
  },
};
