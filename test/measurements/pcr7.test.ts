// PCR 7 prediction (measurements/firmware) against the real OVMF boots of test/fixtures/eventlogs:
// Debian OVMF 2022.11 + OVMF_VARS_4M.fd (Secure Boot off) and OVMF_CODE_4M.secboot.fd +
// OVMF_VARS_4M.snakeoil.fd (Secure Boot on, images signed with the snakeoil key). The signed images
// here are synthetic PEs signed with sbsign and the same key, so the authority event depends only on
// the db entry, as in the firmware.
import { X509Certificate, createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseSignatureLists, readVarStore, type VarStore } from '../../image/formats/ovmf-vars/index.js';
import { authenticodeHash, parseCertificates, parsePe } from '../../image/formats/pe/index.js';
import { fromBytes } from '../../image/formats/source.js';
import {
  authorise,
  loadedImageFromPe,
  predictPcr7,
  type LoadedImage,
  type Pcr7Prediction,
} from '../../measurements/firmware/index.js';
import { EV, decodeEventLog, decodeUefiVariableData, type HashAlg } from '../../measurements/index.js';
import {
  GLOBAL,
  IMAGE_DB,
  SB_ENABLE,
  SHA256_TYPE,
  X509_TYPE,
  buildVarStore,
  concat,
  signatureList,
} from '../helpers/ovmf-vars-bytes.js';
import { buildPe, prngBytes } from '../helpers/synthetic-pe.js';

const BANKS: readonly HashAlg[] = ['sha1', 'sha256', 'sha384'];
const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'eventlogs');
const SNAKEOIL_KEY = '/usr/share/ovmf/PkKek-1-snakeoil.key';
const SNAKEOIL_PEM = '/usr/share/ovmf/PkKek-1-snakeoil.pem';

let work: string;
const stores: Record<string, VarStore> = {};
const images: Record<string, LoadedImage> = {};
const run = (file: string, args: readonly string[]): void => void execFileSync(file, args, { stdio: 'pipe' });

/** Signs a fresh synthetic PE with `key`/`cert` (sbsign) and reads it back through the PE codec. */
async function signedImage(label: string, seed: number, key: string, cert: string): Promise<LoadedImage> {
  const unsigned = join(work, `${label}.efi`);
  writeFileSync(
    unsigned,
    buildPe({ sections: [{ name: '.text', data: prngBytes(1024, seed), characteristics: 0x60000020 }] }),
  );
  const signed = join(work, `${label}.signed.efi`);
  run('sbsign', ['--key', key, '--cert', cert, '--output', signed, unsigned]);
  return loadPe(label, signed);
}

async function loadPe(label: string, path: string): Promise<LoadedImage> {
  const src = fromBytes(new Uint8Array(readFileSync(path)), label);
  const pe = await parsePe(src);
  return loadedImageFromPe(
    label,
    await parseCertificates(src, pe),
    await authenticodeHash(src, pe, ['sha256']),
  );
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'nodeimg-pcr7-'));
  for (const f of ['OVMF_VARS_4M.fd', 'OVMF_VARS_4M.snakeoil.fd', 'OVMF_VARS_4M.ms.fd']) {
    stores[f] = await readVarStore(fromBytes(new Uint8Array(readFileSync(`/usr/share/OVMF/${f}`)), f));
  }
  const key = join(work, 'snakeoil.key');
  run('openssl', ['pkey', '-in', SNAKEOIL_KEY, '-passin', 'pass:snakeoil', '-out', key]);
  images['systemd-boot'] = await signedImage('systemd-boot', 1, key, SNAKEOIL_PEM);
  images['uki'] = await signedImage('uki', 2, key, SNAKEOIL_PEM);
  // A CA and a leaf it issued, and an unrelated self-signed key.
  const subj = (cn: string): string[] => ['-subj', `/CN=${cn}`, '-days', '3650', '-nodes'];
  run('openssl', [
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-keyout',
    join(work, 'ca.key'),
    '-out',
    join(work, 'ca.pem'),
    ...subj('nodeimg test CA'),
  ]);
  run('openssl', [
    'req',
    '-newkey',
    'rsa:2048',
    '-keyout',
    join(work, 'leaf.key'),
    '-out',
    join(work, 'leaf.csr'),
    ...subj('nodeimg test leaf'),
  ]);
  run('openssl', [
    'x509',
    '-req',
    '-in',
    join(work, 'leaf.csr'),
    '-CA',
    join(work, 'ca.pem'),
    '-CAkey',
    join(work, 'ca.key'),
    '-CAcreateserial',
    '-days',
    '3650',
    '-out',
    join(work, 'leaf.pem'),
  ]);
  run('openssl', [
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-keyout',
    join(work, 'other.key'),
    '-out',
    join(work, 'other.pem'),
    ...subj('nodeimg other'),
  ]);
  images['leaf'] = await signedImage('leaf', 3, join(work, 'leaf.key'), join(work, 'leaf.pem'));
  images['other'] = await signedImage('other', 4, join(work, 'other.key'), join(work, 'other.pem'));
  images['unsigned'] = await loadPe('unsigned', join(work, 'uki.efi'));
}, 120_000);
afterAll(() => rmSync(work, { recursive: true, force: true }));

const der = (pem: string): Uint8Array => new Uint8Array(new X509Certificate(readFileSync(pem)).raw);
const hex = (b: Uint8Array | undefined): string => Buffer.from(b ?? []).toString('hex');

describe.each([
  ['direct', 'OVMF_VARS_4M.fd', ['uki']],
  ['sdboot', 'OVMF_VARS_4M.fd', ['systemd-boot', 'uki']],
  ['direct-sb', 'OVMF_VARS_4M.snakeoil.fd', ['uki']],
  ['sdboot-sb', 'OVMF_VARS_4M.snakeoil.fd', ['systemd-boot', 'uki']],
])('real OVMF boot %s', (variant, vars, loaded) => {
  let p: Pcr7Prediction;
  beforeAll(() => {
    p = predictPcr7({
      vars: stores[vars] as VarStore,
      banks: BANKS,
      images: loaded.map((l) => images[l] as LoadedImage),
    });
  });

  it('predicts every PCR 7 event of the log: type, sha1/sha256/sha384 digests and event data', () => {
    const log = decodeEventLog(new Uint8Array(readFileSync(join(FIXTURES, `${variant}.bin`))));
    const real = log.events.filter((e) => e.pcr === 7);
    const show = (e: {
      untrustedType: number;
      data: Uint8Array;
      claimedDigests: Partial<Record<HashAlg, Uint8Array>>;
    }) => ({
      type: e.untrustedType,
      data: hex(e.data),
      ...Object.fromEntries(BANKS.map((a) => [a, hex(e.claimedDigests[a])])),
    });
    expect(p.events.map(show)).toEqual(real.map(show));
  });

  it('gives the PCR 7 value the guest read, in all three banks', () => {
    const pcrs = (
      JSON.parse(readFileSync(join(FIXTURES, `${variant}.pcrs.json`), 'utf8')) as {
        pcrs: Record<string, string[]>;
      }
    ).pcrs;
    for (const a of BANKS) expect(hex(p.pcr7[a])).toBe(pcrs[a]?.[7]);
  });

  it('says where each event comes from', () => {
    const sb = variant.endsWith('-sb');
    expect(p.secureBoot).toBe(sb ? 1 : 0);
    expect(p.events.map((e) => e.source)).toEqual([
      ...Array<string>(6).fill('platform'),
      ...(sb ? ['image'] : []),
    ]);
    expect(p.events.map((e) => e.variable?.name)).toEqual([
      'SecureBoot',
      'PK',
      'KEK',
      'db',
      'dbx',
      undefined,
      ...(sb ? ['db'] : []),
    ]);
    if (sb) expect(p.events[6]).toMatchObject({ images: loaded, imageIndex: 0 }); // sdboot-sb: two images, one authority event
  });
});

describe('Secure Boot authority events', () => {
  const snakeoil = (): VarStore => stores['OVMF_VARS_4M.snakeoil.fd'] as VarStore;
  const authority = (p: Pcr7Prediction) =>
    p.events.filter((e) => e.untrustedType === EV.EFI_VARIABLE_AUTHORITY);

  it('measures the db EFI_SIGNATURE_DATA (owner GUID + certificate) once for two images with one signer', () => {
    const p = predictPcr7({
      vars: snakeoil(),
      banks: BANKS,
      images: [
        images['systemd-boot'] as LoadedImage,
        images['uki'] as LoadedImage,
        images['uki'] as LoadedImage,
      ],
    });
    const a = authority(p);
    expect(a).toHaveLength(1);
    const v = decodeUefiVariableData(a[0]?.data ?? new Uint8Array());
    expect([v.guid, v.name]).toEqual([IMAGE_DB, 'db']);
    expect(hex(v.variableData.subarray(16))).toBe(hex(der(SNAKEOIL_PEM)));
    expect(a[0]?.description).toMatch(/authorised systemd-boot, uki, uki$/);
  });

  it('takes the signer from the PE signature (sbsign puts only the signing certificate in it)', () => {
    expect((images['uki'] as LoadedImage).signatures.map((s) => s.certificates.map(hex))).toEqual([
      [hex(der(SNAKEOIL_PEM))],
    ]);
  });

  it('accepts a db CA that issued the signer, and measures the CA entry', async () => {
    const ca = der(join(work, 'ca.pem'));
    const vars = await readVarStore(
      fromBytes(
        buildVarStore({
          records: [
            { guid: GLOBAL, name: 'PK', data: signatureList(X509_TYPE, [{ data: ca }]) },
            {
              guid: IMAGE_DB,
              name: 'db',
              data: concat(
                signatureList(X509_TYPE, [{ data: der(SNAKEOIL_PEM) }]),
                signatureList(X509_TYPE, [{ data: ca }]),
              ),
            },
          ],
        }),
      ),
    );
    const p = predictPcr7({
      vars,
      banks: ['sha256'],
      images: [images['leaf'] as LoadedImage, images['uki'] as LoadedImage],
    });
    const a = authority(p);
    expect(a.map((e) => hex(decodeUefiVariableData(e.data).variableData.subarray(16)))).toEqual([
      hex(ca),
      hex(der(SNAKEOIL_PEM)),
    ]);
    expect(a.map((e) => e.images)).toEqual([['leaf'], ['uki']]);
    expect(p.secureBoot).toBe(1); // PK enrolled, SecureBootEnable absent: AuthVariableLib creates it as 1
  });

  it('refuses images no db entry allows (unrelated key, Microsoft-only db, unsigned)', () => {
    expect(() =>
      predictPcr7({ vars: snakeoil(), banks: BANKS, images: [images['other'] as LoadedImage] }),
    ).toThrow(expect.objectContaining({ code: 'CHECK_FAILED', message: expect.stringContaining('other') }));
    expect(() =>
      predictPcr7({
        vars: stores['OVMF_VARS_4M.ms.fd'] as VarStore,
        banks: BANKS,
        images: [images['uki'] as LoadedImage],
      }),
    ).toThrow(expect.objectContaining({ code: 'CHECK_FAILED' }));
    expect(() =>
      predictPcr7({ vars: snakeoil(), banks: BANKS, images: [images['unsigned'] as LoadedImage] }),
    ).toThrow(/unsigned and its hash is not in db/);
  });

  it('allows by db hash (EFI_CERT_SHA256 of the Authenticode digest) and measures that entry', async () => {
    const img = images['unsigned'] as LoadedImage;
    const digest = img.digests?.sha256 ?? new Uint8Array();
    const db = signatureList(SHA256_TYPE, [{ data: new Uint8Array(32) }, { data: digest, owner: GLOBAL }]);
    const vars = await readVarStore(
      fromBytes(
        buildVarStore({
          records: [
            { guid: GLOBAL, name: 'PK', data: signatureList(X509_TYPE, [{ data: der(SNAKEOIL_PEM) }]) },
            { guid: IMAGE_DB, name: 'db', data: db },
          ],
        }),
      ),
    );
    const a = authority(predictPcr7({ vars, banks: ['sha256'], images: [img] }));
    expect(a).toHaveLength(1);
    expect(hex(decodeUefiVariableData(a[0]?.data ?? new Uint8Array()).variableData)).toBe(
      hex(db.subarray(28 + 48, 28 + 96)),
    );
    expect(a[0]?.description).toContain('image hash');
  });

  it('refuses a signed image whose hash or signer is in dbx', async () => {
    const signer = der(SNAKEOIL_PEM);
    const store = (dbx: Uint8Array) =>
      readVarStore(
        fromBytes(
          buildVarStore({
            records: [
              { guid: GLOBAL, name: 'PK', data: signatureList(X509_TYPE, [{ data: signer }]) },
              { guid: IMAGE_DB, name: 'db', data: signatureList(X509_TYPE, [{ data: signer }]) },
              { guid: IMAGE_DB, name: 'dbx', data: dbx },
            ],
          }),
        ),
      );
    const uki = images['uki'] as LoadedImage;
    const byHash = await store(
      signatureList(SHA256_TYPE, [{ data: uki.digests?.sha256 ?? new Uint8Array() }]),
    );
    expect(() => predictPcr7({ vars: byHash, banks: ['sha256'], images: [uki] })).toThrow(
      /its hash is in dbx/,
    );
    const byCert = await store(signatureList(X509_TYPE, [{ data: signer }]));
    expect(() => predictPcr7({ vars: byCert, banks: ['sha256'], images: [uki] })).toThrow(
      /forbids its signer/,
    );
  });
});

describe('signer chains and revocation', () => {
  const db = (...certs: Uint8Array[]) =>
    parseSignatureLists(concat(...certs.map((c) => signatureList(X509_TYPE, [{ data: c }]))));
  /** TBSCertificate: the first element of the Certificate SEQUENCE (X.690 definite lengths). */
  const tbs = (cert: Uint8Array): Uint8Array => {
    const len = (p: number): [number, number] => {
      const b = cert[p + 1] as number;
      if (b < 0x80) return [2, b];
      let n = 0;
      for (let i = 0; i < (b & 0x7f); i++) n = n * 256 + (cert[p + 2 + i] as number);
      return [2 + (b & 0x7f), n];
    };
    const start = len(0)[0];
    const [hdr, body] = len(start);
    return cert.subarray(start, start + hdr + body);
  };

  it('follows the chain from a known signer only', () => {
    const [leaf, ca, other] = ['leaf', 'ca', 'other'].map((n) => der(join(work, `${n}.pem`))) as [
      Uint8Array,
      Uint8Array,
      Uint8Array,
    ];
    const image = (signer?: Uint8Array) => ({
      label: 'x',
      signatures: [{ certificates: [leaf, ca, other], signer }],
    });
    expect(authorise(image(leaf), db(other, ca), [], []).index).toBe(0);
    expect(authorise(image(leaf), db(other, ca), [], []).list).toBe(1);
    expect(() => authorise(image(leaf), db(other), [], [])).toThrow(/no db certificate/);
    // Without a signer every carried certificate counts (the PE codec does not name the signer).
    expect(authorise(image(), db(other), [], []).list).toBe(0);
  });

  it('refuses a signer whose TBSCertificate hash is in dbx (EFI_CERT_X509_SHA256)', async () => {
    const signer = der(SNAKEOIL_PEM);
    const entry = concat(
      new Uint8Array(createHash('sha256').update(tbs(signer)).digest()),
      new Uint8Array(16),
    );
    const dbx = signatureList('3bd2a492-96c0-4079-b420-fcf98ef103ed', [{ data: entry }]);
    expect(() => authorise(images['uki'] as LoadedImage, db(signer), parseSignatureLists(dbx), [])).toThrow(
      /dbx revokes the certificate/,
    );
  });
});

describe('SecureBoot variable and policy variables', () => {
  const keys = (extra: Parameters<typeof buildVarStore>[0]['records'] = []) =>
    readVarStore(
      fromBytes(
        buildVarStore({
          records: [
            { guid: GLOBAL, name: 'PK', data: signatureList(X509_TYPE, [{ data: der(SNAKEOIL_PEM) }]) },
            ...extra,
          ],
        }),
      ),
    );

  it('is 0 with PK enrolled but SecureBootEnable = 0, and then nothing is verified', async () => {
    const p = predictPcr7({
      vars: await keys([{ guid: SB_ENABLE, name: 'SecureBootEnable', data: new Uint8Array([0]) }]),
      banks: ['sha256'],
      images: [images['other'] as LoadedImage],
    });
    expect(p.secureBoot).toBe(0);
    expect(p.state).toMatchObject({ setupMode: false, secureBootEnable: 0 });
    expect(p.events.at(-1)?.untrustedType).toBe(EV.SEPARATOR);
    expect(p.warnings).toEqual([expect.stringContaining('Secure Boot is off')]);
  });

  it('is measured absent (length 0) for an OVMF without SECURE_BOOT_ENABLE, and can be overridden', async () => {
    const vars = await keys();
    const absent = predictPcr7({ vars, banks: ['sha256'], firmwareSecureBoot: false });
    expect(decodeUefiVariableData(absent.events[0]?.data ?? new Uint8Array()).variableData).toHaveLength(0);
    expect(absent.secureBoot).toBeUndefined();
    const forced = predictPcr7({ vars, banks: ['sha256'], secureBoot: false });
    expect(decodeUefiVariableData(forced.events[0]?.data ?? new Uint8Array()).variableData).toEqual(
      new Uint8Array([0]),
    );
  });

  it('measures PK bytes that are not valid signature lists as they are, with a warning', async () => {
    const junk = new Uint8Array([1, 2, 3]);
    const p = predictPcr7({
      vars: await readVarStore(
        fromBytes(buildVarStore({ records: [{ guid: GLOBAL, name: 'PK', data: junk }] })),
      ),
      banks: ['sha256'],
    });
    expect(decodeUefiVariableData(p.events[1]?.data ?? new Uint8Array()).variableData).toEqual(junk);
    expect(p.warnings).toEqual([expect.stringContaining('PK: ')]);
    expect(p.secureBoot).toBe(1);
  });

  it('measures dbt after dbx only when it exists, and never dbr', async () => {
    const dbt = signatureList(X509_TYPE, [{ data: der(SNAKEOIL_PEM) }]);
    const p = predictPcr7({
      vars: await keys([
        { guid: IMAGE_DB, name: 'dbr', data: dbt },
        { guid: IMAGE_DB, name: 'dbt', data: dbt },
      ]),
      banks: ['sha256'],
    });
    expect(p.events.map((e) => e.variable?.name)).toEqual([
      'SecureBoot',
      'PK',
      'KEK',
      'db',
      'dbx',
      'dbt',
      undefined,
    ]);
    expect(decodeUefiVariableData(p.events[5]?.data ?? new Uint8Array()).variableData).toEqual(dbt);
  });
});
