// The four lab disk images built from the lab inputs: initrd -> UKI -> (signed UKI, signed
// systemd-boot) -> disks. cachedLabImages() keeps one built set per input hash under the cache.
import { createHash } from 'node:crypto';
import { chmod, mkdir, mkdtemp, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { DEFAULT_SOURCE_DATE_EPOCH } from '../run-tool.js';
import {
  LAB_CMDLINE,
  LAB_DISK,
  LAB_OS_RELEASE,
  LAB_VARIANTS,
  SNAKEOIL,
  variantLayout,
  variantSecureBoot,
  type LabVariant,
} from './config.js';
import { buildDisk, labEspFiles } from './disk.js';
import { buildInitrd } from './initrd.js';
import { INIT_SCRIPT } from './initrd-init.js';
import { BUILD_TOOL_PACKAGES, installedVersions, sha256File, type LabInputs } from './inputs.js';
import { labCacheDir } from './paths.js';
import { sbsign, withSnakeoilKey } from './sign.js';
import { buildUki } from './uki.js';

/** Bump when the recipe changes in a way the hashed inputs do not show. */
export const LAB_RECIPE_VERSION = 2;

export interface LabBuildOptions {
  readonly inputs: LabInputs;
  readonly outDir: string;
  readonly variants?: readonly LabVariant[];
  readonly sourceDateEpoch?: number;
  readonly cmdline?: string;
}

/** What was built in outDir. */
export interface LabImages {
  readonly dir: string;
  readonly initrd: string;
  readonly uki: string;
  /** Present when a -sb variant was built. */
  readonly ukiSigned?: string;
  readonly systemdBootSigned?: string;
  readonly disks: Partial<Record<LabVariant, string>>;
}

/** Paths of a build folder, so a cached one can be described without rebuilding. Pure. */
export function labImagePaths(dir: string, variants: readonly LabVariant[]): LabImages {
  const sb = variants.some(variantSecureBoot);
  const sdSb = variants.some((v) => variantSecureBoot(v) && variantLayout(v) === 'sdboot');
  return {
    dir,
    initrd: join(dir, 'initrd.cpio.gz'),
    uki: join(dir, 'uki.efi'),
    ...(sb ? { ukiSigned: join(dir, 'uki-signed.efi') } : {}),
    ...(sdSb ? { systemdBootSigned: join(dir, 'systemd-bootx64-signed.efi') } : {}),
    disks: Object.fromEntries(variants.map((v) => [v, join(dir, `disk-${v}.img`)])),
  };
}

/** Builds initrd, UKI, signed copies and the disks of `variants` (default: all four) into outDir. */
export async function buildLabImages(opts: LabBuildOptions): Promise<LabImages> {
  const epoch = opts.sourceDateEpoch ?? DEFAULT_SOURCE_DATE_EPOCH;
  const variants = opts.variants ?? LAB_VARIANTS;
  const out = labImagePaths(opts.outDir, variants);
  await mkdir(opts.outDir, { recursive: true });
  await buildInitrd({ busybox: opts.inputs.busybox, outFile: out.initrd, sourceDateEpoch: epoch });
  await buildUki({
    stub: opts.inputs.stub,
    kernel: opts.inputs.kernel,
    initrd: out.initrd,
    cmdline: opts.cmdline ?? LAB_CMDLINE,
    osRelease: LAB_OS_RELEASE,
    outFile: out.uki,
    sourceDateEpoch: epoch,
  });
  if (out.ukiSigned !== undefined) {
    const { ukiSigned, systemdBootSigned } = out;
    await withSnakeoilKey(async (key) => {
      await sbsign(key, out.uki, ukiSigned, epoch);
      if (systemdBootSigned !== undefined)
        await sbsign(key, opts.inputs.systemdBoot, systemdBootSigned, epoch);
    });
  }
  for (const v of variants) {
    const sb = variantSecureBoot(v);
    const uki = sb ? out.ukiSigned : out.uki;
    const sdboot = sb ? out.systemdBootSigned : opts.inputs.systemdBoot;
    const disk = out.disks[v];
    if (uki === undefined || disk === undefined) continue;
    await buildDisk({
      files: labEspFiles(variantLayout(v), uki, sdboot),
      outFile: disk,
      sourceDateEpoch: epoch,
    });
  }
  return out;
}

/** The cache key of a build: every input file's hash, the recipe and the build tools' versions. */
export async function labBuildKey(opts: Omit<LabBuildOptions, 'outDir'>): Promise<string> {
  const i = opts.inputs;
  const files = [i.stub, i.systemdBoot, i.kernel, i.busybox, SNAKEOIL.key, SNAKEOIL.cert];
  const doc = {
    recipe: LAB_RECIPE_VERSION,
    epoch: opts.sourceDateEpoch ?? DEFAULT_SOURCE_DATE_EPOCH,
    cmdline: opts.cmdline ?? LAB_CMDLINE,
    osRelease: LAB_OS_RELEASE,
    init: INIT_SCRIPT,
    disk: LAB_DISK,
    variants: [...(opts.variants ?? LAB_VARIANTS)].sort(),
    files: await Promise.all(files.map(sha256File)),
    tools: await installedVersions(BUILD_TOOL_PACKAGES),
  };
  return createHash('sha256').update(JSON.stringify(doc)).digest('hex').slice(0, 24);
}

/** buildLabImages into <cache>/lab/<key>/, reusing an earlier build with the same key. */
export async function cachedLabImages(
  opts: Omit<LabBuildOptions, 'outDir'> & { readonly cacheDir?: string },
): Promise<LabImages> {
  const variants = opts.variants ?? LAB_VARIANTS;
  const dir = join(opts.cacheDir ?? labCacheDir(), await labBuildKey(opts));
  const done = await stat(dir).then(
    () => true,
    () => false,
  );
  if (done) return labImagePaths(dir, variants);
  await mkdir(opts.cacheDir ?? labCacheDir(), { recursive: true });
  const tmp = await mkdtemp(`${dir}.tmp-`);
  try {
    await chmod(tmp, 0o755);
    await buildLabImages({ ...opts, outDir: tmp });
    await rename(tmp, dir).catch(async (err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOTEMPTY' && err.code !== 'EEXIST') throw err;
    });
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
  return labImagePaths(dir, variants);
}
