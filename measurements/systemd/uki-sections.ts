// Which UKI sections systemd-stub measures into PCR 11, in which order, and how it finds them,
// per systemd version. Data, not code: each row names the source it was read from
// (shared/specs/measured-boot.md §4.3, which cites the systemd tags).

export interface SectionRule {
  /** First and last systemd major version this row applies to (inclusive). */
  readonly from: number;
  readonly to: number;
  /**
   * Canonical measurement order (the UnifiedSection enum). `.pcrsig` is listed where systemd
   * lists it but is never measured (MEASURE_NEVER below).
   */
  readonly order: readonly string[];
  /** How a section header is matched to a wanted name. */
  readonly lookup: 'prefix-last-wins' | 'exact-first-wins';
  /** Whether multi-profile UKIs (.profile) are understood. */
  readonly profiles: boolean;
  readonly source: string;
}

const BASE_252 = ['.linux', '.osrel', '.cmdline', '.initrd', '.splash', '.dtb', '.pcrsig', '.pcrpkey'];
const BASE_254 = [
  '.linux',
  '.osrel',
  '.cmdline',
  '.initrd',
  '.splash',
  '.dtb',
  '.uname',
  '.sbat',
  '.pcrsig',
  '.pcrpkey',
];
const BASE_256 = [
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
];

export const SECTION_RULES: readonly SectionRule[] = [
  {
    from: 250,
    to: 251,
    order: [],
    lookup: 'prefix-last-wins',
    profiles: false,
    source:
      'systemd v250/v251 src/boot/efi/stub.c: sections are not measured (PCR 11 scheme arrived in v252)',
  },
  {
    from: 252,
    to: 253,
    order: BASE_252,
    lookup: 'prefix-last-wins',
    profiles: false,
    source:
      'systemd v252 src/fundamental/tpm-pcr.h UnifiedSection; src/boot/efi/pe.c (memcmp prefix, last match)',
  },
  {
    from: 254,
    to: 255,
    order: BASE_254,
    lookup: 'prefix-last-wins',
    profiles: false,
    source:
      'systemd v254 src/fundamental/tpm-pcr.h, v255 src/fundamental/uki.h UnifiedSection (.uname, .sbat added)',
  },
  {
    from: 256,
    to: 256,
    order: BASE_256,
    lookup: 'prefix-last-wins',
    profiles: false,
    source: 'systemd v256 src/fundamental/uki.h UnifiedSection (.ucode added)',
  },
  {
    from: 257,
    to: 257,
    order: [...BASE_256, '.profile', '.dtbauto', '.hwids'],
    lookup: 'exact-first-wins',
    profiles: true,
    source:
      'systemd v257 src/fundamental/uki.h; src/boot/pe.c pe_section_name_equal (exact), pe_locate_profile_sections',
  },
  {
    from: 258,
    to: 258,
    order: [...BASE_256, '.profile', '.dtbauto', '.hwids', '.efifw'],
    lookup: 'exact-first-wins',
    profiles: true,
    source: 'systemd v258 src/fundamental/uki.h (.efifw added)',
  },
];

/** Never measured into PCR 11 whatever the version (systemd-stub skips it; it is added after measuring). */
export const MEASURE_NEVER: ReadonlySet<string> = new Set(['.pcrsig']);

/**
 * Present only when they match the running machine's device tree / firmware (CHID); an x86 QEMU
 * or cloud VM matches none, so they are left out unless the caller says otherwise.
 */
export const CONDITIONAL_SECTIONS: ReadonlySet<string> = new Set(['.dtbauto', '.efifw']);

export const SUPPORTED_SYSTEMD = { min: 250, max: 258 } as const;

/** The rule for a systemd major version; versions outside the table are the caller's decision. */
export function sectionRuleFor(major: number): SectionRule | undefined {
  return SECTION_RULES.find((r) => major >= r.from && major <= r.to);
}
