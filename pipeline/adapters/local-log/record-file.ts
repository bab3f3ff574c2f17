// The log store's data file, DIR/entries.dat: a 16-byte header "nodeimg tlog v1\n", then framed
// records, only ever appended:
//   u32 BE payload length | u32 BE CRC-32 (zlib) of type byte + payload | u8 type | payload
// type 1 ENTRY: u64 BE integratedTime (Unix seconds) | canonical entry body
// type 2 HEAD:  u64 BE tree size | 32-byte RFC 6962 root | u64 BE Unix ms when written
// The store appends one batch per group commit (its ENTRY records, then one HEAD record for the new
// tree size) in a single write followed by fdatasync, and acknowledges nothing before that, so a
// crash can only leave a torn tail after the last complete batch. scanRecords() reads the file in
// chunks (never whole) and stops at the first record that is short, oversized or fails its CRC.
import type { FileHandle } from 'node:fs/promises';
import { crc32 } from 'node:zlib';

export const MAGIC = Buffer.from('nodeimg tlog v1\n', 'latin1');
export const RECORD_HEADER = 9;
/** No hashedrekord body comes near this; a larger length field is damage. */
export const MAX_PAYLOAD = 1024 * 1024;
export const ENTRY = 1;
export const HEAD = 2;
const CHUNK = 1024 * 1024;

export function encodeRecord(type: number, payload: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(RECORD_HEADER + payload.length);
  out.writeUInt32BE(payload.length, 0);
  out.writeUInt8(type, 8);
  out.set(payload, RECORD_HEADER);
  out.writeUInt32BE(crc32(out.subarray(8)), 4);
  return out;
}

export function entryPayload(integratedTime: number, body: Uint8Array): Buffer {
  const p = Buffer.allocUnsafe(8 + body.length);
  p.writeBigUInt64BE(BigInt(integratedTime), 0);
  p.set(body, 8);
  return p;
}

export function headPayload(treeSize: number, root: Uint8Array, writtenMs: number): Buffer {
  const p = Buffer.allocUnsafe(48);
  p.writeBigUInt64BE(BigInt(treeSize), 0);
  p.set(root, 8);
  p.writeBigUInt64BE(BigInt(writtenMs), 40);
  return p;
}

export interface ScannedRecord {
  readonly type: number;
  readonly payload: Buffer;
  /** File offset of the record's first byte. */
  readonly offset: number;
  /** File offset just past the record. */
  readonly end: number;
}

export interface ScanResult {
  /** Offset just past the last record that parsed and passed its CRC. */
  readonly validEnd: number;
  /** Why scanning stopped before the end of the file, if it did. */
  readonly damage?: string;
}

/** Reads every good record from `start` in file order; `onRecord` may throw to abort. */
export async function scanRecords(
  fh: FileHandle,
  fileSize: number,
  start: number,
  onRecord: (r: ScannedRecord) => void,
): Promise<ScanResult> {
  let buf = Buffer.alloc(0);
  let bufStart = start; // file offset of buf[0]
  let readPos = start;
  const fill = async (need: number): Promise<boolean> => {
    while (buf.length < need && readPos < fileSize) {
      const chunk = Buffer.allocUnsafe(Math.min(Math.max(CHUNK, need - buf.length), fileSize - readPos));
      const { bytesRead } = await fh.read(chunk, 0, chunk.length, readPos);
      if (bytesRead === 0) break;
      readPos += bytesRead;
      buf =
        buf.length === 0 ? chunk.subarray(0, bytesRead) : Buffer.concat([buf, chunk.subarray(0, bytesRead)]);
    }
    return buf.length >= need;
  };
  for (;;) {
    const offset = bufStart;
    if (offset >= fileSize) return { validEnd: offset };
    if (!(await fill(RECORD_HEADER)))
      return { validEnd: offset, damage: `a record header cut short at offset ${offset}` };
    const len = buf.readUInt32BE(0);
    if (len > MAX_PAYLOAD)
      return { validEnd: offset, damage: `a record length of ${len} bytes at offset ${offset}` };
    if (!(await fill(RECORD_HEADER + len)))
      return { validEnd: offset, damage: `a record cut short at offset ${offset}` };
    const crc = buf.readUInt32BE(4);
    if (crc32(buf.subarray(8, RECORD_HEADER + len)) !== crc)
      return { validEnd: offset, damage: `a record failing its CRC at offset ${offset}` };
    const type = buf.readUInt8(8);
    const payload = Buffer.from(buf.subarray(RECORD_HEADER, RECORD_HEADER + len));
    buf = buf.subarray(RECORD_HEADER + len);
    bufStart += RECORD_HEADER + len;
    onRecord({ type, payload, offset, end: bufStart });
  }
}
