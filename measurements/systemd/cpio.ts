// The cpio "newc" archives systemd-stub generates and appends to the initrd it hands to the kernel
// (credentials, sysexts, confexts, and the literal .extra/ files). Byte-exact per systemd
// src/boot/{efi/}cpio.c pack_cpio_one / pack_cpio_dir / pack_cpio_trailer (measured-boot.md §4.5).

const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;

function hex8(n: number): string {
  return n.toString(16).padStart(8, '0');
}

class CpioWriter {
  private readonly parts: Uint8Array[] = [];
  private size = 0;
  private inode = 1; // inode numbers start at 1 per archive, directories included

  private push(b: Uint8Array): void {
    this.parts.push(b);
    this.size += b.length;
  }

  private pad4(): void {
    const n = (4 - (this.size % 4)) % 4;
    if (n) this.push(new Uint8Array(n));
  }

  private record(name: string, mode: number, data: Uint8Array): void {
    const nameBytes = new TextEncoder().encode(`${name}\0`);
    // magic, ino, mode, uid, gid, nlink, mtime, filesize, devmajor, devminor, rdevmajor, rdevminor, namesize, check
    const fields = [this.inode++, mode, 0, 0, 1, 0, data.length, 0, 0, 0, 0, nameBytes.length, 0];
    this.push(new TextEncoder().encode(`070701${fields.map(hex8).join('')}`));
    this.push(nameBytes);
    this.pad4(); // name padded to 4 relative to the archive start
    if (data.length) {
      this.push(data);
      this.pad4();
    }
  }

  dir(path: string, mode: number): void {
    this.record(path, S_IFDIR | mode, new Uint8Array(0));
  }

  file(path: string, mode: number, data: Uint8Array): void {
    this.record(path, S_IFREG | mode, data);
  }

  finish(): Uint8Array {
    // pack_cpio_trailer: a constant, note the upper-case B in the namesize field
    this.push(
      new TextEncoder().encode(
        '070701' +
          '00000000'.repeat(4) +
          '00000001' +
          '00000000'.repeat(6) +
          '0000000B' +
          '00000000' +
          'TRAILER!!!\0\0\0\0',
      ),
    );
    const out = new Uint8Array(this.size);
    let o = 0;
    for (const p of this.parts) {
      out.set(p, o);
      o += p.length;
    }
    return out;
  }
}

/**
 * pack_cpio_prefix + pack_cpio_one: the leading directories of `target` (mode 0555 for all but the
 * last, which gets dirMode), then the files sorted by name (strcmp16 order = code unit order).
 */
export function packCpio(
  target: string,
  files: readonly { readonly name: string; readonly data: Uint8Array }[],
  dirMode: number,
  fileMode: number,
): Uint8Array {
  const w = new CpioWriter();
  const comps = target.split('/').filter(Boolean);
  for (let i = 0; i < comps.length; i++)
    w.dir(comps.slice(0, i + 1).join('/'), i === comps.length - 1 ? dirMode : 0o555);
  const sorted = [...files].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const f of sorted) w.file(`${target}/${f.name}`, fileMode, f.data);
  return w.finish();
}

/** pack_cpio_literal: one file in .extra/ (.pcrsig, .pcrpkey, and from v257 .osrel and .profile). */
export function literalCpio(name: string, data: Uint8Array): Uint8Array {
  return packCpio('.extra', [{ name, data }], 0o555, 0o444);
}
