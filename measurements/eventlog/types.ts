// Data model of a TCG PC Client crypto-agile event log (TCG PC Client PFP; edk2
// MdePkg/Include/IndustryStandard/UefiTcgPlatform.h; measured-boot.md §2). Everything a decoder
// returns is a claim made by the log: names say so (untrustedType, claimedDigests). Only replay
// (replay.ts) and verification against quoted PCRs (verify.ts) produce results worth trusting.
import type { HashAlg } from '../hash.js';

/** Event types, TCG PC Client PFP §10.4.1 "Event Types" (values as in edk2 UefiTcgPlatform.h). */
export const EV = {
  PREBOOT_CERT: 0x0,
  POST_CODE: 0x1,
  UNUSED: 0x2,
  NO_ACTION: 0x3,
  SEPARATOR: 0x4,
  ACTION: 0x5,
  EVENT_TAG: 0x6,
  S_CRTM_CONTENTS: 0x7,
  S_CRTM_VERSION: 0x8,
  CPU_MICROCODE: 0x9,
  PLATFORM_CONFIG_FLAGS: 0xa,
  TABLE_OF_DEVICES: 0xb,
  COMPACT_HASH: 0xc,
  IPL: 0xd,
  IPL_PARTITION_DATA: 0xe,
  NONHOST_CODE: 0xf,
  NONHOST_CONFIG: 0x10,
  NONHOST_INFO: 0x11,
  OMIT_BOOT_DEVICE_EVENTS: 0x12,
  EFI_EVENT_BASE: 0x80000000,
  EFI_VARIABLE_DRIVER_CONFIG: 0x80000001,
  EFI_VARIABLE_BOOT: 0x80000002,
  EFI_BOOT_SERVICES_APPLICATION: 0x80000003,
  EFI_BOOT_SERVICES_DRIVER: 0x80000004,
  EFI_RUNTIME_SERVICES_DRIVER: 0x80000005,
  EFI_GPT_EVENT: 0x80000006,
  EFI_ACTION: 0x80000007,
  EFI_PLATFORM_FIRMWARE_BLOB: 0x80000008,
  EFI_HANDOFF_TABLES: 0x80000009,
  EFI_PLATFORM_FIRMWARE_BLOB2: 0x8000000a,
  EFI_HANDOFF_TABLES2: 0x8000000b,
  EFI_VARIABLE_BOOT2: 0x8000000c,
  EFI_HCRTM_EVENT: 0x80000010,
  EFI_VARIABLE_AUTHORITY: 0x800000e0,
  EFI_SPDM_FIRMWARE_BLOB: 0x800000e1,
  EFI_SPDM_FIRMWARE_CONFIG: 0x800000e2,
  EFI_SPDM_DEVICE_POLICY: 0x800000e3,
  EFI_SPDM_DEVICE_AUTHORITY: 0x800000e4,
} as const;

export type EventTypeKey = keyof typeof EV;

const NAMES: ReadonlyMap<number, string> = new Map(Object.entries(EV).map(([k, v]) => [v, `EV_${k}`]));

/** "EV_SEPARATOR" for 4; "EV_UNKNOWN_0x00001234" for a value the PFP does not define. */
export function eventTypeName(type: number): string {
  return NAMES.get(type) ?? `EV_UNKNOWN_0x${(type >>> 0).toString(16).padStart(8, '0')}`;
}

export function isKnownEventType(type: number): boolean {
  return NAMES.has(type);
}

/** One algorithm entry of the Spec ID event: TCG_EfiSpecIdEventAlgorithmSize. */
export interface SpecIdAlgorithm {
  readonly alg: HashAlg;
  /** TPM_ALG_ID as written in the log. */
  readonly algId: number;
  readonly digestSize: number;
}

/** TCG_EfiSpecIDEventStruct ("Spec ID Event03"), the data of the log's first record. */
export interface SpecIdEvent {
  /** TCG ACPI platform class: 0 client, 1 server. */
  readonly platformClass: number;
  readonly specVersion: { readonly major: number; readonly minor: number };
  readonly errata: number;
  /** 1 = UINTN is UINT32, 2 = UINT64 (x64 firmware). */
  readonly uintnSize: number;
  /** Banks every later event is supposed to carry, in log order. */
  readonly algorithms: readonly SpecIdAlgorithm[];
  readonly vendorInfo: Uint8Array;
}

/** A TCG_PCR_EVENT2 record as the log states it. Nothing here has been checked against a TPM. */
export interface TcgEvent {
  /** Position in the log: 0 is the Spec ID header record, so events start at 1 (tpm2_eventlog numbering). */
  readonly index: number;
  /** Byte offset of the record in the log. */
  readonly offset: number;
  /** PCRIndex field (in a TDX CCEL: the CC MR index, 1..4). */
  readonly pcr: number;
  /** EventType field; untrusted, never used to decide what to extend. */
  readonly untrustedType: number;
  readonly typeName: string;
  /** Digests in record order (JS keeps string-key insertion order; encode writes them back in it). */
  readonly claimedDigests: Partial<Record<HashAlg, Uint8Array>>;
  readonly data: Uint8Array;
}

/** The fields encode needs; a simulator builds these (see createEvent). */
export type EventRecord = Pick<TcgEvent, 'pcr' | 'untrustedType' | 'claimedDigests' | 'data'>;

/** Bytes after the last record that the decoder treated as padding. */
export interface TrailingBytes {
  readonly offset: number;
  readonly bytes: Uint8Array;
}

/** Named firmware quirks the decoder tolerated (go-eventlog style: an id'd list, not scattered ifs). */
export type DecodeWarningId =
  'TRAILING_PADDING' | 'TRAILING_GARBAGE' | 'SPEC_ID_VERSION' | 'SPEC_ID_UINTN_SIZE';

export interface DecodeWarning {
  readonly id: DecodeWarningId;
  readonly offset: number;
  readonly message: string;
}

/** A whole log: encodeEventLog(decodeEventLog(x)) reproduces x byte for byte. */
export interface EventLog {
  /** PCRIndex of the Spec ID record: 0 in TPM logs, 1 in edk2's TDX CCEL (measured-boot.md §9.2). */
  readonly headerPcr: number;
  readonly specId: SpecIdEvent;
  readonly events: readonly EventRecord[];
  readonly trailing?: Pick<TrailingBytes, 'bytes'> | undefined;
}

export interface DecodedEventLog extends EventLog {
  readonly events: readonly TcgEvent[];
  readonly trailing: TrailingBytes | undefined;
  readonly warnings: readonly DecodeWarning[];
  /** Total bytes consumed by records (the trailing padding starts here). */
  readonly size: number;
}
