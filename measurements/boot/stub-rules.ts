// systemd-stub behaviour that changes between versions, as data (measured-boot.md §4.2-§4.6).
// Each rule names the systemd source it follows; the section order table is uki-sections.ts.

export interface StubRules {
  readonly from: number;
  readonly to: number;
  /** Sections are measured into PCR 11 (v252+). */
  readonly measuresSections: boolean;
  /** The PCR the used LoadOptions are measured into (v250: 8, v251+: 12). */
  readonly loadOptionsPcr: 8 | 12;
  /**
   * How the stub turns the .cmdline section into the kernel command line:
   * latin1 = xstra_to_str (one char16 per byte) in v250-v252; utf8 = xstrn8_to_16 from v253.
   */
  readonly cmdlineDecode: 'latin1' | 'utf8';
  /** mangle_stub_cmdline: none before v253, v253 (controls -> space, trim end), v255 (trim both ends, whitespace -> space). */
  readonly mangle: 'none' | 'v253' | 'v255';
  /** Whether the stub ignores LoadOptions when Secure Boot is on and a .cmdline exists. */
  readonly sbIgnoresLoadOptions: boolean;
  /**
   * How the kernel is started: 'loadimage' means BS->LoadImage on the .linux buffer (v252-v257), so
   * with Secure Boot off the firmware measures Authenticode(.linux) into PCR 4; 'handover' (v250,
   * v251) and 'own-loader' (v258) measure nothing there.
   */
  readonly kernelStart: 'handover' | 'loadimage' | 'own-loader';
  /** Initrd composition rule (measured-boot.md §4.5). */
  readonly initrd: 'v250' | 'v256' | 'v257';
  readonly source: string;
}

export const STUB_RULES: readonly StubRules[] = [
  {
    from: 250,
    to: 250,
    measuresSections: false,
    loadOptionsPcr: 8,
    cmdlineDecode: 'latin1',
    mangle: 'none',
    sbIgnoresLoadOptions: true,
    kernelStart: 'handover',
    initrd: 'v250',
    source: 'systemd v250 src/boot/efi/stub.c, linux_x86.c (EFI handover, no LoadImage)',
  },
  {
    from: 251,
    to: 251,
    measuresSections: false,
    loadOptionsPcr: 12,
    cmdlineDecode: 'latin1',
    mangle: 'none',
    sbIgnoresLoadOptions: true,
    kernelStart: 'handover',
    initrd: 'v250',
    source: 'systemd v251 src/boot/efi/stub.c (LoadOptions to PCR 12)',
  },
  {
    from: 252,
    to: 252,
    measuresSections: true,
    loadOptionsPcr: 12,
    cmdlineDecode: 'latin1',
    mangle: 'none',
    sbIgnoresLoadOptions: true,
    kernelStart: 'loadimage',
    initrd: 'v250',
    source: 'systemd v252 src/boot/efi/stub.c (xstra_to_str .cmdline), linux.c (LoadImage VenMedia 55c5d1f8)',
  },
  {
    from: 253,
    to: 254,
    measuresSections: true,
    loadOptionsPcr: 12,
    cmdlineDecode: 'utf8',
    mangle: 'v253',
    sbIgnoresLoadOptions: true,
    kernelStart: 'loadimage',
    initrd: 'v250',
    source: 'systemd v253 src/boot/efi/stub.c mangle_stub_cmdline (PR #25222)',
  },
  {
    from: 255,
    to: 255,
    measuresSections: true,
    loadOptionsPcr: 12,
    cmdlineDecode: 'utf8',
    mangle: 'v255',
    sbIgnoresLoadOptions: true,
    kernelStart: 'loadimage',
    initrd: 'v250',
    source: 'systemd v255 src/boot/efi/util.c mangle_stub_cmdline',
  },
  {
    from: 256,
    to: 256,
    measuresSections: true,
    loadOptionsPcr: 12,
    cmdlineDecode: 'utf8',
    mangle: 'v255',
    sbIgnoresLoadOptions: true,
    kernelStart: 'loadimage',
    initrd: 'v256',
    source: 'systemd v256 src/boot/efi/stub.c (.ucode, initrd items padded to 4)',
  },
  {
    from: 257,
    to: 257,
    measuresSections: true,
    loadOptionsPcr: 12,
    cmdlineDecode: 'utf8',
    mangle: 'v255',
    sbIgnoresLoadOptions: true,
    kernelStart: 'loadimage',
    initrd: 'v257',
    source: 'systemd v257 src/boot/stub.c (os-release cpio, profiles)',
  },
  {
    from: 258,
    to: 258,
    measuresSections: true,
    loadOptionsPcr: 12,
    cmdlineDecode: 'utf8',
    mangle: 'v255',
    sbIgnoresLoadOptions: true,
    kernelStart: 'own-loader',
    initrd: 'v257',
    source: 'systemd v258 src/boot/linux.c custom PE loader (PR #37372)',
  },
];

export function stubRulesFor(major: number): StubRules | undefined {
  return STUB_RULES.find((r) => major >= r.from && major <= r.to);
}

const isWs255 = (c: number) => c <= 0x20 || c === 0x7f;

/** mangle_stub_cmdline as the given version does it (measured-boot.md §4.4). */
export function mangleCmdline(s: string, rule: StubRules['mangle']): string {
  if (rule === 'none') return s;
  if (rule === 'v253') {
    // every char <= 0x1F becomes a space; trailing spaces removed; leading kept
    let out = '';
    for (let i = 0; i < s.length; i++) out += s.charCodeAt(i) <= 0x1f ? ' ' : s[i];
    return out.replace(/ +$/, '');
  }
  // v255+: leading and trailing whitespace dropped, each inner whitespace char becomes one space
  let a = 0;
  let b = s.length;
  while (a < b && isWs255(s.charCodeAt(a))) a++;
  while (b > a && isWs255(s.charCodeAt(b - 1))) b--;
  let out = '';
  for (let i = a; i < b; i++) out += isWs255(s.charCodeAt(i)) ? ' ' : s[i];
  return out;
}

/** The .cmdline section bytes as the stub reads them: up to the first NUL, decoded per version. */
export function decodeCmdlineSection(bytes: Uint8Array, rule: StubRules['cmdlineDecode']): string {
  let end = bytes.indexOf(0);
  if (end < 0) end = bytes.length;
  const b = bytes.subarray(0, end);
  if (rule === 'utf8') return new TextDecoder('utf-8').decode(b);
  let out = '';
  for (const c of b) out += String.fromCharCode(c);
  return out;
}
