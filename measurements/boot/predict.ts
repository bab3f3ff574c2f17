// The boot chain simulator: OVMF -> [systemd-boot] -> systemd-stub UKI -> Linux EFI stub, as the
// firmware log records it (measured-boot.md §3.2 sequences). Produces the predicted events in
// chronological order and the PCR values they give. PCRs that depend on firmware or VM shape
// (0-3, 6) are never predicted here.
import { NodeimgError } from '../../image/formats/errors.js';
import type { HashAlg } from '../hash.js';
import { PcrBanks, type BankDigests } from '../pcr-banks.js';
import { SUPPORTED_SYSTEMD, sectionRuleFor } from '../systemd/uki-sections.js';
import type { EfiBinary, Uki } from './binaries.js';
import {
  application,
  efiAction,
  hashAll,
  ipl,
  separator,
  taggedEvent,
  utf16z,
  type PredictedEvent,
} from './event.js';
import { predictKernelPcr9 } from './kernel.js';
import { NO_EXTRAS, predictStub, type StubExtras } from './stub.js';
import { decodeCmdlineSection, mangleCmdline, stubRulesFor } from './stub-rules.js';
import { EV } from '../eventlog/types.js';
import type { SecureBootPolicy } from '../firmware/policy.js';

export type { SecureBootPolicy } from '../firmware/policy.js';

export interface BootChain {
  readonly banks: readonly HashAlg[];
  readonly secureBoot: boolean;
  readonly confidentialVm?: boolean;
  /** systemd-boot, when it starts the UKI; undefined for a direct UKI boot. */
  readonly loader?: { readonly binary: EfiBinary; readonly loaderConf: Uint8Array | undefined };
  readonly uki: Uki;
  /** UEFI_GPT_DATA of the disk (PCR 5); undefined when only a UKI is given. */
  readonly gptEventData?: Uint8Array;
  readonly secureBootPolicy?: SecureBootPolicy;
  readonly extras?: StubExtras;
  readonly profile?: number;
  readonly stubVersion?: number;
  readonly loaderVersion?: number;
  /** Phase paths for PCR 11 ("enter-initrd", "enter-initrd:leave-initrd", ...); "" = sections only. */
  readonly phases?: readonly string[];
}

export interface Prediction {
  readonly banks: readonly HashAlg[];
  readonly events: readonly PredictedEvent[];
  readonly pcrs: ReadonlyMap<number, BankDigests>;
  readonly notPredicted: readonly { readonly pcr: number; readonly reason: string }[];
  readonly pcr11Phases: readonly { readonly phase: string; readonly value: BankDigests }[];
  readonly versions: {
    readonly stub: string;
    readonly stubRules: number;
    readonly loader: string | undefined;
    readonly kernel: string | undefined;
  };
  readonly warnings: readonly string[];
}

const LOADER_CONF_TAG = 0xf5bc582a;

function resolveVersion(
  kind: string,
  detected: number | undefined,
  override: number | undefined,
  warnings: string[],
): number {
  const v = override ?? detected;
  if (v === undefined) {
    throw new NodeimgError(
      'PARSE_UNSUPPORTED',
      `cannot tell the ${kind} version (no "#### LoaderInfo" marker)`,
      { hint: `give it with --${kind === 'systemd-stub' ? 'stub' : 'loader'}-version` },
    );
  }
  if (v < SUPPORTED_SYSTEMD.min || v > SUPPORTED_SYSTEMD.max) {
    const assumed = v < SUPPORTED_SYSTEMD.min ? SUPPORTED_SYSTEMD.min : SUPPORTED_SYSTEMD.max;
    warnings.push(
      `${kind} ${v} is outside the versions nodeimg knows (${SUPPORTED_SYSTEMD.min}-${SUPPORTED_SYSTEMD.max}): assuming the behaviour of ${assumed}`,
    );
    return assumed;
  }
  return v;
}

function extendAll(banks: readonly HashAlg[], events: readonly PredictedEvent[]): PcrBanks {
  const pcrs = new PcrBanks(banks);
  for (const e of events) pcrs.extendDigests(e.pcr, e.digests);
  return pcrs;
}

export async function predictBoot(chain: BootChain): Promise<Prediction> {
  const { banks, uki, secureBoot } = chain;
  const warnings: string[] = [];
  const stubMajor = resolveVersion(
    'systemd-stub',
    uki.systemd?.kind === 'systemd-stub' ? uki.systemd.major : undefined,
    chain.stubVersion,
    warnings,
  );
  const stub = stubRulesFor(stubMajor);
  const sections = sectionRuleFor(stubMajor);
  if (!stub || !sections) throw new NodeimgError('INTERNAL', `no rules for systemd-stub ${stubMajor}`);
  if (!uki.kernel)
    throw new NodeimgError(
      'PARSE_INVALID',
      `${uki.path}: ${uki.kernelError ?? 'not a UKI: it has no .linux section'}`,
    );

  const events: PredictedEvent[] = [];
  const images = [...(chain.loader ? [chain.loader.binary] : []), uki];
  const pcr7 = chain.secureBootPolicy?.predict(images, banks, secureBoot);
  if (pcr7) warnings.push(...pcr7.warnings);
  // DXE: Secure Boot policy (PCR 7) before BDS (edk2 Tcg2Dxe MeasureSecureBootPolicy)
  if (pcr7) events.push(...pcr7.config);
  // BDS ReadyToBoot: "Calling EFI Application from Boot Option" + separators 0-6 (we emit 4 and 5)
  events.push(
    efiAction(banks, 4, 'Calling EFI Application from Boot Option'),
    separator(banks, 4),
    separator(banks, 5),
  );

  let gptDone = false;
  const loadImage = (bin: EfiBinary) => {
    // DxeImageVerificationLib (PCR 7 authority, once per db entry) runs before DxeTpm2MeasureBootLib
    const authority = pcr7?.authorities[images.indexOf(bin)];
    if (authority) events.push(authority);
    if (!gptDone && chain.gptEventData) {
      events.push({
        pcr: 5,
        type: EV.EFI_GPT_EVENT,
        digests: hashAll(banks, chain.gptEventData),
        data: chain.gptEventData,
        description: 'UEFI_GPT_DATA of the boot disk',
        origin: 'image',
      });
      gptDone = true;
    }
    events.push(application(bin.authenticode, bin.path));
  };

  let loadOptions: string | undefined;
  let loaderVersion: string | undefined;
  if (chain.loader) {
    const ld = chain.loader.binary;
    const major = resolveVersion(
      'systemd-boot',
      ld.systemd?.kind === 'systemd-boot' ? ld.systemd.major : undefined,
      chain.loaderVersion,
      warnings,
    );
    loaderVersion = ld.systemd?.version ?? String(major);
    loadImage(ld);
    if (major >= 255 && chain.loader.loaderConf) {
      // sd-boot v255+: loader.conf into PCR 5 as EV_EVENT_TAG (measured-boot.md §7)
      events.push(
        taggedEvent(
          5,
          LOADER_CONF_TAG,
          utf16z('loader.conf'),
          hashAll(banks, chain.loader.loaderConf),
          'systemd-boot loader.conf',
        ),
      );
    }
    loadImage(uki);
    if (major <= 254) {
      // sd-boot <= v254 passes a UKI's .cmdline as LoadOptions and measures it (PCR 12; <= v250 PCR 8)
      const cmdIdx = uki.sections.find((s) => s.name === '.cmdline' && s.virtualSize > 0)?.index;
      const rules = stubRulesFor(major);
      if (cmdIdx !== undefined && rules) {
        loadOptions = mangleCmdline(
          decodeCmdlineSection(await uki.sectionBytes(cmdIdx), rules.cmdlineDecode),
          rules.mangle,
        );
        if (loadOptions.length > 0) {
          events.push(
            ipl(
              major <= 250 ? 8 : 12,
              hashAll(banks, utf16z(loadOptions)),
              loadOptions,
              'kernel command line passed by systemd-boot',
            ),
          );
        }
      }
    }
  } else {
    loadImage(uki);
  }

  const s = await predictStub({
    uki,
    stub,
    sections,
    banks,
    secureBoot,
    confidentialVm: chain.confidentialVm ?? false,
    loadOptions,
    extras: chain.extras ?? NO_EXTRAS,
    profile: chain.profile ?? 0,
  });
  events.push(...s.events);

  const k = uki.kernel;
  const kernelViaLoadImage = stub.kernelStart === 'loadimage' && k.majorImageVersion >= 1;
  // v252-v257 LoadImage on .linux: with Secure Boot off the firmware measures it (PCR 4); with SB on
  // the stub's security override skips DxeTpm2MeasureBootHandler (measured-boot.md §4.6)
  if (kernelViaLoadImage && !secureBoot)
    events.push(application(k.authenticode, `${uki.path} .linux (kernel ${k.version ?? '?'})`));
  const notPredicted: { pcr: number; reason: string }[] = [];
  if (stub.kernelStart === 'handover' || k.majorImageVersion < 1) {
    notPredicted.push({
      pcr: 9,
      reason: 'the kernel is started through the EFI handover protocol; its PCR 9 behaviour is not modelled',
    });
  } else {
    const p9 = predictKernelPcr9(k, banks, s.kernelCmdline, s.initrd);
    warnings.push(...p9.warnings);
    events.push(...p9.events);
  }
  // ExitBootServices (PCR 5)
  events.push(
    efiAction(banks, 5, 'Exit Boot Services Invocation'),
    efiAction(banks, 5, 'Exit Boot Services Returned with Success'),
  );

  for (const pcr of [0, 1, 2, 3, 6])
    notPredicted.push({ pcr, reason: 'depends on the firmware build and the VM configuration' });
  if (!pcr7) notPredicted.push({ pcr: 7, reason: 'no UEFI variable store given (--vars)' });
  if (!chain.gptEventData)
    notPredicted.push({ pcr: 5, reason: 'no disk image given (a UKI alone has no GPT)' });
  const skip = new Set(notPredicted.map((n) => n.pcr));
  const kept = events.filter((e) => !skip.has(e.pcr));
  const bank = extendAll(banks, kept);
  // PCR 8 stays zero unless an event of the chain targets it (only sd-boot/stub <= v250 do)
  const predicted = [4, 5, 7, 8, 9, 11, 12, 13].filter((p) => !skip.has(p));
  const pcrs = new Map(
    predicted.map((p) => [p, Object.fromEntries(banks.map((a) => [a, bank.value(a, p)])) as BankDigests]),
  );

  // systemd-pcrphase words extend PCR 11 after boot: H(word) without NUL (measured-boot.md §6.1)
  const pcr11Phases = (chain.phases ?? []).map((phase) => {
    const b = extendAll(
      banks,
      kept.filter((e) => e.pcr === 11),
    );
    for (const word of phase.split(':').filter(Boolean)) b.extendData(11, new TextEncoder().encode(word));
    return { phase, value: Object.fromEntries(banks.map((a) => [a, b.value(a, 11)])) as BankDigests };
  });
  return {
    banks,
    events: kept,
    pcrs,
    notPredicted: notPredicted.sort((a, b) => a.pcr - b.pcr),
    pcr11Phases,
    versions: {
      stub: uki.systemd?.version ?? String(stubMajor),
      stubRules: stubMajor,
      loader: loaderVersion,
      kernel: k.version,
    },
    warnings,
  };
}
