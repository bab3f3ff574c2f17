// The TPM side of a measured boot: swtpm's command log, the TPM 2.0 PCR commands in it, their replay,
// and the comparison with a prediction (`nodeimg boot-check`). Pure.
export {
  MAX_SWTPM_LINE,
  MAX_SWTPM_LOG_BYTES,
  MAX_SWTPM_RECORDS,
  MAX_SWTPM_RECORD_BYTES,
  SwtpmLogError,
  parseSwtpmLog,
} from './swtpm-log.js';
export type { SwtpmLog, SwtpmLogOptions, SwtpmNote, SwtpmRecord, SwtpmRecordKind } from './swtpm-log.js';
export {
  TPM_CC,
  TPM_RH_NULL,
  TPM_ST,
  TPM_SU,
  decodeEventSequenceComplete,
  decodeEventSequenceCompleteResponse,
  decodePcrAllocate,
  decodePcrEvent,
  decodePcrEventResponse,
  decodePcrExtend,
  decodePcrReadCommand,
  decodePcrReadResponse,
  decodePcrReset,
  decodeStartupType,
  encodePcrRead,
  wireHeader,
} from './tpm2-wire.js';
export type { PcrReadValue, PcrSelection, WireDigest, WireHeader } from './tpm2-wire.js';
export { EXIT_BOOT_SERVICES_SUCCESS, SWTPM_CTRL, currentExtends, replayTpmLog } from './replay.js';
export type {
  ExtendVia,
  TpmExtend,
  TpmReadCheck,
  TpmReplay,
  TpmReplayOptions,
  TpmReset,
  TpmStartup,
} from './replay.js';
export { diffExtends, formatExtendDiff, isExtend } from './extend-diff.js';
export type {
  DepartureReason,
  ExtendDeparture,
  ExtendDiff,
  ExtendDiffOptions,
  PcrExtendDiff,
} from './extend-diff.js';
export { checkBoot, checkEventLog } from './boot-check.js';
export type { BootCheckInput, BootCheckResult, CrossCheck, PcrHex, PcrVerdict } from './boot-check.js';
