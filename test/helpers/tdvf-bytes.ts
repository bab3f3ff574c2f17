// A small synthetic TDVF image (64 KiB) laid out like Debian's OVMF builds: CFV at 0, BFV after
// it (MR.EXTEND), TDVF descriptor with its GUID, footer GUID table with the TDX metadata entry.
import { guidFromString } from '../../image/formats/gpt/guid.js';
import { fillRandom } from './prng.js';

export interface SynthSection {
  dataOffset: number;
  rawSize: number;
  gpa: number;
  memSize: number;
  type: number;
  attributes: number;
}

export const SYNTH_SIZE = 0x10000;
export const SYNTH_DESCRIPTOR = 0xf000;

export const SYNTH_SECTIONS: SynthSection[] = [
  { dataOffset: 0x2000, rawSize: 0xc000, gpa: 0xffff2000, memSize: 0xc000, type: 0, attributes: 1 }, // BFV
  { dataOffset: 0, rawSize: 0x2000, gpa: 0xffff0000, memSize: 0x2000, type: 1, attributes: 0 }, // CFV
  { dataOffset: 0, rawSize: 0, gpa: 0x810000, memSize: 0x10000, type: 3, attributes: 0 }, // TempMem
  { dataOffset: 0, rawSize: 0, gpa: 0x809000, memSize: 0x2000, type: 2, attributes: 0 }, // TD_HOB
  { dataOffset: 0, rawSize: 0, gpa: 0x800000, memSize: 0x6000, type: 3, attributes: 0 }, // TempMem
];

/** Offsets of interest in the synthetic image, for fuzzers. */
export interface SynthLayout {
  bytes: Uint8Array;
  /** Absolute offsets of each 32-byte section entry. */
  sectionEntries: number[];
  /** Offset of the TDX metadata entry's 4-byte data, its u16 length and the table length. */
  entryData: number;
  entryLength: number;
  tableLength: number;
}

export function buildTdvfImage(sections: readonly SynthSection[] = SYNTH_SECTIONS, seed = 7): SynthLayout {
  const b = fillRandom(new Uint8Array(SYNTH_SIZE), seed);
  const v = new DataView(b.buffer);
  b.set(guidFromString('e9eaf9f3-168e-44d5-a8eb-7f4d8738f6ae'), SYNTH_DESCRIPTOR - 16);
  b.set([0x54, 0x44, 0x56, 0x46], SYNTH_DESCRIPTOR); // "TDVF"
  v.setUint32(SYNTH_DESCRIPTOR + 4, 16 + 32 * sections.length, true);
  v.setUint32(SYNTH_DESCRIPTOR + 8, 1, true);
  v.setUint32(SYNTH_DESCRIPTOR + 12, sections.length, true);
  const sectionEntries: number[] = [];
  sections.forEach((s, i) => {
    const at = SYNTH_DESCRIPTOR + 16 + 32 * i;
    sectionEntries.push(at);
    v.setUint32(at, s.dataOffset, true);
    v.setUint32(at + 4, s.rawSize, true);
    v.setBigUint64(at + 8, BigInt(s.gpa), true);
    v.setBigUint64(at + 16, BigInt(s.memSize), true);
    v.setUint32(at + 24, s.type, true);
    v.setUint32(at + 28, s.attributes, true);
  });
  // Footer: [TDX entry: u32 offset | u16 22 | GUID] [footer entry: u16 table length | footer GUID] [32 bytes]
  const footerGuidAt = SYNTH_SIZE - 48;
  b.set(guidFromString('96b582de-1fb2-45f7-baea-a366c55a082d'), footerGuidAt);
  const tableLength = footerGuidAt - 2;
  v.setUint16(tableLength, 22 + 18, true);
  const entryGuidAt = tableLength - 16;
  b.set(guidFromString('e47a6535-984a-4798-865e-4685a7bf8ec2'), entryGuidAt);
  const entryLength = entryGuidAt - 2;
  v.setUint16(entryLength, 22, true);
  const entryData = entryLength - 4;
  v.setUint32(entryData, SYNTH_SIZE - SYNTH_DESCRIPTOR, true);
  return { bytes: b, sectionEntries, entryData, entryLength, tableLength };
}
