// Package provenance (issue 12), the I/O half: authenticate a suite of a Debian mirror (InRelease
// signed by the distribution keyring, checked with gpgv; Packages indexes checked against the
// Release), resolve a recipe's packages against it, and fetch .debs checked against their signed
// Packages entries. The pure formats are image/formats/apt/; archiving into a release's object
// store and the SBOM are pipeline/packages/.
export { ProvenanceError, type ProvenanceCode } from './errors.js';
export { fetchAtMost, fetchToFile, type Downloaded, type Fetch, type HttpOptions } from './http.js';
export { loadKeyring, verifyClearsigned, type Keyring, type VerifiedText } from './gpgv.js';
export {
  chooseIndex,
  decompressIndex,
  fetchIndex,
  MAX_INDEX_BYTES,
  type FetchedIndex,
} from './index-file.js';
export {
  authenticateSuite,
  checkReleaseMatches,
  checkValidity,
  mirrorRoot,
  type AuthenticatedIndex,
  type AuthenticatedSuite,
  type SuiteRequest,
} from './suite.js';
export {
  locatePackage,
  provenanceOf,
  resolvePackages,
  stanzaOf,
  type LockedRelease,
  type PackageProvenance,
  type ResolvedPackage,
} from './resolve.js';
export {
  cachedDeb,
  debCachePath,
  debLabel,
  debMismatch,
  fetchDeb,
  type DebRef,
  type FetchedDeb,
} from './deb.js';
export { debDataMember, readDebCopyright } from './copyright.js';
export { digestFile, getMeta, metaPath, putMeta, sha256Hex, writeAtomic, type FileDigest } from './files.js';
export { authenticateSources, parseAptSource, type AptSource } from './sources.js';
