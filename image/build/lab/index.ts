// The measured-boot lab: builds the lab's UKI/GPT disk images from Debian packages and boots them
// under QEMU + OVMF + swtpm to read the real PCRs and event log (ground truth for nodeimg).
export { detectAccel } from './accel.js';
export { bootAndCapture, type BootCapture, type BootOptions } from './boot.js';
export {
  LAB_CMDLINE,
  LAB_DISK,
  LAB_VARIANTS,
  PCR_BANKS,
  variantLayout,
  variantSecureBoot,
  type LabVariant,
  type PcrBank,
} from './config.js';
export { parseLabConsole, type LabConsole, type PcrValues } from './console.js';
export { debRoot, type DebRoot } from './debs.js';
export { buildDisk, labEspFiles, type EspFile } from './disk.js';
export { buildInitrd } from './initrd.js';
export {
  BOOT_TOOL_PACKAGES,
  fetchLabInputs,
  installedVersions,
  sha256File,
  type LabInputs,
} from './inputs.js';
export { buildLabImages, cachedLabImages, labBuildKey, type LabImages } from './lab-image.js';
export { cacheRoot, debCacheDir, labCacheDir } from './paths.js';
export { peChecksum, setPeTimestamp } from './pe-fixup.js';
export type { Accel } from './qemu-argv.js';
export { buildUki } from './uki.js';
