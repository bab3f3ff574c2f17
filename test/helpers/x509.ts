// A small X.509 v3 certificate builder for test CAs (RFC 5280 §4.1), on the DER encoder of der.ts:
// ECDSA-signed (node:crypto, DER signatures), names with O/CN, UTCTime/GeneralizedTime validity and
// raw extensions. Enough for a fake Fulcio CA chain and its leaves; nothing here is production code.
import { createHash, sign, type KeyObject } from 'node:crypto';
import { der, oid } from './der.js';

export const OID = {
  commonName: '2.5.4.3',
  organization: '2.5.4.10',
  ecdsaSha256: '1.2.840.10045.4.3.2',
  ecdsaSha384: '1.2.840.10045.4.3.3',
  subjectKeyId: '2.5.29.14',
  keyUsage: '2.5.29.15',
  subjectAltName: '2.5.29.17',
  basicConstraints: '2.5.29.19',
  authorityKeyId: '2.5.29.35',
  extKeyUsage: '2.5.29.37',
  codeSigning: '1.3.6.1.5.5.7.3.3',
  fulcioIssuerV1: '1.3.6.1.4.1.57264.1.1',
  fulcioIssuerV2: '1.3.6.1.4.1.57264.1.8',
  sctList: '1.3.6.1.4.1.11129.2.4.2',
} as const;

const TRUE = der(0x01, Uint8Array.of(0xff));
const SEQ = (...c: Uint8Array[]): Uint8Array => der(0x30, ...c);
const octet = (b: Uint8Array): Uint8Array => der(0x04, b);
const utf8 = (s: string): Uint8Array => der(0x0c, Buffer.from(s, 'utf8'));

/** DER INTEGER of a non-negative big-endian magnitude. */
export function integer(bytes: Uint8Array): Uint8Array {
  let i = 0;
  while (i < bytes.length - 1 && bytes[i] === 0) i++;
  const b = bytes.subarray(i);
  return der(0x02, (b[0] as number) & 0x80 ? Buffer.concat([Uint8Array.of(0), b]) : b);
}

/** Name with optional O and CN (an empty SEQUENCE when neither is given, as Fulcio leaves have). */
export function name(cn?: string, org?: string): Uint8Array {
  const rdn = (o: string, v: string): Uint8Array => der(0x31, SEQ(oid(o), utf8(v)));
  return SEQ(...(org ? [rdn(OID.organization, org)] : []), ...(cn ? [rdn(OID.commonName, cn)] : []));
}

function time(ms: number): Uint8Array {
  const iso = new Date(ms).toISOString(); // 2026-01-02T03:04:05.678Z
  const digits = iso.slice(0, 19).replace(/[-T:]/g, '');
  const y = new Date(ms).getUTCFullYear();
  return y >= 1950 && y < 2050
    ? der(0x17, Buffer.from(`${digits.slice(2)}Z`, 'ascii'))
    : der(0x18, Buffer.from(`${digits}Z`, 'ascii'));
}

export interface Extension {
  readonly oid: string;
  readonly critical?: boolean;
  /** The extnValue content (DER of the extension's value, or raw bytes for Fulcio's v1 OIDs). */
  readonly value: Uint8Array;
}

export const ext = {
  basicConstraints: (ca: boolean, pathLen?: number): Extension => ({
    oid: OID.basicConstraints,
    critical: true,
    value: SEQ(...(ca ? [TRUE] : []), ...(pathLen === undefined ? [] : [integer(Uint8Array.of(pathLen))])),
  }),
  /** KeyUsage bits: 0 digitalSignature, 5 keyCertSign, 6 cRLSign. */
  keyUsage: (bits: number[]): Extension => {
    const mask = bits.reduce((m, b) => m | (0x80 >> b), 0);
    const unused = Math.min(...bits.map((b) => 7 - b));
    return { oid: OID.keyUsage, critical: true, value: der(0x03, Uint8Array.of(unused, mask)) };
  },
  extKeyUsage: (...oids: string[]): Extension => ({ oid: OID.extKeyUsage, value: SEQ(...oids.map(oid)) }),
  subjectKeyId: (spki: Uint8Array): Extension => ({ oid: OID.subjectKeyId, value: octet(keyId(spki)) }),
  authorityKeyId: (issuerSpki: Uint8Array): Extension => ({
    oid: OID.authorityKeyId,
    value: SEQ(der(0x80, keyId(issuerSpki))),
  }),
  /** SAN with an rfc822Name ([1]) or a URI ([6]); critical, as the subject is empty. */
  san: (kind: 'email' | 'uri', value: string): Extension => ({
    oid: OID.subjectAltName,
    critical: true,
    value: SEQ(der(kind === 'email' ? 0x81 : 0x86, Buffer.from(value, 'ascii'))),
  }),
  /** Fulcio's legacy issuer OID holds the raw string; the v2 one a DER UTF8String (fulcio oid-info.md). */
  fulcioIssuerV1: (issuer: string): Extension => ({ oid: OID.fulcioIssuerV1, value: Buffer.from(issuer) }),
  fulcioIssuerV2: (issuer: string): Extension => ({ oid: OID.fulcioIssuerV2, value: utf8(issuer) }),
  /** RFC 6962 §3.3: an OCTET STRING holding the TLS-encoded SignedCertificateTimestampList. */
  sctList: (list: Uint8Array): Extension => ({ oid: OID.sctList, value: octet(list) }),
};

/** RFC 5280 §4.2.1.2 method 1 style key identifier (SHA-1 of the whole SPKI here; any stable hash works). */
export function keyId(spki: Uint8Array): Buffer {
  return createHash('sha1').update(spki).digest();
}

export interface TbsInput {
  readonly serial: Uint8Array;
  readonly issuer: Uint8Array;
  readonly subject: Uint8Array;
  readonly notBefore: number;
  readonly notAfter: number;
  /** DER SubjectPublicKeyInfo. */
  readonly spki: Uint8Array;
  readonly extensions: readonly Extension[];
  /** ECDSA hash of the issuer's signature (sha256 for P-256 issuers, sha384 for P-384). */
  readonly hash: 'sha256' | 'sha384';
}

const sigAlg = (hash: 'sha256' | 'sha384'): Uint8Array =>
  SEQ(oid(hash === 'sha256' ? OID.ecdsaSha256 : OID.ecdsaSha384));

/** The DER TBSCertificate. */
export function tbsCertificate(t: TbsInput): Uint8Array {
  const exts = t.extensions.map((e) => SEQ(oid(e.oid), ...(e.critical ? [TRUE] : []), octet(e.value)));
  return SEQ(
    der(0xa0, integer(Uint8Array.of(2))),
    integer(t.serial),
    sigAlg(t.hash),
    t.issuer,
    SEQ(time(t.notBefore), time(t.notAfter)),
    t.subject,
    t.spki,
    der(0xa3, SEQ(...exts)),
  );
}

/** Signs a TBSCertificate with the issuer's key: the DER Certificate. */
export function signCertificate(tbs: Uint8Array, hash: 'sha256' | 'sha384', issuerKey: KeyObject): Buffer {
  return Buffer.from(
    SEQ(tbs, sigAlg(hash), der(0x03, Buffer.concat([Uint8Array.of(0), sign(hash, tbs, issuerKey)]))),
  );
}

export function toPem(derBytes: Uint8Array, type = 'CERTIFICATE'): string {
  const b64 = Buffer.from(derBytes).toString('base64');
  return `-----BEGIN ${type}-----\n${(b64.match(/.{1,64}/g) ?? []).join('\n')}\n-----END ${type}-----\n`;
}
