// Byte-level fix-ups for tar and gzip streams written by image/build, and bounded readers of tar
// and newc cpio archives (pure).
export {
  GZIP_HEADER_SIZE,
  GZIP_OS_UNIX,
  normalizeGzipHeader,
  TAR_BLOCK,
  tarHeaderChecksumOk,
  toOldGnuHeader,
} from './tar-gzip.js';
export { MAX_CPIO_MEMBERS, readNewcCpio, type CpioMember } from './cpio.js';
export { MAX_TAR_MEMBERS, readTar, type TarMember, type TarType } from './tar.js';
