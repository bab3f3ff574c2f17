// Fixed settings of the measured-boot lab (shared/lab/measured-boot/lib.sh): identifiers, firmware
// paths, the Debian snakeoil Secure Boot key. Pure data.

export const LAB_VARIANTS = ['direct', 'sdboot', 'direct-sb', 'sdboot-sb'] as const;
export type LabVariant = (typeof LAB_VARIANTS)[number];
export type LabLayout = 'direct' | 'sdboot';

export function variantLayout(v: LabVariant): LabLayout {
  return v.startsWith('sdboot') ? 'sdboot' : 'direct';
}

export function variantSecureBoot(v: LabVariant): boolean {
  return v.endsWith('-sb');
}

export const PCR_BANKS = ['sha1', 'sha256', 'sha384'] as const;
export type PcrBank = (typeof PCR_BANKS)[number];

/** Kernel command line of the lab UKI; panic=-1 makes a failed /init end the VM at once. */
export const LAB_CMDLINE = 'console=ttyS0 quiet panic=-1';

export const LAB_OS_RELEASE = [
  'NAME="nodeimg lab UKI"',
  'ID=nodeimg-lab',
  'VERSION_ID=1',
  'PRETTY_NAME="nodeimg measured-boot lab UKI"',
  '',
].join('\n');

/** Identifiers that make the disk image reproducible. */
export const LAB_DISK = {
  diskGuid: '5b3f4c2e-1d7a-4e6b-9c8d-0a1b2c3d4e5f',
  espTypeGuid: 'c12a7328-f81f-11d2-ba4b-00a0c93ec93b',
  espPartGuid: '0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0',
  fatVolumeId: '12345678',
  espStartSector: 2048,
  espSectors: 64 * 1024 * 2, // 64 MiB
  tailSectors: 2048,
} as const;

/** Paths inside the systemd-boot-efi package. */
export const SYSTEMD_STUB = 'usr/lib/systemd/boot/efi/linuxx64.efi.stub';
export const SYSTEMD_BOOT = 'usr/lib/systemd/boot/efi/systemd-bootx64.efi';

/** Debian's ovmf package. */
export const OVMF = {
  code: '/usr/share/OVMF/OVMF_CODE_4M.fd',
  vars: '/usr/share/OVMF/OVMF_VARS_4M.fd',
  codeSecureBoot: '/usr/share/OVMF/OVMF_CODE_4M.secboot.fd',
  varsSnakeoil: '/usr/share/OVMF/OVMF_VARS_4M.snakeoil.fd',
} as const;

/** Debian's Secure Boot test key, enrolled as PK/KEK/db in OVMF_VARS_4M.snakeoil.fd. Never for real use. */
export const SNAKEOIL = {
  key: '/usr/share/ovmf/PkKek-1-snakeoil.key',
  cert: '/usr/share/ovmf/PkKek-1-snakeoil.pem',
  passphrase: 'snakeoil',
} as const;

/**
 * `faketime` argv freezing the clock at `epoch` (TZ=UTC comes from runTool). Pure. `-f` passes the
 * timestamp to libfaketime as is, which stops the clock; without it the wrapper starts the clock at
 * the timestamp and lets it run, so a tool crossing a second boundary (sbsign's PKCS#7
 * signingTime, FAT times) gives different bytes now and then.
 */
export function fakeTimeArgv(epoch: number, file: string, args: readonly string[]): [string, string[]] {
  const d = new Date(epoch * 1000).toISOString(); // 2023-11-14T22:13:20.000Z
  return ['faketime', ['-f', `${d.slice(0, 10)} ${d.slice(11, 19)}`, file, ...args]];
}
