import { X509Certificate } from 'node:crypto';
import type { HashAlg } from '../../../measurements/hash.js';
import { ByteReader } from '../reader.js';
import { TAG, children, expectTlv, oidToString, type Tlv } from './der.js';

// The Authenticode signature in a WIN_CERTIFICATE of type PKCS_SIGNED_DATA (Microsoft "Windows
// Authenticode Portable Executable Signature Format"; RFC 2315 §9.1 SignedData):
//   ContentInfo { contentType signedData, [0] SignedData { version, digestAlgorithms,
//     contentInfo { SPC_INDIRECT_DATA_OBJID, [0] SpcIndirectDataContent { data, messageDigest
//       DigestInfo { digestAlgorithm, digest } } },
//     [0] IMPLICIT certificates OPTIONAL, [1] crls OPTIONAL, signerInfos } }
// The DigestInfo digest is the signer's Authenticode hash of the image (what authenticodeHash computes).

const OID_SIGNED_DATA = '1.2.840.113549.1.7.2';
const OID_SPC_INDIRECT_DATA = '1.3.6.1.4.1.311.2.1.4';
const DIGEST_OIDS: Readonly<Record<string, HashAlg>> = {
  '1.3.14.3.2.26': 'sha1',
  '2.16.840.1.101.3.4.2.1': 'sha256',
  '2.16.840.1.101.3.4.2.2': 'sha384',
  '2.16.840.1.101.3.4.2.3': 'sha512',
};
/** Most certificates described from one signature. */
export const MAX_SIGNATURE_CERTIFICATES = 32;

export interface X509Info {
  readonly subject: string;
  readonly issuer: string;
  readonly serialNumber: string;
  /** Lower-case hex SHA-256 of the DER certificate. */
  readonly fingerprint256: string;
  readonly der: Uint8Array;
}

export interface AuthenticodeSignature {
  /** OID of the DigestInfo algorithm. */
  readonly digestOid: string;
  readonly digestAlg: HashAlg | undefined;
  /** The image hash the signer signed. */
  readonly digest: Uint8Array;
  readonly certificates: readonly X509Info[];
}

/** Decodes the PKCS#7 SignedData of an Authenticode signature; `base` is its absolute offset. */
export function decodeAuthenticodeSignature(
  bytes: Uint8Array,
  base = 0,
  name = 'Authenticode signature',
): AuthenticodeSignature {
  const r = new ByteReader(bytes, name, base);
  const oid = (t: Tlv): string => oidToString(r.bytesAt(t.contents, t.end - t.contents));
  const at = (list: Tlv[], i: number, tag: number, what: string): Tlv => {
    const t = list[i];
    if (!t) return r.fail(`${what} is missing`, list[list.length - 1]?.end ?? 0);
    return expectTlv(r, t.start, tag, what);
  };

  const ci = children(r, expectTlv(r, 0, TAG.sequence, 'ContentInfo'));
  const type = at(ci, 0, TAG.oid, 'contentType');
  if (oid(type) !== OID_SIGNED_DATA)
    r.fail(`contentType ${oid(type)} is not signedData`, type.start, 'PARSE_UNSUPPORTED');
  const sd = children(r, at(children(r, at(ci, 1, TAG.context0, 'content')), 0, TAG.sequence, 'SignedData'));
  const inner = children(r, at(sd, 2, TAG.sequence, 'contentInfo'));
  const innerType = at(inner, 0, TAG.oid, 'contentInfo.contentType');
  if (oid(innerType) !== OID_SPC_INDIRECT_DATA)
    r.fail(
      `contentInfo type ${oid(innerType)} is not SpcIndirectDataContent`,
      innerType.start,
      'PARSE_UNSUPPORTED',
    );
  const spc = children(
    r,
    at(
      children(r, at(inner, 1, TAG.context0, 'contentInfo.content')),
      0,
      TAG.sequence,
      'SpcIndirectDataContent',
    ),
  );
  const digestInfo = children(r, at(spc, 1, TAG.sequence, 'DigestInfo'));
  const algOid = oid(
    at(
      children(r, at(digestInfo, 0, TAG.sequence, 'digestAlgorithm')),
      0,
      TAG.oid,
      'digestAlgorithm.algorithm',
    ),
  );
  const dg = at(digestInfo, 1, TAG.octetString, 'digest');

  const certificates: X509Info[] = [];
  const certSet = sd.slice(3).find((t) => t.tag === TAG.context0);
  if (certSet) {
    for (const c of children(r, certSet)) {
      if (certificates.length >= MAX_SIGNATURE_CERTIFICATES) break;
      if (c.tag !== TAG.sequence) continue; // other CertificateChoices (attribute certificates) are not X.509
      certificates.push(describeX509(r, c));
    }
  }
  return {
    digestOid: algOid,
    digestAlg: DIGEST_OIDS[algOid],
    digest: r.bytesAt(dg.contents, dg.end - dg.contents).slice(),
    certificates,
  };
}

function describeX509(r: ByteReader, t: Tlv): X509Info {
  const der = r.bytesAt(t.start, t.end - t.start).slice();
  let x: X509Certificate;
  try {
    x = new X509Certificate(der);
  } catch (err) {
    return r.fail(`certificate does not decode: ${(err as Error).message}`, t.start);
  }
  return {
    subject: x.subject,
    issuer: x.issuer,
    serialNumber: x.serialNumber.toLowerCase(),
    fingerprint256: x.fingerprint256.replaceAll(':', '').toLowerCase(),
    der,
  };
}
