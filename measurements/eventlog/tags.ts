// taggedEventID values of EV_EVENT_TAG records seen on Linux boots (measured-boot.md §4.2, §5).
// Sources: Linux drivers/firmware/efi/libstub/efistub.h (kernel tags); systemd
// src/fundamental/tpm2-pcr.h (v255+; SMBIOS tags are newer than v258 and listed for recognition only).

export interface KnownTag {
  readonly id: number;
  readonly name: string;
  readonly source: string;
}

export const KNOWN_TAGS: readonly KnownTag[] = [
  { id: 0x8f3b22ed, name: 'LOAD_OPTIONS_EVENT_TAG_ID (kernel cmdline)', source: 'linux efistub.h, 6.1+' },
  { id: 0x8f3b22ec, name: 'INITRD_EVENT_TAG_ID (Linux initrd)', source: 'linux efistub.h, 5.17+' },
  {
    id: 0xf5bc582a,
    name: 'LOADER_CONF_EVENT_TAG_ID (sd-boot loader.conf)',
    source: 'systemd tpm2-pcr.h, v255+',
  },
  { id: 0x6c46f751, name: 'DEVICETREE_ADDON_EVENT_TAG_ID', source: 'systemd tpm2-pcr.h, v255+' },
  { id: 0x49dffe0f, name: 'INITRD_ADDON_EVENT_TAG_ID', source: 'systemd tpm2-pcr.h, v257+' },
  { id: 0xdac08e1a, name: 'UCODE_ADDON_EVENT_TAG_ID', source: 'systemd tpm2-pcr.h, v257+' },
  { id: 0x13aed6db, name: 'UKI_PROFILE_EVENT_TAG_ID', source: 'systemd tpm2-pcr.h, v257+' },
  { id: 0xd5cb7cbc, name: 'SMBIOS_TYPE1_EVENT_TAG_ID', source: 'systemd tpm2-pcr.h, after v258' },
  { id: 0xe0d47bc8, name: 'SMBIOS_TYPE2_EVENT_TAG_ID', source: 'systemd tpm2-pcr.h, after v258' },
  { id: 0xc0b3bd23, name: 'SMBIOS_TYPE11_EVENT_TAG_ID', source: 'systemd tpm2-pcr.h, after v258' },
];

const BY_ID: ReadonlyMap<number, KnownTag> = new Map(KNOWN_TAGS.map((t) => [t.id, t]));

export function knownTag(id: number): KnownTag | undefined {
  return BY_ID.get(id);
}
