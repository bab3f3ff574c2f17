// GUID Partition Table writer (UEFI 2.10 §5.2.3 protective MBR, §5.3.2 header, §5.3.3 entries), with
// partition and disk GUIDs derived from a seed exactly as systemd-repart derives them, so that the
// same inputs give the same disk anywhere. Pure: returns the table bytes (the first and last blocks
// of the disk) and where each partition goes; the caller writes the partition contents.
//
// GUIDs (systemd src/partition/repart.c, v252 .. v258, checked against systemd-repart 252 in
// test/image/gpt-writer.test.ts):
//   disk GUID      = v4(HMAC-SHA256(key = seed, "disk-uuid"))                        (derive_uuid)
//   partition GUID = v4(HMAC-SHA256(key = seed, TYPE_UUID))              first of its type
//                    v4(HMAC-SHA256(key = seed, TYPE_UUID || LE64(k)))   k-th later one (k >= 1)
//                                                                        (partition_acquire_uuid)
// where the seed and TYPE_UUID are the 16 bytes of the UUID in text order (sd_id128_t, not the
// mixed-endian GPT encoding) and v4() takes the first 16 bytes of the MAC and sets the version 4
// and RFC 4122 variant bits (id128_make_v4_uuid). The partition *label* is not an input in
// systemd-repart, and nodeimg does not make it one either (issue 5 says "seed and label"; we follow
// repart, whose GUIDs users can reproduce). An explicit `uuid` overrides the derivation (e.g. the
// root and root-verity PARTUUIDs from the dm-verity root hash halves).
//
// Layout as systemd-repart/libfdisk write it: 128 entries of 128 bytes right after the primary
// header (LBA 2), the backup array and header at the end of the disk, FirstUsableLBA = the first
// aligned block (1 MiB: LBA 2048 with 512-byte sectors), partitions in the given order, each
// starting on the next alignment boundary; protective MBR record 0: CHS 0/0/2 .. 0xFFFFFF,
// type 0xEE, LBA 1, size min(disk blocks - 1, 0xFFFFFFFF).
import { createHmac } from 'node:crypto';
import { NodeimgError } from '../errors.js';
import { crc32 } from './crc32.js';
import { guidFromString } from './guid.js';
import { GPT_HEADER_SIZE } from './header.js';
import { GPT_ENTRY_NAME_OFFSET, GPT_ENTRY_NAME_SIZE } from './entries.js';

/**
 * Partition type GUIDs by their systemd-repart Type= name: UEFI 2.10 Table 5.23 (ESP), the UAPI
 * Discoverable Partitions Specification (x86-64 root, usr and their verity/signature partitions,
 * XBOOTLDR) and the generic Linux data type.
 */
export const GPT_TYPES = {
  esp: 'c12a7328-f81f-11d2-ba4b-00a0c93ec93b',
  xbootldr: 'bc13c2ff-59e6-4262-a352-b275fd6f7172',
  'root-x86-64': '4f68bce3-e8cd-4db1-96e7-fbcaf984b709',
  'root-x86-64-verity': '2c7357ed-ebd2-46d9-aec1-23d437ec2bf5',
  'root-x86-64-verity-sig': '41092b05-9fc8-4523-994f-2def0408b176',
  'usr-x86-64': '8484680c-9521-48c6-9c11-b0720656f69e',
  'usr-x86-64-verity': '77ff5f63-e7b6-4633-acf4-1565b864c0e6',
  'usr-x86-64-verity-sig': 'e7bb33fb-06cf-4e81-8273-e543b413e2e2',
  'linux-generic': '0fc63daf-8483-4772-8e79-3d69d8477de4',
} as const;

export type GptTypeName = keyof typeof GPT_TYPES;

/** GPT attribute bits (UEFI 2.10 Table 5.24; Discoverable Partitions Specification). */
export const GPT_ATTR = {
  requiredPartition: 1n << 0n,
  noBlockIoProtocol: 1n << 1n,
  legacyBiosBootable: 1n << 2n,
  /** DPS: do not auto-mount. */
  noAuto: 1n << 63n,
  /** DPS: mount read-only. */
  readOnly: 1n << 60n,
  /** DPS: grow the file system to the partition (systemd-repart sets it on Format= partitions). */
  growFs: 1n << 59n,
} as const;

export interface GptPartitionInput {
  /** A type name from GPT_TYPES or a type GUID. */
  readonly type: GptTypeName | string;
  /** Size in bytes (a multiple of the sector size), or 'rest' (last partition only): up to the end. */
  readonly size: number | 'rest';
  /** Partition name (at most 36 UTF-16 code units); default the type name, as systemd-repart. */
  readonly label?: string;
  /** Unique partition GUID; default derived from the seed (see the file comment). */
  readonly uuid?: string;
  readonly attributes?: bigint;
}

export interface GptLayoutInput {
  /** Disk size in bytes (a multiple of the sector size). */
  readonly diskSize: number;
  readonly sectorSize?: 512 | 4096;
  /** 16-byte seed as a UUID string (systemd-repart --seed=). */
  readonly seed: string;
  /** Disk GUID; default derived from the seed. */
  readonly diskGuid?: string;
  readonly partitions: readonly GptPartitionInput[];
  /** Start alignment of partitions in bytes (power of two, >= sector size); default 1 MiB. */
  readonly alignment?: number;
  /** Entries in the partition entry array; default 128 (the minimum UEFI requires is 16 KiB). */
  readonly entries?: number;
}

export interface GptPlannedPartition {
  /** 1-based entry index. */
  readonly index: number;
  readonly typeGuid: string;
  readonly uuid: string;
  readonly label: string;
  readonly attributes: bigint;
  readonly firstLba: number;
  /** Inclusive. */
  readonly lastLba: number;
  /** Byte offset on the disk. */
  readonly offset: number;
  readonly size: number;
}

export interface GptPlan {
  readonly sectorSize: 512 | 4096;
  readonly diskSize: number;
  readonly totalLbas: number;
  readonly diskGuid: string;
  readonly firstUsableLba: number;
  readonly lastUsableLba: number;
  readonly entries: number;
  readonly partitions: readonly GptPlannedPartition[];
}

/** The table bytes: `head` goes at byte 0, `tail` at `tailOffset` (the rest of the disk is partitions or zeros). */
export interface GptTableBytes {
  readonly head: Uint8Array;
  readonly tail: Uint8Array;
  readonly tailOffset: number;
}

export const GPT_ENTRY_SIZE = 128;
const MAX_ENTRIES = 1024;
const NAME_UNITS = GPT_ENTRY_NAME_SIZE / 2;

function usage(message: string, hint?: string): NodeimgError {
  return new NodeimgError('USAGE', message, hint === undefined ? {} : { hint });
}

function uuidBytes(text: string): Uint8Array {
  if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(text))
    throw usage(`not a UUID: ${JSON.stringify(text)}`);
  return Uint8Array.from(Buffer.from(text.replaceAll('-', ''), 'hex'));
}

function uuidText(b: Uint8Array): string {
  const h = Buffer.from(b).toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

/** systemd id128_make_v4_uuid over the first 16 bytes of an HMAC-SHA256. */
function hmacUuid(seed: string, message: Uint8Array): string {
  const md = createHmac('sha256', uuidBytes(seed)).update(message).digest();
  const id = new Uint8Array(md.subarray(0, 16));
  id[6] = ((id[6] as number) & 0x0f) | 0x40;
  id[8] = ((id[8] as number) & 0x3f) | 0x80;
  return uuidText(id);
}

/** systemd-repart derive_uuid(seed, "disk-uuid"). */
export function repartDiskGuid(seed: string): string {
  return hmacUuid(seed, new TextEncoder().encode('disk-uuid'));
}

/** systemd-repart partition_acquire_uuid: the `instance`-th (0-based) partition of `typeGuid`. */
export function repartPartitionGuid(seed: string, typeGuid: string, instance: number): string {
  const type = uuidBytes(typeGuid);
  if (instance === 0) return hmacUuid(seed, type);
  const msg = new Uint8Array(24);
  msg.set(type);
  new DataView(msg.buffer).setBigUint64(16, BigInt(instance), true);
  return hmacUuid(seed, msg);
}

function typeGuidOf(type: string): { guid: string; name: string } {
  const known = (GPT_TYPES as Record<string, string>)[type];
  if (known !== undefined) return { guid: known, name: type };
  const guid = type.toLowerCase();
  uuidBytes(guid);
  const name = Object.entries(GPT_TYPES).find(([, g]) => g === guid)?.[0];
  return { guid, name: name ?? guid };
}

const up = (n: number, a: number): number => Math.ceil(n / a) * a;

/**
 * Places the partitions. Throws NodeimgError('USAGE') before anything is written when the inputs
 * are malformed, there are more partitions than entries, or they do not fit on the disk.
 */
export function planGpt(input: GptLayoutInput): GptPlan {
  const ss = input.sectorSize ?? 512;
  if (ss !== 512 && ss !== 4096) throw usage(`sector size ${String(ss)} is not 512 or 4096`);
  const align = input.alignment ?? 1024 * 1024;
  if (!Number.isSafeInteger(align) || align < ss || (align & (align - 1)) !== 0)
    throw usage(`alignment ${align} is not a power of two >= the ${ss}-byte sector`);
  const entries = input.entries ?? 128;
  const arrayBlocks = Math.ceil((entries * GPT_ENTRY_SIZE) / ss);
  if (!Number.isSafeInteger(entries) || entries * GPT_ENTRY_SIZE < 16384 || entries > MAX_ENTRIES) {
    throw usage(
      `${entries} partition entries: UEFI needs at least 16384 bytes of entries (128), nodeimg writes at most ${MAX_ENTRIES}`,
    );
  }
  if (input.partitions.length > entries) {
    throw usage(
      `${input.partitions.length} partitions do not fit in a GPT of ${entries} entries`,
      'raise `entries` (up to 1024) or use fewer partitions',
    );
  }
  if (!Number.isSafeInteger(input.diskSize) || input.diskSize <= 0 || input.diskSize % ss !== 0) {
    throw usage(`disk size ${input.diskSize} is not a positive multiple of the ${ss}-byte sector`);
  }
  const totalLbas = input.diskSize / ss;
  const lastLba = totalLbas - 1;
  const lastUsableLba = lastLba - arrayBlocks - 1;
  const firstUsableLba = Math.max(up(2 + arrayBlocks, align / ss), align / ss);
  if (lastUsableLba < firstUsableLba)
    throw usage(`a ${input.diskSize}-byte disk is too small for a GPT with ${align}-byte alignment`);
  uuidBytes(input.seed);

  const counts = new Map<string, number>();
  const used = new Set<string>();
  const out: GptPlannedPartition[] = [];
  let next = firstUsableLba;
  input.partitions.forEach((p, i) => {
    const { guid, name } = typeGuidOf(p.type);
    const instance = counts.get(guid) ?? 0;
    counts.set(guid, instance + 1);
    const label = p.label ?? name;
    if (label.length > NAME_UNITS)
      throw usage(
        `partition ${i + 1} label ${JSON.stringify(label)} is longer than ${NAME_UNITS} UTF-16 code units`,
      );
    const uuid = (p.uuid ?? repartPartitionGuid(input.seed, guid, instance)).toLowerCase();
    uuidBytes(uuid);
    if (used.has(uuid)) throw usage(`partition ${i + 1} GUID ${uuid} is used twice`);
    used.add(uuid);
    const first = up(next, align / ss);
    let blocks: number;
    if (p.size === 'rest') {
      if (i !== input.partitions.length - 1)
        throw usage(`partition ${i + 1} has size 'rest' but is not the last partition`);
      blocks = lastUsableLba - first + 1;
    } else {
      if (!Number.isSafeInteger(p.size) || p.size <= 0 || p.size % ss !== 0)
        throw usage(
          `partition ${i + 1} (${label}) size ${p.size} is not a positive multiple of the ${ss}-byte sector`,
        );
      blocks = p.size / ss;
    }
    const last = first + blocks - 1;
    if (blocks <= 0 || last > lastUsableLba) {
      const need = (first + Math.max(blocks, 1) - lastUsableLba - 1) * ss;
      throw usage(
        `partition ${i + 1} (${label}) does not fit: it would end at LBA ${last}, the last usable LBA of the ${input.diskSize}-byte disk is ${lastUsableLba}`,
        `the disk needs at least ${need} more bytes`,
      );
    }
    const attributes = p.attributes ?? 0n;
    if (attributes < 0n || attributes >= 1n << 64n)
      throw usage(`partition ${i + 1} attributes ${attributes} are not a u64`);
    out.push({
      index: i + 1,
      typeGuid: guid,
      uuid,
      label,
      attributes,
      firstLba: first,
      lastLba: last,
      offset: first * ss,
      size: blocks * ss,
    });
    next = last + 1;
  });
  return {
    sectorSize: ss,
    diskSize: input.diskSize,
    totalLbas,
    diskGuid: (input.diskGuid ?? repartDiskGuid(input.seed)).toLowerCase(),
    firstUsableLba,
    lastUsableLba,
    entries,
    partitions: out,
  };
}

function entryArray(plan: GptPlan): Uint8Array {
  const a = new Uint8Array(plan.entries * GPT_ENTRY_SIZE);
  const v = new DataView(a.buffer);
  for (const p of plan.partitions) {
    const at = (p.index - 1) * GPT_ENTRY_SIZE;
    a.set(guidFromString(p.typeGuid), at);
    a.set(guidFromString(p.uuid), at + 16);
    v.setBigUint64(at + 32, BigInt(p.firstLba), true);
    v.setBigUint64(at + 40, BigInt(p.lastLba), true);
    v.setBigUint64(at + 48, p.attributes, true);
    for (let c = 0; c < p.label.length; c++)
      v.setUint16(at + GPT_ENTRY_NAME_OFFSET + 2 * c, p.label.charCodeAt(c), true);
  }
  return a;
}

function header(
  plan: GptPlan,
  myLba: number,
  alternateLba: number,
  entriesLba: number,
  entriesCrc: number,
): Uint8Array {
  const h = new Uint8Array(plan.sectorSize);
  const v = new DataView(h.buffer);
  h.set(new TextEncoder().encode('EFI PART'), 0);
  v.setUint32(8, 0x00010000, true);
  v.setUint32(12, GPT_HEADER_SIZE, true);
  v.setBigUint64(24, BigInt(myLba), true);
  v.setBigUint64(32, BigInt(alternateLba), true);
  v.setBigUint64(40, BigInt(plan.firstUsableLba), true);
  v.setBigUint64(48, BigInt(plan.lastUsableLba), true);
  h.set(guidFromString(plan.diskGuid), 56);
  v.setBigUint64(72, BigInt(entriesLba), true);
  v.setUint32(80, plan.entries, true);
  v.setUint32(84, GPT_ENTRY_SIZE, true);
  v.setUint32(88, entriesCrc, true);
  v.setUint32(16, crc32(h.subarray(0, GPT_HEADER_SIZE)), true);
  return h;
}

/** The protective MBR, the primary and the backup GPT of a plan. */
export function gptTableBytes(plan: GptPlan): GptTableBytes {
  const ss = plan.sectorSize;
  const lastLba = plan.totalLbas - 1;
  const array = entryArray(plan);
  const arrayBlocks = Math.ceil(array.length / ss);
  const arrayCrc = crc32(array);
  const head = new Uint8Array((2 + arrayBlocks) * ss);
  const hv = new DataView(head.buffer);
  // protective MBR (UEFI 2.10 Table 5.4): one record of type 0xEE covering the disk
  head.set([0x00, 0x00, 0x02, 0x00, 0xee, 0xff, 0xff, 0xff], 446);
  hv.setUint32(446 + 8, 1, true);
  hv.setUint32(446 + 12, Math.min(plan.totalLbas - 1, 0xffffffff), true);
  head[510] = 0x55;
  head[511] = 0xaa;
  head.set(header(plan, 1, lastLba, 2, arrayCrc), ss);
  head.set(array, 2 * ss);
  const tail = new Uint8Array((arrayBlocks + 1) * ss);
  const backupArrayLba = lastLba - arrayBlocks;
  tail.set(array, 0);
  tail.set(header(plan, lastLba, 1, backupArrayLba, arrayCrc), arrayBlocks * ss);
  return { head, tail, tailOffset: backupArrayLba * ss };
}

/**
 * A whole small disk in memory: the table plus each partition's contents (shorter contents are
 * zero-filled). For tests and small images; big disks are written piecewise from gptTableBytes.
 */
export function gptDiskImage(plan: GptPlan, contents: readonly (Uint8Array | undefined)[] = []): Uint8Array {
  const disk = new Uint8Array(plan.diskSize);
  const t = gptTableBytes(plan);
  disk.set(t.head, 0);
  disk.set(t.tail, t.tailOffset);
  plan.partitions.forEach((p, i) => {
    const c = contents[i];
    if (c === undefined) return;
    if (c.length > p.size)
      throw usage(
        `contents of partition ${p.index} (${p.label}) are ${c.length} bytes, the partition ${p.size}`,
      );
    disk.set(c, p.offset);
  });
  return disk;
}
