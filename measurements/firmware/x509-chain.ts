// Certificate matching for Secure Boot image verification with node:crypto. edk2 verifies an image
// signature against one db/dbx certificate at a time (SecurityPkg/Library/DxeImageVerificationLib/
// DxeImageVerificationLib.c IsAllowedByDb / IsForbiddenByDbx -> CryptoPkg AuthenticodeVerify ->
// Pkcs7Verify), with that certificate as the only trust anchor and X509_V_FLAG_PARTIAL_CHAIN, so it
// succeeds when the anchor is the signer itself or issued a certificate on the signer's chain. The
// chain is built from the certificates carried in the PKCS#7. nodeimg reproduces that decision; it
// does not re-verify the PKCS#7 signature over the image hash (the caller vouches for that).
import { X509Certificate } from 'node:crypto';
import { NodeimgError } from '../../image/formats/errors.js';
import { ByteReader } from '../../image/formats/reader.js';
import { readTlv } from '../../image/formats/pe/der.js';
import { digest, type HashAlg } from '../hash.js';

/** Longest signer chain followed, and most certificates taken from one signature. */
export const MAX_CHAIN_DEPTH = 8;
export const MAX_SIGNATURE_CERTIFICATES = 32;

/** A certificate from db/dbx: undefined when it does not decode (edk2 then fails that entry). */
export function tryX509(der: Uint8Array): X509Certificate | undefined {
  try {
    return new X509Certificate(der);
  } catch {
    return undefined;
  }
}

function issuedBy(cert: X509Certificate, issuer: X509Certificate): boolean {
  try {
    return cert.checkIssued(issuer) && cert.verify(issuer.publicKey);
  } catch {
    return false; // unsupported key type: OpenSSL would not verify it either
  }
}

/**
 * The chain Pkcs7Verify can build: the signer, then its issuers among the signature's
 * certificates. Without a known signer every carried certificate is a candidate.
 */
export function signerChain(
  certificates: readonly Uint8Array[],
  signer: Uint8Array | undefined,
): X509Certificate[] {
  if (certificates.length > MAX_SIGNATURE_CERTIFICATES) {
    throw new NodeimgError(
      'USAGE',
      `a signature carries ${certificates.length} certificates, more than ${MAX_SIGNATURE_CERTIFICATES}`,
    );
  }
  const parse = (der: Uint8Array): X509Certificate => {
    const x = tryX509(der);
    if (x === undefined)
      throw new NodeimgError('USAGE', 'a signature certificate is not a DER X.509 certificate');
    return x;
  };
  const pool = certificates.map(parse);
  if (signer === undefined) return pool;
  const chain = [parse(signer)];
  for (let cur = chain[0] as X509Certificate; chain.length < MAX_CHAIN_DEPTH;) {
    if (issuedBy(cur, cur)) break; // self-signed root
    const next = pool.find((c) => !chain.some((k) => k.raw.equals(c.raw)) && issuedBy(cur, c));
    if (next === undefined) break;
    chain.push(next);
    cur = next;
  }
  return chain;
}

/** Would Pkcs7Verify succeed with `anchor` as the only trusted certificate? */
export function anchors(anchor: X509Certificate, chain: readonly X509Certificate[]): boolean {
  return chain.some((c) => c.raw.equals(anchor.raw) || issuedBy(c, anchor));
}

/**
 * Hash of the TBSCertificate (RFC 5280 §4.1.1.1), the value of EFI_CERT_X509_SHA256/384/512 dbx
 * entries (UEFI 2.10 §32.4.1; edk2 IsCertHashFoundInDbx via X509GetTBSCert).
 */
export function tbsDigest(cert: X509Certificate, alg: HashAlg): Uint8Array {
  const r = new ByteReader(new Uint8Array(cert.raw), 'X.509 certificate');
  const outer = readTlv(r, 0);
  const tbs = readTlv(r, outer.contents);
  return digest(alg, r.bytesAt(tbs.start, tbs.end - tbs.start));
}
