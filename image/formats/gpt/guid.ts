import { NodeimgError } from '../errors.js';

// EFI_GUID (UEFI 2.10 Appendix A): 16 bytes stored mixed-endian. The first three fields
// (TimeLow u32, TimeMid u16, TimeHighAndVersion u16) are little-endian; the last 8 bytes
// (ClockSeq + Node) are stored in the order they are written. String form is lower-case
// "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx".

export const GUID_SIZE = 16;

// Byte order of each printed hex pair: indexes into the 16 stored bytes.
const PRINT_ORDER = [3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15] as const;
const DASH_AFTER = new Set([3, 5, 7, 9]);
const GUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function hex2(n: number): string {
  return n.toString(16).padStart(2, '0');
}

/** Decodes 16 stored GUID bytes into the canonical lower-case string. */
export function guidToString(bytes: Uint8Array): string {
  if (bytes.length !== GUID_SIZE)
    throw new NodeimgError('INTERNAL', `GUID needs ${GUID_SIZE} bytes, got ${bytes.length}`);
  let s = '';
  PRINT_ORDER.forEach((idx, i) => {
    s += hex2(bytes[idx] as number);
    if (DASH_AFTER.has(i)) s += '-';
  });
  return s;
}

/** Encodes a GUID string (any case) into its 16 stored bytes. */
export function guidFromString(text: string): Uint8Array {
  if (!GUID_RE.test(text)) throw new NodeimgError('USAGE', `not a GUID: ${JSON.stringify(text)}`);
  const hex = text.replaceAll('-', '');
  const out = new Uint8Array(GUID_SIZE);
  PRINT_ORDER.forEach((idx, i) => {
    out[idx] = parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  });
  return out;
}

export function isZeroGuid(bytes: Uint8Array): boolean {
  return bytes.every((b) => b === 0);
}

/**
 * Well-known partition type GUIDs: UEFI 2.10 §5.3.3 Table 5.23 (ESP), the UAPI Discoverable
 * Partitions Specification (Linux root/usr and their verity partitions, x86-64), and the
 * conventional Linux filesystem and BIOS boot (GRUB) types.
 */
export const PARTITION_TYPE_NAMES: ReadonlyMap<string, string> = new Map([
  ['c12a7328-f81f-11d2-ba4b-00a0c93ec93b', 'EFI System'],
  ['21686148-6449-6e6f-744e-656564454649', 'BIOS boot'],
  ['0fc63daf-8483-4772-8e79-3d69d8477de4', 'Linux filesystem'],
  ['4f68bce3-e8cd-4db1-96e7-fbcaf984b709', 'Linux root (x86-64)'],
  ['2c7357ed-ebd2-46d9-aec1-23d437ec2bf5', 'Linux root verity (x86-64)'],
  ['41092b05-9fc8-4523-994f-2def0408b176', 'Linux root verity signature (x86-64)'],
  ['8484680c-9521-48c6-9c11-b0720656f69e', 'Linux /usr (x86-64)'],
  ['77ff5f63-e7b6-4633-acf4-1565b864c0e6', 'Linux /usr verity (x86-64)'],
]);

export function partitionTypeName(guid: string): string | undefined {
  return PARTITION_TYPE_NAMES.get(guid.toLowerCase());
}
