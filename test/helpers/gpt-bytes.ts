// Hand-built GPT disks and CRC fix-ups for tests, written from UEFI 2.10 §5.3 independently of
// image/formats/gpt (CRCs come from node:zlib). Used for 4096-byte sectors, which sfdisk cannot
// write to a regular file, and by the fuzzer to push mutated fields past the CRC checks.
import { crc32 } from 'node:zlib';

export interface GptPartitionSpec {
  /** 0-based slot in the entry array (default: next slot). */
  readonly slot?: number;
  readonly type: string;
  readonly uuid: string;
  readonly first: number;
  readonly last: number;
  readonly attrs?: bigint;
  readonly name?: string;
}

export interface GptSpec {
  readonly blockSize: 512 | 4096;
  readonly totalLbas: number;
  readonly diskGuid: string;
  readonly entries?: number;
  readonly entrySize?: number;
  readonly partitions: readonly GptPartitionSpec[];
}

/** Stored (mixed-endian) bytes of a GUID string. */
export function guidBytes(guid: string): Uint8Array {
  const h = guid.replaceAll('-', '');
  const b = Buffer.from(h, 'hex');
  const le = (s: number, n: number) => Buffer.from(b.subarray(s, s + n)).reverse();
  return new Uint8Array(Buffer.concat([le(0, 4), le(4, 2), le(6, 2), b.subarray(8)]));
}

export function buildGpt(spec: GptSpec): Uint8Array {
  const bs = spec.blockSize;
  const n = spec.entries ?? 128;
  const es = spec.entrySize ?? 128;
  const arrayBlocks = Math.ceil((n * es) / bs);
  const last = spec.totalLbas - 1;
  const disk = new Uint8Array(spec.totalLbas * bs);
  const dv = new DataView(disk.buffer);
  // Protective MBR (UEFI §5.2.3): one record of type 0xEE from LBA 1 over the disk.
  dv.setUint8(446 + 4, 0xee);
  dv.setUint32(446 + 8, 1, true);
  dv.setUint32(446 + 12, Math.min(last, 0xffffffff), true);
  disk[510] = 0x55;
  disk[511] = 0xaa;
  const array = new Uint8Array(n * es);
  const adv = new DataView(array.buffer);
  spec.partitions.forEach((p, i) => {
    const at = (p.slot ?? i) * es;
    array.set(guidBytes(p.type), at);
    array.set(guidBytes(p.uuid), at + 16);
    adv.setBigUint64(at + 32, BigInt(p.first), true);
    adv.setBigUint64(at + 40, BigInt(p.last), true);
    adv.setBigUint64(at + 48, p.attrs ?? 0n, true);
    const name = Buffer.from(p.name ?? '', 'utf16le');
    array.set(name.subarray(0, 72), at + 56);
  });
  const firstUsable = 2 + arrayBlocks;
  const lastUsable = last - 1 - arrayBlocks;
  disk.set(array, 2 * bs);
  disk.set(array, (last - arrayBlocks) * bs);
  for (const [lba, alt, entryLba] of [
    [1, last, 2],
    [last, 1, last - arrayBlocks],
  ] as const) {
    const o = lba * bs;
    disk.set(Buffer.from('EFI PART', 'latin1'), o);
    dv.setUint32(o + 8, 0x00010000, true);
    dv.setUint32(o + 12, 92, true);
    dv.setBigUint64(o + 24, BigInt(lba), true);
    dv.setBigUint64(o + 32, BigInt(alt), true);
    dv.setBigUint64(o + 40, BigInt(firstUsable), true);
    dv.setBigUint64(o + 48, BigInt(lastUsable), true);
    disk.set(guidBytes(spec.diskGuid), o + 56);
    dv.setBigUint64(o + 72, BigInt(entryLba), true);
    dv.setUint32(o + 80, n, true);
    dv.setUint32(o + 84, es, true);
    dv.setUint32(o + 88, crc32(array), true);
    fixHeaderCrc(disk, o);
  }
  return disk;
}

/** Recomputes HeaderCRC32 of the header at byte `at` (HeaderSize clamped to the buffer). */
export function fixHeaderCrc(disk: Uint8Array, at: number): void {
  const dv = new DataView(disk.buffer, disk.byteOffset, disk.byteLength);
  if (at + 92 > disk.length) return;
  const size = Math.min(dv.getUint32(at + 12, true), disk.length - at);
  dv.setUint32(at + 16, 0, true);
  dv.setUint32(at + 16, crc32(disk.subarray(at, at + size)), true);
}

/** Recomputes PartitionEntryArrayCRC32 from the array the header at `at` points to, if in range. */
export function fixEntriesCrc(disk: Uint8Array, at: number, blockSize: number): void {
  const dv = new DataView(disk.buffer, disk.byteOffset, disk.byteLength);
  if (at + 92 > disk.length) return;
  const start = Number(dv.getBigUint64(at + 72, true)) * blockSize;
  const len = dv.getUint32(at + 80, true) * dv.getUint32(at + 84, true);
  if (!Number.isSafeInteger(start) || start + len > disk.length) return;
  dv.setUint32(at + 88, crc32(disk.subarray(start, start + len)), true);
}
