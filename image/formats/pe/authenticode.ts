import type { HashAlg } from '../../../measurements/hash.js';
import { NodeimgError, ParseError } from '../errors.js';
import type { ByteSource } from '../source.js';
import { DIRECTORY, dataDirectory } from './optional-header.js';
import type { PeImage } from './parse.js';
import { hashRanges, type ByteRange, type HashOptions } from './stream-hash.js';

// PE/COFF Authenticode image hash exactly as edk2 computes it for the TPM event log
// (SecurityPkg/Tcg/Tcg2Dxe/MeasureBootPeCoff.c, Tcg2MeasurePeImage; measured-boot.md §1). The same
// algorithm is systemd src/pcrlock/pehash.c pe_hash(). Deliberately NOT done: the virtual zero
// padding to a multiple of 8 that Foxboron/go-uefi appends; edk2 and systemd do not pad.

/** One hashed range, with what it is for explanations and errors. */
export interface AuthenticodeRange extends ByteRange {
  readonly what: string;
}

/**
 * The byte ranges of the file that Authenticode hashes, in order. Pure: works on the parsed headers
 * and the file size alone. Throws ParseError when a range lies outside the file or the certificate
 * table does not fit in the trailing data.
 */
export function authenticodeRanges(pe: PeImage): AuthenticodeRange[] {
  const opt = pe.optional;
  const soh = opt.sizeOfHeaders;
  const ranges: AuthenticodeRange[] = [];
  let certSize = 0;
  // 1. Headers: start .. CheckSum (exclusive), skip the 4-byte CheckSum.
  ranges.push({ start: 0, end: opt.checkSumOffset, what: 'headers up to CheckSum' });
  if (opt.certDirEntryOffset === undefined) {
    // NumberOfRvaAndSizes <= 4: no security directory; hash the rest of the headers.
    ranges.push({ start: opt.checkSumOffset + 4, end: soh, what: 'headers after CheckSum' });
  } else {
    // 2./3. Skip the 8-byte Certificate Table entry (VirtualAddress and Size).
    ranges.push({
      start: opt.checkSumOffset + 4,
      end: opt.certDirEntryOffset,
      what: 'headers after CheckSum',
    });
    ranges.push({ start: opt.certDirEntryOffset + 8, end: soh, what: 'headers after the certificate entry' });
    certSize = dataDirectory(opt, DIRECTORY.security).size;
  }
  if (soh > pe.fileSize) {
    throw new ParseError(
      'PARSE_TRUNCATED',
      'PE headers',
      pe.base + opt.checkSumOffset - 4,
      `SizeOfHeaders ${soh} is past the ${pe.fileSize}-byte file`,
    );
  }
  // 4. Sections with raw data, stable-sorted by PointerToRawData (edk2 uses a stable insertion
  //    sort; Array.prototype.sort is stable since ES2019). SizeOfRawData 0 sections are skipped.
  let sum = soh;
  const secs = pe.sections
    .filter((s) => s.sizeOfRawData !== 0)
    .sort((a, b) => a.pointerToRawData - b.pointerToRawData);
  for (const s of secs) {
    const end = s.pointerToRawData + s.sizeOfRawData;
    if (end > pe.fileSize) {
      throw new ParseError(
        'PARSE_TRUNCATED',
        `section ${s.name}`,
        pe.base + s.headerOffset,
        `raw data [${s.pointerToRawData}, ${end}) is past the ${pe.fileSize}-byte file`,
      );
    }
    ranges.push({ start: s.pointerToRawData, end, what: `section ${s.name}` });
    sum += s.sizeOfRawData;
  }
  // 5. Trailing data: from the *count* of bytes hashed so far up to fileSize - certSize. The
  //    certificate table is assumed to be the last certSize bytes; its offset is ignored.
  if (pe.fileSize > sum) {
    if (pe.fileSize < sum + certSize) {
      throw new ParseError(
        'PARSE_INVALID',
        'certificate table',
        pe.base + (opt.certDirEntryOffset ?? 0),
        `Size ${certSize} is larger than the ${pe.fileSize - sum} bytes after the headers and sections`,
      );
    }
    ranges.push({ start: sum, end: pe.fileSize - certSize, what: 'trailing data' });
  }
  return ranges.filter((r) => r.end > r.start);
}

/**
 * The Authenticode digest of a PE image for each alg (what firmware extends into PCR 4 for
 * EV_EFI_BOOT_SERVICES_APPLICATION), streamed in chunks with all algs in one pass.
 */
export async function authenticodeHash<A extends HashAlg>(
  src: ByteSource,
  pe: PeImage,
  algs: readonly A[],
  options: HashOptions = {},
): Promise<Record<A, Uint8Array>> {
  if (src.size !== pe.fileSize) {
    throw new NodeimgError(
      'USAGE',
      `${src.name} has ${src.size} bytes but the PE image was parsed from ${pe.fileSize}`,
    );
  }
  return hashRanges(src, authenticodeRanges(pe), algs, options);
}
