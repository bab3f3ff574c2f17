// The root-file-system stages of `nodeimg build` (issue 6; reproducible-build spec §2-§3): resolve
// a package set into a lock and a content-addressed .deb store (online), then, offline and
// reproducibly: the rootfs tarball (mmdebstrap from a flat repo of the locked debs, normalised and
// audited), and the erofs (or squashfs) image. dm-verity over the image is image/build/verity.ts.
export {
  DEFAULT_MIRRORS,
  parsePrintUris,
  parseStanzas,
  sourcesList,
  validateRootfsLock,
  validateRootfsLockSpec,
  versionWithoutEpoch,
  type LockedDeb,
  type RootfsLock,
  type RootfsLockSpec,
} from './lock.js';
export { checkLockedDebs, fetchLockedDebs, lockedDebPath, storeDebFiles, type FetchResult } from './debs.js';
export { overrideFile, writeFlatRepo } from './repo.js';
export {
  buildRootfsTarball,
  mmdebstrapOptions,
  normalisationHooks,
  type RootfsBuildInput,
  type RootfsTarball,
} from './mmdebstrap.js';
export { auditRootfsTar, type AuditExpectations, type RootfsAudit } from './audit.js';
export { resolveRootfsLock, type ResolveOptions, type RootfsResolveSpec } from './resolve.js';
export {
  buildErofsImage,
  buildSquashfsImage,
  type ErofsInput,
  type FilesystemImage,
  type FilesystemInput,
  type SquashfsInput,
} from './filesystem.js';
export { digestFile, type FileDigest } from './files.js';
