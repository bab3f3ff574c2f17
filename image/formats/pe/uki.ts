import type { PeImage } from './parse.js';
import { findSection } from './sections.js';

/**
 * PE sections a Unified Kernel Image may carry, in systemd-stub's canonical measurement order
 * (systemd docs/UKI.md and src/fundamental/uki.h, v258; measured-boot.md §4.2 table). .linux is the
 * only mandatory one.
 */
export const UKI_SECTIONS = [
  '.linux',
  '.osrel',
  '.cmdline',
  '.initrd',
  '.ucode',
  '.splash',
  '.dtb',
  '.uname',
  '.sbat',
  '.pcrsig',
  '.pcrpkey',
  '.profile',
  '.dtbauto',
  '.hwids',
  '.efifw',
] as const;

export type UkiSectionName = (typeof UKI_SECTIONS)[number];

const KNOWN: ReadonlySet<string> = new Set(UKI_SECTIONS);

export function isUkiSectionName(name: string): name is UkiSectionName {
  return KNOWN.has(name);
}

/** A PE is a UKI when it has a .linux section (systemd-stub refuses to boot otherwise). */
export function isUki(pe: PeImage): boolean {
  return findSection(pe.sections, '.linux') !== undefined;
}

/** The UKI section names present, in PE section-table order (repeats kept: profiles repeat sections). */
export function ukiSections(pe: PeImage): UkiSectionName[] {
  return pe.sections.map((s) => s.name).filter(isUkiSectionName);
}
