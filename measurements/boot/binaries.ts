// What the simulator needs to know about the EFI binaries of a boot chain, read from their bytes
// through the pure PE codec. Section payloads are streamed on demand, never held in memory whole.
import { NodeimgError } from '../../image/formats/errors.js';
import type { ByteSource } from '../../image/formats/source.js';
// the PE reader modules themselves, not pe/index.js, which also loads the UKI writer and signer
import { authenticodeHash, authenticodeRanges } from '../../image/formats/pe/authenticode.js';
import { parseCertificates } from '../../image/formats/pe/certificates.js';
import { detectKernel } from '../../image/formats/pe/detect-kernel.js';
import { detectSystemd } from '../../image/formats/pe/detect-systemd.js';
import { parsePe, type PeImage } from '../../image/formats/pe/parse.js';
import { sectionData, sectionDigest, sectionSource } from '../../image/formats/pe/section-data.js';
import { findSection, type PeSection } from '../../image/formats/pe/sections.js';
import { hashRangeGroups, type HashOffload, type RangeGroup } from '../../image/formats/pe/stream-hash.js';
import { chunks } from '../../image/formats/source.js';
import type { HashAlg } from '../hash.js';
import type { BankDigests } from '../pcr-banks.js';
import type { SectionHeaderRef } from '../systemd/select-sections.js';
import type { ImageSignature } from '../firmware/db-authority.js';

export interface EfiBinary {
  /** Path on the ESP ("EFI/BOOT/BOOTX64.EFI") or the file name given. */
  readonly path: string;
  readonly authenticode: BankDigests;
  /** The Authenticode signatures, in certificate-table order (what Secure Boot verification walks). */
  readonly signatures: readonly ImageSignature[];
  readonly signed: boolean;
  /** systemd-stub / systemd-boot major version from the LoaderInfo marker. */
  readonly systemd:
    | { readonly kind: 'systemd-stub' | 'systemd-boot'; readonly version: string; readonly major: number }
    | undefined;
}

export interface KernelInfo {
  readonly authenticode: BankDigests;
  readonly version: string | undefined;
  readonly major: number | undefined;
  readonly minor: number | undefined;
  /** PE MajorImageVersion: systemd-stub uses LoadImage only when >= 1 (older kernels: EFI handover). */
  readonly majorImageVersion: number;
}

export interface Uki extends EfiBinary {
  readonly sections: readonly SectionHeaderRef[];
  /** The kernel in .linux; undefined when there is no .linux or it is not a PE (see kernelError). */
  readonly kernel: KernelInfo | undefined;
  readonly kernelError: string | undefined;
  sectionDigest(index: number): Promise<BankDigests>;
  /** The VirtualSize bytes of a small section (.cmdline, .osrel, .pcrsig, .pcrpkey, .profile). */
  sectionBytes(index: number): Promise<Uint8Array>;
  /** Streams the VirtualSize bytes of any section (.initrd can be large). */
  sectionStream(index: number): AsyncIterable<Uint8Array>;
  sectionSize(index: number): number;
}

async function efiBinaryOf(
  src: ByteSource,
  pe: PeImage,
  path: string,
  banks: readonly HashAlg[],
): Promise<EfiBinary> {
  const certs = await parseCertificates(src, pe);
  const systemd = await detectSystemd(src, pe);
  return {
    path,
    authenticode: await authenticodeHash(src, pe, banks),
    signatures: certs.flatMap((c) =>
      c.signature
        ? [{ certificates: c.signature.certificates.map((x) => x.der), digestAlg: c.signature.digestAlg }]
        : [],
    ),
    signed: certs.length > 0,
    systemd: systemd ? { kind: systemd.kind, version: systemd.version, major: systemd.major } : undefined,
  };
}

export async function loadEfiBinary(
  src: ByteSource,
  path: string,
  banks: readonly HashAlg[],
): Promise<EfiBinary> {
  return efiBinaryOf(src, await parsePe(src), path, banks);
}

/** How loadUki hashes. */
export interface LoadOptions {
  /**
   * Hashes the section contents and the kernel's Authenticode there (a worker thread,
   * image/hash-thread.ts) while this thread reads the file and hashes the UKI's Authenticode.
   */
  readonly offload?: HashOffload;
}

/**
 * Loads a UKI reading it once: the UKI's Authenticode, the VirtualSize digest of every section
 * (PCR 11) and the embedded kernel's Authenticode (PCR 4) come from one forward pass over the file.
 */
export async function loadUki(
  src: ByteSource,
  path: string,
  banks: readonly HashAlg[],
  options: LoadOptions = {},
): Promise<Uki> {
  const pe = await parsePe(src);
  const certs = await parseCertificates(src, pe);
  const systemd = await detectSystemd(src, pe);
  const linux = findSection(pe.sections, '.linux');
  const groups: RangeGroup<HashAlg>[] = [{ ranges: authenticodeRanges(pe), algs: banks }];
  const sectionGroup = new Map<number, number>();
  for (const s of pe.sections) {
    if (s.virtualSize === 0) continue;
    const ss = sectionSource(src, pe, s); // validates the raw range and the zero fill
    const raw = Math.min(s.virtualSize, s.sizeOfRawData);
    sectionGroup.set(s.index, groups.length);
    groups.push({
      ranges: [{ start: s.pointerToRawData, end: s.pointerToRawData + raw }],
      algs: banks,
      zeroTail: ss.size - raw,
      offload: true,
    });
  }
  // The stub hands the .linux buffer (VirtualSize bytes) to LoadImage, so the firmware's
  // Authenticode is over exactly those bytes (measured-boot.md §1 "ImageSize").
  let kernel:
    | {
        pe: PeImage;
        version: Awaited<ReturnType<typeof detectKernel>>;
        group: number | undefined;
        src: ByteSource;
      }
    | undefined;
  let kernelError: string | undefined;
  if (linux) {
    const ksrc = sectionSource(src, pe, linux);
    try {
      const kpe = await parsePe(ksrc);
      const kranges = authenticodeRanges(kpe);
      const raw = Math.min(linux.virtualSize, linux.sizeOfRawData);
      // ranges inside the raw data can share the pass; the zero-filled tail cannot
      const inRaw = kranges.every((r) => r.end <= raw);
      kernel = {
        pe: kpe,
        version: await detectKernel(ksrc),
        group: inRaw ? groups.length : undefined,
        src: ksrc,
      };
      if (inRaw)
        groups.push({
          ranges: kranges.map((r) => ({
            start: r.start + linux.pointerToRawData,
            end: r.end + linux.pointerToRawData,
          })),
          algs: banks,
          offload: true,
        });
    } catch (err) {
      // a .linux that is not a PE cannot be started by LoadImage; PCR 11 can still be predicted
      if (!(err instanceof NodeimgError)) throw err;
      kernelError = `.linux is not a valid PE image: ${err.message}`;
    }
  }
  const digests = await hashRangeGroups(src, groups, options.offload ? { offload: options.offload } : {});
  const kernelInfo: KernelInfo | undefined = kernel && {
    authenticode:
      kernel.group === undefined
        ? await authenticodeHash(kernel.src, kernel.pe, banks)
        : (digests[kernel.group] as BankDigests),
    version: kernel.version?.version,
    major: kernel.version?.major,
    minor: kernel.version?.minor,
    majorImageVersion: kernel.pe.optional.majorImageVersion,
  };
  const section = (i: number): PeSection => {
    const s = pe.sections[i];
    if (!s) throw new RangeError(`no section ${i}`);
    return s;
  };
  return {
    path,
    authenticode: digests[0] as BankDigests,
    signatures: certs.flatMap((c) =>
      c.signature
        ? [{ certificates: c.signature.certificates.map((x) => x.der), digestAlg: c.signature.digestAlg }]
        : [],
    ),
    signed: certs.length > 0,
    systemd: systemd ? { kind: systemd.kind, version: systemd.version, major: systemd.major } : undefined,
    sections: pe.sections.map((s) => ({ index: s.index, name: s.name, virtualSize: s.virtualSize })),
    kernel: kernelInfo,
    kernelError,
    sectionDigest: async (i) => {
      const g = sectionGroup.get(i);
      return g === undefined ? sectionDigest(src, pe, section(i), banks) : (digests[g] as BankDigests);
    },
    sectionBytes: (i) => sectionData(src, pe, section(i)),
    sectionStream: (i) => {
      const s = sectionSource(src, pe, section(i));
      return chunks(s, 0, s.size);
    },
    sectionSize: (i) => section(i).virtualSize,
  };
}
