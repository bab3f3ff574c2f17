// Authenticode signing (Microsoft "Windows Authenticode Portable Executable Signature Format"; RFC
// 2315 §9 SignedData; PE/COFF spec §4.7 attribute certificate table) without a clock: nodeimg builds
// the PKCS#7 SignedData itself, with no signingTime attribute, so a signature is a function of the
// image, the certificate and the key (RSA PKCS#1 v1.5 is deterministic). The layout follows what
// sbsign writes and edk2 DxeImageVerificationLib / CryptoPkg AuthenticodeVerify read:
//
//   ContentInfo { signedData, [0] SignedData { version 1, digestAlgorithms { sha256 },
//     contentInfo { SPC_INDIRECT_DATA_OBJID, [0] SpcIndirectDataContent {
//       SpcAttributeTypeAndOptionalValue { SPC_PE_IMAGE_DATAOBJ,
//         SpcPeImageData { flags '', file [0] { [2] { unicode [0] "<<<Obsolete>>>" } } } },
//       DigestInfo { sha256, Authenticode digest } } },     <- edk2 compares the last 32 bytes
//     [0] certificates { signer certificate, chain... },
//     signerInfos { SignerInfo { version 1, issuerAndSerialNumber, sha256,
//       [0] authenticatedAttributes { contentType SPC_INDIRECT_DATA_OBJID,
//                                     messageDigest sha256(SpcIndirectDataContent's contents) },
//       rsaEncryption, signature over the attributes as a DER SET } } } }
//
// edk2 finds the digest algorithm at the fixed offset 32 of the SignedData (two-byte long-form
// lengths), which this layout satisfies for signatures of 256 to 65535 bytes (checked).
// The table is appended 8-byte aligned after the (8-aligned) image; DataDirectory[4] and CheckSum are
// updated; the Authenticode digest of the result is the unsigned image's. Pure (node:crypto only
// for hashing; the private-key operation is the caller's `sign`).
import { createHash } from 'node:crypto';
import { NodeimgError } from '../errors.js';
import { ByteReader } from '../reader.js';
import { fromBytes } from '../source.js';
import { authenticodeHash } from './authenticode.js';
import { peChecksum } from './checksum.js';
import { TAG, children, expectTlv } from './der.js';
import {
  explicit,
  integer,
  nullDer,
  octetString,
  oid,
  seq,
  setOf,
  taggedSetOf,
  tlv,
  type Der,
} from './der-writer.js';
import { DIRECTORY, dataDirectory } from './optional-header.js';
import { parsePe } from './parse.js';

const OID = {
  signedData: '1.2.840.113549.1.7.2',
  spcIndirectData: '1.3.6.1.4.1.311.2.1.4',
  spcPeImageData: '1.3.6.1.4.1.311.2.1.15',
  sha256: '2.16.840.1.101.3.4.2.1',
  rsaEncryption: '1.2.840.113549.1.1.1',
  contentType: '1.2.840.113549.1.9.3',
  messageDigest: '1.2.840.113549.1.9.4',
} as const;

export interface AuthenticodeSigner {
  /** The signer's X.509 certificate, DER. */
  readonly certificate: Uint8Array;
  /** Intermediate certificates to include, DER. */
  readonly chain?: readonly Uint8Array[];
  /** RSA PKCS#1 v1.5 signature with SHA-256 over `data` (e.g. crypto.sign('sha256', data, key)). */
  sign(data: Uint8Array): Uint8Array | Promise<Uint8Array>;
}

const WIN_CERT_REVISION_2_0 = 0x0200;
const WIN_CERT_TYPE_PKCS_SIGNED_DATA = 0x0002;

/** The issuer Name and serialNumber TLVs of a DER certificate (RFC 5280 §4.1). */
function issuerAndSerial(cert: Uint8Array): Der {
  const r = new ByteReader(cert, 'signer certificate');
  const first = children(r, expectTlv(r, 0, TAG.sequence, 'Certificate'))[0];
  if (!first) return r.fail('empty Certificate', 0);
  const tbs = children(r, expectTlv(r, first.start, TAG.sequence, 'TBSCertificate'));
  const i = tbs[0]?.tag === TAG.context0 ? 1 : 0; // [0] version is optional
  const serial = tbs[i];
  const issuer = tbs[i + 2];
  if (!serial || serial.tag !== TAG.integer || !issuer || issuer.tag !== TAG.sequence)
    return r.fail('no serialNumber and issuer in TBSCertificate', 0);
  return seq(cert.subarray(issuer.start, issuer.end), cert.subarray(serial.start, serial.end));
}

const BMP_OBSOLETE = Uint8Array.from([...'<<<Obsolete>>>'].flatMap((c) => [0, c.charCodeAt(0)]));

/** SpcIndirectDataContent for a SHA-256 image digest. */
export function spcIndirectDataContent(digest: Uint8Array): Der {
  const peImageData = seq(tlv(0x03, Uint8Array.of(0)), explicit(0, explicit(2, tlv(0x80, BMP_OBSOLETE))));
  return seq(
    seq(oid(OID.spcPeImageData), peImageData),
    seq(seq(oid(OID.sha256), nullDer()), octetString(digest)),
  );
}

/** The DER PKCS#7 SignedData of an Authenticode signature over `digest` (SHA-256 Authenticode hash). */
export async function authenticodeSignedData(
  digest: Uint8Array,
  signer: AuthenticodeSigner,
): Promise<Uint8Array> {
  if (digest.length !== 32)
    throw new NodeimgError('USAGE', `a SHA-256 Authenticode digest has 32 bytes, not ${digest.length}`);
  const spc = spcIndirectDataContent(digest);
  // the messageDigest covers the contents of SpcIndirectDataContent, without its tag and length
  const r = new ByteReader(spc, 'SpcIndirectDataContent');
  const outer = expectTlv(r, 0, TAG.sequence, 'SpcIndirectDataContent');
  const contentDigest = createHash('sha256').update(spc.subarray(outer.contents)).digest();
  const attrs = [
    seq(oid(OID.contentType), setOf(oid(OID.spcIndirectData))),
    seq(oid(OID.messageDigest), setOf(octetString(contentDigest))),
  ];
  // signed as a DER SET OF, stored as [0] IMPLICIT (RFC 2315 §9.3)
  const signature = await signer.sign(setOf(...attrs));
  const signerInfo = seq(
    integer(1),
    issuerAndSerial(signer.certificate),
    seq(oid(OID.sha256), nullDer()),
    taggedSetOf(0xa0, attrs),
    seq(oid(OID.rsaEncryption), nullDer()),
    octetString(signature),
  );
  const signedData = seq(
    integer(1),
    setOf(seq(oid(OID.sha256), nullDer())),
    seq(oid(OID.spcIndirectData), explicit(0, spc)),
    tlv(0xa0, signer.certificate, ...(signer.chain ?? [])),
    setOf(signerInfo),
  );
  const der = seq(oid(OID.signedData), explicit(0, signedData));
  // edk2 DxeImageVerificationLib HashPeImageByType reads the digest OID at offset 32
  const sha256Oid = oid(OID.sha256).subarray(2);
  if (der[1] !== 0x82 || !sha256Oid.every((b, i) => der[32 + i] === b)) {
    throw new NodeimgError(
      'USAGE',
      `the ${der.length}-byte signature does not have the layout edk2 expects (the digest OID at offset 32)`,
      {
        hint: 'Authenticode signatures must be 256 to 65535 bytes: check the size of the certificate chain',
      },
    );
  }
  return der;
}

/**
 * Signs an unsigned PE image: appends the WIN_CERTIFICATE with a fresh Authenticode signature and
 * points DataDirectory[4] at it. The image is zero-padded to 8 bytes first (as sbsign does), so the
 * result's Authenticode digest equals the (padded) input's.
 */
export async function signPe(image: Uint8Array, signer: AuthenticodeSigner): Promise<Uint8Array> {
  const padded = new Uint8Array(Math.ceil(image.length / 8) * 8);
  padded.set(image);
  const src = fromBytes(padded, 'image');
  const pe = await parsePe(src);
  const entry = pe.optional.certDirEntryOffset;
  if (entry === undefined)
    throw new NodeimgError(
      'USAGE',
      'the image has no certificate table directory entry (NumberOfRvaAndSizes <= 4)',
    );
  const dir = dataDirectory(pe.optional, DIRECTORY.security);
  if (dir.virtualAddress !== 0 || dir.size !== 0)
    throw new NodeimgError('USAGE', 'the image is already signed', { hint: 'sign the unsigned image' });
  const digest = (await authenticodeHash(src, pe, ['sha256'])).sha256;
  const der = await authenticodeSignedData(digest, signer);
  const length = 8 + der.length;
  const tableSize = Math.ceil(length / 8) * 8;
  const out = new Uint8Array(padded.length + tableSize);
  out.set(padded);
  const v = new DataView(out.buffer);
  v.setUint32(padded.length, length, true);
  v.setUint16(padded.length + 4, WIN_CERT_REVISION_2_0, true);
  v.setUint16(padded.length + 6, WIN_CERT_TYPE_PKCS_SIGNED_DATA, true);
  out.set(der, padded.length + 8);
  v.setUint32(entry, padded.length, true);
  v.setUint32(entry + 4, tableSize, true);
  v.setUint32(pe.optional.checkSumOffset, 0, true);
  v.setUint32(pe.optional.checkSumOffset, peChecksum(out, pe.optional.checkSumOffset), true);
  return out;
}
