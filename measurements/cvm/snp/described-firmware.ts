// A firmware known only by its published launch parameters, not by its bytes: what a verifier gets
// from a platform that publishes the OVMF hash and the SEV metadata (dstack's `sev_snp_measurement`:
// ovmf_hash, ovmf_sections, sev_es_reset_eip, sev_hashes_table_gpa). With the OVMF hash as the seed
// (`ovmfHashSeed`) this is all sev-snp-measure's SNP flow reads from the file.
import { NodeimgError } from '../../../image/formats/errors.js';
import {
  checkSevSections,
  sevSectionTypeName,
  type SevMetadataSection,
} from '../../../image/formats/ovmf-footer/index.js';
import type { AmdSevFirmware } from './firmware.js';

export interface FirmwareParameters {
  readonly name?: string;
  /** SEV metadata sections in firmware order (type numbers as in OvmfSevMetadata.asm). */
  readonly sections: readonly { readonly gpa: number; readonly size: number; readonly type: number }[];
  readonly sevEsResetEip: number;
  /** GPA of the kernel-hashes table (AmdSev builds), if the firmware has one. */
  readonly sevHashTableGpa?: number | undefined;
}

const MAX_SECTIONS = 64;

/** An AmdSevFirmware with no bytes (size 0): only usable with an OVMF hash seed in SNP mode. */
export function describeAmdSevFirmware(p: FirmwareParameters): AmdSevFirmware {
  const u32 = (name: string, n: number) => {
    if (!Number.isInteger(n) || n < 0 || n > 0xffffffff)
      throw new NodeimgError('USAGE', `${name} ${n} is not a u32`);
    return n;
  };
  if (p.sections.length > MAX_SECTIONS)
    throw new NodeimgError('USAGE', `${p.sections.length} SEV metadata sections (limit ${MAX_SECTIONS})`);
  const sections: SevMetadataSection[] = p.sections.map((s, index) => ({
    index,
    offset: 0,
    gpa: u32('section gpa', s.gpa),
    size: u32('section size', s.size),
    type: u32('section type', s.type),
    typeName: sevSectionTypeName(s.type),
  }));
  checkSevSections(sections);
  const hashGpa =
    p.sevHashTableGpa === undefined ? undefined : u32('sev_hashes_table_gpa', p.sevHashTableGpa);
  return {
    name: p.name ?? 'described firmware',
    bytes: new Uint8Array(0),
    size: 0,
    gpa: 0x1_0000_0000,
    footer: {
      table: { present: false, offset: 0, length: 0, entries: [] },
      sevMetadata: { offset: 0, length: 0, version: 1, sections },
      sevEsResetEip: u32('sev_es_reset_eip', p.sevEsResetEip),
      sevHashTable: hashGpa === undefined ? undefined : { gpa: hashGpa, size: 0x400 },
    },
  };
}
