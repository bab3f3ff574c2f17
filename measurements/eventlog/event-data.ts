// Decoders for the event-data structures that carry meaning (edk2 UefiTcgPlatform.h; TCG PFP
// §10.2 / §10.4; measured-boot.md §2.2). All are bounds-checked through ByteReader and throw
// ParseError on odd data; describe.ts turns that into a fallback text.
import { ByteReader } from '../../image/formats/reader.js';
import { readGuid } from './efi-guid.js';
import { latin1 } from './text.js';

/** UEFI_VARIABLE_DATA {GUID VariableName; u64 UnicodeNameLength; u64 VariableDataLength; CHAR16 name[]; u8 data[]}. */
export interface UefiVariableData {
  readonly guid: string;
  readonly name: string;
  readonly variableData: Uint8Array;
  /** Bytes after VariableData (should be none). */
  readonly extra: number;
}

export function decodeUefiVariableData(data: Uint8Array): UefiVariableData {
  const r = new ByteReader(data, 'UEFI_VARIABLE_DATA');
  const guid = readGuid(r);
  const nameLen = r.u64n();
  const dataLen = r.u64n();
  const nameBytes = r.read(nameLen * 2);
  let name = '';
  for (let i = 0; i < nameLen; i++)
    name += String.fromCharCode((nameBytes[2 * i] as number) | ((nameBytes[2 * i + 1] as number) << 8));
  const variableData = r.read(dataLen);
  return { guid, name, variableData, extra: r.remaining };
}

/** UEFI_IMAGE_LOAD_EVENT {u64 ImageLocationInMemory, ImageLengthInMemory, ImageLinkTimeAddress, LengthOfDevicePath; DevicePath[]}. */
export interface ImageLoadEvent {
  readonly location: bigint;
  readonly length: bigint;
  readonly linkTimeAddress: bigint;
  readonly devicePathLength: bigint;
  /** The device path bytes actually present (clipped to the event data). */
  readonly devicePath: Uint8Array;
}

export function decodeImageLoadEvent(data: Uint8Array): ImageLoadEvent {
  const r = new ByteReader(data, 'UEFI_IMAGE_LOAD_EVENT');
  const location = r.u64();
  const length = r.u64();
  const linkTimeAddress = r.u64();
  const devicePathLength = r.u64();
  const n = devicePathLength > BigInt(r.remaining) ? r.remaining : Number(devicePathLength);
  return { location, length, linkTimeAddress, devicePathLength, devicePath: r.read(n) };
}

/** TCG_PCClientTaggedEvent {u32 taggedEventID; u32 taggedEventDataSize; u8 taggedEventData[]}. */
export interface TaggedEvent {
  readonly id: number;
  readonly data: Uint8Array;
}

export function decodeTaggedEvent(data: Uint8Array): TaggedEvent {
  const r = new ByteReader(data, 'TCG_PCClientTaggedEvent');
  const id = r.u32();
  const size = r.u32();
  return { id, data: r.read(size) };
}

/** UEFI_GPT_DATA: 92-byte EFI_PARTITION_TABLE_HEADER, u64 NumberOfPartitions, entries (measured-boot.md §3.3). */
export interface GptEventSummary {
  readonly signatureOk: boolean;
  readonly diskGuid: string;
  readonly partitions: bigint;
  readonly entrySize: number;
}

export function decodeGptEvent(data: Uint8Array): GptEventSummary {
  const r = new ByteReader(data, 'UEFI_GPT_DATA');
  const signatureOk = latin1(r.bytesAt(0, 8)) === 'EFI PART';
  const diskGuid = readGuid(r.seek(56));
  const entrySize = r.u32At(84);
  const partitions = r.u64At(92);
  return { signatureOk, diskGuid, partitions, entrySize };
}

/** UEFI_PLATFORM_FIRMWARE_BLOB {u64 BlobBase; u64 BlobLength}, optionally preceded by BLOB2's u8 size + description. */
export interface FirmwareBlob {
  readonly description: string | undefined;
  readonly base: bigint;
  readonly length: bigint;
}

export function decodeFirmwareBlob(data: Uint8Array, withDescription: boolean): FirmwareBlob {
  const r = new ByteReader(
    data,
    withDescription ? 'UEFI_PLATFORM_FIRMWARE_BLOB2' : 'UEFI_PLATFORM_FIRMWARE_BLOB',
  );
  const description = withDescription ? latin1(r.read(r.u8())) : undefined;
  return { description, base: r.u64(), length: r.u64() };
}

/** UEFI_HANDOFF_TABLE_POINTERS(2): [u8 size + description,] UINTN count, {EFI_GUID, VOID*} x count. */
export interface HandoffTables {
  readonly description: string | undefined;
  readonly guids: readonly string[];
}

export function decodeHandoffTables(
  data: Uint8Array,
  withDescription: boolean,
  uintnBytes: 4 | 8,
): HandoffTables {
  const r = new ByteReader(
    data,
    withDescription ? 'UEFI_HANDOFF_TABLE_POINTERS2' : 'UEFI_HANDOFF_TABLE_POINTERS',
  );
  const description = withDescription ? latin1(r.read(r.u8())) : undefined;
  // UEFI_HANDOFF_TABLE_POINTERS2 declares NumberOfTables as UINT64; the v1 struct uses UINTN.
  const count = withDescription || uintnBytes === 8 ? r.u64n() : r.u32();
  if (count * (16 + uintnBytes) > r.remaining) r.fail(`${count} tables do not fit in ${r.remaining} bytes`);
  const guids: string[] = [];
  for (let i = 0; i < count; i++) {
    guids.push(readGuid(r));
    r.skip(uintnBytes);
  }
  return { description, guids };
}
