import { ByteReader } from '../reader.js';
import { GUID_SIZE, guidToString } from '../gpt/guid.js';
import { SIGNATURE_TYPES, signatureTypeName } from './guids.js';

// EFI_SIGNATURE_LIST, UEFI 2.10 §32.4.1 (edk2 MdePkg/Include/Guid/ImageAuthentication.h), the
// format of PK, KEK, db, dbx and dbt. A variable holds one or more lists back to back:
//
//   offset size field
//        0   16 SignatureType (EFI_CERT_X509_GUID, EFI_CERT_SHA256_GUID, ...)
//       16    4 SignatureListSize (whole list)
//       20    4 SignatureHeaderSize
//       24    4 SignatureSize (each EFI_SIGNATURE_DATA)
//       28    .  SignatureHeader[SignatureHeaderSize]
//        .    .  EFI_SIGNATURE_DATA[(ListSize - 28 - HeaderSize) / SignatureSize]
//                  { EFI_GUID SignatureOwner; UINT8 SignatureData[SignatureSize - 16] }
//
// Checked like edk2 SecurityPkg/Library/AuthVariableLib/AuthService.c CheckSignatureListFormat:
// the entries fill the list exactly, and fixed-size types have their fixed size.

export const EFI_SIGNATURE_LIST_HEADER_SIZE = 28;
/** Most lists in one variable, and most entries over all lists (the 2024 Microsoft dbx has ~430). */
export const MAX_SIGNATURE_LISTS = 1024;
export const MAX_SIGNATURE_ENTRIES = 65536;

export interface SignatureEntry {
  /** SignatureOwner GUID. */
  readonly owner: string;
  /** SignatureData: a DER certificate, a hash, ... */
  readonly data: Uint8Array;
  /** The EFI_SIGNATURE_DATA as stored (owner + data): what EV_EFI_VARIABLE_AUTHORITY measures. */
  readonly rawEntry: Uint8Array;
  /** Offset of the entry in the variable data (plus the caller's base). */
  readonly offset: number;
}

export interface SignatureList {
  readonly signatureType: string;
  /** "EFI_CERT_X509" etc., or the GUID when unknown. */
  readonly typeName: string;
  readonly header: Uint8Array;
  readonly signatureSize: number;
  readonly offset: number;
  readonly entries: readonly SignatureEntry[];
}

/**
 * Decodes the EFI_SIGNATURE_LISTs of a PK/KEK/db/dbx/dbt value (empty data gives []). `base` is the
 * absolute offset of `data` for error messages.
 */
export function parseSignatureLists(
  data: Uint8Array,
  base = 0,
  name = 'EFI_SIGNATURE_LIST',
): SignatureList[] {
  const r = new ByteReader(data, name, base);
  const lists: SignatureList[] = [];
  let total = 0;
  for (let pos = 0; pos < r.length;) {
    if (lists.length >= MAX_SIGNATURE_LISTS)
      r.fail(`more than ${MAX_SIGNATURE_LISTS} signature lists`, pos, 'PARSE_LIMIT');
    const signatureType = guidToString(r.bytesAt(pos, GUID_SIZE));
    const listSize = r.u32At(pos + 16);
    const headerSize = r.u32At(pos + 20);
    const signatureSize = r.u32At(pos + 24);
    if (listSize < EFI_SIGNATURE_LIST_HEADER_SIZE || listSize > r.length - pos) {
      r.fail(`SignatureListSize ${listSize} does not fit the ${r.length - pos} bytes left`, pos + 16);
    }
    if (headerSize > listSize - EFI_SIGNATURE_LIST_HEADER_SIZE)
      r.fail(`SignatureHeaderSize ${headerSize} exceeds the list`, pos + 20);
    const body = listSize - EFI_SIGNATURE_LIST_HEADER_SIZE - headerSize;
    if (signatureSize < GUID_SIZE)
      r.fail(`SignatureSize ${signatureSize} is smaller than the 16-byte owner GUID`, pos + 24);
    if (body % signatureSize !== 0)
      r.fail(`${body} bytes of entries are not a multiple of SignatureSize ${signatureSize}`, pos + 24);
    const fixed = SIGNATURE_TYPES.get(signatureType)?.dataSize;
    if (fixed !== undefined && signatureSize !== GUID_SIZE + fixed) {
      r.fail(
        `${signatureTypeName(signatureType)} entries are ${GUID_SIZE + fixed} bytes, SignatureSize says ${signatureSize}`,
        pos + 24,
      );
    }
    const count = body / signatureSize;
    total += count;
    if (total > MAX_SIGNATURE_ENTRIES)
      r.fail(`more than ${MAX_SIGNATURE_ENTRIES} signatures`, pos, 'PARSE_LIMIT');
    const header = r.bytesAt(pos + EFI_SIGNATURE_LIST_HEADER_SIZE, headerSize);
    const entries: SignatureEntry[] = [];
    for (
      let i = 0, at = pos + EFI_SIGNATURE_LIST_HEADER_SIZE + headerSize;
      i < count;
      i++, at += signatureSize
    ) {
      const rawEntry = r.bytesAt(at, signatureSize);
      entries.push({
        owner: guidToString(rawEntry.subarray(0, GUID_SIZE)),
        data: rawEntry.subarray(GUID_SIZE),
        rawEntry,
        offset: r.abs(at),
      });
    }
    lists.push({
      signatureType,
      typeName: signatureTypeName(signatureType),
      header,
      signatureSize,
      offset: r.abs(pos),
      entries,
    });
    pos += listSize;
  }
  return lists;
}
