// Adapter from the PE codec's view of a signed image (image/formats/pe parseCertificates,
// authenticodeHash) to the LoadedImage that Secure Boot verification needs.
import type { WinCertificate } from '../../image/formats/pe/certificates.js';
import type { HashAlg } from '../hash.js';
import type { ImageSignature, LoadedImage } from './db-authority.js';

/**
 * Every PKCS_SIGNED_DATA WIN_CERTIFICATE becomes one ImageSignature (table order, as
 * DxeImageVerificationHandler walks them); other certificate types are skipped like edk2 does.
 * `digests` are the image's Authenticode digests, used for db/dbx hash entries.
 */
export function loadedImageFromPe(
  label: string,
  certificates: readonly WinCertificate[],
  digests?: Partial<Record<HashAlg, Uint8Array>>,
): LoadedImage {
  const signatures: ImageSignature[] = [];
  for (const c of certificates) {
    if (c.signature === undefined) continue;
    signatures.push({
      certificates: c.signature.certificates.map((x) => x.der),
      digestAlg: c.signature.digestAlg,
    });
  }
  return { label, signatures, digests };
}
