// The pieces of the rootfs initrd stage that need no kernel package: the ELF reader (against
// readelf on the host's own programs, and synthetic kernel modules), the module load order, and
// path resolution inside an extracted tree (absolute links stay in the tree).
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ParseError } from '../../../image/formats/errors.js';
import { dynamicNeeds, modinfo, moduleDepends } from '../../../image/build/rootfs-initrd/elf.js';
import { resolveInTree } from '../../../image/build/rootfs-initrd/tree.js';
import { loadOrder } from '../../../image/build/stages/rootfs-initrd.js';
import { uuidOfHex } from '../../../image/build/stages/rootfs.js';

/** A minimal ELF64 LE relocatable with a .modinfo section holding `strings` (NUL-separated). */
function fakeModule(strings: readonly string[]): Buffer {
  const modinfoBytes = Buffer.from(strings.map((s) => `${s}\0`).join(''), 'latin1');
  const shstr = Buffer.from('\0.modinfo\0.shstrtab\0', 'latin1');
  const dataAt = 64;
  const shstrAt = dataAt + modinfoBytes.length;
  const shoff = Math.ceil((shstrAt + shstr.length) / 8) * 8;
  const b = Buffer.alloc(shoff + 3 * 64);
  b.writeUInt32BE(0x7f454c46, 0);
  b[4] = 2; // ELFCLASS64
  b[5] = 1; // little-endian
  b[6] = 1;
  b.writeUInt16LE(1, 0x10); // ET_REL
  b.writeUInt16LE(62, 0x12); // x86-64
  b.writeBigUInt64LE(BigInt(shoff), 0x28);
  b.writeUInt16LE(64, 0x34);
  b.writeUInt16LE(64, 0x3a);
  b.writeUInt16LE(3, 0x3c);
  b.writeUInt16LE(2, 0x3e);
  modinfoBytes.copy(b, dataAt);
  shstr.copy(b, shstrAt);
  const sh = (i: number, name: number, type: number, offset: number, size: number): void => {
    const at = shoff + i * 64;
    b.writeUInt32LE(name, at);
    b.writeUInt32LE(type, at + 4);
    b.writeBigUInt64LE(BigInt(offset), at + 0x18);
    b.writeBigUInt64LE(BigInt(size), at + 0x20);
  };
  sh(1, 1, 1, dataAt, modinfoBytes.length); // .modinfo, PROGBITS
  sh(2, 10, 3, shstrAt, shstr.length); // .shstrtab, STRTAB
  return b;
}

describe('ELF', () => {
  it('reads DT_NEEDED and PT_INTERP as readelf does', async () => {
    for (const prog of ['/usr/sbin/veritysetup', '/usr/bin/tar']) {
      const { stdout } = await execa('readelf', ['-d', '-l', '-W', prog]);
      const needed = [...stdout.matchAll(/\(NEEDED\)\s+Shared library: \[([^\]]+)\]/g)].map((m) => m[1]);
      const interp = /Requesting program interpreter: ([^\]]+)\]/.exec(stdout)?.[1];
      expect(dynamicNeeds(readFileSync(prog))).toEqual({ needed, interpreter: interp });
    }
  });

  it('reads the depends= of a kernel module', () => {
    const ko = fakeModule(['license=GPL', 'depends=reed_solomon,dm-mod,dm-bufio', 'name=dm_verity']);
    expect(moduleDepends(ko)).toEqual(['reed_solomon', 'dm-mod', 'dm-bufio']);
    expect(modinfo(ko).get('name')).toEqual(['dm_verity']);
    expect(moduleDepends(fakeModule(['depends=']))).toEqual([]);
  });

  it('refuses what is not ELF64 LE or is cut short, naming the offset', () => {
    expect(() =>
      moduleDepends(Buffer.from('not an elf file at all, really not, no no no no no no no no')),
    ).toThrow(ParseError);
    const cut = fakeModule(['depends=a']).subarray(0, 100);
    expect(() => moduleDepends(cut)).toThrow(/ELF at byte \d+/);
    const noModinfo = fakeModule(['depends=a']);
    noModinfo.write('.nomodi', noModinfo.indexOf('.modinfo\0.shstrtab'), 'latin1'); // rename the section
    expect(() => moduleDepends(noModinfo)).toThrow(/no \.modinfo section/);
  });
});

describe('loadOrder', () => {
  it('puts dependencies first and keeps the roots in order', () => {
    const deps = new Map([
      ['dm_verity', ['reed_solomon', 'dm_mod', 'dm_bufio']],
      ['dm_bufio', ['dm_mod']],
      ['erofs', ['libcrc32c']],
    ]);
    expect(loadOrder(['crc32c_generic', 'dm_verity', 'erofs'], deps)).toEqual([
      'crc32c_generic',
      'reed_solomon',
      'dm_mod',
      'dm_bufio',
      'dm_verity',
      'libcrc32c',
      'erofs',
    ]);
  });

  it('refuses a cycle', () => {
    expect(() =>
      loadOrder(
        ['a'],
        new Map([
          ['a', ['b']],
          ['b', ['a']],
        ]),
      ),
    ).toThrow(/a -> b -> a/);
  });
});

describe('resolveInTree', () => {
  let tree: string;
  beforeAll(async () => {
    tree = await mkdtemp(join(tmpdir(), 'nodeimg-tree-'));
    await mkdir(join(tree, 'usr/lib/x86_64-linux-gnu'), { recursive: true });
    await mkdir(join(tree, 'usr/lib64'), { recursive: true });
    await writeFile(join(tree, 'usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2'), 'ld');
    await symlink('usr/lib', join(tree, 'lib'));
    await symlink('usr/lib64', join(tree, 'lib64'));
    // an absolute link, as libc6 ships it: must resolve inside the tree, not on the host
    await symlink('/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2', join(tree, 'usr/lib64/ld-linux-x86-64.so.2'));
    await symlink('loop', join(tree, 'loop'));
  });
  afterAll(() => rm(tree, { recursive: true, force: true }));

  it('follows relative and absolute links inside the tree', async () => {
    expect(await resolveInTree(tree, '/lib64/ld-linux-x86-64.so.2')).toBe(
      join(tree, 'usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2'),
    );
    expect(await resolveInTree(tree, '/lib/../lib/x86_64-linux-gnu/missing.so')).toBeUndefined();
    await expect(resolveInTree(tree, '/loop')).rejects.toThrow(/symbolic links/);
  });
});

describe('uuidOfHex', () => {
  it('formats 16 bytes of the root hash as a UUID (DPS)', () => {
    expect(uuidOfHex('2d56a611e363256c2ce868dda52f9c42')).toBe('2d56a611-e363-256c-2ce8-68dda52f9c42');
    expect(() => uuidOfHex('xyz')).toThrow();
  });
});
