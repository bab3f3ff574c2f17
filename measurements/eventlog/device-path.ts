// Best-effort text of an EFI_DEVICE_PATH_PROTOCOL (UEFI 2.10 §10.3 node layouts; text forms as edk2
// DevicePathToText prints them: PciRoot(0x0)/Pci(0x1,0x1)/Sata(0x0,0xFFFF,0x0)/HD(1,GPT,...)/\EFI\..).
// For display only: bounds-checked, never throws, unknown nodes become Path(type,subtype,hex).
import { NodeimgError } from '../../image/formats/errors.js';
import { ByteReader, toHex, utf16z } from '../../image/formats/reader.js';
import { guidToString, readGuid } from './efi-guid.js';
import { hex64 } from './text.js';

const MAX_NODES = 64;
const hx = (n: number): string => `0x${n.toString(16).toUpperCase()}`;

/** Text for one node body `r` (header already consumed); undefined if not a known node. */
function nodeText(type: number, subtype: number, r: ByteReader): string | undefined {
  const key = (type << 8) | subtype;
  switch (key) {
    case 0x0101: {
      // Hardware/PCI: UINT8 Function, UINT8 Device
      const fn = r.u8();
      return `Pci(${hx(r.u8())},${hx(fn)})`;
    }
    case 0x0103: {
      // Hardware/Memory mapped: UINT32 MemoryType, UINT64 Start, UINT64 End
      const t = r.u32();
      return `MemoryMapped(${hx(t)},${hex64(r.u64())},${hex64(r.u64())})`;
    }
    case 0x0104:
      return `VenHw(${readGuid(r)})`;
    case 0x0201: {
      // ACPI: UINT32 _HID (EISA compressed), UINT32 _UID
      const hid = r.u32();
      const uid = r.u32();
      if (hid === 0x0a0341d0) return `PciRoot(${hx(uid)})`;
      if (hid === 0x0a0841d0) return `PcieRoot(${hx(uid)})`;
      const pnp =
        (hid & 0xffff) === 0x41d0
          ? `PNP${(hid >>> 16).toString(16).toUpperCase().padStart(4, '0')}`
          : hx(hid);
      return `Acpi(${pnp},${hx(uid)})`;
    }
    case 0x0302:
      return `Scsi(${hx(r.u16())},${hx(r.u16())})`;
    case 0x0305:
      return `USB(${hx(r.u8())},${hx(r.u8())})`;
    case 0x030a:
      return `VenMsg(${readGuid(r)})`;
    case 0x030b:
      return `MAC(${toHex(r.read(6))})`;
    case 0x0312:
      // Messaging/SATA: UINT16 HBAPortNumber, UINT16 PortMultiplierPortNumber, UINT16 Lun
      return `Sata(${hx(r.u16())},${hx(r.u16())},${hx(r.u16())})`;
    case 0x0317: {
      const nsid = r.u32();
      return `NVMe(${hx(nsid)},${Array.from(r.read(8), (b) => b.toString(16).padStart(2, '0').toUpperCase()).join('-')})`;
    }
    case 0x0318:
      return `Uri(${new TextDecoder().decode(r.read(r.remaining))})`;
    case 0x0401: {
      // Media/Hard drive: UINT32 PartitionNumber, UINT64 Start, UINT64 Size, Signature[16], MBRType, SignatureType
      const part = r.u32();
      const start = r.u64();
      const size = r.u64();
      const sig = r.read(16);
      const format = r.u8();
      const sigType = r.u8();
      const sigText =
        sigType === 2
          ? guidToString(sig)
          : sigType === 1
            ? hx(new DataView(sig.buffer, sig.byteOffset, 4).getUint32(0, true))
            : '0';
      const fmt = format === 2 ? 'GPT' : format === 1 ? 'MBR' : hx(format);
      return `HD(${part},${fmt},${sigText},${hex64(start)},${hex64(size)})`;
    }
    case 0x0402: {
      const entry = r.u32();
      return `CDROM(${hx(entry)},${hex64(r.u64())},${hex64(r.u64())})`;
    }
    case 0x0403:
      return `VenMedia(${readGuid(r)})`;
    case 0x0404:
      return utf16z(r.read(r.remaining));
    case 0x0405:
      return `Media(${readGuid(r)})`;
    case 0x0406:
      return `FvFile(${readGuid(r)})`;
    case 0x0407:
      return `Fv(${readGuid(r)})`;
    case 0x0408:
      return `Offset(${hex64(r.u64())},${hex64(r.u64())})`;
    default:
      return undefined;
  }
}

/** Renders a device path (possibly multi-instance) as text. Never throws. */
export function devicePathText(bytes: Uint8Array): string {
  const r = new ByteReader(bytes, 'EFI_DEVICE_PATH');
  const parts: string[] = [];
  let sep = '';
  for (let n = 0; r.remaining > 0; n++) {
    if (n >= MAX_NODES) return `${parts.join('')}/…`;
    if (r.remaining < 4) return `${parts.join('')}${sep}<${r.remaining} stray bytes>`;
    const type = r.u8();
    const subtype = r.u8();
    const len = r.u16();
    if (len < 4 || len - 4 > r.remaining) return `${parts.join('')}${sep}<bad node length ${len}>`;
    const body = r.sub(r.offset, len - 4);
    r.skip(len - 4);
    if (type === 0x7f) {
      if (subtype === 0xff) break; // End Entire Device Path
      parts.push(',');
      sep = '';
      continue; // End This Instance: next instance follows
    }
    let text: string | undefined;
    try {
      text = nodeText(type, subtype, body);
    } catch (e) {
      if (!(e instanceof NodeimgError)) throw e;
      text = undefined;
    }
    parts.push(`${sep}${text ?? `Path(${type},${subtype},${toHex(body.bytes)})`}`);
    sep = '/';
  }
  return parts.join('');
}
