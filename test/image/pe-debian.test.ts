// Authenticode of every PE shipped in real Debian boot packages equals pesign's (sha1, sha256) and
// petool.py's (sha384); signed images also carry their own Authenticode digest in the PKCS#7
// signature, which must equal ours. Packages are downloaded once into the test cache
// (test/helpers/debs.ts).
import { readFile, stat } from 'node:fs/promises';
import { basename, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { toHex } from '../../image/formats/reader.js';
import { fromBytes } from '../../image/formats/source.js';
import { withFileSource } from '../../image/file-source.js';
import { authenticodeHash, parseCertificates, parsePe } from '../../image/formats/pe/index.js';
import { debPackage } from '../helpers/debs.js';
import { findPeFiles } from '../helpers/pe-files.js';
import { hasPetool, pesignHash, petoolHashes } from '../helpers/pe-tools.js';

const PACKAGES = [
  'systemd-boot-efi', // systemd-bootx64.efi, linuxx64.efi.stub (unsigned, odd sizes)
  'linux-image-amd64', // → linux-image-<abi>-amd64: /boot/vmlinuz-* (signed)
  'shim-signed', // shimx64.efi.signed
  'shim-helpers-amd64-signed', // fbx64.efi.signed, mmx64.efi.signed
  'shim-unsigned', // shimx64.efi, fbx64.efi, mmx64.efi: the same images before signing
  'grub-efi-amd64-signed', // grubx64.efi.signed, gcdx64.efi.signed, grubnetx64.efi.signed
];

const FILES: { pkg: string; file: string; label: string }[] = [];
for (const pkg of PACKAGES) {
  const deb = await debPackage(pkg);
  for (const file of await findPeFiles(deb.root))
    FILES.push({ pkg: deb.name, file, label: `${deb.name}: /${relative(deb.root, file)}` });
}

async function ours(file: string) {
  return withFileSource(file, async (src) => {
    const pe = await parsePe(src);
    const d = await authenticodeHash(src, pe, ['sha1', 'sha256', 'sha384']);
    return {
      pe,
      certs: await parseCertificates(src, pe),
      hex: { sha1: toHex(d.sha1), sha256: toHex(d.sha256), sha384: toHex(d.sha384) },
    };
  });
}

describe('Authenticode of Debian boot binaries', () => {
  it('found the PE files of every package', () => {
    const byPkg = new Set(FILES.map((f) => f.pkg.replace(/^linux-image-.*/, 'linux-image')));
    expect([...byPkg].sort()).toEqual([
      'grub-efi-amd64-signed',
      'linux-image',
      'shim-helpers-amd64-signed',
      'shim-signed',
      'shim-unsigned',
      'systemd-boot-efi',
    ]);
    expect(FILES.length).toBeGreaterThanOrEqual(13);
  });

  it.each(FILES)('$label', async ({ file }) => {
    const { hex, certs, pe } = await ours(file);
    expect(hex.sha256).toBe(await pesignHash(file, 'sha256'));
    expect(hex.sha1).toBe(await pesignHash(file, 'sha1'));
    if (hasPetool) expect(hex.sha384).toBe((await petoolHashes(file, ['sha384']))['sha384']);
    // A signed image's PKCS#7 SpcIndirectDataContent holds the signer's Authenticode digest.
    const signed = file.endsWith('.signed') || basename(file).startsWith('vmlinuz');
    expect(certs.length > 0).toBe(signed);
    for (const c of certs) {
      expect(c.certificateType).toBe(0x0002);
      expect(c.revision).toBe(0x0200);
      const sig = c.signature;
      expect(sig?.digestAlg).toBe('sha256');
      expect(toHex(sig?.digest ?? new Uint8Array())).toBe(hex.sha256);
      expect(sig?.certificates.length).toBeGreaterThan(0);
      expect(sig?.certificates.every((x) => /CN=/.test(x.subject) && /CN=/.test(x.issuer))).toBe(true);
    }
    expect(pe.format).toBe('PE32+');
  });

  it('signers: Microsoft signs shim, Debian signs GRUB, the kernel and the shim helpers', async () => {
    const issuers = async (suffix: string): Promise<string[]> => {
      const f = FILES.find((x) => x.file.endsWith(suffix));
      if (!f) throw new Error(`no ${suffix}`);
      const { certs } = await ours(f.file);
      return certs.flatMap((c) => c.signature?.certificates.map((x) => x.issuer) ?? []);
    };
    expect((await issuers('shimx64.efi.signed')).join('\n')).toMatch(/Microsoft Corporation UEFI CA 2011/);
    for (const f of ['grubx64.efi.signed', 'fbx64.efi.signed'])
      expect((await issuers(f)).join('\n')).toMatch(/Debian Secure Boot CA/);
    expect((await issuers('-amd64')).join('\n')).toMatch(/Debian Secure Boot CA/);
  });

  it('shim: "/N" section names resolve through the COFF string table', async () => {
    const f = FILES.find((x) => x.pkg === 'shim-unsigned' && x.file.endsWith('/shimx64.efi'));
    const names = await withFileSource(f?.file as string, async (src) =>
      (await parsePe(src)).sections.map((s) => s.longName ?? s.name),
    );
    expect(names).toEqual([
      '.eh_frame',
      '.text',
      '.reloc',
      '.data.ident',
      '.sbatlevel',
      '.data',
      '.vendor_cert',
      '.dynamic',
      '.rela',
      '.sbat',
    ]);
  });

  it('debPackage: an unknown package fails with the scripts/setup hint', async () => {
    await expect(debPackage('nodeimg-no-such-package')).rejects.toThrow(/scripts\/setup/);
  });

  // sbsign/pesign pad the image to 8 bytes before hashing and appending the signature, so the
  // signed file's digest is the digest of the *padded* unsigned file (measured-boot.md §1).
  it.each(['shimx64.efi', 'fbx64.efi', 'mmx64.efi'])(
    '%s: signed digest = digest of the unsigned image padded to 8 bytes',
    async (name) => {
      const unsigned = FILES.find((f) => f.pkg === 'shim-unsigned' && f.file.endsWith(`/${name}`));
      const signed = FILES.find((f) => f.file.endsWith(`/${name}.signed`));
      if (!unsigned || !signed) throw new Error(`missing ${name}`);
      const raw = await readFile(unsigned.file);
      const padded = new Uint8Array(Math.ceil(raw.length / 8) * 8);
      padded.set(raw);
      const src = fromBytes(padded);
      const d = await authenticodeHash(src, await parsePe(src), ['sha256']);
      expect(toHex(d.sha256)).toBe((await ours(signed.file)).hex.sha256);
      if (raw.length % 8 !== 0) expect((await ours(unsigned.file)).hex.sha256).not.toBe(toHex(d.sha256));
      expect((await stat(signed.file)).size).toBeGreaterThan(padded.length);
    },
  );
});
