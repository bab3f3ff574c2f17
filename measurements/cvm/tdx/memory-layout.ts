// How QEMU's q35 machine splits guest RAM around the 32-bit PCI hole (hw/i386/pc_q35.c
// pc_q35_init, "Calculate ram split"; launch-measurements.md §2.3): with 2.75 GiB or more the low
// part is 2 GiB, otherwise up to 2.75 GiB stays low; the rest starts at 4 GiB.
import { NodeimgError } from '../../../image/formats/errors.js';

const LOWMEM_SMALL = 0xb000_0000;
const LOWMEM_LARGE = 0x8000_0000;
const FOUR_GIB = 0x1_0000_0000;
/** Largest TD memory accepted (64 TiB), far above any real VM, below 2^53. */
export const MAX_TD_MEMORY = 2 ** 46;

export interface RamLayout {
  readonly below4g: number;
  readonly above4g: number;
  readonly above4gStart: number;
}

export function qemuRamLayout(memoryBytes: number): RamLayout {
  if (
    !Number.isSafeInteger(memoryBytes) ||
    memoryBytes <= 0 ||
    memoryBytes > MAX_TD_MEMORY ||
    memoryBytes % 0x1000 !== 0
  ) {
    throw new NodeimgError(
      'USAGE',
      `TD memory size ${memoryBytes} must be a positive multiple of 4 KiB up to ${MAX_TD_MEMORY}`,
    );
  }
  const lowmem = memoryBytes >= LOWMEM_SMALL ? LOWMEM_LARGE : LOWMEM_SMALL;
  const below4g = Math.min(memoryBytes, lowmem);
  return { below4g, above4g: memoryBytes - below4g, above4gStart: FOUR_GIB };
}
