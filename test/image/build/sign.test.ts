// Secure Boot signing of an assembleUki UKI (image/build/sign.ts, sbsign under faketime): the signed
// file is reproducible, only the certificate table is added, and its Authenticode digest (what PCR 4
// records) equals the unsigned file's, for us and for pesign.
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { padTo8, pemSigner, signPeImage } from '../../../image/build/sign.js';
import { signPe } from '../../../image/formats/pe/authenticode-sign.js';
import { buildPe } from '../../helpers/synthetic-pe.js';
import { withSnakeoilKey } from '../../../image/build/lab/sign.js';
import { assembleUki } from '../../../image/formats/pe/uki-writer.js';
import { authenticodeHash, parseCertificates, parsePe } from '../../../image/formats/pe/index.js';
import { fromBytes } from '../../../image/formats/source.js';
import { toHex } from '../../../image/formats/reader.js';
import { debPackage } from '../../helpers/debs.js';
import { pesignHash } from '../../helpers/pe-tools.js';
import { prngBytes } from '../../helpers/synthetic-pe.js';

let dir: string;
let uki: Uint8Array;
let key: { key: string; cert: string };

beforeAll(async () => {
  const sd = await debPackage('systemd-boot-efi');
  const stub = new Uint8Array(await readFile(join(sd.root, 'usr/lib/systemd/boot/efi/linuxx64.efi.stub')));
  uki = assembleUki({
    stub,
    sections: [
      { name: '.osrel', data: new TextEncoder().encode('ID=test\n') },
      { name: '.cmdline', data: new TextEncoder().encode('console=ttyS0') },
      { name: '.linux', data: prngBytes(70_001, 3) },
    ],
    sourceDateEpoch: 1_700_000_000,
  });
  dir = await mkdtemp(join(tmpdir(), 'nodeimg-sign-test-'));
  key = { key: join(dir, 'key.pem'), cert: join(dir, 'cert.pem') };
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      key.key,
      '-out',
      key.cert,
      '-subj',
      '/CN=nodeimg sign test/',
      '-days',
      '2',
    ],
    { stdio: 'ignore' },
  );
}, 600_000);

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

const sha256Of = async (b: Uint8Array) =>
  toHex((await authenticodeHash(fromBytes(b), await parsePe(fromBytes(b)), ['sha256'])).sha256);

describe.each(['nodeimg', 'sbsign'] as const)('signPeImage with %s', (tool) => {
  it('adds only a certificate table; the Authenticode digest is unchanged and pesign agrees', async () => {
    const signed = await signPeImage(uki, { ...key, tool, sourceDateEpoch: 1_700_000_000 });
    expect(signed.length).toBeGreaterThan(uki.length);
    const pe = await parsePe(fromBytes(signed));
    const dirEntry = pe.optional.dataDirectories[4];
    expect(dirEntry?.virtualAddress).toBe(uki.length);
    expect((dirEntry?.virtualAddress ?? 0) + (dirEntry?.size ?? 0)).toBe(signed.length);
    // outside the CheckSum, the certificate directory entry and the appended table, nothing changed
    const unsigned = await parsePe(fromBytes(uki));
    const diff: number[] = [];
    for (let i = 0; i < uki.length; i++) if (uki[i] !== signed[i]) diff.push(i);
    const allowed = (i: number) =>
      (i >= unsigned.optional.checkSumOffset && i < unsigned.optional.checkSumOffset + 4) ||
      (i >= (unsigned.optional.certDirEntryOffset ?? 0) &&
        i < (unsigned.optional.certDirEntryOffset ?? 0) + 8);
    expect(diff.filter((i) => !allowed(i))).toEqual([]);
    const want = await sha256Of(uki);
    expect(await sha256Of(signed)).toBe(want);
    const file = join(dir, 'signed.efi');
    await writeFile(file, signed);
    expect(await pesignHash(file)).toBe(want);
    const certs = await parseCertificates(fromBytes(signed), pe);
    expect(certs).toHaveLength(1);
    expect(toHex(certs[0]?.signature?.digest ?? new Uint8Array())).toBe(want);
    expect(certs[0]?.signature?.certificates.map((c) => c.subject)).toEqual(['CN=nodeimg sign test']);
    // sbverify checks the PKCS#7 signature, the messageDigest and the image digest
    expect(execFileSync('sbverify', ['--cert', key.cert, file]).toString()).toMatch(
      /Signature verification OK/,
    );
    // edk2 DxeImageVerificationLib finds the digest algorithm OID at offset 32 of the signature
    const sig = signed.subarray(uki.length + 8);
    expect(toHex(sig.subarray(32, 41))).toBe('608648016503040201');
    // and openssl reads it as PKCS#7 with the certificate
    const p7 = join(dir, `${tool}.p7`);
    await writeFile(p7, sig.subarray(0, (certs[0]?.length ?? 8) - 8));
    expect(
      execFileSync('openssl', ['pkcs7', '-inform', 'DER', '-in', p7, '-print_certs', '-noout']).toString(),
    ).toMatch(/CN ?= ?nodeimg sign test/);
  });

  it('is reproducible: the same bytes twice; only sbsign records a signing time', async () => {
    const a = await signPeImage(uki, { ...key, tool, sourceDateEpoch: 1_700_000_000 });
    await new Promise((r) => setTimeout(r, 1100)); // a real clock would have moved on
    const b = await signPeImage(uki, { ...key, tool, sourceDateEpoch: 1_700_000_000 });
    expect(toHex(b)).toBe(toHex(a));
    const c = await signPeImage(uki, { ...key, tool, sourceDateEpoch: 1_700_000_100 });
    if (tool === 'sbsign') expect(toHex(c)).not.toBe(toHex(a));
    else expect(toHex(c)).toBe(toHex(a));
  });

  it('signs with the lab snakeoil key that OVMF_VARS_4M.snakeoil.fd trusts', async () => {
    const signed = await withSnakeoilKey((k) =>
      signPeImage(uki, { ...k, tool, sourceDateEpoch: 1_700_000_000 }),
    );
    const certs = await parseCertificates(fromBytes(signed), await parsePe(fromBytes(signed)));
    expect(certs[0]?.signature?.certificates[0]?.subject).toMatch(/O=SnakeOil/);
  });

  it('pads an image that is not 8-byte aligned first, as sbsign does: the signed digest is the padded one', async () => {
    const odd = new Uint8Array([...uki, 1, 2, 3]); // trailing data, as objcopy's symbol table leaves
    const signed = await signPeImage(odd, { ...key, tool, sourceDateEpoch: 1_700_000_000 });
    expect(await sha256Of(signed)).toBe(await sha256Of(padTo8(odd)));
    expect(await sha256Of(signed)).not.toBe(await sha256Of(odd));
  });
});

describe('signPe (nodeimg Authenticode) refusals', () => {
  it('refuses a signed image, an image without a certificate directory entry and a non-RSA key', async () => {
    const signer = await pemSigner(key);
    const signed = await signPe(uki, signer);
    await expect(signPe(signed, signer)).rejects.toThrow(/already signed/);
    const noDir = buildPe({ sections: [{ name: '.text', data: prngBytes(100, 1) }], numberOfRvaAndSizes: 4 });
    await expect(signPe(noDir, signer)).rejects.toThrow(/NumberOfRvaAndSizes <= 4/);
    const ec = { key: join(dir, 'ec.pem'), cert: key.cert };
    execFileSync(
      'openssl',
      ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', ec.key],
      { stdio: 'ignore' },
    );
    await expect(pemSigner(ec)).rejects.toThrow(/not RSA/);
  });
});
