import { ByteReader } from '../reader.js';
import type { ByteSource } from '../source.js';
import { ParseError } from '../errors.js';
import { GUID_SIZE, guidToString } from '../gpt/guid.js';
import { EFI_SYSTEM_NV_DATA_FV_GUID } from './guids.js';

// EFI_FIRMWARE_VOLUME_HEADER (PI 1.8 Vol. 3 §3.2.1; edk2 MdePkg/Include/Pi/PiFirmwareVolume.h):
//
//   offset size field
//        0   16 ZeroVector
//       16   16 FileSystemGuid (EFI_SYSTEM_NV_DATA_FV_GUID for the variable store)
//       32    8 FvLength (whole NV area: variable store + FTW working block + spare)
//       40    4 Signature "_FVH"
//       44    4 Attributes
//       48    2 HeaderLength (header incl. block map, 0x48 on OVMF)
//       50    2 Checksum (16-bit sum of the HeaderLength bytes is 0)
//       52    2 ExtHeaderOffset
//       54    1 Reserved
//       55    1 Revision (2)
//       56      BlockMap { u32 NumBlocks, u32 Length } ... { 0, 0 }
//
// Validated as OvmfPkg/QemuFlashFvbServicesRuntimeDxe/FwBlockService.c ValidateFvHeader does:
// signature, revision, lengths, header checksum (edk2 CalculateSum16).

export const FV_HEADER_SIZE = 56;
const FVH_SIGNATURE = 0x4856465f; // "_FVH" little-endian
const FVH_REVISION = 2;
/** OVMF.fd is VARS + CODE; the NV FV is searched on 4 KiB boundaries (flash block size). */
const SCAN_STEP = 0x1000;
/** Most candidate offsets looked at (64 MiB of flash). */
export const MAX_FV_SCAN = 16384;

export interface FirmwareVolumeHeader {
  /** Absolute offset of the header in the input. */
  readonly offset: number;
  readonly fileSystemGuid: string;
  readonly fvLength: number;
  readonly attributes: number;
  readonly headerLength: number;
  readonly revision: number;
}

/** Decodes and validates the FV header at the start of `r` (r must hold at least HeaderLength bytes). */
export function decodeFvHeader(r: ByteReader): FirmwareVolumeHeader {
  if (r.u32At(40) !== FVH_SIGNATURE) r.fail('no "_FVH" signature', 40);
  const fvLength = r.u64nAt(32);
  const headerLength = r.u16At(48);
  const revision = r.u8At(55);
  if (revision !== FVH_REVISION)
    r.fail(`Revision ${revision} is not ${FVH_REVISION}`, 55, 'PARSE_UNSUPPORTED');
  if (headerLength < FV_HEADER_SIZE + 8 || headerLength % 2 !== 0)
    r.fail(`HeaderLength ${headerLength} is not an even size >= ${FV_HEADER_SIZE + 8}`, 48);
  if (fvLength < headerLength)
    r.fail(`FvLength ${fvLength} is smaller than HeaderLength ${headerLength}`, 32);
  // edk2 CalculateSum16 over the whole header (block map included) must be 0.
  let sum = 0;
  for (let i = 0; i < headerLength; i += 2) sum = (sum + r.u16At(i)) & 0xffff;
  if (sum !== 0) r.fail(`header checksum is wrong (16-bit sum 0x${sum.toString(16)}, want 0)`, 50);
  return {
    offset: r.abs(0),
    fileSystemGuid: guidToString(r.bytesAt(16, GUID_SIZE)),
    fvLength,
    attributes: r.u32At(44),
    headerLength,
    revision,
  };
}

/**
 * Finds the NV variable store FV: at offset 0 in OVMF_VARS*.fd, also at offset 0 in a combined
 * OVMF.fd (VARS region first, edk2 OvmfPkg/OvmfPkgX64.fdf), otherwise on the first 4 KiB boundary
 * whose header says "_FVH" with FileSystemGuid EFI_SYSTEM_NV_DATA_FV_GUID. Returns the validated
 * header; the caller reads the store behind it.
 */
export async function findNvFirmwareVolume(src: ByteSource): Promise<FirmwareVolumeHeader> {
  for (let n = 0, off = 0; off + FV_HEADER_SIZE <= src.size; n++, off += SCAN_STEP) {
    if (n >= MAX_FV_SCAN)
      throw new ParseError(
        'PARSE_LIMIT',
        src.name,
        src.base + off,
        `no NV variable FV in the first ${MAX_FV_SCAN} blocks`,
      );
    const head = new ByteReader(
      await src.read(off, FV_HEADER_SIZE),
      `${src.name}: EFI_FIRMWARE_VOLUME_HEADER`,
      src.base + off,
    );
    if (
      head.u32At(40) !== FVH_SIGNATURE ||
      guidToString(head.bytesAt(16, GUID_SIZE)) !== EFI_SYSTEM_NV_DATA_FV_GUID
    )
      continue;
    const headerLength = head.u16At(48);
    if (off + headerLength > src.size)
      head.fail(`HeaderLength ${headerLength} runs past the ${src.size}-byte input`, 48);
    const full = new ByteReader(
      await src.read(off, Math.max(headerLength, FV_HEADER_SIZE)),
      head.structure,
      head.base,
    );
    return decodeFvHeader(full);
  }
  throw new ParseError(
    'PARSE_INVALID',
    src.name,
    src.base,
    `no firmware volume with FileSystemGuid ${EFI_SYSTEM_NV_DATA_FV_GUID} (EFI_SYSTEM_NV_DATA_FV): not an OVMF_VARS/OVMF.fd image`,
  );
}
