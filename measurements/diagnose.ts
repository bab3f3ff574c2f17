// What a departure from the predicted measurements most likely means, in words an operator can act
// on. Keyed on the PCR and the predicted event that differs (its description names what was
// measured); a heuristic, so it says "most likely".
import type { EventMismatch } from './eventlog/diff.js';

const SECTION_MEANING: Readonly<Record<string, string>> = {
  '.linux': 'a different kernel in the UKI',
  '.initrd': 'a different initrd in the UKI',
  '.cmdline': 'a different kernel command line in the UKI',
  '.osrel': 'a different os-release in the UKI',
  '.uname': 'a different kernel version string in the UKI',
  '.sbat': 'a different SBAT section in the UKI',
  '.pcrpkey': 'a different PCR signing key in the UKI',
  '.splash': 'a different splash image in the UKI',
  '.dtb': 'a different device tree in the UKI',
};

/** The most likely cause of the first mismatch of a PCR. */
export function likelyCause(pcr: number, m: EventMismatch | undefined): string {
  const what = m?.expected?.description ?? '';
  if ([0, 1, 2, 3, 6].includes(pcr))
    return 'the firmware or the VM configuration changed (firmware update, memory size, devices, boot entries)';
  switch (pcr) {
    case 4:
      if (/\.linux/.test(what)) return 'a different kernel inside the UKI';
      if (m?.reason === 'extra')
        return 'an extra EFI application ran (another boot loader, shim, or a kernel loaded by the firmware)';
      return 'a different UKI or boot loader binary (its Authenticode hash differs), or another boot path';
    case 5:
      return /GPT/.test(what)
        ? 'a different partition table (GPT rewritten, e.g. resized at first boot)'
        : 'a different boot path (ExitBootServices or loader.conf events differ)';
    case 7:
      if (/SecureBoot/.test(what)) return 'the Secure Boot state differs (enabled vs disabled)';
      if (/\b(PK|KEK|db|dbx)\b/.test(what) && !/authoris/.test(what))
        return 'different Secure Boot keys or revocations (PK, KEK, db or dbx)';
      return 'the images were authorised by a different db entry (signed by another key)';
    case 8:
      return 'something measured into PCR 8 (GRUB, or an old systemd-stub/-boot)';
    case 9:
      if (/command line/.test(what)) return 'a different kernel command line reached the kernel';
      if (/initrd/.test(what)) return 'a different initrd reached the kernel';
      return 'the kernel measured different LoadOptions or initrd';
    case 11: {
      const section = /section (\.\w+)/.exec(what)?.[1];
      if (section && SECTION_MEANING[section]) return SECTION_MEANING[section];
      return m?.reason === 'extra'
        ? 'userspace phases (systemd-pcrphase) or an unexpected UKI section were measured'
        : 'different UKI sections';
    }
    case 12:
      return m?.reason === 'extra'
        ? 'a command line was passed at boot (LoadOptions), or credentials, confexts or addons not in the image'
        : 'a different command line, credentials or configuration extensions';
    case 13:
      return 'different system extensions (sysexts)';
    default:
      return 'an unexpected measurement';
  }
}
