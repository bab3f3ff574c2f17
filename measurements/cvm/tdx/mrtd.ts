// MRTD: the TDX module's SHA-384 over 128-byte records, one per TDH.MEM.PAGE.ADD and one (plus
// the 256 measured bytes) per TDH.MR.EXTEND (Intel TDX Module Base Architecture Spec, "MRTD"
// measurement of TDH.MEM.PAGE.ADD / TDH.MR.EXTEND; launch-measurements.md §2.2; measured-boot.md §9.3):
//
//   MEM.PAGE.ADD  "MEM.PAGE.ADD" at [0,12), u64 GPA of the 4 KiB page at [16,24), zeros to 128
//   MR.EXTEND     "MR.EXTEND" at [0,9), u64 GPA of the 256-byte chunk at [16,24), zeros to 128,
//                 then the 256 chunk bytes (16 chunks per page)
//
// Sections are processed in descriptor order. PAGE.AUG sections are never PAGE.ADDed; MR.EXTEND
// sections have their contents extended. Two orders exist in the wild and give different MRTDs:
//   'single-pass'  per page: ADD, then its 16 EXTENDs. Upstream KVM KVM_TDX_INIT_MEM_REGION (QEMU
//                  >= 9 with the upstream TDX KVM), td-shim td_shim_tee_info_hash.py, dstack-mr default.
//   'two-pass'     per section: every ADD, then every EXTEND. Older TDX QEMU/KVM stacks (dstack-mr
//                  for QEMU 8.x), quex-tech td-report-web reproduceMrtd.
import { createHash, type Hash } from 'node:crypto';
import { NodeimgError } from '../../../image/formats/errors.js';
import { chunks, type ByteSource } from '../../../image/formats/source.js';
import type { TdvfMetadata, TdvfSection } from '../../../image/formats/tdvf/index.js';

export type MrtdOrder = 'single-pass' | 'two-pass';
export const MRTD_ORDERS: readonly MrtdOrder[] = ['single-pass', 'two-pass'];

const PAGE_SIZE = 0x1000;
const CHUNK = 0x100;
const RECORD = 128;
/** Bytes fed to the hash for one page's 16 MR.EXTENDs: 16 x (128-byte record + 256 data bytes). */
const EXTEND_PAGE_BYTES = (PAGE_SIZE / CHUNK) * (RECORD + CHUNK);

function record(tag: string, gpa: number): Uint8Array {
  const b = new Uint8Array(RECORD);
  for (let i = 0; i < tag.length; i++) b[i] = tag.charCodeAt(i);
  new DataView(b.buffer).setBigUint64(16, BigInt(gpa), true);
  return b;
}

/** The 128-byte TDH.MEM.PAGE.ADD record for the page at `gpa`. */
export function pageAddRecord(gpa: number): Uint8Array {
  return record('MEM.PAGE.ADD', gpa);
}

/** The 128-byte TDH.MR.EXTEND record for the 256-byte chunk at `gpa` (its data follows it). */
export function mrExtendRecord(gpa: number): Uint8Array {
  return record('MR.EXTEND', gpa);
}

/**
 * The bytes a section's MR.EXTEND covers: MemoryDataSize bytes of the firmware file from DataOffset.
 * QEMU maps the flash for BFV/CFV (hw/i386/tdx.c: mem_ptr = flash + DataOffset); td-shim's and
 * quex's tools read the file the same way. TD_HOB and TempMem contents are made by the VMM, so an
 * MR.EXTEND of them cannot be predicted from the file.
 */
function extendedRange(src: ByteSource, s: TdvfSection): { offset: number; length: number } {
  if (s.type === 'TD_HOB' || s.type === 'TempMem') {
    throw new NodeimgError(
      'PARSE_UNSUPPORTED',
      `TDVF section ${s.index} (${s.type}) has MR.EXTEND, but its contents are written by the VMM, not read from the firmware file`,
    );
  }
  if (s.dataOffset + s.memoryDataSize > src.size) {
    throw new NodeimgError(
      'PARSE_TRUNCATED',
      `TDVF section ${s.index} (${s.type}): MR.EXTEND of [0x${s.dataOffset.toString(16)}, +0x${s.memoryDataSize.toString(16)}) runs past the ${src.size}-byte firmware file`,
    );
  }
  return { offset: s.dataOffset, length: s.memoryDataSize };
}

/** Feeds one section to the hash of every requested order, reading its contents once. */
async function measureSection(
  src: ByteSource,
  s: TdvfSection,
  hashes: ReadonlyMap<MrtdOrder, Hash>,
): Promise<void> {
  const pages = s.memoryDataSize / PAGE_SIZE;
  const single = hashes.get('single-pass');
  const two = hashes.get('two-pass');
  // One reused PAGE.ADD record (only its GPA changes): no allocation per page.
  const add = pageAddRecord(0);
  const addView = new DataView(add.buffer);
  const addAt = (gpa: number) => {
    addView.setBigUint64(16, BigInt(gpa), true);
    return add;
  };
  if (!s.pageAug && two) for (let p = 0; p < pages; p++) two.update(addAt(s.memoryAddress + p * PAGE_SIZE));
  if (!s.mrExtend) {
    if (!s.pageAug && single)
      for (let p = 0; p < pages; p++) single.update(addAt(s.memoryAddress + p * PAGE_SIZE));
    return;
  }
  const range = extendedRange(src, s);
  const buf = new Uint8Array(EXTEND_PAGE_BYTES);
  const view = new DataView(buf.buffer);
  for (let c = 0; c < PAGE_SIZE / CHUNK; c++) buf.set(mrExtendRecord(0), c * (RECORD + CHUNK));
  let page = 0;
  // chunks() yields 4 MiB pieces (page multiples) except possibly the last, which ends the section.
  for await (const piece of chunks(src, range.offset, range.length)) {
    for (let off = 0; off < piece.length; off += PAGE_SIZE, page++) {
      const gpa = s.memoryAddress + page * PAGE_SIZE;
      for (let c = 0; c < PAGE_SIZE / CHUNK; c++) {
        const at = c * (RECORD + CHUNK);
        view.setBigUint64(at + 16, BigInt(gpa + c * CHUNK), true);
        buf.set(piece.subarray(off + c * CHUNK, off + (c + 1) * CHUNK), at + RECORD);
      }
      single?.update(addAt(gpa)).update(buf);
      two?.update(buf);
    }
  }
}

/** MRTD of a TDVF image in each requested page order (the section contents are read once). */
export async function computeMrtd(
  src: ByteSource,
  meta: TdvfMetadata,
  orders: readonly MrtdOrder[] = MRTD_ORDERS,
): Promise<Map<MrtdOrder, Uint8Array>> {
  if (src.size !== meta.fileSize)
    throw new NodeimgError(
      'USAGE',
      `${src.name} has ${src.size} bytes but its TDVF metadata was read from ${meta.fileSize}`,
    );
  const hashes = new Map(orders.map((o) => [o, createHash('sha384')] as const));
  for (const s of meta.sections) await measureSection(src, s, hashes);
  return new Map([...hashes].map(([o, h]) => [o, new Uint8Array(h.digest())]));
}
