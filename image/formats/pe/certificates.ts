import { ParseError } from '../errors.js';
import { ByteReader } from '../reader.js';
import type { ByteSource } from '../source.js';
import { DIRECTORY, dataDirectory } from './optional-header.js';
import type { PeImage } from './parse.js';
import { decodeAuthenticodeSignature, type AuthenticodeSignature } from './pkcs7.js';

// The attribute certificate table (PE/COFF spec §4.7 "The Attribute Certificate Table (Image
// Only)"): DataDirectory[4] = { file offset, size } of a list of WIN_CERTIFICATE
// { u32 dwLength, u16 wRevision, u16 wCertificateType, bCertificate[] }, each entry starting on an
// 8-byte boundary. Walked as edk2 DxeImageVerificationLib.c DxeImageVerificationHandler does.

export const WIN_CERTIFICATE_HEADER_SIZE = 8;
/** Largest certificate table read (signatures with a full chain are a few KiB). */
export const MAX_CERTIFICATE_TABLE = 1024 * 1024;
/** Most entries walked. */
export const MAX_CERTIFICATES = 16;

export const WIN_CERT_TYPE = {
  x509: 0x0001,
  pkcsSignedData: 0x0002,
  efiPkcs115: 0x0ef0,
  efiGuid: 0x0ef1,
} as const;

export interface WinCertificate {
  /** File offset of the WIN_CERTIFICATE header. */
  readonly offset: number;
  /** dwLength: header + certificate, without the alignment padding. */
  readonly length: number;
  readonly revision: number;
  readonly certificateType: number;
  /** Decoded for PKCS_SIGNED_DATA entries. */
  readonly signature: AuthenticodeSignature | undefined;
}

/** The WIN_CERTIFICATE entries of a signed image ([] when unsigned). */
export async function parseCertificates(src: ByteSource, pe: PeImage): Promise<WinCertificate[]> {
  const entry = pe.optional.certDirEntryOffset;
  const dir = dataDirectory(pe.optional, DIRECTORY.security);
  if (entry === undefined || dir.size === 0) return [];
  const where = 'certificate table';
  if (dir.virtualAddress + dir.size > src.size) {
    throw new ParseError(
      'PARSE_TRUNCATED',
      where,
      pe.base + entry,
      `[${dir.virtualAddress}, +${dir.size}) is past the ${src.size}-byte file`,
    );
  }
  if (dir.size > MAX_CERTIFICATE_TABLE) {
    throw new ParseError(
      'PARSE_LIMIT',
      where,
      pe.base + entry,
      `Size ${dir.size} exceeds ${MAX_CERTIFICATE_TABLE}`,
    );
  }
  const r = new ByteReader(
    await src.read(dir.virtualAddress, dir.size),
    `${src.name}: ${where}`,
    pe.base + dir.virtualAddress,
  );
  const out: WinCertificate[] = [];
  // edk2 stops when fewer than a header's worth of bytes remain; so does nodeimg.
  for (let pos = 0; r.length - pos > WIN_CERTIFICATE_HEADER_SIZE;) {
    if (out.length >= MAX_CERTIFICATES)
      r.fail(`more than ${MAX_CERTIFICATES} certificates`, pos, 'PARSE_LIMIT');
    const length = r.u32At(pos);
    if (length <= WIN_CERTIFICATE_HEADER_SIZE || length > r.length - pos) {
      r.fail(`dwLength ${length} does not fit the ${r.length - pos} bytes left`, pos);
    }
    const revision = r.u16At(pos + 4);
    const certificateType = r.u16At(pos + 6);
    const body = r.bytesAt(pos + WIN_CERTIFICATE_HEADER_SIZE, length - WIN_CERTIFICATE_HEADER_SIZE);
    const signature =
      certificateType === WIN_CERT_TYPE.pkcsSignedData
        ? decodeAuthenticodeSignature(
            body,
            r.abs(pos + WIN_CERTIFICATE_HEADER_SIZE),
            `${src.name}: Authenticode signature`,
          )
        : undefined;
    out.push({ offset: dir.virtualAddress + pos, length, revision, certificateType, signature });
    pos += length + ((8 - (length % 8)) % 8);
  }
  return out;
}
