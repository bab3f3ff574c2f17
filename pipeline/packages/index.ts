// Package provenance (issue 12), the release half: the package archive in a release's object store
// (archive.ts, keys.ts), the provenance document that lets anyone re-check the InRelease ->
// Packages -> .deb chain offline (provenance.ts), archive-first fetching of locked .debs for
// build/reproduce (fetch-locked.ts), and the SPDX 2.3 SBOM (sbom.ts, licences.ts, spdx-licence.ts).
export {
  archivePackages,
  fetchFromArchive,
  verifyPackageArchive,
  type ArchiveCheck,
  type ArchiveInput,
  type ArchiveResult,
  type ArchivedObject,
} from './archive.js';
export {
  fetchLocked,
  type FetchLockedOptions,
  type FetchSource,
  type LockedDeb,
  type LockedFile,
} from './fetch-locked.js';
export {
  debKey,
  indexKey,
  inReleaseKey,
  PROVENANCE_DOCUMENT,
  provenanceDocumentKey,
  SBOM_DOCUMENT,
  sbomDocumentKey,
} from './keys.js';
export {
  parseProvenanceDocument,
  traceProvenance,
  type MetaSource,
  type ProvenanceDocument,
  type ProvenanceIndex,
  type ProvenancePackage,
  type ProvenanceRelease,
  type TraceOptions,
  type TracedPackage,
  type TracedProvenance,
} from './provenance.js';
export { readLicences } from './licences.js';
export { purlOf, spdxIdOfPackage, spdxSbom, type SbomInput, type SbomPackage } from './sbom.js';
export { licenseRefFor, spdxExpressionOf, spdxIdOf, type SpdxExpression } from './spdx-licence.js';
