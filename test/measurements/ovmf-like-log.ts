// A synthetic log shaped like an OVMF + systemd-stub boot (measured-boot.md §3.1, §3.2, §4.3, §5),
// built with createEvent; used where no real firmware log is available yet (test-only).
import type { HashAlg } from '../../measurements/hash.js';
import { createEvent } from '../../measurements/eventlog/encode.js';
import { buildSpecIdEvent } from '../../measurements/eventlog/spec-id.js';
import { EV, type EventLog, type EventRecord } from '../../measurements/eventlog/types.js';
import { h, hex, utf16z } from './helpers.js';

const cat = (...parts: Uint8Array[]): Uint8Array => new Uint8Array(Buffer.concat(parts));
const ascii = (s: string): Uint8Array => new TextEncoder().encode(s);
const u64 = (n: number): Uint8Array => {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(BigInt(n));
  return new Uint8Array(b);
};
const u32 = (n: number): Uint8Array => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n);
  return new Uint8Array(b);
};

export const GLOBAL_VAR = hex`61dfe48b ca93 d211 aa0d 00e098032b8c`;
export const IMAGE_SECURITY_DB = hex`cbb219d7 3a3d 9645 a3bc dad00e67656f`;

export function variableData(guid: Uint8Array, name: string, data: Uint8Array): Uint8Array {
  return cat(guid, u64(name.length), u64(data.length), new Uint8Array(Buffer.from(name, 'utf16le')), data);
}

/** The fake "Authenticode" digests of the UKI, one per bank (what PCR 4's app event carries). */
export function fakeAuthenticode(banks: readonly HashAlg[]): Partial<Record<HashAlg, Uint8Array>> {
  return Object.fromEntries(banks.map((a) => [a, h(a, 'authenticode of the UKI')]));
}

export const SATA_PATH = hex(`
  02010c00 d041030a 00000000 01010600 021f 03120a00 0000ffff0000
  04012a00 01000000 0008000000000000 0000030000000000 78563412341278569abcdef012345678 0202
  04043000 ${Buffer.from('\\EFI\\BOOT\\BOOTX64.EFI\0', 'utf16le').toString('hex')} 7fff0400`);

export function ovmfLikeLog(banks: readonly HashAlg[] = ['sha1', 'sha256', 'sha384']): EventLog {
  const specId = buildSpecIdEvent(banks);
  const ev = (
    pcr: number,
    type: number,
    data: Uint8Array,
    extra: { measured?: Uint8Array; digests?: Partial<Record<HashAlg, Uint8Array>> } = {},
  ): EventRecord => createEvent(specId, { pcr, type, data, ...extra });
  const gpt = new Uint8Array(92 + 8 + 128);
  gpt.set(ascii('EFI PART'), 0);
  gpt.set(u64(1), 92);
  gpt.fill(0x11, 100);
  const events: EventRecord[] = [
    ev(0, EV.S_CRTM_VERSION, utf16z('EDK II')),
    ev(0, EV.EFI_PLATFORM_FIRMWARE_BLOB, cat(u64(0x820000), u64(0xe0000)), {
      measured: new Uint8Array(4096).fill(0x5a),
    }),
    ev(1, EV.PLATFORM_CONFIG_FLAGS, ascii('ACPI DATA'), { measured: ascii('etc/table-loader') }),
    ...['SecureBoot', 'PK', 'KEK'].map((n) =>
      ev(7, EV.EFI_VARIABLE_DRIVER_CONFIG, variableData(GLOBAL_VAR, n, new Uint8Array(0))),
    ),
    ...['db', 'dbx'].map((n) =>
      ev(7, EV.EFI_VARIABLE_DRIVER_CONFIG, variableData(IMAGE_SECURITY_DB, n, new Uint8Array(0))),
    ),
    ev(7, EV.SEPARATOR, hex`00000000`),
    // edk2 quirk: EV_EFI_VARIABLE_BOOT digest = H(variable data only)
    ev(1, EV.EFI_VARIABLE_BOOT, variableData(GLOBAL_VAR, 'BootOrder', hex`0100`), { measured: hex`0100` }),
    ev(4, EV.EFI_ACTION, ascii('Calling EFI Application from Boot Option')),
    ...[0, 1, 2, 3, 4, 5, 6].map((pcr) => ev(pcr, EV.SEPARATOR, hex`00000000`)),
    ev(5, EV.EFI_GPT_EVENT, gpt),
    ev(
      4,
      EV.EFI_BOOT_SERVICES_APPLICATION,
      cat(u64(0x7e1a6000), u64(0x1b2c00), u64(0), u64(SATA_PATH.length), SATA_PATH),
      { digests: fakeAuthenticode(banks) },
    ),
    ev(11, EV.IPL, utf16z('.linux'), { measured: ascii('.linux\0') }),
    ev(11, EV.IPL, utf16z('.linux'), { measured: ascii('abc') }),
    ev(9, EV.EVENT_TAG, cat(u32(0x8f3b22ed), u32(26), ascii('LOADED_IMAGE::LoadOptions\0')), {
      measured: utf16z('console=ttyS0'),
    }),
    ev(5, EV.EFI_ACTION, ascii('Exit Boot Services Invocation')),
    ev(5, EV.EFI_ACTION, ascii('Exit Boot Services Returned with Success')),
  ];
  return { headerPcr: 0, specId, events };
}
