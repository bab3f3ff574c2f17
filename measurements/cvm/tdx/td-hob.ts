// The TD HOB that QEMU writes into the TD_HOB section and TDVF measures into RTMR0 as
// EV_EFI_HANDOFF_TABLES2 (QEMU hw/i386/tdvf-hob.c tdvf_hob_create; edk2 OvmfPkg/IntelTdx
// TdxHelperLib TdxHelperMeasureTdHob; launch-measurements.md §2.3 RTMR0 item 1). The measured bytes
// are the PHIT HOB followed by one resource-descriptor HOB per RAM range; the end-of-list HOB is not
// hashed. Field layouts: PI spec Vol. 3 §5.3 EFI_HOB_HANDOFF_INFO_TABLE, §5.5 EFI_HOB_RESOURCE_DESCRIPTOR.
import { NodeimgError } from '../../../image/formats/errors.js';
import type { TdvfSection } from '../../../image/formats/tdvf/index.js';
import { qemuRamLayout } from './memory-layout.js';

const PHIT_SIZE = 56;
const RESOURCE_SIZE = 48;
const END_SIZE = 8;
const EFI_HOB_TYPE_HANDOFF = 0x0001;
const EFI_HOB_TYPE_RESOURCE_DESCRIPTOR = 0x0003;
const EFI_HOB_HANDOFF_TABLE_VERSION = 0x0009;
/** EFI_RESOURCE_SYSTEM_MEMORY: pages QEMU added (TD_HOB, TempMem). */
const RESOURCE_SYSTEM_MEMORY = 0x0;
/** EFI_RESOURCE_MEMORY_UNACCEPTED: the rest of RAM, accepted later by the guest. */
const RESOURCE_MEMORY_UNACCEPTED = 0x7;
/** PRESENT | INITIALIZED | TESTED, QEMU's EFI_RESOURCE_ATTRIBUTE_TDVF_PRIVATE / _UNACCEPTED. */
const RESOURCE_ATTRIBUTES = 0x7;

export interface RamRange {
  readonly start: number;
  readonly end: number;
  readonly accepted: boolean;
}

/**
 * RAM as QEMU's TDX code hands it to TDVF (hw/i386/tdx.c tdx_init_ram_entries +
 * tdx_accept_ram_range): below-4G and above-4G RAM as unaccepted ranges, with every TD_HOB and
 * TempMem section cut out as an accepted range, in address order.
 */
export function tdRamRanges(sections: readonly TdvfSection[], memoryBytes: number): RamRange[] {
  const ram = qemuRamLayout(memoryBytes);
  const added = sections
    .filter((s) => (s.type === 'TD_HOB' || s.type === 'TempMem') && s.memoryDataSize > 0)
    .sort((a, b) => a.memoryAddress - b.memoryAddress);
  const out: RamRange[] = [];
  let pos = 0;
  for (const s of added) {
    const end = s.memoryAddress + s.memoryDataSize;
    if (end > ram.below4g)
      throw new NodeimgError(
        'USAGE',
        `TDVF ${s.type} section at 0x${s.memoryAddress.toString(16)} lies beyond the ${ram.below4g}-byte low RAM of a ${memoryBytes}-byte TD`,
      );
    if (s.memoryAddress > pos) out.push({ start: pos, end: s.memoryAddress, accepted: false });
    out.push({ start: s.memoryAddress, end, accepted: true });
    pos = end;
  }
  if (pos < ram.below4g) out.push({ start: pos, end: ram.below4g, accepted: false });
  if (ram.above4g > 0)
    out.push({ start: ram.above4gStart, end: ram.above4gStart + ram.above4g, accepted: false });
  return out;
}

/** The measured TD HOB bytes (PHIT + resource descriptors, without the end-of-list HOB). */
export function tdHobPreimage(sections: readonly TdvfSection[], memoryBytes: number): Uint8Array {
  const hob = sections.find((s) => s.type === 'TD_HOB');
  if (hob === undefined) throw new NodeimgError('PARSE_INVALID', 'the TDVF metadata has no TD_HOB section');
  const ranges = tdRamRanges(sections, memoryBytes);
  const measured = PHIT_SIZE + RESOURCE_SIZE * ranges.length;
  if (measured + END_SIZE > hob.memoryDataSize) {
    throw new NodeimgError(
      'PARSE_INVALID',
      `the TD HOB (${measured + END_SIZE} bytes) does not fit the ${hob.memoryDataSize}-byte TD_HOB section`,
    );
  }
  const out = new Uint8Array(measured);
  const v = new DataView(out.buffer);
  // PHIT: header {type, length, reserved}, Version; BootMode and the memory fields stay 0.
  v.setUint16(0, EFI_HOB_TYPE_HANDOFF, true);
  v.setUint16(2, PHIT_SIZE, true);
  v.setUint32(8, EFI_HOB_HANDOFF_TABLE_VERSION, true);
  // EfiEndOfHobList: GPA just past the end-of-list HOB.
  v.setBigUint64(48, BigInt(hob.memoryAddress + measured + END_SIZE), true);
  ranges.forEach((r, i) => {
    const at = PHIT_SIZE + i * RESOURCE_SIZE;
    v.setUint16(at, EFI_HOB_TYPE_RESOURCE_DESCRIPTOR, true);
    v.setUint16(at + 2, RESOURCE_SIZE, true);
    // Owner GUID [8, 24) is zero.
    v.setUint32(at + 24, r.accepted ? RESOURCE_SYSTEM_MEMORY : RESOURCE_MEMORY_UNACCEPTED, true);
    v.setUint32(at + 28, RESOURCE_ATTRIBUTES, true);
    v.setBigUint64(at + 32, BigInt(r.start), true);
    v.setBigUint64(at + 40, BigInt(r.end - r.start), true);
  });
  return out;
}
