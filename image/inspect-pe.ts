// The per-binary part of `nodeimg inspect`: Authenticode in every bank, sections with the sha256 of
// their VirtualSize bytes (what systemd-stub measures), detected stub/boot loader/kernel versions
// and the signatures present.
import { toHex } from './formats/reader.js';
import type { ByteSource } from './formats/source.js';
import {
  authenticodeHash,
  detectKernel,
  detectSystemd,
  findSection,
  parseCertificates,
  parsePe,
  readSectionText,
  sectionDigest,
  sectionSource,
  type PeImage,
} from './formats/pe/index.js';
import { ALL_HASH_ALGS } from '../measurements/hash.js';
import { sha256Of } from './digest.js';

export interface PeReport {
  readonly path: string;
  readonly partition: number | null;
  readonly size: number;
  readonly sha256: string;
  readonly format: 'PE32' | 'PE32+';
  readonly machine: string;
  readonly subsystem: number;
  readonly timeDateStamp: number;
  readonly authenticode: {
    readonly sha1: string;
    readonly sha256: string;
    readonly sha384: string;
    readonly sha512: string;
  };
  readonly sections: readonly {
    readonly name: string;
    readonly virtualAddress: number;
    readonly virtualSize: number;
    readonly sizeOfRawData: number;
    readonly pointerToRawData: number;
    readonly sha256: string;
  }[];
  readonly systemd: { readonly kind: 'systemd-stub' | 'systemd-boot'; readonly version: string } | null;
  readonly kernel: { readonly version: string; readonly source: 'image' | '.linux' } | null;
  readonly uki: {
    readonly osRelease: string | null;
    readonly uname: string | null;
    readonly cmdline: string | null;
  } | null;
  readonly signatures: readonly {
    readonly offset: number;
    readonly length: number;
    readonly revision: number;
    readonly type: number;
    readonly certificates: readonly { readonly subject: string; readonly issuer: string }[];
  }[];
}

/** X509Certificate prints distinguished names one attribute per line. */
const oneLine = (dn: string) => dn.split('\n').join(', ');

const MACHINES: Record<number, string> = {
  0x14c: 'i386',
  0x8664: 'x86_64',
  0xaa64: 'arm64',
  0x1c2: 'arm',
  0x5064: 'riscv64',
};

async function kernelOf(src: ByteSource, pe: PeImage): Promise<PeReport['kernel']> {
  const linux = findSection(pe.sections, '.linux');
  if (linux) {
    const k = await detectKernel(sectionSource(src, pe, linux));
    return k ? { version: k.version, source: '.linux' } : null;
  }
  const k = await detectKernel(src);
  return k ? { version: k.version, source: 'image' } : null;
}

export async function inspectPe(src: ByteSource, path: string, partition: number | null): Promise<PeReport> {
  const pe = await parsePe(src);
  const [auth, sha256, systemd, kernel] = [
    await authenticodeHash(src, pe, ALL_HASH_ALGS),
    await sha256Of(src),
    await detectSystemd(src, pe),
    await kernelOf(src, pe),
  ];
  const sections = [];
  for (const s of pe.sections) {
    const d = await sectionDigest(src, pe, s, ['sha256']);
    sections.push({
      name: s.name,
      virtualAddress: s.virtualAddress,
      virtualSize: s.virtualSize,
      sizeOfRawData: s.sizeOfRawData,
      pointerToRawData: s.pointerToRawData,
      sha256: toHex(d.sha256),
    });
  }
  const isUki = findSection(pe.sections, '.linux') !== undefined;
  const text = async (name: string) => (await readSectionText(src, pe, name)) ?? null;
  const certs = await parseCertificates(src, pe);
  return {
    path,
    partition,
    size: src.size,
    sha256,
    format: pe.format,
    machine: MACHINES[pe.coff.machine] ?? `0x${pe.coff.machine.toString(16)}`,
    subsystem: pe.optional.subsystem,
    timeDateStamp: pe.coff.timeDateStamp,
    authenticode: {
      sha1: toHex(auth.sha1),
      sha256: toHex(auth.sha256),
      sha384: toHex(auth.sha384),
      sha512: toHex(auth.sha512),
    },
    sections,
    systemd: systemd ? { kind: systemd.kind, version: systemd.version } : null,
    kernel,
    uki: isUki
      ? { osRelease: await text('.osrel'), uname: await text('.uname'), cmdline: await text('.cmdline') }
      : null,
    signatures: certs.map((c) => ({
      offset: c.offset,
      length: c.length,
      revision: c.revision,
      type: c.certificateType,
      certificates: (c.signature?.certificates ?? []).map((x) => ({
        subject: oneLine(x.subject),
        issuer: oneLine(x.issuer),
      })),
    })),
  };
}
