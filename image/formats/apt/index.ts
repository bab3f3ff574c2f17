// Debian archive formats (pure): deb822 control data, the InRelease clearsigned framing, Release
// and Packages indexes, Debian version order, gpgv status lines, DEP-5 copyright files and the ar
// container of a .deb. The I/O that fetches and authenticates them is image/build/apt-archive/.
export {
  DEB822_LIMITS,
  deb822Field,
  deb822Lines,
  parseDeb822,
  type Deb822Field,
  type Deb822Options,
  type Deb822Stanza,
} from './deb822.js';
export {
  CLEARSIGN_BEGIN,
  SIGNATURE_BEGIN,
  SIGNATURE_END,
  splitClearsigned,
  type ClearsignedMessage,
} from './clearsign.js';
export { parseRelease, parseReleaseDate, type ReleaseFileEntry, type ReleaseInfo } from './release.js';
export {
  isSafePoolPath,
  PACKAGE_NAME,
  PACKAGE_VERSION,
  parsePackages,
  stanzaText,
  type PackageStanza,
} from './packages.js';
export { compareDebianVersions, splitDebianVersion, type DebianVersion } from './version.js';
export {
  parseGpgStatus,
  signatureVerdict,
  WEAK_HASH_ALGORITHMS,
  type GpgSignature,
  type GpgSignatureStatus,
  type SignatureVerdict,
} from './gpg-status.js';
export { parseDebianCopyright, type DebianCopyright } from './copyright.js';
export {
  AR_HEADER_SIZE,
  AR_MAGIC,
  checkArMagic,
  parseArHeader,
  tarCompressionOf,
  type ArMember,
} from './ar.js';
