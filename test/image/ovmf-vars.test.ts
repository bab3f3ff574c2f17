// OVMF variable store and EFI_SIGNATURE_LIST codecs against Debian's ovmf package (2022.11-6+deb12u2:
// /usr/share/OVMF/OVMF_VARS*.fd, /usr/share/ovmf/OVMF.fd and the snakeoil test certificate) and
// against hand-built stores for record states and hostile layouts.
import { X509Certificate } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ParseError } from '../../image/formats/errors.js';
import {
  EFI_CERT_X509_GUID,
  parseSignatureLists,
  readVarStore,
  secureBootEnable,
  secureBootVariables,
  type VarStore,
} from '../../image/formats/ovmf-vars/index.js';
import { fromBytes } from '../../image/formats/source.js';
import {
  GLOBAL,
  IMAGE_DB,
  OWNER,
  SHA256_TYPE,
  X509_TYPE,
  buildVarStore,
  concat,
  fixFvChecksum,
  signatureList,
} from '../helpers/ovmf-vars-bytes.js';

const OVMF = '/usr/share/OVMF';
const SNAKEOIL_PEM = '/usr/share/ovmf/PkKek-1-snakeoil.pem';
// SignatureOwner GUIDs of Debian's snakeoil enrolment: EFI_GLOBAL_VARIABLE for PK, this one for KEK/db/dbx.
const DEBIAN_OWNER = 'a0baa8a3-041d-48a8-bc87-c36d121b5e3d';
const MICROSOFT_OWNER = '77fa9abd-0359-4d32-bd60-28f4e78f784b';
const need = (p: string): Uint8Array => {
  if (!existsSync(p)) throw new Error(`${p} is missing: install the Debian package ovmf (scripts/setup)`);
  return new Uint8Array(readFileSync(p));
};
const read = (bytes: Uint8Array, base = 0): Promise<VarStore> =>
  readVarStore(fromBytes(bytes, 'vars.fd', base));
const snakeoilDer = (): Buffer => new X509Certificate(readFileSync(SNAKEOIL_PEM)).raw;
const utf16 = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'utf16le'));

describe('Debian OVMF variable stores', () => {
  it('OVMF_VARS_4M.fd: an empty authenticated store', async () => {
    const s = await read(need(`${OVMF}/OVMF_VARS_4M.fd`));
    expect(s).toMatchObject({
      format: 'authenticated',
      fvOffset: 0,
      storeOffset: 0x48,
      storeSize: 0x3ffb8,
      recordCount: 0,
      variables: [],
    });
    expect(secureBootVariables(s).PK).toBeUndefined();
  });

  it('OVMF_VARS_4M.snakeoil.fd: PK, KEK and db hold exactly the snakeoil certificate', async () => {
    const s = await read(need(`${OVMF}/OVMF_VARS_4M.snakeoil.fd`));
    const sb = secureBootVariables(s);
    const der = snakeoilDer();
    for (const [v, owner] of [
      [sb.PK, GLOBAL],
      [sb.KEK, DEBIAN_OWNER],
      [sb.db, DEBIAN_OWNER],
    ] as const) {
      const lists = parseSignatureLists(v?.data ?? new Uint8Array());
      expect(lists).toHaveLength(1);
      expect(lists[0]?.signatureType).toBe(EFI_CERT_X509_GUID);
      expect(lists[0]?.entries).toHaveLength(1);
      const e = lists[0]?.entries[0];
      expect(Buffer.from(e?.data ?? []).equals(der)).toBe(true);
      expect(e?.owner).toBe(owner);
      expect(e?.rawEntry.length).toBe(16 + der.length);
    }
    const dbx = parseSignatureLists(sb.dbx?.data ?? new Uint8Array());
    expect(dbx.map((l) => [l.typeName, l.entries.length, l.signatureSize])).toEqual([
      ['EFI_CERT_SHA256', 1, 48],
    ]);
    // a placeholder: SHA-256 of the empty string (no real image hashes to it)
    expect(Buffer.from(dbx[0]?.entries[0]?.data ?? []).toString('hex')).toBe(
      'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
    );
    expect(sb.dbt).toBeUndefined();
    expect(secureBootEnable(s)).toBe(1);
    // edk2 rewrote records while enrolling keys: superseded and deleted copies stay in the store.
    expect(s.recordCount).toBe(57);
    expect(s.variables.length).toBeLessThan(s.recordCount);
    const names = s.variables.map((v) => v.name);
    expect(new Set(names).size).toBe(names.length);
    expect(s.variables.find((v) => v.name === 'CustomMode')?.data).toEqual(new Uint8Array([0]));
  });

  it('OVMF_VARS_4M.ms.fd: Microsoft KEK and db certificates, Microsoft owner GUID', async () => {
    const s = await read(need(`${OVMF}/OVMF_VARS_4M.ms.fd`));
    const sb = secureBootVariables(s);
    const subjects = (data: Uint8Array | undefined): string[] =>
      parseSignatureLists(data ?? new Uint8Array()).flatMap((l) =>
        l.entries.map((e) => /CN=([^\n]*)/.exec(new X509Certificate(e.data).subject)?.[1] ?? ''),
      );
    expect(subjects(sb.db?.data)).toEqual([
      'Microsoft Windows Production PCA 2011',
      'Microsoft Corporation UEFI CA 2011',
    ]);
    expect(subjects(sb.KEK?.data)).toHaveLength(2);
    expect(
      parseSignatureLists(sb.db?.data ?? new Uint8Array()).every((l) =>
        l.entries.every((e) => e.owner === MICROSOFT_OWNER),
      ),
    ).toBe(true);
  });

  it('reads the 2 MiB stores and finds the NV FV in a combined OVMF.fd', async () => {
    const ms2 = await read(need(`${OVMF}/OVMF_VARS.ms.fd`));
    expect(ms2.storeSize).toBe(0xdfb8);
    expect(secureBootVariables(ms2).db?.data.length).toBe(3143);
    const combined = await read(need('/usr/share/ovmf/OVMF.fd'));
    expect(combined).toMatchObject({ fvOffset: 0, recordCount: 0 });
  });

  it('finds the NV FV behind other data (scan on 4 KiB boundaries)', async () => {
    const store = buildVarStore({
      records: [{ guid: GLOBAL, name: 'Timeout', data: new Uint8Array([5, 0]) }],
    });
    const image = concat(new Uint8Array(0x3000).fill(0x5a), store);
    const s = await read(image, 0x100000);
    expect(s.fvOffset).toBe(0x100000 + 0x3000);
    expect(s.variables.map((v) => [v.name, v.offset])).toEqual([['Timeout', 0x100000 + 0x3000 + 0x48 + 28]]);
  });
});

describe('record states (edk2 FindVariableEx)', () => {
  const rec = (data: number, state: number) => ({
    guid: GLOBAL,
    name: 'X',
    data: new Uint8Array([data]),
    state,
  });
  const live = async (records: Parameters<typeof buildVarStore>[0]['records'], format?: 'plain') =>
    (await read(buildVarStore({ records, ...(format ? { format } : {}) }))).variables.map((v) => [
      v.name,
      v.data[0],
    ]);

  it('VAR_ADDED wins over an earlier or later in-deleted-transition copy', async () => {
    expect(await live([rec(1, 0x3e), rec(2, 0x3f)])).toEqual([['X', 2]]);
    expect(await live([rec(2, 0x3f), rec(1, 0x3e)])).toEqual([['X', 2]]);
  });
  it('an in-deleted-transition copy is live when no VAR_ADDED copy exists', async () => {
    expect(await live([rec(1, 0x3c), rec(3, 0x3e)])).toEqual([['X', 3]]);
  });
  it('deleted (0x3c) and header-only (0x7f) records are not live', async () => {
    expect(await live([rec(1, 0x3c), rec(2, 0x7f)])).toEqual([]);
  });
  it('reads plain VARIABLE_HEADER stores (gEfiVariableGuid)', async () => {
    const s = await read(
      buildVarStore({
        format: 'plain',
        records: [rec(7, 0x3f), { guid: IMAGE_DB, name: 'db', data: new Uint8Array(5) }],
      }),
    );
    expect(s.format).toBe('plain');
    expect(s.variables.map((v) => [v.guid, v.name, v.data.length])).toEqual([
      [GLOBAL, 'X', 1],
      [IMAGE_DB, 'db', 5],
    ]);
  });
});

describe.each([0, 0x84000])('hostile stores (base %i)', (base) => {
  const good = (): Uint8Array =>
    buildVarStore({ records: [{ guid: GLOBAL, name: 'PK', data: new Uint8Array(40) }] });
  const expectParse = async (bytes: Uint8Array, code: string, offset: number): Promise<void> => {
    const err = await read(bytes, base).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ParseError);
    expect(err).toMatchObject({ code, offset: base + offset });
  };

  it('bad FV checksum', async () => {
    const b = good();
    b[50] = (b[50] as number) ^ 1; // the Checksum field itself
    await expectParse(b, 'PARSE_INVALID', 50);
  });
  it('FV revision 1', async () => {
    const b = good();
    b[55] = 1;
    fixFvChecksum(b);
    await expectParse(b, 'PARSE_UNSUPPORTED', 55);
  });
  it('no NV FV at all', async () => {
    await expectParse(new Uint8Array(0x2000), 'PARSE_INVALID', 0);
  });
  it('store format and state', async () => {
    const b = good();
    b[0x48 + 20] = 0;
    await expectParse(b, 'PARSE_INVALID', 0x48 + 20);
    const c = good();
    c[0x48 + 21] = 0xff;
    await expectParse(c, 'PARSE_INVALID', 0x48 + 21);
  });
  it('store Size beyond the FV or the file', async () => {
    const b = good();
    new DataView(b.buffer).setUint32(0x48 + 16, 0x10000, true);
    await expectParse(b, 'PARSE_INVALID', 0x48 + 16);
  });
  it('NameSize and DataSize running past the store', async () => {
    const b = good();
    new DataView(b.buffer).setUint32(0x48 + 28 + 36, 0x7fffffff, true);
    await expectParse(b, 'PARSE_INVALID', 0x48 + 28);
    const c = good();
    new DataView(c.buffer).setUint32(0x48 + 28 + 40, 0x10000, true);
    await expectParse(c, 'PARSE_INVALID', 0x48 + 28);
  });
  it('truncated file', async () => {
    // the store header's Signature GUID (at 0x48) is cut after 8 bytes
    await expectParse(good().subarray(0, 0x50), 'PARSE_TRUNCATED', 0x48);
  });
});

describe('EFI_SIGNATURE_LIST', () => {
  const cert = new Uint8Array(snakeoilDer());
  const hash = (n: number): Uint8Array => new Uint8Array(32).fill(n);

  it('decodes several lists with several entries', () => {
    const data = concat(
      signatureList(X509_TYPE, [{ data: cert }]),
      signatureList(SHA256_TYPE, [{ data: hash(1) }, { data: hash(2), owner: GLOBAL }]),
    );
    const lists = parseSignatureLists(data, 1000);
    expect(lists.map((l) => [l.typeName, l.signatureSize, l.offset, l.entries.length])).toEqual([
      ['EFI_CERT_X509', 16 + cert.length, 1000, 1],
      ['EFI_CERT_SHA256', 48, 1000 + 28 + 16 + cert.length, 2],
    ]);
    const e = lists[1]?.entries[1];
    expect(e?.owner).toBe(GLOBAL);
    expect(e?.data).toEqual(hash(2));
    expect(e?.rawEntry.subarray(16)).toEqual(hash(2));
    expect(parseSignatureLists(new Uint8Array(0))).toEqual([]);
  });

  const bad = (mutate: (v: DataView) => void): Uint8Array => {
    const b = signatureList(SHA256_TYPE, [{ data: hash(1) }, { data: hash(2) }]);
    mutate(new DataView(b.buffer));
    return b;
  };
  it.each([
    ['SignatureListSize smaller than the header', bad((v) => v.setUint32(16, 27, true)), 16],
    ['SignatureListSize past the data', bad((v) => v.setUint32(16, 200, true)), 16],
    ['SignatureHeaderSize past the list', bad((v) => v.setUint32(20, 100, true)), 20],
    ['SignatureSize 0', bad((v) => v.setUint32(24, 0, true)), 24],
    ['entries not a multiple of SignatureSize', bad((v) => v.setUint32(24, 40, true)), 24],
    [
      'SHA256 entries of the wrong size',
      bad((v) => {
        v.setUint32(24, 32, true);
        v.setUint32(16, 28 + 64, true);
      }),
      24,
    ],
  ])('rejects %s', (_name, bytes, offset) => {
    expect(() => parseSignatureLists(bytes, 500)).toThrow(
      expect.objectContaining({ code: 'PARSE_INVALID', offset: 500 + offset }),
    );
  });
  it('rejects a truncated list header', () => {
    expect(() =>
      parseSignatureLists(signatureList(SHA256_TYPE, [{ data: hash(1) }]).subarray(0, 20)),
    ).toThrow(ParseError);
  });
  it('keeps the owner GUID helper in sync with the store builder', () => {
    expect(parseSignatureLists(signatureList(SHA256_TYPE, [{ data: hash(3) }]))[0]?.entries[0]?.owner).toBe(
      OWNER,
    );
  });
});

it('a name is read up to its NUL', async () => {
  const s = await read(buildVarStore({ records: [{ guid: GLOBAL, name: 'Boot0001', data: utf16('x') }] }));
  expect(s.variables[0]?.name).toBe('Boot0001');
});
