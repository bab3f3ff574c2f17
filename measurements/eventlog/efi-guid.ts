// EFI_GUID text form (UEFI 2.10 Appendix A: Data1 u32, Data2 u16, Data3 u16 little-endian, then 8
// bytes as stored) and the GUIDs that show up in OVMF/systemd/shim event logs, for display only.
import type { ByteReader } from '../../image/formats/reader.js';

export function guidToString(b: Uint8Array): string {
  if (b.length < 16) return `<${b.length}-byte guid>`;
  const h = (i: number): string => (b[i] as number).toString(16).padStart(2, '0');
  const le = (...idx: number[]): string => idx.map(h).join('');
  return `${le(3, 2, 1, 0)}-${le(5, 4)}-${le(7, 6)}-${le(8, 9)}-${le(10, 11, 12, 13, 14, 15)}`;
}

export function readGuid(r: ByteReader): string {
  return guidToString(r.read(16));
}

/** Names for well-known GUIDs (UEFI spec, edk2, systemd, shim). */
export const KNOWN_GUIDS: ReadonlyMap<string, string> = new Map([
  ['8be4df61-93ca-11d2-aa0d-00e098032b8c', 'EFI_GLOBAL_VARIABLE'],
  ['d719b2cb-3d3a-4596-a3bc-dad00e67656f', 'EFI_IMAGE_SECURITY_DATABASE'],
  ['605dab50-e046-4300-abb6-3dd810dd8b23', 'SHIM_LOCK'],
  ['4a67b082-0a4c-41cf-b6c7-440b29bb8c4f', 'SYSTEMD_LOADER'],
  ['55c5d1f8-04cd-46b5-8a20-e56cbb3052d0', 'SYSTEMD_STUB_LINUX_PAYLOAD'],
  ['5568e427-68fc-4f3d-ac74-ca555231cc68', 'LINUX_EFI_INITRD_MEDIA'],
  ['eb9d2d31-2d88-11d3-9a16-0090273fc14d', 'SMBIOS_TABLE'],
  ['f2fd1544-9794-4a2c-992e-e5bbcf20e394', 'SMBIOS3_TABLE'],
  ['8868e871-e4f1-11d3-bc22-0080c73c8881', 'ACPI_20_TABLE'],
  ['eb9d2d30-2d88-11d3-9a16-0090273fc14d', 'ACPI_TABLE'],
  ['77fa9abd-0359-4d32-bd60-28f4e78f784b', 'MICROSOFT_VENDOR'],
]);

/** "EFI_GLOBAL_VARIABLE" for a known GUID, else the GUID text. */
export function guidLabel(guid: string): string {
  return KNOWN_GUIDS.get(guid) ?? guid;
}
