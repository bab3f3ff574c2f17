// The pure parts of the measured-boot lab (image/build/lab/): PE fix-up, argv builders, parsers.
import { describe, expect, it } from 'vitest';
import { LAB_DISK, fakeTimeArgv } from '../../../image/build/lab/config.js';
import { parseLabConsole } from '../../../image/build/lab/console.js';
import { parseAptShow, realPackage } from '../../../image/build/lab/debs.js';
import { espDirs, labEspFiles, sfdiskScript } from '../../../image/build/lab/disk.js';
import { MARK } from '../../../image/build/lab/initrd-init.js';
import { padTo, peChecksum, peHeaderOffsets, setPeTimestamp } from '../../../image/build/lab/pe-fixup.js';
import { qemuArgs, swtpmArgs, swtpmSetupArgs } from '../../../image/build/lab/qemu-argv.js';
import { objcopyArgs, objdumpSectionsEnd, placeSections } from '../../../image/build/lab/uki.js';

/** A minimal PE32+ header with an odd file length (the shape objcopy leaves a UKI in). */
function syntheticPe(): Uint8Array {
  const b = new Uint8Array(0x201);
  const v = new DataView(b.buffer);
  b.set([0x4d, 0x5a]);
  v.setUint32(0x3c, 0x80, true);
  b.set([0x50, 0x45, 0, 0], 0x80);
  v.setUint16(0x84, 0x8664, true);
  v.setUint32(0x88, 0x12345678, true);
  v.setUint16(0x94, 0xf0, true);
  v.setUint16(0x96, 0x22, true);
  v.setUint16(0x98, 0x20b, true);
  for (let i = 0x120; i < b.length; i++) b[i] = (i * 7) & 0xff;
  return b;
}

describe('pe-fixup', () => {
  it('sets TimeDateStamp and the CheckSum the lab petool.py computes', () => {
    const pe = syntheticPe();
    expect(peHeaderOffsets(pe)).toEqual({ timeDateStamp: 0x88, checkSum: 0xd8 });
    const fixed = setPeTimestamp(pe, 1_700_000_000);
    const v = new DataView(fixed.buffer);
    expect(v.getUint32(0x88, true)).toBe(1_700_000_000);
    // reference value: shared/lab/measured-boot/petool.py set-timestamp on the same bytes
    expect(v.getUint32(0xd8, true)).toBe(0xbb1d);
    expect(peChecksum(fixed, 0xd8)).toBe(0xbb1d); // the field itself does not count
    expect(pe[0x88]).toBe(0x78); // input untouched
  });

  it('refuses what is not a PE image', () => {
    expect(() => peHeaderOffsets(new Uint8Array(0x100))).toThrow(/MZ/);
    const pe = syntheticPe();
    pe[0x80] = 0;
    expect(() => peHeaderOffsets(pe)).toThrow(/PE/);
  });

  it('pads to 8 bytes', () => {
    expect(padTo(new Uint8Array(9)).length).toBe(16);
    const eight = new Uint8Array(8);
    expect(padTo(eight)).toBe(eight);
  });
});

describe('uki argv', () => {
  const objdump = `
stub:     file format pei-x86-64

Sections:
Idx Name          Size      VMA               LMA               File off  Algn
  0 .text         0000bff0  0000000000004000  0000000000004000  00000400  2**4
                  CONTENTS, ALLOC, LOAD, READONLY, CODE
  7 .sdmagic      00000034  0000000000019100  0000000000019100  00011200  2**2
                  CONTENTS, ALLOC, LOAD, READONLY, DATA
`;
  it('places the sections page-aligned after the stub', () => {
    expect(objdumpSectionsEnd(objdump)).toBe(0x19134);
    const placed = placeSections(0x19134, [
      { name: '.osrel', file: 'o', size: 0x5f },
      { name: '.linux', file: 'l', size: 0x1001 },
      { name: '.x', file: 'x', size: 1 },
    ]);
    expect(placed.map((p) => p.vma)).toEqual([0x1a000, 0x1b000, 0x1d000]);
    expect(objcopyArgs(placed.slice(0, 1), 'stub', 'out')).toEqual([
      '--add-section',
      '.osrel=o',
      '--change-section-vma',
      '.osrel=0x1a000',
      'stub',
      'out',
    ]);
  });
});

describe('disk layout', () => {
  it('writes the lab sfdisk script', () => {
    expect(sfdiskScript()).toContain(`label-id: ${LAB_DISK.diskGuid}`);
    expect(sfdiskScript()).toContain(
      `start=2048, size=131072, type=${LAB_DISK.espTypeGuid}, uuid=${LAB_DISK.espPartGuid}`,
    );
  });

  it('lays out the ESP of each variant', () => {
    expect(labEspFiles('direct', 'u').map((f) => f.path)).toEqual(['EFI/BOOT/BOOTX64.EFI']);
    const sd = labEspFiles('sdboot', 'u', 's');
    expect(sd.map((f) => [f.path, f.source])).toEqual([
      ['EFI/BOOT/BOOTX64.EFI', 's'],
      ['EFI/Linux/lab.efi', 'u'],
      ['loader/loader.conf', { text: 'timeout 0\neditor no\n' }],
    ]);
    expect(espDirs(sd.map((f) => f.path))).toEqual(['EFI', 'EFI/BOOT', 'EFI/Linux', 'loader']);
  });

  it('freezes the clock with faketime -f (without -f the clock runs on from the timestamp)', () => {
    expect(fakeTimeArgv(1_700_000_000, 'mcopy', ['a'])).toEqual([
      'faketime',
      ['-f', '2023-11-14 22:13:20', 'mcopy', 'a'],
    ]);
  });
});

describe('apt', () => {
  it('resolves linux-image-amd64 to the real kernel package', () => {
    const s = parseAptShow(
      'Package: linux-image-amd64\nVersion: 6.1.192-2\nDepends: linux-image-6.1.0-56-amd64 (= 6.1.192-2)\n\nPackage: x\n',
    );
    expect(s).toEqual({
      package: 'linux-image-amd64',
      version: '6.1.192-2',
      depends: ['linux-image-6.1.0-56-amd64'],
    });
    expect(s && realPackage(s)).toBe('linux-image-6.1.0-56-amd64');
    const plain = parseAptShow('Package: busybox-static\nVersion: 1:1.35.0-4\n');
    expect(plain && realPackage(plain)).toBeUndefined();
    expect(parseAptShow('')).toBeUndefined();
  });
});

describe('boot argv', () => {
  it('boots q35 + tpm-tis from a snapshot disk; SMM and the secboot firmware with Secure Boot', () => {
    const base = {
      accel: 'tcg' as const,
      disk: '/d.img',
      varsFile: '/v.fd',
      tpmSocket: '/s',
      consoleFile: '/c',
      memoryMiB: 1024,
      smp: 1,
    };
    const plain = qemuArgs({ ...base, secureBoot: false }).join(' ');
    expect(plain).toContain('-machine q35 -accel tcg -cpu max -m 1024 -smp 1');
    expect(plain).toContain('file=/usr/share/OVMF/OVMF_CODE_4M.fd,readonly=on');
    expect(plain).toContain('-device tpm-tis,tpmdev=tpm0');
    expect(plain).toContain('file=/d.img,snapshot=on');
    expect(plain).toContain('bootindex=1');
    expect(plain).toContain('-no-reboot');
    const sb = qemuArgs({ ...base, secureBoot: true, accel: 'kvm' }).join(' ');
    expect(sb).toContain('-machine q35,smm=on -accel kvm -cpu host');
    expect(sb).toContain('OVMF_CODE_4M.secboot.fd');
    expect(sb).toContain('driver=cfi.pflash01,property=secure,value=on');
    expect(() => qemuArgs({ ...base, disk: '/a,b', secureBoot: false })).toThrow(/comma/);
    expect(swtpmSetupArgs('/t', ['sha1', 'sha256', 'sha384'], '/l')).toContain('sha1,sha256,sha384');
    expect(swtpmArgs('/t', '/s', '/l')).toContain('type=unixio,path=/s');
  });
});

describe('parseLabConsole', () => {
  const pcrLines = (bank: string, width: number) =>
    Array.from(
      { length: 24 },
      (_, i) => `PCR ${bank} ${i} ${(i % 16).toString(16).toUpperCase().repeat(width)}`,
    );
  const log = Buffer.from(
    'Spec ID Event03 and more bytes, long enough to wrap the base64 line at 76 characters......',
  );
  const b64 = log
    .toString('base64')
    .replace(/(.{76})/g, '$1\n')
    .trim();

  it('cuts out PCRs and the event log, ignoring CRs and a kernel message in between', () => {
    const text = [
      'firmware noise',
      MARK.begin,
      'UPTIME 4.91',
      'KERNEL 6.1.0-56-amd64',
      'CMDLINE console=ttyS0 quiet',
      ...pcrLines('sha1', 40),
      ...pcrLines('sha256', 64),
      MARK.logBegin,
      b64.split('\n')[0],
      '[    5.1] random: crng init done',
      ...b64.split('\n').slice(1),
      MARK.logEnd,
      MARK.end,
      'reboot: Power down',
    ].join('\r\n');
    const c = parseLabConsole(text);
    expect(c.complete).toBe(true);
    expect(c.pcrs.sha1?.[15]).toBe('f'.repeat(40));
    expect(c.pcrs.sha256).toHaveLength(24);
    expect(c.pcrs.sha384).toBeUndefined();
    expect(Buffer.from(c.eventLog ?? []).equals(log)).toBe(true);
    expect(c).toMatchObject({
      uptimeSeconds: 4.91,
      kernel: '6.1.0-56-amd64',
      cmdline: 'console=ttyS0 quiet',
    });
  });

  it('reports an incomplete dump', () => {
    expect(parseLabConsole(`${MARK.begin}\nPCR sha1 0 00\n`).complete).toBe(false);
    const partial = parseLabConsole([MARK.begin, ...pcrLines('sha1', 40).slice(1), MARK.end, ''].join('\n'));
    expect(partial.pcrs.sha1).toBeUndefined();
  });
});
