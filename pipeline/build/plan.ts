// From a checked recipe and its lock to the stage graph (issue 6 §3):
//
//   fetch:<pkg> -> extract:<pkg> --+-> initrd --+
//                                  +------------+-> uki -> [sign] -> esp -> disk -+-> qcow2 | vhd | gce
//                                                                                 +-> measure:<platform>
//
// plus, when a root file system planner is registered (registry.ts), its stages, whose outputs
// become partitions after the ESP and a command-line fragment for the UKI. Everything host-specific
// (absolute paths) stays in the input references; parameters and labels are host-independent.
import { createHash, createPrivateKey, createPublicKey } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { NodeimgError } from '../errors.js';
import { planGpt } from '../../image/formats/gpt/writer.js';
import { OVMF, SYSTEMD_BOOT, SYSTEMD_STUB } from '../../image/build/lab/config.js';
import {
  diskStage,
  espStage,
  extractStage,
  fetchStage,
  gceStage,
  initrdStage,
  measureStage,
  qcow2Stage,
  signStage,
  ukiStage,
  vhdStage,
  type DiskPartitionParams,
  type LockedPackage,
} from '../../image/build/stages/index.js';
import { buildNode, sourceNode, type InputRef, type StageNode } from './graph.js';
import type { Lock } from './lock.js';
import { osReleaseText, packageName, type Format, type LoadedRecipe } from './recipe.js';
import { getRootfsPlanner, type OutputRef, type RootfsPlan } from './registry.js';

const MiB = 1024 * 1024;
const DEFAULT_BANKS = ['sha1', 'sha256', 'sha384'];
const FORMAT_FILES: Record<Exclude<Format, 'raw'>, string> = {
  qcow2: 'disk.qcow2',
  vhd: 'disk.vhd',
  gce: 'disk.tar.gz',
};
const VARS = { ovmf: OVMF.vars, 'ovmf-secboot': OVMF.varsSnakeoil } as const;

export interface SigningFiles {
  /** Absolute paths. */
  readonly key: string;
  readonly cert: string;
}

export interface PlannedArtifact {
  /** File name in the output folder. */
  readonly path: string;
  readonly from: OutputRef;
}

export interface PlannedMeasurement {
  readonly platform: string;
  readonly firmware: string;
  readonly path: string;
  readonly stage: string;
}

export interface Plan {
  readonly nodes: readonly StageNode[];
  readonly artifacts: readonly PlannedArtifact[];
  readonly measurements: readonly PlannedMeasurement[];
}

export interface PlanOptions {
  readonly loaded: LoadedRecipe;
  readonly lock: Lock;
  /** Secure Boot signing key and certificate (from the command line or the recipe). */
  readonly signing?: SigningFiles;
  /**
   * Gets a locked .deb into the cache's .deb store (issue 12: package archive first, then the
   * mirror, checked against the lock); returns what served it. Absent: apt-get download.
   */
  readonly fetchDeb?: (
    p: LockedPackage,
    signal: AbortSignal,
    progress: (text: string) => void,
  ) => Promise<string>;
}

/** The FAT volume id of the ESP: the first 4 bytes of sha256("<seed>:esp-volume-id"). Pure. */
export function espVolumeId(seed: string): number {
  return createHash('sha256').update(`${seed}:esp-volume-id`).digest().readUInt32BE(0);
}

/** sha256 of the DER public key of a PEM private key: names the key without revealing it. */
async function publicKeyDigest(keyFile: string): Promise<string> {
  const pem = await readFile(keyFile).catch((err: unknown) => {
    throw new NodeimgError(
      'IO_NOT_FOUND',
      `cannot read the Secure Boot key ${keyFile}: ${(err as Error).message}`,
    );
  });
  let der: Buffer;
  try {
    der = createPublicKey(createPrivateKey(pem)).export({ type: 'spki', format: 'der' });
  } catch (err) {
    throw new NodeimgError(
      'PARSE_INVALID',
      `the Secure Boot key ${keyFile} is not an unencrypted PEM private key`,
      {
        cause: err,
      },
    );
  }
  return createHash('sha256').update(der).digest('hex');
}

function unsupported(file: string, message: string): NodeimgError {
  return new NodeimgError('PARSE_UNSUPPORTED', `${basename(file)}: /rootfs: ${message}`, {
    hint: 'build without /rootfs for now (examples/minimal shows a kernel + initrd image)',
  });
}

export async function planBuild(opts: PlanOptions): Promise<Plan> {
  const { loaded, lock } = opts;
  const r = loaded.recipe;
  const epoch = r.sourceDateEpoch;
  const nodes: StageNode[] = [];
  const fetched = new Set<string>();
  const byRequest = new Map<string, LockedPackage>();
  for (const p of lock.packages) byRequest.set(p.requested ?? p.name, p);

  const deb = (name: string): InputRef => {
    const p = byRequest.get(name) ?? lock.packages.find((x) => x.name === name);
    if (!p) throw new NodeimgError('INTERNAL', `${name} is not in the lock`);
    const id = `fetch:${p.requested ?? p.name}`;
    if (!fetched.has(id)) {
      fetched.add(id);
      nodes.push(
        sourceNode(
          fetchStage,
          id,
          {
            name: p.name,
            version: p.version,
            architecture: p.architecture,
            sha256: p.sha256,
            size: p.size,
          },
          opts.fetchDeb ? { download: (signal, progress) => opts.fetchDeb!(p, signal, progress) } : {},
        ),
      );
    }
    return { stage: id, output: 'deb' };
  };

  // what each package gives the build
  const files = new Map<string, Record<string, string>>();
  const want = (pkg: string, out: string, path: string): OutputRef => {
    files.set(pkg, { ...(files.get(pkg) ?? {}), [out]: path });
    return { stage: `extract:${pkg}`, output: out };
  };
  const kernel = want(r.kernel.package, 'vmlinuz', r.kernel.image ?? 'boot/vmlinuz-*');
  const stub = want(r.uki.stub, 'linuxx64.efi.stub', SYSTEMD_STUB);
  const busybox = want(r.initrd.busybox, 'busybox', 'bin/busybox');
  const sdbootPkg = r.boot.layout === 'sdboot' ? r.boot.bootloader : undefined;
  const sdboot = sdbootPkg === undefined ? undefined : want(sdbootPkg, 'systemd-bootx64.efi', SYSTEMD_BOOT);
  for (const [pkg, wanted] of [...files].sort(([a], [b]) => (a < b ? -1 : 1)))
    nodes.push(buildNode(extractStage, `extract:${pkg}`, { package: pkg, files: wanted }, { deb: deb(pkg) }));

  let rootfs: RootfsPlan | undefined;
  if (r.rootfs) {
    const planner = getRootfsPlanner();
    if (!planner)
      throw unsupported(
        loaded.file,
        'the root file system stages (mmdebstrap, erofs, dm-verity) are not available yet in this nodeimg',
      );
    rootfs = await planner(
      { loaded, lock, sourceDateEpoch: epoch, seed: r.seed, deb, add: (...n) => nodes.push(...n) },
      r.rootfs,
    );
  } else {
    const used = new Set(files.keys());
    const unused = r.packages.map(packageName).filter((p) => !used.has(p));
    if (unused.length > 0)
      throw new NodeimgError(
        'PARSE_INVALID',
        `${basename(loaded.file)}: /packages: ${unused.join(', ')} ${unused.length === 1 ? 'is' : 'are'} not used by the kernel, initrd, uki or boot sections`,
        { hint: 'without /rootfs every package must have a role; remove it or name it in a section' },
      );
  }

  const platformsNeedSb = r.platforms.filter((p) => p.firmware === 'ovmf-secboot');
  if (platformsNeedSb.length > 0 && !opts.signing)
    throw new NodeimgError(
      'PARSE_INVALID',
      `${basename(loaded.file)}: /platforms: ${platformsNeedSb.map((p) => p.name).join(', ')} enforce Secure Boot, but nothing is signed`,
      { hint: 'add /boot/secureBoot to the recipe or pass --key and --cert' },
    );

  nodes.push(
    buildNode(
      initrdStage,
      'initrd',
      { sourceDateEpoch: epoch },
      {
        busybox,
        init: { file: join(loaded.dir, r.initrd.init), label: r.initrd.init },
        ...(rootfs?.initrd ? { extra: rootfs.initrd } : {}),
      },
    ),
  );
  nodes.push(
    buildNode(
      ukiStage,
      'uki',
      { cmdline: r.cmdline, osRelease: osReleaseText(r.uki.osRelease), sourceDateEpoch: epoch },
      {
        stub,
        kernel,
        initrd: { stage: 'initrd', output: 'initrd.cpio.gz' },
        ...(rootfs?.cmdline ? { 'cmdline-extra': rootfs.cmdline } : {}),
      },
    ),
  );
  let ukiRef: OutputRef = { stage: 'uki', output: 'uki.efi' };
  let sdbootRef: OutputRef | undefined = sdboot;
  if (opts.signing) {
    const { key, cert } = opts.signing;
    nodes.push(
      buildNode(
        signStage,
        'sign',
        { systemdBoot: sdboot !== undefined },
        {
          uki: ukiRef,
          ...(sdboot ? { 'systemd-boot': sdboot } : {}),
          key: { file: key, label: 'secure-boot-key', digest: () => publicKeyDigest(key) },
          cert: { file: cert, label: 'secure-boot-cert' },
        },
      ),
    );
    ukiRef = { stage: 'sign', output: 'uki.efi' };
    if (sdboot) sdbootRef = { stage: 'sign', output: 'systemd-bootx64.efi' };
  }

  const diskSize = r.disk.sizeMiB * MiB;
  const espSize = (r.disk.espSizeMiB ?? 64) * MiB;
  const esp = planGpt({ diskSize, seed: r.seed, partitions: [{ type: 'esp', size: espSize }] }).partitions[0];
  nodes.push(
    buildNode(
      espStage,
      'esp',
      {
        layout: r.boot.layout,
        ukiName: `${r.name}.efi`,
        size: espSize,
        volumeId: espVolumeId(r.seed),
        hiddenSectors: esp?.firstLba ?? 2048,
        sourceDateEpoch: epoch,
      },
      { uki: ukiRef, ...(sdbootRef ? { 'systemd-boot': sdbootRef } : {}) },
    ),
  );
  const partInputs: Record<string, InputRef> = {};
  const partitions: DiskPartitionParams[] = (rootfs?.partitions ?? []).map((p, i) => {
    const { from, uuidFrom, ...rest } = p;
    partInputs[`partition-${i + 2}`] = from;
    if (uuidFrom) partInputs[`partition-${i + 2}-uuid`] = uuidFrom;
    return {
      ...rest,
      input: `partition-${i + 2}`,
      ...(uuidFrom ? { uuidInput: `partition-${i + 2}-uuid` } : {}),
    };
  });
  nodes.push(
    buildNode(
      diskStage,
      'disk',
      { diskSize, seed: r.seed, espSize, partitions, emptyRoot: r.disk.rootPartition ?? true },
      { esp: { stage: 'esp', output: 'esp.img' }, ...partInputs },
    ),
  );
  const disk: OutputRef = { stage: 'disk', output: 'disk.raw' };
  const artifacts: PlannedArtifact[] = [];
  if (r.outputs.formats.includes('raw')) artifacts.push({ path: 'disk.raw', from: disk });
  const formatStages = { qcow2: qcow2Stage, vhd: vhdStage, gce: gceStage } as const;
  for (const f of r.outputs.formats) {
    if (f === 'raw') continue;
    const id = `format:${f}`;
    nodes.push(buildNode(formatStages[f], id, { sourceDateEpoch: epoch }, { disk }));
    artifacts.push({ path: FORMAT_FILES[f], from: { stage: id, output: FORMAT_FILES[f] } });
  }
  artifacts.push({ path: 'uki.efi', from: ukiRef });
  const measurements: PlannedMeasurement[] = r.platforms.map((p, i) => {
    const id = `measure:${p.name}`;
    const vars = VARS[p.firmware];
    nodes.push(
      buildNode(
        measureStage,
        id,
        { firmware: p.firmware, banks: [...(p.banks ?? DEFAULT_BANKS)] },
        { disk, vars: { file: vars, label: `ovmf:${basename(vars)}` } },
      ),
    );
    const path = i === 0 ? 'measurements.json' : `measurements-${p.name}.json`;
    artifacts.push({ path, from: { stage: id, output: 'measurements.json' } });
    return { platform: p.name, firmware: p.firmware, path, stage: id };
  });
  for (const a of rootfs?.artifacts ?? []) artifacts.push({ path: a.path, from: a.from });
  const names = artifacts.map((a) => a.path);
  const dup = names.find((n, i) => names.indexOf(n) !== i);
  if (dup !== undefined || names.includes('manifest.json'))
    throw new NodeimgError('INTERNAL', `two artefacts are called ${dup ?? 'manifest.json'}`);
  return { nodes, artifacts, measurements };
}
