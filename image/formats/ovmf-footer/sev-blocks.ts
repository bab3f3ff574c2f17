// The small fixed-layout entries of the OVMF footer table that AMD SEV launches read
// (edk2 OvmfPkg/ResetVector/Ia16/ResetVectorVtf0.asm; sev-snp-measure ovmf.py; QEMU
// target/i386/sev.c; launch-measurements.md §1.3), and one call that reads everything at once.
import { ByteReader } from '../reader.js';
import { footerEntry, parseFooterTable, type FooterEntry, type FooterTable } from './footer-table.js';
import { SEV_ES_RESET_BLOCK_GUID, SEV_HASH_TABLE_RV_GUID, SVSM_INFO_GUID } from './guids.js';
import { parseSevMetadata, type SevMetadata } from './sev-metadata.js';

function u32s(entry: FooterEntry, what: string, n: number): number[] {
  const r = new ByteReader(entry.data, what, entry.offset);
  return Array.from({ length: n }, (_, i) => r.u32At(i * 4));
}

/** SEV-ES reset block: the EIP application processors start at (QEMU's SEV-ES/SNP AP reset vector). */
export function sevEsResetEip(table: FooterTable): number | undefined {
  const e = footerEntry(table, SEV_ES_RESET_BLOCK_GUID);
  return e ? (u32s(e, 'SEV-ES reset block', 1)[0] as number) : undefined;
}

export interface SevHashTableBlock {
  /** GPA where QEMU writes the kernel-hashes table (0 means the build does not support it). */
  readonly gpa: number;
  readonly size: number;
}

/** SEV hash table block: where measured direct boot puts the kernel/initrd/cmdline hashes. */
export function sevHashTableBlock(table: FooterTable): SevHashTableBlock | undefined {
  const e = footerEntry(table, SEV_HASH_TABLE_RV_GUID);
  if (!e) return undefined;
  const [gpa, size] = u32s(e, 'SEV hash table block', 2) as [number, number];
  return { gpa, size };
}

/** Coconut SVSM_INFO: the SVSM entry point relative to where the SVSM image is loaded. */
export function svsmEntryOffset(table: FooterTable): number | undefined {
  const e = footerEntry(table, SVSM_INFO_GUID);
  return e ? (u32s(e, 'SVSM info', 1)[0] as number) : undefined;
}

export interface OvmfFooter {
  readonly table: FooterTable;
  readonly sevMetadata: SevMetadata | undefined;
  readonly sevEsResetEip: number | undefined;
  readonly sevHashTable: SevHashTableBlock | undefined;
}

/** Footer table, SEV metadata, SEV-ES reset EIP and hash-table block of one flash image. */
export function parseOvmfFooter(image: Uint8Array, base = 0): OvmfFooter {
  const table = parseFooterTable(image, base);
  return {
    table,
    sevMetadata: parseSevMetadata(image, table, base),
    sevEsResetEip: sevEsResetEip(table),
    sevHashTable: sevHashTableBlock(table),
  };
}
