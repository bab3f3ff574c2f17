// `nodeimg launch-digest --mode snp|snp:svsm|snp:ovmf-hash|seves|sev`: reads the firmware, kernel,
// initrd and SVSM files, checks the options the way sev-snp-measure's cli.py does, and calls the pure
// calculators in measurements/cvm/snp/.
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { NodeimgError, UsageError } from '../errors.js';
import {
  DEFAULT_GUEST_FEATURES,
  MAX_FIRMWARE_SIZE,
  amdLaunchDigests,
  firmwareLaunchDigest,
  kernelHashes,
  loadAmdSevFirmware,
  parseOvmfHashSeed,
  type AmdLaunchResult,
  type AmdSevFirmware,
  type AmdSevMode,
  type KernelHashes,
  type VmmType,
} from '../../measurements/cvm/snp/index.js';
import { readSmallFile } from './eventlog-input.js';
import {
  autoInt,
  parseVcpuSig,
  parseVcpus,
  parseVmmType,
  str,
  type OptionValues,
  type VcpuSignature,
} from './launch-digest-args.js';

export interface AmdRun {
  readonly mode: AmdSevMode | 'snp:ovmf-hash';
  readonly firmware: {
    readonly path: string;
    readonly size: number;
    readonly sha256: string;
    readonly gpa: number;
  };
  readonly vcpus: readonly number[] | null;
  readonly vmmType: VmmType;
  readonly vcpuSig: VcpuSignature;
  readonly guestFeatures: number | null;
  readonly kernel: {
    readonly path: string;
    readonly initrd: string | null;
    readonly append: string | null;
    readonly hashes: KernelHashes;
  } | null;
  readonly svsm: { readonly path: string; readonly varsSize: number } | null;
  readonly ovmfHashSeed: string | null;
  readonly result: AmdLaunchResult;
}

function ioError(path: string, err: unknown): NodeimgError {
  const code = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'IO_NOT_FOUND' : 'IO_FAILED';
  return new NodeimgError(code, `cannot read ${path}: ${(err as Error).message}`, { cause: err });
}

/** SHA-256 of a file of any size, streamed. */
async function sha256File(path: string): Promise<Uint8Array> {
  const h = createHash('sha256');
  try {
    for await (const c of createReadStream(path)) h.update(c as Buffer);
  } catch (err) {
    throw ioError(path, err);
  }
  return new Uint8Array(h.digest());
}

/** Parse errors name the file they come from. */
function inFile<T>(path: string, f: () => T): T {
  try {
    return f();
  } catch (err) {
    if (err instanceof NodeimgError && err.code.startsWith('PARSE_'))
      throw new NodeimgError(err.code, `${path}: ${err.message}`, { cause: err });
    throw err;
  }
}

async function loadFirmware(path: string, what: string, endAt?: number): Promise<AmdSevFirmware> {
  const bytes = await readSmallFile(path, MAX_FIRMWARE_SIZE, what);
  return inFile(path, () => loadAmdSevFirmware(bytes, path, endAt));
}

async function loadKernel(v: OptionValues): Promise<AmdRun['kernel']> {
  const kernel = str(v, 'kernel');
  const initrd = str(v, 'initrd');
  const append = str(v, 'append');
  // cli.py: --initrd / a non-empty --append without --kernel is an error.
  if (kernel === undefined) {
    if (initrd !== undefined || (append ?? '') !== '')
      throw new UsageError('--initrd and --append need --kernel');
    return null;
  }
  const [k, i] = await Promise.all([
    sha256File(kernel),
    initrd === undefined ? undefined : sha256File(initrd),
  ]);
  return {
    path: kernel,
    initrd: initrd ?? null,
    append: append ?? null,
    hashes: kernelHashes({ kernelSha256: k, initrdSha256: i, append }),
  };
}

async function loadSvsm(
  mode: string,
  v: OptionValues,
): Promise<{ path: string; image: Uint8Array; varsSize: number } | null> {
  const path = str(v, 'svsm');
  const varsSize = str(v, 'vars-size');
  const varsFile = str(v, 'vars-file');
  if (mode !== 'snp:svsm') {
    if (path !== undefined || varsSize !== undefined || varsFile !== undefined)
      throw new UsageError('--svsm, --vars-size and --vars-file belong to --mode snp:svsm');
    return null;
  }
  if (path === undefined) throw new UsageError('snp:svsm mode requires --svsm');
  if ((varsSize === undefined) === (varsFile === undefined))
    throw new UsageError('snp:svsm mode requires exactly one of --vars-size or --vars-file');
  const size =
    varsFile !== undefined
      ? await stat(varsFile).then(
          (s) => s.size,
          (err: unknown) => Promise.reject(ioError(varsFile, err)),
        )
      : autoInt('vars-size', varsSize as string);
  return { path, image: await readSmallFile(path, MAX_FIRMWARE_SIZE, 'an SVSM image'), varsSize: size };
}

export async function runAmdLaunch(mode: AmdSevMode | 'snp:ovmf-hash', v: OptionValues): Promise<AmdRun> {
  const ovmf = str(v, 'ovmf');
  if (ovmf === undefined) throw new UsageError('--ovmf FILE is required');
  const fw = await loadFirmware(ovmf, 'a firmware image');
  const firmware = {
    path: ovmf,
    size: fw.size,
    sha256: createHash('sha256').update(fw.bytes).digest('hex'),
    gpa: fw.gpa,
  };
  const vmmType = parseVmmType(str(v, 'vmm-type'));
  const vcpusArg = str(v, 'vcpus');
  const empty = {
    firmware,
    vmmType,
    vcpuSig: { sig: undefined, from: 'none' } as const,
    guestFeatures: null,
    kernel: null,
    svsm: null,
    ovmfHashSeed: null,
  };
  if (mode === 'snp:ovmf-hash') {
    const ld = inFile(ovmf, () => firmwareLaunchDigest(fw));
    const result: AmdLaunchResult = {
      mode: 'snp',
      hash: 'sha384',
      ovmfHash: ld.digest,
      sevHashTable: undefined,
      vmsaBspSha384: undefined,
      vmsaApSha384: undefined,
      pages: ld.runs,
      digests: [],
    };
    return { ...empty, mode, vcpus: null, result };
  }
  if (mode !== 'sev' && vcpusArg === undefined)
    throw new UsageError(`missing --vcpus N in guest mode '${mode}'`);
  const vcpus = mode === 'sev' || vcpusArg === undefined ? null : parseVcpus(vcpusArg);
  const vcpuSig = mode === 'sev' ? empty.vcpuSig : parseVcpuSig(v);
  if (mode !== 'sev' && vmmType === 'QEMU' && vcpuSig.sig === undefined)
    throw new UsageError(`missing --vcpu-type or --vcpu-sig or --vcpu-family in guest mode '${mode}'`);
  const gf = str(v, 'guest-features');
  const guestFeatures =
    mode === 'snp' ? (gf === undefined ? DEFAULT_GUEST_FEATURES : autoInt('guest-features', gf)) : null;
  const seedHex = str(v, 'snp-ovmf-hash');
  const seed = seedHex === undefined ? undefined : parseOvmfHashSeed(seedHex);
  const kernel = await loadKernel(v);
  const svsm = await loadSvsm(mode, v);
  const result = inFile(svsm ? `${ovmf} + ${svsm.path}` : ovmf, () =>
    amdLaunchDigests({
      mode,
      firmware: fw,
      vcpus: vcpus ?? undefined,
      vmmType,
      vcpuSig: vcpuSig.sig,
      guestFeatures: guestFeatures ?? undefined,
      kernel: kernel?.hashes,
      ovmfHashSeed: seed,
      svsm: svsm ? { image: svsm.image, varsSize: svsm.varsSize } : undefined,
    }),
  );
  return {
    mode,
    firmware,
    vcpus,
    vmmType,
    vcpuSig,
    guestFeatures,
    kernel,
    svsm: svsm ? { path: svsm.path, varsSize: svsm.varsSize } : null,
    ovmfHashSeed: seedHex?.toLowerCase() ?? null,
    result,
  };
}
