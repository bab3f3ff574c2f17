// Builds small, valid PE images in memory for unit and fuzz tests: DOS header, PE signature, COFF
// header, PE32 or PE32+ optional header, section table, section data, trailing data and an optional
// certificate table, laid out like a linker would (PE/COFF spec §2-§4).

export interface SynthSection {
  readonly name: string;
  readonly data: Uint8Array;
  /** Defaults to data.length. */
  readonly virtualSize?: number;
  /** Overrides (for hostile layouts). */
  readonly sizeOfRawData?: number;
  readonly pointerToRawData?: number;
  readonly characteristics?: number;
}

export interface SynthOptions {
  readonly format?: 'PE32' | 'PE32+';
  readonly sections: readonly SynthSection[];
  readonly numberOfRvaAndSizes?: number;
  readonly lfanew?: number;
  readonly fileAlignment?: number;
  /** Bytes after the last section (before the certificate table). */
  readonly trailing?: Uint8Array;
  /** WIN_CERTIFICATE table bytes, appended 8-aligned and pointed to by DataDirectory[4]. */
  readonly certTable?: Uint8Array;
  readonly checkSum?: number;
  readonly timeDateStamp?: number;
}

const align = (n: number, a: number): number => Math.ceil(n / a) * a;

export function buildPe(o: SynthOptions): Uint8Array {
  const plus = (o.format ?? 'PE32+') === 'PE32+';
  const nrva = o.numberOfRvaAndSizes ?? 16;
  const lfanew = o.lfanew ?? 0x80;
  const fa = o.fileAlignment ?? 0x200;
  const optSize = (plus ? 112 : 96) + 8 * nrva;
  const tableOff = lfanew + 24 + optSize;
  const soh = align(tableOff + 40 * o.sections.length, fa);
  let pos = soh;
  let va = 0x1000;
  const layout = o.sections.map((s) => {
    const raw = s.sizeOfRawData ?? align(s.data.length, fa);
    const ptr = s.pointerToRawData ?? (raw === 0 ? 0 : pos);
    if (s.pointerToRawData === undefined) pos += raw;
    const vsize = s.virtualSize ?? s.data.length;
    const l = { s, raw, ptr, va, vsize };
    va = align(va + Math.max(vsize, 1), 0x1000);
    return l;
  });
  const trailing = o.trailing ?? new Uint8Array(0);
  const sectionsEnd = Math.max(pos, ...layout.map((l) => l.ptr + Math.min(l.raw, l.s.data.length)));
  const certOff = o.certTable ? align(sectionsEnd + trailing.length, 8) : 0;
  const size = o.certTable ? certOff + o.certTable.length : sectionsEnd + trailing.length;
  const b = new Uint8Array(size);
  const v = new DataView(b.buffer);
  b.set([0x4d, 0x5a]);
  v.setUint32(0x3c, lfanew, true);
  b.set([0x50, 0x45, 0, 0], lfanew);
  const coff = lfanew + 4;
  v.setUint16(coff, plus ? 0x8664 : 0x14c, true);
  v.setUint16(coff + 2, o.sections.length, true);
  v.setUint32(coff + 4, o.timeDateStamp ?? 0x5f5e0ff, true);
  v.setUint16(coff + 16, optSize, true);
  v.setUint16(coff + 18, 0x0206, true);
  const opt = coff + 20;
  v.setUint16(opt, plus ? 0x20b : 0x10b, true);
  v.setUint32(opt + 16, 0x1000, true); // AddressOfEntryPoint
  if (plus) v.setBigUint64(opt + 24, 0x140000000n, true);
  else v.setUint32(opt + 28, 0x400000, true);
  v.setUint32(opt + 32, 0x1000, true);
  v.setUint32(opt + 36, fa, true);
  v.setUint32(opt + 56, va, true); // SizeOfImage
  v.setUint32(opt + 60, soh, true);
  v.setUint32(opt + 64, o.checkSum ?? 0xc0ffee11, true);
  v.setUint16(opt + 68, 10, true); // EFI application
  const dirs = opt + (plus ? 108 : 92);
  v.setUint32(dirs, nrva, true);
  for (let i = 0; i < nrva; i++) {
    v.setUint32(dirs + 4 + 8 * i, 0x100 * (i + 1), true);
    v.setUint32(dirs + 8 + 8 * i, 0x10 * (i + 1), true);
  }
  if (nrva > 4) {
    v.setUint32(dirs + 4 + 32, o.certTable ? certOff : 0, true);
    v.setUint32(dirs + 8 + 32, o.certTable ? o.certTable.length : 0, true);
  }
  layout.forEach((l, i) => {
    const h = tableOff + 40 * i;
    b.set(new TextEncoder().encode(l.s.name).subarray(0, 8), h);
    v.setUint32(h + 8, l.vsize, true);
    v.setUint32(h + 12, l.va, true);
    v.setUint32(h + 16, l.raw, true);
    v.setUint32(h + 20, l.ptr, true);
    v.setUint32(h + 36, l.s.characteristics ?? 0x40000040, true);
    if (l.raw > 0) b.set(l.s.data.subarray(0, Math.min(l.raw, l.s.data.length, size - l.ptr)), l.ptr);
  });
  b.set(trailing, sectionsEnd);
  if (o.certTable) b.set(o.certTable, certOff);
  return b;
}

/** A WIN_CERTIFICATE list from bodies (each padded to 8 bytes, as signing tools do). */
export function winCertificates(bodies: readonly Uint8Array[], type = 0x0002): Uint8Array {
  const parts = bodies.map((body) => {
    const len = 8 + body.length;
    const e = new Uint8Array(align(len, 8));
    const v = new DataView(e.buffer);
    v.setUint32(0, len, true);
    v.setUint16(4, 0x0200, true);
    v.setUint16(6, type, true);
    e.set(body, 8);
    return e;
  });
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Deterministic pseudo-random bytes (mulberry32), for section contents. */
export function prngBytes(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  let a = seed >>> 0;
  for (let i = 0; i < n; i++) {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    out[i] = ((t ^ (t >>> 14)) >>> 0) & 0xff;
  }
  return out;
}
