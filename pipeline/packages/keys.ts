// Where the package archive lives in a release store (issue 12). One pool shared by every version
// and stream of the store, content-addressed, so two releases that lock the same .deb store it once
// (putImmutable of the same bytes under the same key is a no-op):
//   packages/sha256/<hex>                 a .deb, by the sha256 its lock and signed index give
//   packages/inrelease/sha256/<hex>       a signed InRelease that vouches for some of them
//   packages/index/sha256/<hex>           a Packages index (as the mirror served it: .xz/.gz)
// and per release, next to its other documents (pipeline/release/names.ts imagePrefix):
//   <version>/image/packages.json         which packages, from which InRelease and index, with
//                                         each package's exact Packages stanza (provenance.ts)
//   <version>/image/sbom.spdx.json        the SPDX 2.3 SBOM (sbom.ts)
import { imagePrefix, type ReleaseCoordinates } from '../release/names.js';

const HEX = /^[0-9a-f]{64}$/;

function hex(sha256: string): string {
  if (!HEX.test(sha256)) throw new TypeError(`not a lower-case sha256: ${sha256}`);
  return sha256;
}

export const debKey = (sha256: string): string => `packages/sha256/${hex(sha256)}`;
export const inReleaseKey = (sha256: string): string => `packages/inrelease/sha256/${hex(sha256)}`;
export const indexKey = (sha256: string): string => `packages/index/sha256/${hex(sha256)}`;

export const PROVENANCE_DOCUMENT = 'packages.json';
export const SBOM_DOCUMENT = 'sbom.spdx.json';

export const provenanceDocumentKey = (c: ReleaseCoordinates): string => imagePrefix(c) + PROVENANCE_DOCUMENT;
export const sbomDocumentKey = (c: ReleaseCoordinates): string => imagePrefix(c) + SBOM_DOCUMENT;
