// Public API of nodeimg/measurements: pure register models and the TCG event-log codec/replayer.
// An allow-list (STYLE.md §2.15): anything not exported here is internal.
export { ALL_HASH_ALGS, HASH_ALGS, MultiHash, digest, hashAlgById, isHashAlg } from './hash.js';
export type { HashAlg } from './hash.js';

export {
  PCR_COUNT,
  extend,
  extendData,
  initialRegister,
  isStartupLocality,
  zeroRegister,
} from './register.js';
export type { Register, StartupLocality } from './register.js';
export { PcrBanks } from './pcr-banks.js';
export type { BankDigests, PcrValues } from './pcr-banks.js';
export { RTMR_ALG, RTMR_COUNT, RtmrBank, ccMrIndexForPcr, initialRtmr, rtmrIndexForMrIndex } from './rtmr.js';

export { EV, eventTypeName, isKnownEventType } from './eventlog/types.js';
export type {
  DecodeWarning,
  DecodeWarningId,
  DecodedEventLog,
  EventLog,
  EventRecord,
  EventTypeKey,
  SpecIdAlgorithm,
  SpecIdEvent,
  TcgEvent,
  TrailingBytes,
} from './eventlog/types.js';
export { MAX_EVENTS, MAX_EVENT_SIZE, decodeEventLog } from './eventlog/decode.js';
export type { DecodeOptions } from './eventlog/decode.js';
export { createEvent, encodeEventLog } from './eventlog/encode.js';
export type { CreateEventInput } from './eventlog/encode.js';
export { buildSpecIdEvent } from './eventlog/spec-id.js';
export { describeEvent } from './eventlog/describe.js';
export type { DescribeOptions } from './eventlog/describe.js';
export { devicePathText } from './eventlog/device-path.js';
export { KNOWN_GUIDS, guidToString } from './eventlog/efi-guid.js';
export { KNOWN_TAGS, knownTag } from './eventlog/tags.js';
export type { KnownTag } from './eventlog/tags.js';
export { startupLocalityOf } from './eventlog/no-action.js';
export {
  decodeFirmwareBlob,
  decodeGptEvent,
  decodeHandoffTables,
  decodeImageLoadEvent,
  decodeTaggedEvent,
  decodeUefiVariableData,
} from './eventlog/event-data.js';
export type {
  FirmwareBlob,
  GptEventSummary,
  HandoffTables,
  ImageLoadEvent,
  TaggedEvent,
  UefiVariableData,
} from './eventlog/event-data.js';
export { DATA_DIGEST_TYPES, checkDataDigests, dataDigestMatches } from './eventlog/data-digest.js';
export type { DataDigestCheck } from './eventlog/data-digest.js';
export { replayEventLog } from './eventlog/replay.js';
export type { ReplayOptions, ReplayResult, ReplayedEvent } from './eventlog/replay.js';
export { ReplayError, assertReplayMatches, verifyAgainst } from './eventlog/verify.js';
export type { PcrMismatch, VerifiedEvent, VerifyResult } from './eventlog/verify.js';
export { diffEvents } from './eventlog/diff.js';
export type { DiffOptions, DiffReason, EventDiff, EventMismatch, PcrDiff } from './eventlog/diff.js';
export { IMAGE_LOAD_TYPES, asExpected, changesPcr, expectedFromLog } from './eventlog/expected-event.js';
export type { AnyEvent, ExpectedEvent, FromLogOptions } from './eventlog/expected-event.js';
export { formatDiff } from './eventlog/diff-format.js';

// AMD SEV / SEV-ES / SEV-SNP launch digests and the SEV-SNP attestation report (cvm/snp/).
export {
  AMD_SEV_MODES,
  CPU_SIGS,
  DEFAULT_GUEST_FEATURES,
  amdLaunchDigests,
  cpuSig,
  decodeSnpReport,
  describeAmdSevFirmware,
  kernelHashes,
  kernelHashesFromBytes,
  loadAmdSevFirmware,
  sevDigest,
  sevEsDigests,
  sevHashTable,
  snpDigest,
  snpDigests,
  svsmDigests,
  vcpuSigForType,
} from './cvm/snp/index.js';
export type {
  AmdLaunchInput,
  AmdLaunchResult,
  AmdSevFirmware,
  AmdSevMode,
  FirmwareParameters,
  KernelHashes,
  SnpLaunchInput,
  SnpLaunchResult,
  SnpReport,
  VcpuDigest,
  VmmType,
} from './cvm/snp/index.js';
