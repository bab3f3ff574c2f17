// Reads what the measured-boot simulator needs from a disk image (GPT -> ESP -> loader, UKI,
// loader.conf, credentials, extensions) or from a bare UKI. Reads only what it needs, without root,
// mounting or loop devices.
import { NodeimgError } from './formats/errors.js';
import type { ByteSource } from './formats/source.js';
// the reader modules themselves, not the index files, which also load the GPT and FAT writers
import { readGpt } from './formats/gpt/read-gpt.js';
import { gptEventData } from './formats/gpt/event-data.js';
import { partitionSource } from './formats/gpt/partition-source.js';
import { openFat } from './formats/fat/open.js';
import type { FatEntry, FatFs } from './formats/fat/fat-fs.js';
import { loadUki, type EfiBinary, type Uki } from '../measurements/boot/binaries.js';
import type { HashOffload } from './formats/pe/stream-hash.js';
import type { NamedFile, StubExtras } from '../measurements/boot/stub.js';
import type { HashAlg } from '../measurements/hash.js';

export const ESP_TYPE_GUID = 'c12a7328-f81f-11d2-ba4b-00a0c93ec93b';
const BOOT_PATH = '/EFI/BOOT/BOOTX64.EFI';
/** Largest credential / extension file read into memory. */
const MAX_EXTRA_FILE = 256 * 1024 * 1024;

export type BootMode = 'direct' | 'systemd-boot';

export interface DiskBootChain {
  readonly mode: BootMode;
  readonly uki: Uki;
  readonly loader: { readonly binary: EfiBinary; readonly loaderConf: Uint8Array | undefined } | undefined;
  readonly gptEventData: Uint8Array | undefined;
  readonly extras: StubExtras;
  readonly warnings: readonly string[];
}

const isAddon = (name: string) => /\.addon\.efi$/i.test(name);

async function files(
  fs: FatFs,
  dir: string,
  keep: (name: string) => boolean,
  namesOnly = false,
): Promise<NamedFile[]> {
  if (!(await fs.stat(dir))?.isDirectory) return [];
  const out: NamedFile[] = [];
  for (const e of await fs.list(dir)) {
    if (e.isDirectory || !keep(e.name)) continue;
    if (namesOnly) {
      out.push({ name: e.name, data: new Uint8Array(0) });
      continue;
    }
    if (e.size > MAX_EXTRA_FILE)
      throw new NodeimgError('PARSE_LIMIT', `${e.path}: ${e.size} bytes is too large for an initrd extra`);
    out.push({ name: e.name, data: await fs.readFile(e) });
  }
  return out;
}

/** Credentials and extensions systemd-stub picks up next to the UKI and globally (measured-boot.md §4.5). */
async function extrasFor(fs: FatFs, ukiPath: string): Promise<StubExtras> {
  const extraD = `${ukiPath}.extra.d`;
  // PE addons (v254+: .cmdline into PCR 12, v255+: .dtb, v257+: initrd/ucode) are not modelled:
  // refuse rather than predict a PCR 12 / PCR 9 that the stub would not produce
  const addons = [
    ...(await files(fs, extraD, isAddon, true)),
    ...(await files(fs, '/loader/addons', isAddon, true)),
  ];
  if (addons.length > 0) {
    throw new NodeimgError(
      'PARSE_UNSUPPORTED',
      `the ESP has UKI addons (${addons.map((a) => a.name).join(', ')}); nodeimg does not model addons yet`,
    );
  }
  return {
    credentials: await files(fs, extraD, (n) => n.endsWith('.cred')),
    globalCredentials: await files(fs, '/loader/credentials', (n) => n.endsWith('.cred')),
    sysexts: await files(fs, extraD, (n) => n.endsWith('.raw') && !n.endsWith('.confext.raw')),
    confexts: await files(fs, extraD, (n) => n.endsWith('.confext.raw')),
  };
}

async function isPe(src: ByteSource): Promise<boolean> {
  if (src.size < 64) return false;
  const b = await src.read(0, 2);
  return b[0] === 0x4d && b[1] === 0x5a;
}

/** The boot chain on the ESP of a GPT disk image, as OVMF's default boot option starts it. */
export async function bootChainFromDisk(
  disk: ByteSource,
  banks: readonly HashAlg[],
  opts: {
    ukiPath?: string;
    /**
     * Called with a boot binary's size as soon as it is known (before its FAT chain is walked):
     * where to hash its section contents (measureFile starts a worker thread for large UKIs).
     */
    offloadFor?: (bytes: number) => HashOffload | undefined;
  } = {},
): Promise<DiskBootChain> {
  const gpt = await readGpt(disk);
  const warnings = [...gpt.warnings];
  const esps = gpt.partitions.filter((p) => p.typeGuid === ESP_TYPE_GUID);
  const espPart = esps[0];
  if (!espPart)
    throw new NodeimgError('PARSE_INVALID', `${disk.name}: no EFI system partition (type ${ESP_TYPE_GUID})`, {
      hint: 'nodeimg measures images that boot through UEFI from an ESP',
    });
  if (esps.length > 1)
    warnings.push(`${esps.length} EFI system partitions; using partition ${espPart.index}`);
  const fs = await openFat(partitionSource(disk, espPart));
  const bootEntry = await fs.stat(BOOT_PATH);
  if (!bootEntry || bootEntry.isDirectory) {
    throw new NodeimgError(
      'PARSE_INVALID',
      `${disk.name}: the ESP has no ${BOOT_PATH}, the removable-media path OVMF boots`,
    );
  }
  const bootBin = await loadBootBinary(fs, bootEntry, banks, opts.offloadFor?.(bootEntry.size));
  const event = await gptEventData(disk, gpt);
  if (bootBin.kernel || bootBin.sections.some((s) => s.name === '.linux')) {
    return {
      mode: 'direct',
      uki: bootBin,
      loader: undefined,
      gptEventData: event,
      extras: await extrasFor(fs, bootEntry.path),
      warnings,
    };
  }
  if (bootBin.systemd?.kind !== 'systemd-boot') {
    throw new NodeimgError(
      'PARSE_UNSUPPORTED',
      `${BOOT_PATH} is neither a UKI nor systemd-boot (shim and GRUB chains are not modelled)`,
    );
  }
  // systemd-boot: the UKI is a Type #2 entry in /EFI/Linux (the default entry when it is the only one)
  let ukiEntry: FatEntry | undefined;
  if (opts.ukiPath) {
    ukiEntry = await fs.stat(opts.ukiPath);
    if (!ukiEntry) throw new NodeimgError('USAGE', `no ${opts.ukiPath} on the ESP`);
  } else {
    const candidates = (await fs.stat('/EFI/Linux'))?.isDirectory
      ? (await fs.list('/EFI/Linux')).filter(
          (e) => !e.isDirectory && /\.efi$/i.test(e.name) && !/\.addon\.efi$/i.test(e.name),
        )
      : [];
    if (candidates.length !== 1) {
      throw new NodeimgError(
        'USAGE',
        `systemd-boot has ${candidates.length} UKIs in /EFI/Linux; name the one that boots with --uki PATH`,
      );
    }
    ukiEntry = candidates[0];
  }
  if (!ukiEntry) throw new NodeimgError('USAGE', 'no UKI entry for systemd-boot');
  const uki = await loadBootBinary(fs, ukiEntry, banks, opts.offloadFor?.(ukiEntry.size));
  const conf = await fs.stat('/loader/loader.conf');
  return {
    mode: 'systemd-boot',
    uki,
    loader: { binary: bootBin, loaderConf: conf && !conf.isDirectory ? await fs.readFile(conf) : undefined },
    gptEventData: event,
    extras: await extrasFor(fs, ukiEntry.path),
    warnings,
  };
}

/** Loads the binary at the boot path; a UKI has a kernel, systemd-boot has none. */
async function loadBootBinary(
  fs: FatFs,
  e: FatEntry,
  banks: readonly HashAlg[],
  offload: HashOffload | undefined,
): Promise<Uki> {
  // one source per file: each fileSource() walks the file's cluster chain
  const src = fs.fileSource(e);
  if (!(await isPe(src))) throw new NodeimgError('PARSE_INVALID', `${e.path} is not a PE image`);
  return loadUki(src, e.path.replace(/^\//, ''), banks, offload ? { offload } : {});
}
