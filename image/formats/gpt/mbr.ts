// UEFI 2.10 §5.2.3, Table 5.4: Protective MBR. LBA 0 holds a legacy MBR whose boot signature is
// 0xAA55 at byte 510 and one of whose four 16-byte partition records (at byte 446) has OSType
// 0xEE (GPT protective). The MBR is always 512 bytes, whatever the logical block size.

export const MBR_SIZE = 512;
const RECORDS_OFFSET = 446;
const RECORD_SIZE = 16;
const OS_TYPE_OFFSET = 4;
const GPT_PROTECTIVE = 0xee;

/** A warning if `lba0` (the first 512 bytes of the disk) is not a protective MBR, else undefined. */
export function protectiveMbrWarning(lba0: Uint8Array): string | undefined {
  if (lba0.length < MBR_SIZE || lba0[510] !== 0x55 || lba0[511] !== 0xaa)
    return 'no protective MBR: LBA 0 lacks the 0xAA55 boot signature';
  for (let i = 0; i < 4; i++) {
    if (lba0[RECORDS_OFFSET + i * RECORD_SIZE + OS_TYPE_OFFSET] === GPT_PROTECTIVE) return undefined;
  }
  return 'no protective MBR: no partition record of type 0xEE in LBA 0';
}
