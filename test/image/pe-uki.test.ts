// A UKI built the way the measured-boot lab's build-uki.sh builds one (objcopy --add-section /
// --change-section-vma on Debian's linuxx64.efi.stub, .linux last), in three forms: as objcopy
// writes it (odd size: objcopy keeps the stub's trailing COFF symbol table), padded to 8 bytes, and
// signed with sbsign and a throwaway key. pesign -h agrees with edk2 on all three (it does not pad
// when hashing), and petool.py is a second, independent implementation.
import { createHash } from 'node:crypto';
import { copyFile, mkdtemp, readFile, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toHex } from '../../image/formats/reader.js';
import { withFileSource } from '../../image/file-source.js';
import {
  authenticodeHash,
  detectPe,
  findSection,
  parseCertificates,
  parsePe,
  readSectionText,
  sectionDigest,
  sectionSource,
} from '../../image/formats/pe/index.js';
import { debPackage, type DebPackage } from '../helpers/debs.js';
import { hasPetool, pesignHash, petoolHashes } from '../helpers/pe-tools.js';
import { prngBytes } from '../helpers/synthetic-pe.js';

const CMDLINE = 'console=ttyS0 quiet';
const OSREL = 'NAME="Lab UKI"\nID=labuki\nVERSION_ID=1\nPRETTY_NAME="Lab measured-boot UKI"\n';
const ALIGN = 0x1000;

let dir: string;
let sd: DebPackage;
let kernelPkg: DebPackage;
let kernel: string;
const uki = { odd: '', padded: '', signed: '' };
const inputs: Record<string, string> = {};

beforeAll(async () => {
  sd = await debPackage('systemd-boot-efi');
  kernelPkg = await debPackage('linux-image-amd64');
  kernel = join(kernelPkg.root, 'boot', `vmlinuz-${kernelPkg.name.replace(/^linux-image-/, '')}`);
  const stub = join(sd.root, 'usr/lib/systemd/boot/efi/linuxx64.efi.stub');
  dir = await mkdtemp(join(tmpdir(), 'nodeimg-uki-'));
  inputs['osrel'] = join(dir, 'osrel');
  inputs['cmdline'] = join(dir, 'cmdline');
  inputs['initrd'] = join(dir, 'initrd');
  inputs['linux'] = kernel;
  await writeFile(inputs['osrel'], OSREL);
  await writeFile(inputs['cmdline'], CMDLINE);
  await writeFile(inputs['initrd'], prngBytes(100_003, 7)); // any bytes; odd length on purpose

  // As build-uki.sh: first free address after the stub's sections (objdump -h: size, VMA), aligned.
  const { stdout } = await execa('objdump', ['-h', stub]);
  let end = 0;
  for (const line of stdout.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (/^\d+$/.test(f[0] ?? '')) end = Math.max(end, parseInt(f[2] ?? '0', 16) + parseInt(f[3] ?? '0', 16));
  }
  let off = Math.ceil(end / ALIGN) * ALIGN;
  const args: string[] = [];
  for (const s of ['osrel', 'cmdline', 'initrd', 'linux']) {
    const file = inputs[s] as string;
    args.push('--add-section', `.${s}=${file}`, '--change-section-vma', `.${s}=0x${off.toString(16)}`);
    off = Math.ceil((off + (await stat(file)).size) / ALIGN) * ALIGN;
  }
  uki.odd = join(dir, 'uki.efi');
  await execa('objcopy', [...args, stub, uki.odd]);
  uki.padded = join(dir, 'uki-pad8.efi');
  await copyFile(uki.odd, uki.padded);
  await truncate(uki.padded, Math.ceil((await stat(uki.odd)).size / 8) * 8);
  // Throwaway signing key, as for the lab's snakeoil signing (sbsign pads to 8 bytes itself).
  const key = join(dir, 'key.pem');
  const cert = join(dir, 'cert.pem');
  await execa('openssl', [
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    key,
    '-out',
    cert,
    '-subj',
    '/CN=nodeimg throwaway test key/',
    '-days',
    '2',
  ]);
  uki.signed = join(dir, 'uki-signed.efi');
  await execa('sbsign', ['--key', key, '--cert', cert, '--output', uki.signed, uki.odd]);
});

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

const hashFile = (file: string, algs: ('sha1' | 'sha256' | 'sha384')[]) =>
  withFileSource(file, async (src) => {
    const d = await authenticodeHash(src, await parsePe(src), algs);
    return Object.fromEntries(Object.entries(d).map(([k, v]) => [k, toHex(v as Uint8Array)]));
  });

describe('UKI built with objcopy', () => {
  it('objcopy output has an odd size (the no-padding case is real)', async () => {
    expect((await stat(uki.odd)).size % 8).not.toBe(0);
  });

  it.each(['odd', 'padded', 'signed'] as const)(
    '%s: Authenticode equals pesign (sha1, sha256) and petool.py (sha384)',
    async (which) => {
      const file = uki[which];
      const ours = await hashFile(file, ['sha1', 'sha256', 'sha384']);
      expect(ours['sha256']).toBe(await pesignHash(file, 'sha256'));
      expect(ours['sha1']).toBe(await pesignHash(file, 'sha1'));
      if (hasPetool) expect(ours).toEqual(await petoolHashes(file, ['sha1', 'sha256', 'sha384']));
    },
  );

  it('signing changes the digest of an odd-sized UKI to that of the padded one', async () => {
    const [odd, padded, signed] = await Promise.all(
      [uki.odd, uki.padded, uki.signed].map((f) => hashFile(f, ['sha256'])),
    );
    expect(odd?.['sha256']).not.toBe(padded?.['sha256']);
    expect(signed?.['sha256']).toBe(padded?.['sha256']);
  });

  it('the sbsign signature carries our digest and the throwaway certificate', async () => {
    await withFileSource(uki.signed, async (src) => {
      const pe = await parsePe(src);
      const certs = await parseCertificates(src, pe);
      expect(certs).toHaveLength(1);
      const sig = certs[0]?.signature;
      expect(sig?.certificates.map((c) => c.subject)).toEqual(['CN=nodeimg throwaway test key']);
      expect(toHex(sig?.digest ?? new Uint8Array())).toBe(
        toHex((await authenticodeHash(src, pe, ['sha256'])).sha256),
      );
      expect(certs[0]?.offset).toBe(pe.optional.dataDirectories[4]?.virtualAddress);
    });
  });

  it.each(['osrel', 'cmdline', 'initrd', 'linux'])(
    '.%s: sectionDigest = sha256(objcopy --only-section) = sha256(input)',
    async (s) => {
      const out = join(dir, `${s}.bin`);
      await execa('objcopy', ['-O', 'binary', `--only-section=.${s}`, uki.signed, out]);
      const want = createHash('sha256')
        .update(await readFile(out))
        .digest('hex');
      expect(
        createHash('sha256')
          .update(await readFile(inputs[s] as string))
          .digest('hex'),
      ).toBe(want);
      await withFileSource(uki.signed, async (src) => {
        const pe = await parsePe(src);
        const section = findSection(pe.sections, `.${s}`);
        if (!section) throw new Error(`no .${s}`);
        const d = await sectionDigest(src, pe, section, ['sha256', 'sha384']);
        expect(toHex(d.sha256)).toBe(want);
      });
    },
  );

  it('readSectionText returns .osrel and .cmdline', async () => {
    await withFileSource(uki.odd, async (src) => {
      const pe = await parsePe(src);
      expect(await readSectionText(src, pe, '.osrel')).toBe(OSREL);
      expect(await readSectionText(src, pe, '.cmdline')).toBe(CMDLINE);
      expect(await readSectionText(src, pe, '.uname')).toBeUndefined();
    });
  });

  it('detectPe: systemd-stub version, the kernel inside .linux, the UKI sections', async () => {
    await withFileSource(uki.signed, async (src) => {
      const d = await detectPe(src, await parsePe(src));
      expect(d.systemd).toEqual({
        kind: 'systemd-stub',
        version: sd.version,
        major: Number(sd.version.split('.')[0]),
        section: '.sdmagic',
      });
      expect(d.kernel?.version).toBe(kernelPkg.name.replace(/^linux-image-/, ''));
      expect(d.uki?.sections).toEqual(['.sbat', '.osrel', '.cmdline', '.initrd', '.linux']);
    });
  });

  it('the embedded kernel parsed in place has the vmlinuz Authenticode (the stub LoadImage event)', async () => {
    await withFileSource(uki.signed, async (src) => {
      const pe = await parsePe(src);
      const linux = sectionSource(src, pe, findSection(pe.sections, '.linux') as never);
      const inner = await parsePe(linux);
      expect(toHex((await authenticodeHash(linux, inner, ['sha256'])).sha256)).toBe(await pesignHash(kernel));
    });
  });
});
