// A bounded, pure reader of erofs file systems (the read-only root nodeimg builds with mkfs.erofs
// and protects with dm-verity): superblock, inodes and xattrs, uncompressed data layouts and the
// directory tree. It reads what reproduce needs to name the files that differ between two images,
// over a ByteSource (a partition of a disk image), without running a tool on hostile input.
export {
  EROFS_MAGIC,
  EROFS_SUPER_OFFSET,
  isErofs,
  readErofsSuperblock,
  type ErofsSuperblock,
} from './superblock.js';
export {
  inodeData,
  readInode,
  readXattrs,
  type ErofsContext,
  type ErofsInode,
  type ErofsLayout,
  type ErofsXattr,
} from './inode.js';
export {
  EROFS_MAX_ENTRIES,
  openErofs,
  readDirectory,
  walkErofs,
  type ErofsDirent,
  type ErofsEntry,
} from './walk.js';
