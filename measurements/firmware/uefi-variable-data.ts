// UEFI_VARIABLE_DATA, the event data (and digest input) of EV_EFI_VARIABLE_DRIVER_CONFIG and
// EV_EFI_VARIABLE_AUTHORITY (TCG PC Client PFP §10.2.6 "UEFI_VARIABLE_DATA"; edk2
// MdePkg/Include/IndustryStandard/UefiTcgPlatform.h; built as in SecurityPkg/Tcg/Tcg2Dxe/Tcg2Dxe.c
// MeasureVariable and SecurityPkg/Library/DxeImageVerificationLib/Measurement.c MeasureVariable;
// measured-boot.md §2.2):
//
//   GUID   VariableName          16 bytes, EFI mixed-endian
//   UINT64 UnicodeNameLength     CHAR16 count, no NUL
//   UINT64 VariableDataLength
//   CHAR16 UnicodeName[]         no NUL
//   UINT8  VariableData[]
import { NodeimgError } from '../../image/formats/errors.js';
import { guidFromString } from '../../image/formats/gpt/guid.js';

/** Largest variable data encoded (the biggest real dbx is ~15 KiB; OVMF stores are <= 256 KiB). */
export const MAX_VARIABLE_DATA = 16 * 1024 * 1024;

export function encodeUefiVariableData(guid: string, name: string, data: Uint8Array): Uint8Array {
  if (data.length > MAX_VARIABLE_DATA)
    throw new NodeimgError(
      'USAGE',
      `variable ${name} data is ${data.length} bytes, more than ${MAX_VARIABLE_DATA}`,
    );
  const out = new Uint8Array(32 + name.length * 2 + data.length);
  const dv = new DataView(out.buffer);
  out.set(guidFromString(guid), 0);
  dv.setBigUint64(16, BigInt(name.length), true);
  dv.setBigUint64(24, BigInt(data.length), true);
  for (let i = 0; i < name.length; i++) dv.setUint16(32 + 2 * i, name.charCodeAt(i), true);
  out.set(data, 32 + name.length * 2);
  return out;
}
