import { describe, expect, it } from 'vitest';
import { describeEvent } from '../../measurements/eventlog/describe.js';
import { devicePathText } from '../../measurements/eventlog/device-path.js';
import { guidToString } from '../../measurements/eventlog/efi-guid.js';
import { EV } from '../../measurements/eventlog/types.js';
import { hex, utf16z } from './helpers.js';

const cat = (...parts: Uint8Array[]): Uint8Array => new Uint8Array(Buffer.concat(parts));
const u64 = (n: number | bigint): Uint8Array => {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(BigInt(n));
  return new Uint8Array(b);
};
const u32 = (n: number): Uint8Array => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n >>> 0);
  return new Uint8Array(b);
};
const ascii = (s: string): Uint8Array => new TextEncoder().encode(s);
const ev = (type: number, data: Uint8Array): { untrustedType: number; data: Uint8Array } => ({
  untrustedType: type,
  data,
});

// EFI_GLOBAL_VARIABLE 8be4df61-93ca-11d2-aa0d-00e098032b8c in EFI byte order
const GLOBAL_VAR = hex`61dfe48b ca93 d211 aa0d 00e098032b8c`;
const DISK_GUID = hex`78563412 3412 7856 9abc def012345678`; // 12345678-1234-5678-9abc-def012345678

const OVMF_SATA_PATH = hex(`
  02 01 0c00 d041030a 00000000                 # ACPI PNP0A03 UID 0 -> PciRoot(0x0)
  01 01 0600 02 1f                             # PCI function 2, device 0x1f
  03 12 0a00 0000 ffff 0000                    # SATA HBA 0, PM 0xffff, LUN 0
  04 01 2a00 01000000 0008000000000000 0000030000000000  # HD part 1, start 0x800, size 0x30000
     78563412341278569abcdef012345678 02 02    #   GPT signature (disk guid), format GPT, sig type GUID
  04 04 3000 ${Buffer.from('\\EFI\\BOOT\\BOOTX64.EFI\0', 'utf16le').toString('hex')}  # file path
  7f ff 0400                                   # end of entire path
`);

describe('devicePathText', () => {
  it('renders the OVMF SATA boot path like edk2', () => {
    expect(devicePathText(OVMF_SATA_PATH)).toBe(
      'PciRoot(0x0)/Pci(0x1F,0x2)/Sata(0x0,0xFFFF,0x0)/HD(1,GPT,12345678-1234-5678-9abc-def012345678,0x800,0x30000)/\\EFI\\BOOT\\BOOTX64.EFI',
    );
  });
  it('renders the systemd-stub payload path, memory-mapped, scsi, Fv nodes and multiple instances', () => {
    const venMedia = hex`04 03 1400 f8d1c555 cd04 b546 8a20e56cbb3052d0 7fff0400`;
    expect(devicePathText(venMedia)).toBe('VenMedia(55c5d1f8-04cd-46b5-8a20-e56cbb3052d0)');
    expect(
      devicePathText(
        hex`01 03 1800 0b000000 0010000000000000 ff1f000000000000 7f010400 03 02 0800 0100 0000 7fff0400`,
      ),
    ).toBe('MemoryMapped(0xB,0x1000,0x1fff),Scsi(0x1,0x0)');
    expect(devicePathText(cat(hex`04 07 1400`, DISK_GUID, hex`04 06 1400`, DISK_GUID))).toBe(
      'Fv(12345678-1234-5678-9abc-def012345678)/FvFile(12345678-1234-5678-9abc-def012345678)',
    );
  });
  it('never throws on malformed paths', () => {
    expect(devicePathText(hex`01 01 0200`)).toBe('<bad node length 2>');
    expect(devicePathText(hex`01 01 0600 02 1f 04 04`)).toBe('Pci(0x1F,0x2)/<2 stray bytes>');
    expect(devicePathText(hex`01 01 0500 02`)).toBe('Path(1,1,02)'); // PCI node too short for its fields
    expect(devicePathText(hex`05 09 0600 abcd`)).toBe('Path(5,9,abcd)');
    expect(devicePathText(new Uint8Array(0))).toBe('');
  });
});

describe('describeEvent', () => {
  it('texts: EV_EFI_ACTION, EV_IPL (UTF-16 from systemd-stub, ASCII from GRUB), S-CRTM version', () => {
    expect(describeEvent(ev(EV.EFI_ACTION, ascii('Exit Boot Services Invocation')))).toBe(
      '"Exit Boot Services Invocation"',
    );
    expect(describeEvent(ev(EV.IPL, utf16z('.linux')))).toBe('".linux"');
    expect(describeEvent(ev(EV.IPL, ascii('grub_cmd: linux /vmlinuz\0')))).toBe('"grub_cmd: linux /vmlinuz"');
    expect(describeEvent(ev(EV.S_CRTM_VERSION, utf16z('EDK II')))).toBe('"EDK II"');
    expect(describeEvent(ev(EV.S_CRTM_VERSION, hex`0000`))).toBe('""'); // OVMF default: L""
    expect(describeEvent(ev(EV.S_CRTM_VERSION, DISK_GUID))).toBe(
      'version GUID 12345678-1234-5678-9abc-def012345678',
    );
    expect(describeEvent(ev(EV.PLATFORM_CONFIG_FLAGS, ascii('ACPI DATA')))).toBe('"ACPI DATA"');
  });
  it('separators', () => {
    expect(describeEvent(ev(EV.SEPARATOR, hex`00000000`))).toBe('separator 00000000');
    expect(describeEvent(ev(EV.SEPARATOR, hex`ffffffff`))).toBe('separator ffffffff (error)');
  });
  it('UEFI_VARIABLE_DATA: SecureBoot, db, BootOrder, Boot0001, authority', () => {
    const variable = (name: string, data: Uint8Array, guid = GLOBAL_VAR): Uint8Array =>
      cat(guid, u64(name.length), u64(data.length), new Uint8Array(Buffer.from(name, 'utf16le')), data);
    expect(describeEvent(ev(EV.EFI_VARIABLE_DRIVER_CONFIG, variable('SecureBoot', hex`01`)))).toBe(
      'EFI_GLOBAL_VARIABLE:SecureBoot = 1',
    );
    expect(describeEvent(ev(EV.EFI_VARIABLE_DRIVER_CONFIG, variable('PK', new Uint8Array(0))))).toBe(
      'EFI_GLOBAL_VARIABLE:PK (0 bytes)',
    );
    expect(describeEvent(ev(EV.EFI_VARIABLE_BOOT, variable('BootOrder', hex`0100 0000 0200`)))).toBe(
      'EFI_GLOBAL_VARIABLE:BootOrder 0001,0000,0002',
    );
    const loadOption = cat(
      u32(1),
      hex`0800`,
      utf16z('UEFI QEMU HARDDISK'),
      hex`02 01 0c00 d041030a 00000000`.slice(0, 8),
      hex`4e ac 08 81`,
    );
    expect(describeEvent(ev(EV.EFI_VARIABLE_BOOT, variable('Boot0001', loadOption)))).toBe(
      'EFI_GLOBAL_VARIABLE:Boot0001 "UEFI QEMU HARDDISK" attr 0x1 <bad node length 12> optional 4 bytes 4eac0881',
    );
    const db = hex`cbb219d7 3a3d 9645 a3bc dad00e67656f`;
    expect(describeEvent(ev(EV.EFI_VARIABLE_AUTHORITY, variable('db', cat(GLOBAL_VAR, hex`3082`), db)))).toBe(
      'EFI_IMAGE_SECURITY_DATABASE:db (18 bytes, EFI_SIGNATURE_DATA owner EFI_GLOBAL_VARIABLE)',
    );
    expect(describeEvent(ev(EV.EFI_VARIABLE_DRIVER_CONFIG, cat(GLOBAL_VAR, u64(1e15), u64(0))))).toMatch(
      /^32 bytes 61dfe48b.*\(undecodable EV_EFI_VARIABLE_DRIVER_CONFIG data: UEFI_VARIABLE_DATA at byte 32 \(0x20\): need 2000000000000000 bytes/,
    );
  });
  it('UEFI_IMAGE_LOAD_EVENT', () => {
    const data = cat(u64(0x7e1a6000), u64(0x1b2c00), u64(0), u64(OVMF_SATA_PATH.length), OVMF_SATA_PATH);
    expect(describeEvent(ev(EV.EFI_BOOT_SERVICES_APPLICATION, data))).toBe(
      `image at 0x7e1a6000 length 0x1b2c00 link 0x0 devicePath[${OVMF_SATA_PATH.length}] ` +
        'PciRoot(0x0)/Pci(0x1F,0x2)/Sata(0x0,0xFFFF,0x0)/HD(1,GPT,12345678-1234-5678-9abc-def012345678,0x800,0x30000)/\\EFI\\BOOT\\BOOTX64.EFI',
    );
    // shim: a zeroed IMAGE_LOAD_EVENT; a device path length beyond the data is clipped
    expect(describeEvent(ev(EV.EFI_BOOT_SERVICES_APPLICATION, new Uint8Array(32)))).toBe(
      'image at 0x0 length 0x0 link 0x0 devicePath[0] (none)',
    );
    expect(
      describeEvent(
        ev(EV.EFI_BOOT_SERVICES_DRIVER, cat(u64(1), u64(2), u64(3), u64(2n ** 63n), hex`7fff0400`)),
      ),
    ).toBe(
      'image at 0x1 length 0x2 link 0x3 devicePath[9223372036854775808]  (device path clipped to 4 bytes)',
    );
  });
  it('UEFI_GPT_DATA', () => {
    const header = new Uint8Array(92);
    header.set(ascii('EFI PART'), 0);
    header.set(DISK_GUID, 56);
    header.set(u32(128), 84);
    expect(describeEvent(ev(EV.EFI_GPT_EVENT, cat(header, u64(2), new Uint8Array(256))))).toBe(
      'GPT disk 12345678-1234-5678-9abc-def012345678, 2 partitions',
    );
    expect(describeEvent(ev(EV.EFI_GPT_EVENT, header))).toMatch(/^92 bytes .*undecodable EV_EFI_GPT_EVENT/);
  });
  it('tagged events: kernel ASCII tags, systemd UTF-16 tags, unknown tags', () => {
    const tag = (id: number, payload: Uint8Array): Uint8Array => cat(u32(id), u32(payload.length), payload);
    expect(describeEvent(ev(EV.EVENT_TAG, tag(0x8f3b22ec, ascii('Linux initrd\0'))))).toBe(
      'tag 0x8f3b22ec INITRD_EVENT_TAG_ID (Linux initrd): "Linux initrd"',
    );
    expect(describeEvent(ev(EV.EVENT_TAG, tag(0xf5bc582a, utf16z('loader.conf'))))).toBe(
      'tag 0xf5bc582a LOADER_CONF_EVENT_TAG_ID (sd-boot loader.conf): "loader.conf"',
    );
    expect(describeEvent(ev(EV.EVENT_TAG, tag(0x12345678, hex`0102`)))).toBe('tag 0x12345678: 2 bytes 0102');
    expect(describeEvent(ev(EV.EVENT_TAG, hex`ed223b8f ffffffff 00`))).toMatch(/undecodable EV_EVENT_TAG/);
  });
  it('firmware blobs and handoff tables', () => {
    expect(describeEvent(ev(EV.EFI_PLATFORM_FIRMWARE_BLOB, cat(u64(0x820000), u64(0xe0000))))).toBe(
      'base 0x820000 length 0xe0000',
    );
    const desc = ascii('Fv(12345678-1234-5678-9abc-def012345678)');
    expect(
      describeEvent(
        ev(EV.EFI_PLATFORM_FIRMWARE_BLOB2, cat(new Uint8Array([desc.length]), desc, u64(1), u64(2))),
      ),
    ).toBe('"Fv(12345678-1234-5678-9abc-def012345678)" base 0x1 length 0x2');
    const smbios = hex`312d9deb 882d d311 9a16 0090273fc14d`;
    expect(describeEvent(ev(EV.EFI_HANDOFF_TABLES, cat(u64(1), smbios, u64(0x7f000000))))).toBe(
      '1 table(s): SMBIOS_TABLE',
    );
    expect(
      describeEvent(ev(EV.EFI_HANDOFF_TABLES, cat(u32(1), smbios, u32(0x7f000000))), { uintnSize: 1 }),
    ).toBe('1 table(s): SMBIOS_TABLE');
    expect(describeEvent(ev(EV.EFI_HANDOFF_TABLES, cat(u64(2n ** 40n), smbios)))).toMatch(/do not fit/);
    expect(describeEvent(ev(EV.POST_CODE, cat(u64(0xffc00000), u64(0x400000))))).toBe(
      'base 0xffc00000 length 0x400000',
    );
    expect(describeEvent(ev(EV.POST_CODE, ascii('POST CODE')))).toBe('"POST CODE"');
  });
  it('EV_NO_ACTION payloads', () => {
    const sp = cat(ascii('SP800-155 Event3'), u32(343), DISK_GUID, new Uint8Array(10));
    expect(describeEvent(ev(EV.NO_ACTION, sp))).toBe(
      'SP800-155 Event3: vendor 343, reference manifest 12345678-1234-5678-9abc-def012345678 (46 bytes)',
    );
    expect(describeEvent(ev(EV.NO_ACTION, cat(ascii('NvIndexInstance\0'), new Uint8Array(8))))).toBe(
      'NvIndexInstance (24 bytes)',
    );
    expect(describeEvent(ev(EV.NO_ACTION, cat(ascii('StartupLocality\0'), hex`00`)))).toBe(
      'StartupLocality 0',
    );
    expect(describeEvent(ev(EV.NO_ACTION, cat(ascii('StartupLocality\0'), hex`0000`)))).toBe(
      '"StartupLocality" 2 bytes 0000',
    );
  });
  it('binary, unknown types and control characters', () => {
    expect(describeEvent(ev(0x1234, hex`00ff10`))).toBe('3 bytes 00ff10');
    expect(describeEvent(ev(EV.EFI_ACTION, new Uint8Array(0)))).toBe('0 bytes');
    expect(describeEvent(ev(EV.EFI_ACTION, ascii('a\u001b[31mred')))).toBe('9 bytes 611b5b33316d726564');
    // a UTF-16 device path string with an escape sequence: shown escaped, never raw
    const nasty = cat(
      u64(0),
      u64(0),
      u64(0),
      u64(12),
      hex`0404 0c00`,
      new Uint8Array(Buffer.from('a\u001bb\0', 'utf16le')),
    );
    const text = describeEvent(ev(EV.EFI_BOOT_SERVICES_APPLICATION, nasty));
    expect(text).toContain('a\\x1bb');
    expect(text).not.toContain('\u001b');
  });
  it('guidToString uses EFI mixed endianness', () => {
    expect(guidToString(GLOBAL_VAR)).toBe('8be4df61-93ca-11d2-aa0d-00e098032b8c');
  });
});
