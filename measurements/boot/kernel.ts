// The Linux EFI stub's PCR 9 events (drivers/firmware/efi/libstub/efi-stub-helper.c;
// measured-boot.md §5): LoadOptions (Linux >= 6.1) and the initrd served through
// LINUX_EFI_INITRD_MEDIA (Linux >= 5.17), both EV_EVENT_TAG.
import type { HashAlg } from '../hash.js';
import type { BankDigests } from '../pcr-banks.js';
import type { KernelInfo } from './binaries.js';
import { ascii, hashAll, taggedEvent, utf16z, type PredictedEvent } from './event.js';

export const LOAD_OPTIONS_EVENT_TAG_ID = 0x8f3b22ed;
export const INITRD_EVENT_TAG_ID = 0x8f3b22ec;

const atLeast = (k: KernelInfo, major: number, minor: number) =>
  k.major !== undefined &&
  k.minor !== undefined &&
  (k.major > major || (k.major === major && k.minor >= minor));

export interface KernelPcr9 {
  readonly events: PredictedEvent[];
  readonly warnings: string[];
}

export function predictKernelPcr9(
  kernel: KernelInfo,
  banks: readonly HashAlg[],
  cmdline: string,
  initrd: { readonly digests: BankDigests } | undefined,
): KernelPcr9 {
  const events: PredictedEvent[] = [];
  const warnings: string[] = [];
  if (kernel.major === undefined)
    warnings.push('kernel version unknown (no bzImage header): assuming Linux >= 6.1 for PCR 9');
  // efi_convert_cmdline(): H(LoadOptions, LoadOptionsSize bytes); systemd-stub passes UTF-16LE + NUL
  if (cmdline.length > 0 && (kernel.major === undefined || atLeast(kernel, 6, 1))) {
    events.push(
      taggedEvent(
        9,
        LOAD_OPTIONS_EVENT_TAG_ID,
        ascii('LOADED_IMAGE::LoadOptions\0'),
        hashAll(banks, utf16z(cmdline)),
        `kernel command line "${cmdline}" (UTF-16LE + NUL)`,
      ),
    );
  }
  // efi_load_initrd(): H(whole LoadFile2 buffer), only for the initrd media device path and size > 0
  if (initrd && (kernel.major === undefined || atLeast(kernel, 5, 17))) {
    events.push(
      taggedEvent(
        9,
        INITRD_EVENT_TAG_ID,
        ascii('Linux initrd\0'),
        initrd.digests,
        'initrd handed over by systemd-stub',
      ),
    );
  }
  return { events, warnings };
}
