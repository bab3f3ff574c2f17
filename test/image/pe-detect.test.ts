// Version detection: systemd-stub / systemd-boot from the LoaderInfo marker (in .sdmagic, or found
// by the bounded streaming scan of older layouts) and the Linux kernel release from the bzImage
// setup header, on Debian's real binaries and on synthetic edge cases.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fromBytes } from '../../image/formats/source.js';
import { withFileSource } from '../../image/file-source.js';
import { ParseError } from '../../image/formats/errors.js';
import {
  detectKernel,
  detectPe,
  detectSystemd,
  parseLoaderInfo,
  parsePe,
} from '../../image/formats/pe/index.js';
import { debPackage } from '../helpers/debs.js';
import { buildPe, prngBytes } from '../helpers/synthetic-pe.js';

const sd = await debPackage('systemd-boot-efi');
const kpkg = await debPackage('linux-image-amd64');
const shim = await debPackage('shim-signed');
const grub = await debPackage('grub-efi-amd64-signed');
const EFI = join(sd.root, 'usr/lib/systemd/boot/efi');
const RELEASE = kpkg.name.replace(/^linux-image-/, ''); // 6.1.0-56-amd64
const VMLINUZ = join(kpkg.root, 'boot', `vmlinuz-${RELEASE}`);
const MAJOR = Number(/^\d+/.exec(sd.version)?.[0]);

const detectFile = (file: string) => withFileSource(file, async (src) => detectPe(src, await parsePe(src)));

describe('detection on Debian binaries', () => {
  it('systemd-stub: version from .sdmagic equals the package version', async () => {
    const d = await detectFile(join(EFI, 'linuxx64.efi.stub'));
    expect(d).toEqual({
      systemd: { kind: 'systemd-stub', version: sd.version, major: MAJOR, section: '.sdmagic' },
      kernel: undefined,
      uki: undefined,
    });
    expect(MAJOR).toBeGreaterThanOrEqual(250);
  });

  it('systemd-boot: version from .sdmagic equals the package version', async () => {
    const d = await detectFile(join(EFI, 'systemd-bootx64.efi'));
    expect(d.systemd).toEqual({
      kind: 'systemd-boot',
      version: sd.version,
      major: MAJOR,
      section: '.sdmagic',
    });
    expect(d.uki).toBeUndefined();
  });

  it('older layout: the marker outside .sdmagic is found by the streaming scan', async () => {
    const bytes = await readFile(join(EFI, 'linuxx64.efi.stub'));
    const pe = await parsePe(fromBytes(bytes));
    const magic = pe.sections.find((s) => s.name === '.sdmagic');
    bytes.write('.rodata\0', magic?.headerOffset as number, 'latin1'); // rename the section header
    const src = fromBytes(bytes);
    expect(await detectSystemd(src, await parsePe(src))).toEqual({
      kind: 'systemd-stub',
      version: sd.version,
      major: MAJOR,
      section: '.rodata',
    });
  });

  it('vmlinuz: kernel release from the setup header equals the package release', async () => {
    const d = await detectFile(VMLINUZ);
    expect(d.systemd).toBeUndefined();
    expect(d.uki).toBeUndefined();
    expect(d.kernel).toMatchObject({ version: RELEASE, major: 6, minor: 1, patch: 0 });
    expect(d.kernel?.banner).toMatch(new RegExp(`^${RELEASE.replaceAll('.', '\\.')} \\(.*\\) #1 SMP`));
    expect(Number(d.kernel?.bootProtocol.split('.')[1])).toBeGreaterThanOrEqual(15); // 6.1 speaks boot protocol 2.15
    expect(d.kernel?.bootProtocolVersion).toBe(0x020f);
  });

  it.each([
    ['shim', join(shim.root, 'usr/lib/shim/shimx64.efi.signed')],
    ['grub', join(grub.root, 'usr/lib/grub/x86_64-efi-signed/grubx64.efi.signed')],
  ])('%s: neither systemd nor a kernel', async (_n, file) => {
    expect(await detectFile(file)).toEqual({ systemd: undefined, kernel: undefined, uki: undefined });
  });
});

describe('LoaderInfo marker', () => {
  it.each([
    [
      '#### LoaderInfo: systemd-stub 252.39-1~deb12u2 ####',
      { kind: 'systemd-stub', version: '252.39-1~deb12u2', major: 252 },
    ],
    ['#### LoaderInfo: systemd-boot 257.7 ####', { kind: 'systemd-boot', version: '257.7', major: 257 }],
    ['#### LoaderInfo: systemd-boot 258~rc1 ####', { kind: 'systemd-boot', version: '258~rc1', major: 258 }],
    ['#### LoaderInfo: systemd-addon 256 ####', undefined],
    ['#### LoaderInfo: systemd-stub devel ####', undefined],
    ['#### LoaderInfo: systemd-stub 1 2 ####', undefined],
    ['LoaderInfo: systemd-stub 252 ####', undefined],
  ])('%s', (text, want) => {
    expect(parseLoaderInfo(text)).toEqual(want && { ...want, section: '' });
  });

  // The scan reads 1 MiB chunks and carries at most 255 bytes over; put the marker across each
  // boundary position that matters, after a decoy that is not a systemd marker.
  it.each([0x100000 - 10, 0x100000 - 200, 0x100000 - 300, 0x200000 - 1, 5])(
    'marker at section offset %i (chunk boundaries)',
    async (at) => {
      const data = prngBytes(0x300000, 11).map((b) => (b === 0x23 ? 0 : b)); // no stray '#'
      const put = (s: string, pos: number): void => data.set(new TextEncoder().encode(s), pos);
      if (at > 100) put('#### LoaderInfo: grub 2.06 ####', at - 100);
      put('#### LoaderInfo: systemd-boot 249.11-0ubuntu3 ####', at);
      const src = fromBytes(
        buildPe({
          sections: [
            { name: '.text', data: prngBytes(100, 1) },
            { name: '.data', data },
          ],
        }),
      );
      expect(await detectSystemd(src, await parsePe(src))).toEqual({
        kind: 'systemd-boot',
        version: '249.11-0ubuntu3',
        major: 249,
        section: '.data',
      });
    },
  );

  it('an unterminated marker at the very end is not a match', async () => {
    const data = new Uint8Array(1000);
    data.set(new TextEncoder().encode('#### LoaderInfo: systemd-boot 249'), 1000 - 33);
    const src = fromBytes(buildPe({ sections: [{ name: '.data', data }] }));
    expect(await detectSystemd(src, await parsePe(src))).toBeUndefined();
  });

  it('UKI payload sections are not scanned (an initrd may contain systemd-boot)', async () => {
    const data = new TextEncoder().encode('xx#### LoaderInfo: systemd-boot 255.1 ####xx');
    const src = fromBytes(
      buildPe({
        sections: [
          { name: '.initrd', data },
          { name: '.linux', data },
        ],
      }),
    );
    expect(await detectSystemd(src, await parsePe(src))).toBeUndefined();
  });
});

describe('bzImage setup header', () => {
  const bz = (ptr: number, text: string, size = 0x400): Uint8Array => {
    const b = new Uint8Array(size);
    const v = new DataView(b.buffer);
    b.set(new TextEncoder().encode('HdrS'), 0x202);
    v.setUint16(0x206, 0x020f, true);
    v.setUint16(0x20e, ptr, true);
    b.set(new TextEncoder().encode(text), ptr + 0x200);
    return b;
  };
  it('reads the string at kernel_version + 0x200', async () => {
    expect(await detectKernel(fromBytes(bz(0x100, '6.12.48+deb13-amd64 (x@y) #1\0')))).toMatchObject({
      version: '6.12.48+deb13-amd64',
      major: 6,
      minor: 12,
      patch: 48,
      bootProtocol: '2.15',
    });
  });
  it('no HdrS, or a zero pointer: not a kernel', async () => {
    expect(await detectKernel(fromBytes(new Uint8Array(0x400)))).toBeUndefined();
    expect(await detectKernel(fromBytes(bz(0, '')))).toBeUndefined();
    expect(await detectKernel(fromBytes(new Uint8Array(0x100)))).toBeUndefined();
  });
  it('a pointer past the end or an unterminated string is a ParseError', async () => {
    await expect(detectKernel(fromBytes(bz(0x100, '', 0x300)))).rejects.toBeInstanceOf(ParseError);
    await expect(detectKernel(fromBytes(bz(0x100, '6'.repeat(600), 0x300 + 600)))).rejects.toMatchObject({
      code: 'PARSE_INVALID',
      offset: 0x300,
    });
    await expect(detectKernel(fromBytes(bz(0x100, 'linux\0')))).rejects.toMatchObject({
      code: 'PARSE_INVALID',
    });
  });
});
