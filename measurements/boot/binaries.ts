// What the simulator needs to know about the EFI binaries of a boot chain, read from their bytes
// through the pure PE codec. Section payloads are streamed on demand, never held in memory whole.
import { NodeimgError } from '../../image/formats/errors.js';
import type { ByteSource } from '../../image/formats/source.js';
import {
  authenticodeHash,
  detectKernel,
  detectSystemd,
  findSection,
  parseCertificates,
  parsePe,
  sectionData,
  sectionDigest,
  sectionSource,
  type PeImage,
  type PeSection,
} from '../../image/formats/pe/index.js';
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
  readonly systemd: { readonly kind: 'systemd-stub' | 'systemd-boot'; readonly version: string; readonly major: number } | undefined;
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

async function efiBinaryOf(src: ByteSource, pe: PeImage, path: string, banks: readonly HashAlg[]): Promise<EfiBinary> {
  const certs = await parseCertificates(src, pe);
  const systemd = await detectSystemd(src, pe);
  return {
    path,
    authenticode: await authenticodeHash(src, pe, banks),
    signatures: certs.flatMap((c) => (c.signature ? [{ certificates: c.signature.certificates.map((x) => x.der), digestAlg: c.signature.digestAlg }] : [])),
    signed: certs.length > 0,
    systemd: systemd ? { kind: systemd.kind, version: systemd.version, major: systemd.major } : undefined,
  };
}

export async function loadEfiBinary(src: ByteSource, path: string, banks: readonly HashAlg[]): Promise<EfiBinary> {
  return efiBinaryOf(src, await parsePe(src), path, banks);
}

async function kernelOf(src: ByteSource, pe: PeImage, linux: PeSection, banks: readonly HashAlg[]): Promise<KernelInfo> {
  // The stub hands the .linux buffer (VirtualSize bytes) to LoadImage, so the firmware's
  // Authenticode is over exactly those bytes (measured-boot.md §1 "ImageSize").
  const ksrc = sectionSource(src, pe, linux);
  const kpe = await parsePe(ksrc);
  const kv = await detectKernel(ksrc);
  return {
    authenticode: await authenticodeHash(ksrc, kpe, banks),
    version: kv?.version,
    major: kv?.major,
    minor: kv?.minor,
    majorImageVersion: kpe.optional.majorImageVersion,
  };
}

export async function loadUki(src: ByteSource, path: string, banks: readonly HashAlg[]): Promise<Uki> {
  const pe = await parsePe(src);
  const base = await efiBinaryOf(src, pe, path, banks);
  const linux = findSection(pe.sections, '.linux');
  const section = (i: number): PeSection => {
    const s = pe.sections[i];
    if (!s) throw new RangeError(`no section ${i}`);
    return s;
  };
  let kernel: KernelInfo | undefined;
  let kernelError: string | undefined;
  if (linux) {
    try {
      kernel = await kernelOf(src, pe, linux, banks);
    } catch (err) {
      // a .linux that is not a PE cannot be started by LoadImage; PCR 11 can still be predicted
      if (!(err instanceof NodeimgError)) throw err;
      kernelError = `.linux is not a valid PE image: ${err.message}`;
    }
  }
  return {
    ...base,
    sections: pe.sections.map((s) => ({ index: s.index, name: s.name, virtualSize: s.virtualSize })),
    kernel,
    kernelError,
    sectionDigest: (i) => sectionDigest(src, pe, section(i), banks),
    sectionBytes: (i) => sectionData(src, pe, section(i)),
    sectionStream: (i) => {
      const s = sectionSource(src, pe, section(i));
      return chunks(s, 0, s.size);
    },
    sectionSize: (i) => section(i).virtualSize,
  };
}
