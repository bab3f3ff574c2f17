// AMD SEV / SEV-ES / SEV-SNP launch measurements and the SEV-SNP attestation report. Pure.
export { amdLaunchDigests, AMD_SEV_MODES } from './launch.js';
export type { AmdLaunchInput, AmdLaunchResult, AmdSevMode } from './launch.js';
export { snpDigest, snpDigests, chainVmsas, DEFAULT_GUEST_FEATURES } from './snp-digest.js';
export type { SnpLaunchInput, SnpLaunchResult } from './snp-digest.js';
export { svsmDigests } from './svsm-digest.js';
export type { SvsmLaunchInput } from './svsm-digest.js';
export { sevDigest, sevEsDigests } from './sev-digest.js';
export type { SevEsLaunchInput, SevEsLaunchResult, SevLaunchResult } from './sev-digest.js';
export {
  loadAmdSevFirmware,
  firmwareLaunchDigest,
  parseOvmfHashSeed,
  MAX_FIRMWARE_SIZE,
} from './firmware.js';
export type { AmdSevFirmware } from './firmware.js';
export { describeAmdSevFirmware } from './described-firmware.js';
export type { FirmwareParameters } from './described-firmware.js';
export {
  kernelHashes,
  kernelHashesFromBytes,
  sevHashTable,
  sevHashTablePage,
  cmdlineBytes,
  SEV_HASH_TABLE_SIZE,
} from './kernel-hashes.js';
export type { KernelHashes } from './kernel-hashes.js';
export { LaunchDigest, PAGE_TYPE, PAGE_INFO_SIZE, LD_SIZE, VMSA_GPA } from './page-info.js';
export type { PageRun, PageTypeName } from './page-info.js';
export { buildVmsa, buildSvsmVmsa, BSP_EIP, VMM_TYPES } from './vmsa.js';
export type { VmmType, VmsaParams } from './vmsa.js';
export { CPU_SIGS, cpuSig, vcpuSigForType } from './vcpu-types.js';
export { MAX_VCPUS } from './vcpus.js';
export type { VcpuDigest } from './vcpus.js';
export {
  decodeSnpReport,
  SNP_REPORT_SIZE,
  SNP_REPORT_VERSIONS,
  SIG_ALGO_ECDSA_P384_SHA384,
} from './report.js';
export type { SnpReport, SnpFirmwareVersion } from './report.js';
export { decodePolicy, decodePlatformInfo, decodeKeyInfo, decodeTcb } from './report-fields.js';
export type { SnpGuestPolicy, SnpPlatformInfo, SnpKeyInfo, SigningKey, TcbVersion } from './report-fields.js';
