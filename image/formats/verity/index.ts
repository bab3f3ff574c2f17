// dm-verity format v1 as veritysetup 2.6.1 writes it (reproducible-build spec §4): the tree layout
// (params.ts), the superblock codec (superblock.ts), the block digest (hasher.ts), the streaming
// tree builder and the hash device bytes (tree.ts), and a reader for existing hash devices
// (read.ts). Pure: image/build/verity.ts streams files through it, in worker threads.
export {
  digestOffset,
  isVerityHashAlgorithm,
  planVerity,
  verityParamsProblem,
  VERITY_HASH_ALGORITHMS,
  VERITY_MAX_BLOCK,
  VERITY_MAX_SALT,
  VERITY_MIN_BLOCK,
  VERITY_SUPERBLOCK_SIZE,
  type VerityHashAlgorithm,
  type VerityHashType,
  type VerityLevel,
  type VerityParams,
  type VerityPlan,
} from './params.js';
export {
  encodeVeritySuperblock,
  parseVeritySuperblock,
  verityUuidBytes,
  verityUuidString,
  VERITY_SIGNATURE,
  type VeritySuperblock,
} from './superblock.js';
export { asBuffer, hashBlocksInto, hasherFor, VerityBlockHasher } from './hasher.js';
export {
  allocLeafLevel,
  completeVerityTree,
  verityHashArea,
  verityHashAreaSize,
  verityHashPieces,
  verityTable,
  verityTreeOf,
  VerityTreeBuilder,
  type VerityPiece,
  type VerityTree,
} from './tree.js';
export {
  checkVerityHashTree,
  readVerityHashDevice,
  type VerityHashDevice,
  type VerityTreeCheck,
} from './read.js';
