import type { ByteReader } from '../reader.js';
import { GUID_SIZE, guidToString } from '../gpt/guid.js';

// Variable record headers, edk2 MdeModulePkg/Include/Guid/VariableFormat.h (#pragma pack(1)):
//
//   AUTHENTICATED_VARIABLE_HEADER (60 bytes)     VARIABLE_HEADER (32 bytes)
//     0  2 StartId (0x55AA)                        0  2 StartId
//     2  1 State                                   2  1 State
//     3  1 Reserved                                3  1 Reserved
//     4  4 Attributes                              4  4 Attributes
//     8  8 MonotonicCount                          8  4 NameSize
//    16 16 TimeStamp (EFI_TIME)                   12  4 DataSize
//    32  4 PubKeyIndex                            16 16 VendorGuid
//    36  4 NameSize
//    40  4 DataSize
//    44 16 VendorGuid
//
// followed by the name (UTF-16LE with NUL, NameSize bytes) and the data (DataSize bytes).

export const AUTH_VARIABLE_HEADER_SIZE = 60;
export const VARIABLE_HEADER_SIZE = 32;
export const VARIABLE_START_ID = 0x55aa;

/** VARIABLE_HEADER.State values; a state change clears bits (VariableFormat.h). */
export const VAR_STATE = {
  inDeletedTransition: 0xfe,
  deleted: 0xfd,
  headerValidOnly: 0x7f,
  added: 0x3f,
} as const;
/** VAR_ADDED & VAR_IN_DELETED_TRANSITION: being replaced; live only while no VAR_ADDED copy exists. */
export const VAR_ADDED_IN_DELETED_TRANSITION = VAR_STATE.added & VAR_STATE.inDeletedTransition;

export type VarStoreFormat = 'authenticated' | 'plain';

export interface VariableHeader {
  readonly state: number;
  readonly attributes: number;
  readonly nameSize: number;
  readonly dataSize: number;
  readonly vendorGuid: string;
  readonly headerSize: number;
}

/** Decodes the header at `pos` (StartId already checked by the caller). */
export function decodeVariableHeader(r: ByteReader, pos: number, format: VarStoreFormat): VariableHeader {
  const auth = format === 'authenticated';
  const headerSize = auth ? AUTH_VARIABLE_HEADER_SIZE : VARIABLE_HEADER_SIZE;
  const h = r.sub(
    pos,
    Math.min(headerSize, r.length - pos),
    auth ? 'AUTHENTICATED_VARIABLE_HEADER' : 'VARIABLE_HEADER',
  );
  const state = h.u8At(2);
  const attributes = h.u32At(4);
  let nameSize = h.u32At(auth ? 36 : 8);
  let dataSize = h.u32At(auth ? 40 : 12);
  const vendorGuid = guidToString(h.bytesAt(auth ? 44 : 16, GUID_SIZE));
  // edk2 VariableParsing.c NameSizeOfVariable/DataSizeOfVariable: a header with any all-ones field
  // (a half-written record) has size 0.
  if (state === 0xff || nameSize === 0xffffffff || dataSize === 0xffffffff || attributes === 0xffffffff) {
    nameSize = 0;
    dataSize = 0;
  }
  return { state, attributes, nameSize, dataSize, vendorGuid, headerSize };
}
