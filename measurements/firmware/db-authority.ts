// Which db entry authorises a loaded image under Secure Boot: the decision edk2
// SecurityPkg/Library/DxeImageVerificationLib/DxeImageVerificationLib.c DxeImageVerificationHandler
// makes, and whose EFI_SIGNATURE_DATA it hands to SecureBootHook (EV_EFI_VARIABLE_AUTHORITY):
//   * unsigned image: its SHA-256 Authenticode hash must be in db and not in dbx;
//   * signed image, per WIN_CERTIFICATE in table order: rejected if dbx forbids the signature
//     (IsForbiddenByDbx); if not yet verified, IsAllowedByDb walks db in list/entry order and stops at
//     the first X.509 entry that verifies the signature (that entry is measured); then the image hash
//     (of the signature's digest algorithm) must not be in dbx, and if still not verified, a matching
//     db hash entry verifies it (IsSignatureFoundInDatabase, that entry is measured).
import type { X509Certificate } from 'node:crypto';
import { NodeimgError } from '../../image/formats/errors.js';
import type { SignatureEntry, SignatureList } from '../../image/formats/ovmf-vars/signature-list.js';
import {
  EFI_CERT_SHA1_GUID,
  EFI_CERT_SHA256_GUID,
  EFI_CERT_SHA384_GUID,
  EFI_CERT_SHA512_GUID,
  EFI_CERT_X509_GUID,
  EFI_CERT_X509_SHA256_GUID,
  EFI_CERT_X509_SHA384_GUID,
  EFI_CERT_X509_SHA512_GUID,
} from '../../image/formats/ovmf-vars/guids.js';
import type { HashAlg } from '../hash.js';
import { equalBytes } from '../eventlog/data-digest.js';
import { anchors, signerChain, tbsDigest, tryX509 } from './x509-chain.js';

/** One Authenticode signature (WIN_CERTIFICATE of type PKCS_SIGNED_DATA) of an image. */
export interface ImageSignature {
  /** DER certificates carried in the PKCS#7 SignedData. */
  readonly certificates: readonly Uint8Array[];
  /** The signer's certificate when known; otherwise every carried certificate counts as on the chain. */
  readonly signer?: Uint8Array | undefined;
  /** DigestInfo algorithm of the signature (selects the image hash for db/dbx hash entries); default sha256. */
  readonly digestAlg?: HashAlg | undefined;
}

/** A PE image the firmware loads with LoadImage (boot loader, UKI), in load order. */
export interface LoadedImage {
  readonly label: string;
  /** [] for an unsigned image. */
  readonly signatures: readonly ImageSignature[];
  /** Authenticode digests of the image (needed for db/dbx hash entries and unsigned images). */
  readonly digests?: Partial<Record<HashAlg, Uint8Array>> | undefined;
}

export interface DbMatch {
  readonly list: number;
  readonly index: number;
  readonly entry: SignatureEntry;
  readonly by: 'x509' | 'hash';
}

const HASH_TYPES: Readonly<Record<HashAlg, string>> = {
  sha1: EFI_CERT_SHA1_GUID,
  sha256: EFI_CERT_SHA256_GUID,
  sha384: EFI_CERT_SHA384_GUID,
  sha512: EFI_CERT_SHA512_GUID,
};
const X509_HASH_TYPES: readonly [string, HashAlg][] = [
  [EFI_CERT_X509_SHA256_GUID, 'sha256'],
  [EFI_CERT_X509_SHA384_GUID, 'sha384'],
  [EFI_CERT_X509_SHA512_GUID, 'sha512'],
];

function* entries(lists: readonly SignatureList[], type?: string): Generator<DbMatch & { by: 'hash' }> {
  for (const [list, l] of lists.entries()) {
    if (type !== undefined && l.signatureType !== type) continue;
    for (const [index, entry] of l.entries.entries()) yield { list, index, entry, by: 'hash' };
  }
}

function findHash(lists: readonly SignatureList[], alg: HashAlg, d: Uint8Array): DbMatch | undefined {
  for (const m of entries(lists, HASH_TYPES[alg])) if (equalBytes(m.entry.data, d)) return m;
  return undefined;
}

function findAnchor(lists: readonly SignatureList[], chain: readonly X509Certificate[]): DbMatch | undefined {
  for (const m of entries(lists, EFI_CERT_X509_GUID)) {
    const anchor = tryX509(m.entry.data);
    if (anchor !== undefined && anchors(anchor, chain)) return { ...m, by: 'x509' };
  }
  return undefined;
}

/** A certificate an EFI_CERT_X509_SHA* dbx entry revokes (revocation timestamps are not honoured). */
function revoked(
  dbx: readonly SignatureList[],
  certs: readonly X509Certificate[],
): X509Certificate | undefined {
  for (const [type, alg] of X509_HASH_TYPES) {
    if (!has(dbx, type)) continue;
    const tbs = certs.map((c) => tbsDigest(c, alg));
    for (const m of entries(dbx, type)) {
      // EFI_CERT_X509_SHA*: the TBS hash followed by a 16-byte EFI_TIME TimeOfRevocation.
      const at = tbs.findIndex((d) => equalBytes(m.entry.data.subarray(0, d.length), d));
      if (at >= 0) return certs[at];
    }
  }
  return undefined;
}

const has = (lists: readonly SignatureList[], type: string | undefined): boolean =>
  lists.some((l) => l.signatureType === type && l.entries.length > 0);

const refuse = (image: LoadedImage, why: string): never => {
  throw new NodeimgError('CHECK_FAILED', `Secure Boot would refuse to load ${image.label}: ${why}`, {
    hint: 'sign the image with a key whose certificate (or an issuer of it) is in db, or boot with Secure Boot off',
  });
};

/**
 * The db entry whose EFI_SIGNATURE_DATA edk2 measures when it verifies `image` (the first that
 * allows it); throws NodeimgError('CHECK_FAILED') when Secure Boot would refuse the image.
 * Warnings (hash checks that could not be made) are appended to `warnings`.
 */
export function authorise(
  image: LoadedImage,
  db: readonly SignatureList[],
  dbx: readonly SignatureList[],
  warnings: string[],
): DbMatch {
  const hashOf = (alg: HashAlg): Uint8Array | undefined => {
    const d = image.digests?.[alg];
    if (d === undefined && (has(db, HASH_TYPES[alg]) || has(dbx, HASH_TYPES[alg]))) {
      warnings.push(
        `${image.label}: no ${alg} Authenticode digest given, db/dbx ${alg} hash entries were not checked`,
      );
    }
    return d;
  };
  if (image.signatures.length === 0) {
    const d =
      hashOf('sha256') ?? refuse(image, 'it is unsigned and its SHA-256 Authenticode digest was not given');
    if (findHash(dbx, 'sha256', d)) refuse(image, 'it is unsigned and its hash is in dbx');
    return findHash(db, 'sha256', d) ?? refuse(image, 'it is unsigned and its hash is not in db');
  }
  let match: DbMatch | undefined;
  for (const sig of image.signatures) {
    const chain = signerChain(sig.certificates, sig.signer);
    const forbidding = findAnchor(dbx, chain);
    if (forbidding)
      refuse(
        image,
        `dbx entry ${forbidding.list}/${forbidding.index} (an X.509 certificate) forbids its signer`,
      );
    const bad = revoked(dbx, chain);
    if (bad)
      refuse(image, `dbx revokes the certificate ${bad.subject.replaceAll('\n', ', ')} of its signature`);
    if (match === undefined) {
      // IsAllowedByDb stops at the first db certificate that verifies; if dbx revokes that one
      // (IsCertHashFoundInDbx, no timestamp), the signature is not allowed and nothing is measured.
      const a = findAnchor(db, chain);
      if (a !== undefined && revoked(dbx, [tryX509(a.entry.data) as X509Certificate]) === undefined)
        match = a;
    }
    const d = hashOf(sig.digestAlg ?? 'sha256');
    if (d !== undefined && findHash(dbx, sig.digestAlg ?? 'sha256', d)) refuse(image, 'its hash is in dbx');
    if (d !== undefined) match ??= findHash(db, sig.digestAlg ?? 'sha256', d);
  }
  return match ?? refuse(image, 'no db certificate verifies its signature and its hash is not in db');
}
