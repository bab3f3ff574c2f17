// The built-in build stages (issue 6). pipeline/build/registry.ts registers them by kind; the root
// file system stages (mmdebstrap, erofs, dm-verity) plug in the same way.
export type {
  BuildStage,
  KnownFile,
  ParamValue,
  SourceContext,
  SourceStage,
  StageRunContext,
  ToolRef,
} from './types.js';
export { aptCodenames, resolvePackage, type LockedPackage } from './apt.js';
export { debPath, fetchStage, sha256OfFile, type FetchParams } from './fetch.js';
export { extractStage, type ExtractParams } from './extract.js';
export { initrdStage, type InitrdParams } from './initrd.js';
export { ukiStage, type UkiParams } from './uki.js';
export { signStage, type SignParams } from './sign.js';
export { espStage, type EspParams } from './esp.js';
export { diskStage, type DiskParams, type DiskPartitionParams } from './disk.js';
export { gceStage, qcow2Stage, vhdStage, type FormatParams } from './formats.js';
export { measureStage, type MeasureParams } from './measure.js';
