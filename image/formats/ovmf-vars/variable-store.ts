import { utf16z, type ByteReader } from '../reader.js';
import { GUID_SIZE, guidToString } from '../gpt/guid.js';
import { AUTHENTICATED_VARIABLE_GUID, VARIABLE_GUID } from './guids.js';
import { VARIABLE_START_ID, decodeVariableHeader, type VarStoreFormat } from './variable-header.js';

// VARIABLE_STORE_HEADER (edk2 MdeModulePkg/Include/Guid/VariableFormat.h), right after the FV header:
//
//   offset size field
//        0   16 Signature (gEfiAuthenticatedVariableGuid or gEfiVariableGuid)
//       16    4 Size (header + records; the FTW areas follow it)
//       20    1 Format (VARIABLE_STORE_FORMATTED 0x5a)
//       21    1 State  (VARIABLE_STORE_HEALTHY 0xfe)
//       22    2 Reserved
//       24    4 Reserved1
//
// Records start at HEADER_ALIGN(header end) and follow each other at HEADER_ALIGN(data end), 4-byte
// alignment; name and data are not padded on x64 (GET_PAD_SIZE with ALIGNMENT 1). The walk stops
// at the first StartId != 0x55AA or at the end of the store (edk2
// MdeModulePkg/Universal/Variable/RuntimeDxe/VariableParsing.c IsValidVariableHeader,
// GetNextVariablePtr, GetVariableDataPtr).

export const VARIABLE_STORE_HEADER_SIZE = 28;
const VARIABLE_STORE_FORMATTED = 0x5a;
const VARIABLE_STORE_HEALTHY = 0xfe;
const HEADER_ALIGNMENT = 4;
/** Most records walked in one store (a 256 KiB store holds at most ~4,300 60-byte headers). */
export const MAX_VARIABLE_RECORDS = 65536;

export interface VariableStoreHeader {
  readonly format: VarStoreFormat;
  readonly size: number;
}

/** A record as stored, deleted ones included. */
export interface VariableRecord {
  /** Absolute offset of the record header. */
  readonly offset: number;
  readonly state: number;
  readonly guid: string;
  readonly name: string;
  readonly attributes: number;
  readonly data: Uint8Array;
}

const align = (n: number): number => Math.ceil(n / HEADER_ALIGNMENT) * HEADER_ALIGNMENT;

export function decodeVariableStoreHeader(r: ByteReader): VariableStoreHeader {
  const sig = guidToString(r.bytesAt(0, GUID_SIZE));
  let format: VarStoreFormat;
  if (sig === AUTHENTICATED_VARIABLE_GUID) format = 'authenticated';
  else if (sig === VARIABLE_GUID) format = 'plain';
  else return r.fail(`Signature ${sig} is neither gEfiAuthenticatedVariableGuid nor gEfiVariableGuid`, 0);
  const size = r.u32At(16);
  const fmt = r.u8At(20);
  const state = r.u8At(21);
  if (fmt !== VARIABLE_STORE_FORMATTED)
    r.fail(`Format 0x${fmt.toString(16)} is not VARIABLE_STORE_FORMATTED (0x5a)`, 20);
  if (state !== VARIABLE_STORE_HEALTHY)
    r.fail(`State 0x${state.toString(16)} is not VARIABLE_STORE_HEALTHY (0xfe)`, 21);
  if (size < VARIABLE_STORE_HEADER_SIZE) r.fail(`Size ${size} is smaller than the header`, 16);
  return { format, size };
}

/** Walks the records of a store; `r` covers exactly the store (header included). */
export function walkVariableRecords(r: ByteReader, format: VarStoreFormat): VariableRecord[] {
  const out: VariableRecord[] = [];
  for (
    let pos = align(VARIABLE_STORE_HEADER_SIZE);
    pos + 2 <= r.length && r.u16At(pos) === VARIABLE_START_ID;
  ) {
    if (out.length >= MAX_VARIABLE_RECORDS)
      r.fail(`more than ${MAX_VARIABLE_RECORDS} variable records`, pos, 'PARSE_LIMIT');
    const h = decodeVariableHeader(r, pos, format);
    const namePos = pos + h.headerSize;
    const where = `variable record at ${r.abs(pos)}`;
    if (h.nameSize > r.length - namePos)
      r.fail(`${where}: NameSize ${h.nameSize} runs past the store end`, pos);
    if (h.dataSize > r.length - namePos - h.nameSize)
      r.fail(`${where}: DataSize ${h.dataSize} runs past the store end`, pos);
    const name = utf16z(r.bytesAt(namePos, h.nameSize));
    const data = r.bytesAt(namePos + h.nameSize, h.dataSize);
    out.push({
      offset: r.abs(pos),
      state: h.state,
      guid: h.vendorGuid,
      name,
      attributes: h.attributes,
      data,
    });
    pos = align(namePos + h.nameSize + h.dataSize);
  }
  return out;
}
