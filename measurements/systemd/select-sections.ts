// Which PE sections of a UKI systemd-stub measures, and in which order (PCR 11).
// Follows systemd's section lookup per version (measured-boot.md §4.3):
//  - v252..v256 src/boot/efi/pe.c locate_sections(): memcmp(Name, want, strlen(want)), so a
//    prefix match, and a later header overwrites an earlier one (last wins);
//  - v257+ src/boot/pe.c pe_section_name_equal(): exact 8-byte name, first match wins, and
//    pe_locate_profile_sections(): base sections before the first .profile, overridden by the
//    sections of profile N (between the (N+1)-th .profile header and the next one).
import { NodeimgError } from '../../image/formats/errors.js';
import { CONDITIONAL_SECTIONS, MEASURE_NEVER, type SectionRule } from './uki-sections.js';

export interface SectionHeaderRef {
  /** Position in the PE section table. */
  readonly index: number;
  /** The name as stored in the 8-byte header field (NUL padding removed). */
  readonly name: string;
  readonly virtualSize: number;
}

export interface SelectOptions {
  /** UKI profile to boot (v257+); 0 = default. */
  readonly profile?: number;
  /** Conditional sections (.dtbauto, .efifw) that match the target machine; none on x86 VMs. */
  readonly matchingConditional?: ReadonlySet<string>;
}

export interface SelectedSection {
  readonly name: string;
  readonly header: SectionHeaderRef;
}

function prefixLastWins(headers: readonly SectionHeaderRef[], want: string): SectionHeaderRef | undefined {
  let found: SectionHeaderRef | undefined;
  for (const h of headers) if (h.name.startsWith(want)) found = h;
  return found;
}

/** Splits the table at .profile headers: [base, profile0, profile1, ...]. */
export function profileRanges(headers: readonly SectionHeaderRef[]): SectionHeaderRef[][] {
  const ranges: SectionHeaderRef[][] = [[]];
  for (const h of headers) {
    if (h.name === '.profile') ranges.push([]);
    (ranges[ranges.length - 1] as SectionHeaderRef[]).push(h);
  }
  return ranges;
}

export function countProfiles(headers: readonly SectionHeaderRef[]): number {
  return headers.filter((h) => h.name === '.profile').length;
}

function exactFirstWins(
  headers: readonly SectionHeaderRef[],
  rule: SectionRule,
  profile: number,
): Map<string, SectionHeaderRef> {
  const found = new Map<string, SectionHeaderRef>();
  const ranges = rule.profiles ? profileRanges(headers) : [headers as SectionHeaderRef[]];
  const base = ranges[0] ?? [];
  const chosen = ranges[profile + 1];
  if (profile !== 0 && chosen === undefined) {
    throw new NodeimgError('USAGE', `the UKI has no profile ${profile} (it has ${ranges.length - 1})`);
  }
  for (const h of base) if (!found.has(h.name)) found.set(h.name, h);
  if (chosen) {
    // a profile's sections override the base's (stub.c find_sections)
    const overrides = new Map<string, SectionHeaderRef>();
    for (const h of chosen) if (!overrides.has(h.name)) overrides.set(h.name, h);
    for (const [n, h] of overrides) found.set(n, h);
  }
  return found;
}

/** The sections measured into PCR 11, in measurement order. */
export function selectMeasuredSections(
  headers: readonly SectionHeaderRef[],
  rule: SectionRule,
  opts: SelectOptions = {},
): SelectedSection[] {
  const profile = opts.profile ?? 0;
  const exact = rule.lookup === 'exact-first-wins' ? exactFirstWins(headers, rule, profile) : undefined;
  const out: SelectedSection[] = [];
  for (const name of rule.order) {
    if (MEASURE_NEVER.has(name)) continue;
    if (CONDITIONAL_SECTIONS.has(name) && !opts.matchingConditional?.has(name)) continue;
    const h = exact ? exact.get(name) : prefixLastWins(headers, name);
    // sections with VirtualSize 0 are skipped (stub.c: `if (sections[i].size == 0) continue`)
    if (h && h.virtualSize > 0) out.push({ name, header: h });
  }
  return out;
}
