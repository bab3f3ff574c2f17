// What systemd-stub measures (PCR 11 sections, PCR 12 command line/credentials/confexts, PCR 13
// sysexts) and what it hands to the kernel (command line and initrd), per version
// (measured-boot.md §4). The caller supplies the version's rules; nothing here guesses a version.
import { MultiHash, type HashAlg } from '../hash.js';
import type { BankDigests } from '../pcr-banks.js';
import { literalCpio, packCpio } from '../systemd/cpio.js';
import { selectMeasuredSections, type SelectedSection } from '../systemd/select-sections.js';
import type { SectionRule } from '../systemd/uki-sections.js';
import type { Uki } from './binaries.js';
import { hashAll, ipl, taggedEvent, utf16z, type PredictedEvent } from './event.js';
import { NodeimgError } from '../../image/formats/errors.js';

export const UKI_PROFILE_EVENT_TAG_ID = 0x13aed6db;
import { decodeCmdlineSection, mangleCmdline, type StubRules } from './stub-rules.js';

export interface NamedFile {
  readonly name: string;
  readonly data: Uint8Array;
}

/** Files on the ESP that the stub packs into initrd cpios (measured-boot.md §4.5). */
export interface StubExtras {
  readonly credentials: readonly NamedFile[];
  readonly globalCredentials: readonly NamedFile[];
  readonly sysexts: readonly NamedFile[];
  readonly confexts: readonly NamedFile[];
}

export const NO_EXTRAS: StubExtras = { credentials: [], globalCredentials: [], sysexts: [], confexts: [] };

export interface StubInput {
  readonly uki: Uki;
  readonly stub: StubRules;
  readonly sections: SectionRule;
  readonly banks: readonly HashAlg[];
  readonly secureBoot: boolean;
  readonly confidentialVm: boolean;
  /** LoadOptions passed by the loader (systemd-boot), undefined when started by the firmware's boot option. */
  readonly loadOptions: string | undefined;
  readonly extras: StubExtras;
  readonly profile: number;
}

export interface StubResult {
  /** In measurement order. */
  readonly events: PredictedEvent[];
  /** PCR 11 section events only, for the phase values. */
  readonly measuredSections: readonly SelectedSection[];
  /** The command line the kernel receives as LoadOptions (UTF-16LE + NUL). */
  readonly kernelCmdline: string;
  /** Digests of the initrd served through LINUX_EFI_INITRD_MEDIA, undefined if there is none. */
  readonly initrd:
    { readonly digests: BankDigests; readonly size: number; readonly parts: readonly string[] } | undefined;
}

function sectionIndex(uki: Uki, name: string, selected: readonly SelectedSection[]): number | undefined {
  return (
    selected.find((s) => s.name === name)?.header.index ??
    uki.sections.find((s) => s.name === name && s.virtualSize > 0)?.index
  );
}

type Part = {
  readonly what: string;
  readonly size: number;
  stream(): AsyncIterable<Uint8Array>;
  /** The part's digests when already known (a section's, computed for PCR 11). */
  digests?(): Promise<BankDigests>;
};

function bytesPart(what: string, data: Uint8Array): Part {
  return {
    what,
    size: data.length,
    async *stream() {
      yield data;
    },
  };
}

async function initrdOf(
  input: StubInput,
  selected: readonly SelectedSection[],
  generated: Part[],
  literals: Part[],
): Promise<StubResult['initrd']> {
  const { uki, stub } = input;
  const idx = (n: string) => sectionIndex(uki, n, selected);
  const sectionPart = (n: string): Part | undefined => {
    const i = idx(n);
    return i === undefined
      ? undefined
      : {
          what: n,
          size: uki.sectionSize(i),
          stream: () => uki.sectionStream(i),
          digests: () => uki.sectionDigest(i),
        };
  };
  const initrd = sectionPart('.initrd');
  let items: Part[];
  let concat: boolean;
  if (stub.initrd === 'v250') {
    // v250-v255: .initrd (padded to 4) + generated archives, only if any archive exists
    items = [...(initrd ? [initrd] : []), ...generated, ...literals];
    concat = generated.length + literals.length > 0;
  } else if (stub.initrd === 'v256') {
    const ucode = sectionPart('.ucode');
    items = [...(ucode ? [ucode] : []), ...(initrd ? [initrd] : []), ...generated, ...literals];
    concat = ucode !== undefined || generated.length + literals.length > 0;
  } else {
    // v257+: [.ucode, .initrd, archives, pcrsig/pcrpkey cpios, os-release cpio, profile cpio]; concat if > 1 item
    const ucode = sectionPart('.ucode');
    items = [...(ucode ? [ucode] : []), ...(initrd ? [initrd] : []), ...generated, ...literals];
    concat = items.length > 1;
  }
  if (items.length === 0) return undefined;
  const only = items[0] as Part;
  if (!concat && only.digests) {
    // served as is: the digest is the section's, already computed for PCR 11
    return { digests: await only.digests(), size: only.size, parts: [only.what] };
  }
  const h = new MultiHash(input.banks);
  let size = 0;
  for (const p of concat ? items : items.slice(0, 1)) {
    for await (const c of p.stream()) h.update(c);
    size += p.size;
    const pad = concat ? (4 - (p.size % 4)) % 4 : 0;
    if (pad) {
      h.update(new Uint8Array(pad));
      size += pad;
    }
  }
  return { digests: h.digests(), size, parts: (concat ? items : items.slice(0, 1)).map((p) => p.what) };
}

/** Predicts the stub's measurements and hand-over, in the order systemd-stub performs them. */
export async function predictStub(input: StubInput): Promise<StubResult> {
  const { uki, stub, banks } = input;
  const events: PredictedEvent[] = [];
  const selected = stub.measuresSections
    ? selectMeasuredSections(uki.sections, input.sections, { profile: input.profile })
    : [];

  // v257+: a non-default profile is announced in PCR 12 before the sections: EV_EVENT_TAG
  // 0x13aed6db over the decimal profile number in UTF-16LE + NUL (stub.c measure_profile,
  // measured-boot.md §4.2). Its event data (the tag's description) is not predicted.
  if (input.profile !== 0) {
    if (!input.sections.profiles)
      throw new NodeimgError('USAGE', `systemd-stub ${stub.from}-${stub.to} has no UKI profiles`);
    events.push({
      ...taggedEvent(
        12,
        UKI_PROFILE_EVENT_TAG_ID,
        new Uint8Array(0),
        hashAll(banks, utf16z(String(input.profile))),
        `UKI profile ${input.profile}`,
      ),
      data: undefined,
    });
  }

  // PCR 11: two EV_IPL per section: H(name NUL), H(VirtualSize bytes) (stub.c, measured-boot.md §4.3)
  for (const s of selected) {
    const nameZ = new Uint8Array(s.name.length + 1);
    for (let i = 0; i < s.name.length; i++) nameZ[i] = s.name.charCodeAt(i);
    events.push(ipl(11, hashAll(banks, nameZ), s.name, `PCR 11 name of UKI section ${s.name}`));
    events.push(
      ipl(11, await uki.sectionDigest(s.header.index), s.name, `PCR 11 contents of UKI section ${s.name}`),
    );
  }

  // Command line: LoadOptions win unless Secure Boot is on and a .cmdline exists (or in a CVM, v255+)
  const cmdIdx = sectionIndex(uki, '.cmdline', selected);
  const sectionCmdline =
    cmdIdx === undefined
      ? undefined
      : decodeCmdlineSection(await uki.sectionBytes(cmdIdx), stub.cmdlineDecode);
  const lo = input.loadOptions;
  const refused =
    input.secureBoot &&
    stub.sbIgnoresLoadOptions &&
    (cmdIdx !== undefined || (input.confidentialVm && stub.from >= 255));
  const useLoadOptions = lo !== undefined && lo.length > 0 && lo.charCodeAt(0) > 0x1f && !refused;
  let kernelCmdline: string;
  if (useLoadOptions) {
    kernelCmdline = mangleCmdline(lo.split('\0', 1)[0] ?? '', stub.mangle);
    // tpm_log_load_options: UTF-16LE incl. NUL into PCR 12 (v251+; v250: PCR 8)
    events.push(
      ipl(
        stub.loadOptionsPcr,
        hashAll(banks, utf16z(kernelCmdline)),
        kernelCmdline,
        'kernel command line from LoadOptions (systemd-stub)',
      ),
    );
  } else {
    kernelCmdline = mangleCmdline(sectionCmdline ?? '', stub.mangle);
  }

  // Generated archives, each measured as one EV_IPL over the whole archive (§4.5)
  const generated: Part[] = [];
  const archive = (
    files: readonly NamedFile[],
    target: string,
    dirMode: number,
    fileMode: number,
    pcr: number,
    text: string,
  ) => {
    if (files.length === 0) return;
    const a = packCpio(target, files, dirMode, fileMode);
    events.push(ipl(pcr, hashAll(banks, a), text, `${text} (${files.length} file(s))`));
    generated.push(bytesPart(text, a));
  };
  archive(input.extras.credentials, '.extra/credentials', 0o500, 0o400, 12, 'Credentials initrd');
  archive(
    input.extras.globalCredentials,
    '.extra/global_credentials',
    0o500,
    0o400,
    12,
    'Global credentials initrd',
  );
  archive(input.extras.sysexts, '.extra/sysext', 0o555, 0o444, 13, 'System extension initrd');
  if (stub.from >= 256)
    archive(input.extras.confexts, '.extra/confext', 0o555, 0o444, 12, 'Configuration extension initrd');

  // Literal (unmeasured) cpios: .pcrsig, .pcrpkey (v252+), .osrel and .profile (v257+)
  const literals: Part[] = [];
  const literal = async (section: string, file: string) => {
    const i = sectionIndex(uki, section, selected);
    if (i !== undefined)
      literals.push(bytesPart(`${section} as .extra/${file}`, literalCpio(file, await uki.sectionBytes(i))));
  };
  if (stub.measuresSections) {
    await literal('.pcrsig', 'tpm2-pcr-signature.json');
    await literal('.pcrpkey', 'tpm2-pcr-public-key.pem');
  }
  if (stub.initrd === 'v257') {
    await literal('.osrel', 'os-release');
    if (input.profile !== 0) await literal('.profile', 'profile');
  }
  const initrd = await initrdOf(input, selected, generated, literals);
  return { events, measuredSections: selected, kernelCmdline, initrd };
}
