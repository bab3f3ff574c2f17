import type { HashAlg } from '../../../measurements/hash.js';
import { ParseError } from '../errors.js';
import { MAX_READ, checkRange, type ByteSource } from '../source.js';
import type { PeImage } from './parse.js';
import { findSection, type PeSection } from './sections.js';
import { hashRanges, type HashOptions } from './stream-hash.js';

// Section bytes as systemd-stub measures them: the first VirtualSize bytes of the section as mapped
// in memory, i.e. min(VirtualSize, SizeOfRawData) bytes from the file followed by the loader's zero
// fill (systemd src/boot/efi/pe.c + stub.c; edk2 BasePeCoffLib PeCoffLoaderLoadImage copies
// min(VirtualSize, SizeOfRawData) and zeroes the rest; measured-boot.md §4.2 "Which bytes").

/** Largest zero fill (VirtualSize - SizeOfRawData) accepted; real images have a few hundred KiB of .bss. */
export const MAX_ZERO_FILL = 16 * 1024 * 1024;
/** Largest section sectionData() materialises; use sectionSource()/sectionDigest() beyond that. */
export const MAX_SECTION_DATA = MAX_READ;
/** Default cap for readSectionText() (.osrel, .cmdline, .uname, .sdmagic are small text). */
export const MAX_SECTION_TEXT = 1024 * 1024;

/**
 * The section's VirtualSize bytes as a ByteSource (file bytes, then zeros). Validates that the raw
 * part lies in the file and that the zero fill is within MAX_ZERO_FILL. Use it to parse an embedded
 * PE (a UKI's .linux) or to stream a section.
 */
export function sectionSource(src: ByteSource, pe: PeImage, section: PeSection): ByteSource {
  const size = section.virtualSize;
  const raw = Math.min(size, section.sizeOfRawData);
  const where = `section ${section.name}`;
  if (section.pointerToRawData + raw > src.size) {
    throw new ParseError(
      'PARSE_TRUNCATED',
      where,
      pe.base + section.headerOffset,
      `raw data [${section.pointerToRawData}, +${raw}) is past the ${src.size}-byte file`,
    );
  }
  if (size - raw > MAX_ZERO_FILL) {
    throw new ParseError(
      'PARSE_LIMIT',
      where,
      pe.base + section.headerOffset,
      `VirtualSize ${size} exceeds SizeOfRawData by more than ${MAX_ZERO_FILL}`,
    );
  }
  const start = section.pointerToRawData;
  return {
    size,
    base: src.base + start,
    name: `${src.name} ${where}`,
    async read(offset, length, into) {
      checkRange(this, offset, length);
      if (offset + length <= raw) return src.read(start + offset, length, into);
      const out =
        into && into.byteLength >= length ? into.subarray(0, length).fill(0) : new Uint8Array(length);
      if (offset < raw) {
        const head = await src.read(start + offset, raw - offset, out);
        if (head.buffer !== out.buffer || head.byteOffset !== out.byteOffset) out.set(head, 0);
      }
      return out;
    },
  };
}

/** The section's VirtualSize bytes (zero-filled past SizeOfRawData), at most MAX_SECTION_DATA. */
export async function sectionData(src: ByteSource, pe: PeImage, section: PeSection): Promise<Uint8Array> {
  if (section.virtualSize > MAX_SECTION_DATA) {
    throw new ParseError(
      'PARSE_LIMIT',
      `section ${section.name}`,
      pe.base + section.headerOffset,
      `VirtualSize ${section.virtualSize} exceeds ${MAX_SECTION_DATA}; stream it with sectionDigest`,
    );
  }
  const s = sectionSource(src, pe, section);
  return s.size === 0 ? new Uint8Array(0) : s.read(0, s.size);
}

/** H(VirtualSize bytes of the section) for each alg, streamed (systemd-stub's PCR 11 data digest). */
export async function sectionDigest<A extends HashAlg>(
  src: ByteSource,
  pe: PeImage,
  section: PeSection,
  algs: readonly A[],
  options: HashOptions = {},
): Promise<Record<A, Uint8Array>> {
  const s = sectionSource(src, pe, section);
  return hashRanges(s, [{ start: 0, end: s.size }], algs, options);
}

/**
 * The text of the first section named `name` (.osrel, .uname, .cmdline, .sdmagic), decoded as UTF-8
 * up to the first NUL, or undefined if there is no such section. Sections over `maxBytes` fail with
 * PARSE_LIMIT rather than being read.
 */
export async function readSectionText(
  src: ByteSource,
  pe: PeImage,
  name: string,
  maxBytes = MAX_SECTION_TEXT,
): Promise<string | undefined> {
  const section = findSection(pe.sections, name);
  if (!section) return undefined;
  if (section.virtualSize > maxBytes) {
    throw new ParseError(
      'PARSE_LIMIT',
      `section ${name}`,
      pe.base + section.headerOffset,
      `VirtualSize ${section.virtualSize} exceeds the ${maxBytes}-byte text limit`,
    );
  }
  const bytes = await sectionData(src, pe, section);
  const nul = bytes.indexOf(0);
  return new TextDecoder('utf-8').decode(nul < 0 ? bytes : bytes.subarray(0, nul));
}
