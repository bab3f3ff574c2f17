// Builds OVMF flash-image tails with a GUIDed footer table and SEV metadata, laid out like edk2's
// ResetVectorVtf0.asm / OvmfSevMetadata.asm (launch-measurements.md §1.3), for the footer codec tests
// and the fuzzer.
import { guidFromString } from '../../image/formats/gpt/guid.js';
import {
  OVMF_SEV_METADATA_GUID,
  OVMF_TABLE_FOOTER_GUID,
  SEV_ES_RESET_BLOCK_GUID,
  SEV_HASH_TABLE_RV_GUID,
} from '../../image/formats/ovmf-footer/index.js';

export interface EntrySpec {
  readonly guid: string;
  readonly data: Uint8Array;
  /** Override the u16 length (default data + 18). */
  readonly len?: number;
}

export const u32le = (...xs: number[]): Uint8Array => {
  const b = new Uint8Array(xs.length * 4);
  xs.forEach((x, i) => new DataView(b.buffer).setUint32(i * 4, x >>> 0, true));
  return b;
};

export interface ImageSpec {
  readonly size?: number;
  /** Entries in file order (the last one sits right before the footer entry). */
  readonly entries: readonly EntrySpec[];
  /** Override table_len (default: entries + 18). */
  readonly tableLen?: number;
  /** SEV metadata: where (offset from the end) and which sections; a metadata entry is added. */
  readonly metadata?: {
    readonly fromEnd: number;
    readonly sections: readonly (readonly [gpa: number, size: number, type: number])[];
    readonly version?: number;
    readonly length?: number;
  };
}

/** A flash image of `size` bytes (default 4096) ending with the footer table. */
export function footerImage(spec: ImageSpec): Uint8Array {
  const size = spec.size ?? 4096;
  const img = new Uint8Array(size).fill(0x90);
  const entries = [...spec.entries];
  if (spec.metadata) entries.push({ guid: OVMF_SEV_METADATA_GUID, data: u32le(spec.metadata.fromEnd) });
  let at = size - 0x20 - 18; // the footer entry
  const tableLen = spec.tableLen ?? 18 + entries.reduce((n, e) => n + e.data.length + 18, 0);
  new DataView(img.buffer).setUint16(at, tableLen, true);
  img.set(guidFromString(OVMF_TABLE_FOOTER_GUID), at + 2);
  for (const e of [...entries].reverse()) {
    at -= 18;
    new DataView(img.buffer).setUint16(at, e.len ?? e.data.length + 18, true);
    img.set(guidFromString(e.guid), at + 2);
    at -= e.data.length;
    img.set(e.data, at);
  }
  // A header that would not fit (offsets that point outside, for malformed cases) is not written.
  if (
    spec.metadata &&
    spec.metadata.fromEnd >= 16 + 12 * spec.metadata.sections.length &&
    spec.metadata.fromEnd <= size
  ) {
    const m = spec.metadata;
    const start = size - m.fromEnd;
    const hdr = new Uint8Array([
      ...new TextEncoder().encode('ASEV'),
      ...u32le(m.length ?? 16 + 12 * m.sections.length, m.version ?? 1, m.sections.length),
    ]);
    img.set(hdr, start);
    m.sections.forEach((s, i) => img.set(u32le(...s), start + 16 + 12 * i));
  }
  return img;
}

/** The AmdSev-like layout: reset block, hash table block, metadata with the usual sections. */
export function amdSevLikeImage(
  sections: readonly (readonly [number, number, number])[] = [
    [0x800000, 0x9000, 1],
    [0x80d000, 0x1000, 2],
    [0x80e000, 0x1000, 3],
    [0x810000, 0x1000, 0x10],
  ],
): Uint8Array {
  return footerImage({
    entries: [
      { guid: SEV_HASH_TABLE_RV_GUID, data: u32le(0x810c00, 0x400) },
      { guid: SEV_ES_RESET_BLOCK_GUID, data: u32le(0x80b004) },
    ],
    metadata: { fromEnd: 0x400, sections },
  });
}
