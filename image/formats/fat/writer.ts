// FAT12/16/32 file system writer (Microsoft fatgen103; reproducible-build.md §5 for why not mkfs.fat +
// mtools): a volume image from a declared tree, deterministically. Pure: returns the image as pieces
// (boot sectors, FATs, directories, file data) at byte offsets, or as one array.
//
// Choices, each fixed so that the same inputs give the same bytes anywhere:
// - geometry like mkfs.fat 4.2 (dosfstools) on a fixed disk: FAT32 from 512 MiB up, below that FAT12
//   when it yields at most 4084 clusters of 4 sectors, else FAT16; sectors per cluster from
//   fatgen103's DskTableFAT16 (at least 4, as dosfstools) and DskTableFAT32; 2 FATs; 512 root
//   entries on FAT12/16; 32 reserved sectors on FAT32, 1 on FAT12/16; the reserved area grown so
//   that the data region starts on a cluster boundary (dosfstools "align structures"); media 0xF8,
//   63 sectors/track, 255 heads, drive 0x80. The caller fixes the volume id and label;
// - every timestamp (create, write, access; label entry included) is SOURCE_DATE_EPOCH as UTC,
//   clamped to FAT's 1980-2107 range (FAT stores local time; nodeimg's local time is UTC);
// - directory entries sorted by name (UTF-16 code unit order); clusters allocated from 2 upwards:
//   first every directory (pre-order, root first on FAT32), then every file contiguously in
//   sorted path order; FSInfo free count and next-free hint exact;
// - names: 8.3 as is, all-lower-case 8.3 parts with the NT case bits, anything else as long-name
//   entries with a fatgen103 numeric-tail alias (name-writer.ts).
import { NodeimgError } from '../errors.js';
import { ATTR_ARCHIVE, ATTR_DIRECTORY, ATTR_VOLUME_ID, DIR_ENTRY_SIZE } from './dir-entry.js';
import type { FatType } from './boot-sector.js';
import { MAX_FAT12_CLUSTERS, MAX_FAT16_CLUSTERS, MAX_FAT32_CLUSTERS } from './boot-sector.js';
import { checkLongName, encodeDirectoryNames } from './name-writer.js';

export interface FatFileInput {
  /** '/'-separated path from the root, e.g. "EFI/BOOT/BOOTX64.EFI". */
  readonly path: string;
  readonly data: Uint8Array;
}

export interface FatImageInput {
  /** Volume size in bytes (a multiple of 512). */
  readonly size: number;
  readonly files: readonly FatFileInput[];
  /** Directories to create even when empty. */
  readonly directories?: readonly string[];
  /** BS_VolID (what blkid shows as XXXX-XXXX). */
  readonly volumeId: number;
  /** Volume label, at most 11 characters of A-Z 0-9 space and !#$%&'()-@^_`{}~; none when omitted. */
  readonly label?: string;
  /** Seconds since 1970 for every timestamp; default 315532800 (1980-01-01, FAT's epoch). */
  readonly sourceDateEpoch?: number;
  /** Default: chosen by size as mkfs.fat does. */
  readonly fatType?: FatType;
  /** BPB_HiddSec: the partition's first sector on the disk (mkfs.fat -h); default 0. */
  readonly hiddenSectors?: number;
}

export interface FatPiece {
  readonly offset: number;
  readonly data: Uint8Array;
}

export interface FatPlacedFile {
  readonly path: string;
  readonly firstCluster: number;
  readonly clusters: number;
}

export interface FatImagePlan {
  readonly type: FatType;
  readonly size: number;
  readonly sectorsPerCluster: number;
  readonly clusterSize: number;
  readonly reservedSectors: number;
  readonly fatSectors: number;
  readonly rootEntries: number;
  readonly clusterCount: number;
  readonly dataOffset: number;
  readonly usedClusters: number;
  readonly files: readonly FatPlacedFile[];
  /** Non-zero regions of the image; everything else is zero. */
  readonly pieces: readonly FatPiece[];
}

const SECTOR = 512;
const NUM_FATS = 2;
const FAT_EPOCH = 315_532_800; // 1980-01-01T00:00:00Z
const MAX_FILE = 0xffffffff;
const MAX_DIR_ENTRIES = 65536;
const MiB = 1024 * 1024;
/** dosfstools aligns the structures to clusters on volumes this big (8 MiB) and up. */
const ALIGN_FROM_SECTORS = 16384;

function usage(message: string, hint?: string): NodeimgError {
  return new NodeimgError('USAGE', message, hint === undefined ? {} : { hint });
}

// ---------------------------------------------------------------- geometry

interface Geometry {
  readonly type: FatType;
  readonly spc: number;
  readonly reserved: number;
  readonly fatSz: number;
  readonly rootEntries: number;
  readonly clusters: number;
}

const LIMITS: Record<FatType, { min: number; max: number; bits: number }> = {
  FAT12: { min: 1, max: MAX_FAT12_CLUSTERS, bits: 12 },
  FAT16: { min: MAX_FAT12_CLUSTERS + 1, max: MAX_FAT16_CLUSTERS, bits: 16 },
  FAT32: { min: MAX_FAT16_CLUSTERS + 1, max: MAX_FAT32_CLUSTERS, bits: 32 },
};

/** fatgen103 DskTableFAT32 / DskTableFAT16 (with dosfstools' minimum of 4 sectors on FAT12/16). */
function tableSpc(type: FatType, sectors: number): number {
  if (type === 'FAT32')
    return sectors <= 532_480
      ? 1
      : sectors <= 16_777_216
        ? 8
        : sectors <= 33_554_432
          ? 16
          : sectors <= 67_108_864
            ? 32
            : 64;
  if (type === 'FAT16')
    return sectors <= 262_144
      ? 4
      : sectors <= 524_288
        ? 8
        : sectors <= 1_048_576
          ? 16
          : sectors <= 2_097_152
            ? 32
            : sectors <= 4_194_304
              ? 64
              : 128;
  return 4;
}

/**
 * Reserved area, FAT size and cluster count for a type and cluster size: the smallest FAT that
 * holds an entry for every cluster. From 8 MiB up, as dosfstools' align_structures does, the
 * reserved area, each FAT and the root directory are whole clusters, so the data region starts on
 * a cluster boundary.
 */
function layout(type: FatType, spc: number, sectors: number): Geometry {
  const align = sectors >= ALIGN_FROM_SECTORS ? spc : 1;
  const up = (n: number) => Math.ceil(n / align) * align;
  const rootEntries = type === 'FAT32' ? 0 : (up((512 * DIR_ENTRY_SIZE) / SECTOR) * SECTOR) / DIR_ENTRY_SIZE;
  const rootSecs = (rootEntries * DIR_ENTRY_SIZE) / SECTOR;
  const bits = LIMITS[type].bits;
  const reserved = up(type === 'FAT32' ? 32 : 1);
  const clustersFor = (fatSz: number) =>
    Math.max(0, Math.floor((sectors - reserved - NUM_FATS * fatSz - rootSecs) / spc));
  const fits = (fatSz: number) => Math.ceil(((clustersFor(fatSz) + 2) * bits) / 8 / SECTOR) <= fatSz;
  // fits() turns true at one point as fatSz grows: binary search for it
  let lo = 1;
  let hi = Math.max(1, Math.ceil(((sectors / spc + 2) * bits) / 8 / SECTOR));
  while (lo < hi) {
    const mid = Math.floor((lo + hi) / 2);
    if (fits(mid)) hi = mid;
    else lo = mid + 1;
  }
  const fatSz = up(lo);
  return { type, spc, reserved, fatSz, rootEntries, clusters: clustersFor(fatSz) };
}

function geometry(size: number, wanted: FatType | undefined): Geometry {
  const sectors = size / SECTOR;
  const fits = (g: Geometry) =>
    g.clusters >= LIMITS[g.type].min &&
    g.clusters <= LIMITS[g.type].max &&
    g.reserved <= 0xffff &&
    (g.type === 'FAT32' || g.fatSz <= 0xffff);
  let type: FatType;
  if (wanted !== undefined) type = wanted;
  else if (size >= 512 * MiB) type = 'FAT32';
  else type = fits(layout('FAT12', 4, sectors)) ? 'FAT12' : 'FAT16';
  let spc = tableSpc(type, sectors);
  let g = layout(type, spc, sectors);
  // an explicit type on an unusual size: move the cluster size until the count is legal
  while (g.clusters < LIMITS[type].min && spc > 1) g = layout(type, (spc /= 2), sectors);
  while (g.clusters > LIMITS[type].max && spc < 128) g = layout(type, (spc *= 2), sectors);
  if (!fits(g)) {
    throw usage(
      `a ${size}-byte volume cannot hold a ${type} file system (${g.clusters} clusters of ${spc * SECTOR} bytes; ${type} needs ${LIMITS[type].min} to ${LIMITS[type].max})`,
      type === 'FAT32'
        ? 'FAT32 needs at least 65525 clusters: about 33 MiB with 512-byte clusters'
        : undefined,
    );
  }
  return g;
}

// ---------------------------------------------------------------- tree

interface FileNode {
  readonly kind: 'file';
  readonly name: string;
  readonly path: string;
  readonly data: Uint8Array;
  firstCluster: number;
  clusters: number;
}

interface DirNode {
  readonly kind: 'dir';
  readonly name: string;
  readonly path: string;
  readonly children: Map<string, Node>;
  firstCluster: number;
  clusters: number;
}

type Node = FileNode | DirNode;

function components(path: string, what: string): string[] {
  const parts = path.split('/');
  if (parts.some((p) => p === ''))
    throw usage(`${what} ${JSON.stringify(path)} has an empty component (leading, trailing or double '/')`);
  for (const p of parts) checkLongName(p, `${what} ${JSON.stringify(path)}`);
  return parts;
}

function buildTree(input: FatImageInput): DirNode {
  const root: DirNode = {
    kind: 'dir',
    name: '',
    path: '',
    children: new Map(),
    firstCluster: 0,
    clusters: 0,
  };
  const dirAt = (parts: readonly string[], full: string): DirNode => {
    let cur = root;
    for (const [i, part] of parts.entries()) {
      const k = part.toUpperCase();
      const existing = cur.children.get(k);
      const path = parts.slice(0, i + 1).join('/');
      if (existing === undefined) {
        const d: DirNode = {
          kind: 'dir',
          name: part,
          path,
          children: new Map(),
          firstCluster: 0,
          clusters: 0,
        };
        cur.children.set(k, d);
        cur = d;
      } else if (existing.kind === 'file') {
        throw usage(`${JSON.stringify(full)}: ${JSON.stringify(existing.path)} is a file, not a directory`);
      } else if (existing.name !== part) {
        throw usage(
          `${JSON.stringify(full)}: ${JSON.stringify(path)} and ${JSON.stringify(existing.path)} differ only in case, which FAT does not tell apart`,
        );
      } else cur = existing;
    }
    return cur;
  };
  for (const d of input.directories ?? []) dirAt(components(d, 'directory'), d);
  for (const f of input.files) {
    const parts = components(f.path, 'file');
    const parent = dirAt(parts.slice(0, -1), f.path);
    const name = parts[parts.length - 1] as string;
    const k = name.toUpperCase();
    const existing = parent.children.get(k);
    if (existing !== undefined) {
      throw usage(
        existing.path === f.path
          ? `${JSON.stringify(f.path)} is given twice`
          : `${JSON.stringify(f.path)} and ${JSON.stringify(existing.path)} name the same FAT entry (names are case-insensitive)`,
      );
    }
    if (f.data.length > MAX_FILE)
      throw usage(`${JSON.stringify(f.path)} is ${f.data.length} bytes; FAT files hold at most 4 GiB - 1`);
    parent.children.set(k, { kind: 'file', name, path: f.path, data: f.data, firstCluster: 0, clusters: 0 });
  }
  return root;
}

const byName = (a: Node, b: Node): number => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

function sorted(d: DirNode): Node[] {
  return [...d.children.values()].sort(byName);
}

// ---------------------------------------------------------------- timestamps

interface FatTime {
  readonly date: number;
  readonly time: number;
  readonly tenth: number;
}

export function fatTime(epoch: number): FatTime {
  const lo = FAT_EPOCH;
  const hi = Date.UTC(2107, 11, 31, 23, 59, 59) / 1000;
  const d = new Date(Math.min(Math.max(epoch, lo), hi) * 1000);
  const s = d.getUTCSeconds();
  return {
    date: ((d.getUTCFullYear() - 1980) << 9) | ((d.getUTCMonth() + 1) << 5) | d.getUTCDate(),
    time: (d.getUTCHours() << 11) | (d.getUTCMinutes() << 5) | (s >> 1),
    tenth: (s & 1) * 100,
  };
}

// ---------------------------------------------------------------- encoding

function shortEntry(
  raw: Uint8Array,
  attr: number,
  ntCase: number,
  cluster: number,
  size: number,
  t: FatTime,
  fat32: boolean,
): Uint8Array {
  const e = new Uint8Array(DIR_ENTRY_SIZE);
  const v = new DataView(e.buffer);
  e.set(raw, 0);
  e[11] = attr;
  e[12] = ntCase;
  e[13] = t.tenth;
  v.setUint16(14, t.time, true);
  v.setUint16(16, t.date, true);
  v.setUint16(18, t.date, true);
  v.setUint16(20, fat32 ? cluster >>> 16 : 0, true);
  v.setUint16(22, t.time, true);
  v.setUint16(24, t.date, true);
  v.setUint16(26, cluster & 0xffff, true);
  v.setUint32(28, size, true);
  return e;
}

const DOT_RAW = Uint8Array.from('.          ', (c) => c.charCodeAt(0));
const DOTDOT_RAW = Uint8Array.from('..         ', (c) => c.charCodeAt(0));

function checkLabel(label: string): Uint8Array {
  if (!/^[A-Z0-9 !#$%&'()\-@^_`{}~]{1,11}$/.test(label) || label.startsWith(' ')) {
    throw usage(
      `volume label ${JSON.stringify(label)} is not 1-11 characters of A-Z 0-9 space !#$%&'()-@^_\`{}~ (not starting with a space)`,
    );
  }
  return Uint8Array.from(label.padEnd(11, ' '), (c) => c.charCodeAt(0));
}

/** The directory's entries ('.', '..', label, children), before cluster numbers are known for the children. */
function entryCount(
  names: ReturnType<typeof encodeDirectoryNames>,
  isRoot: boolean,
  hasLabel: boolean,
): number {
  return (isRoot ? (hasLabel ? 1 : 0) : 2) + names.reduce((n, x) => n + 1 + x.lfn.length, 0);
}

function fatBytes(
  type: FatType,
  fatSz: number,
  chains: readonly { first: number; count: number }[],
  clusters: number,
): Uint8Array {
  const out = new Uint8Array(fatSz * SECTOR);
  const v = new DataView(out.buffer);
  const eoc = type === 'FAT12' ? 0xfff : type === 'FAT16' ? 0xffff : 0x0fffffff;
  const set = (n: number, value: number): void => {
    if (type === 'FAT32') v.setUint32(n * 4, value, true);
    else if (type === 'FAT16') v.setUint16(n * 2, value, true);
    else {
      const at = Math.floor((n * 3) / 2);
      const old = v.getUint16(at, true);
      v.setUint16(at, n & 1 ? (old & 0x000f) | (value << 4) : (old & 0xf000) | value, true);
    }
  };
  set(0, type === 'FAT12' ? 0xff8 : type === 'FAT16' ? 0xfff8 : 0x0ffffff8);
  set(1, eoc);
  for (const c of chains) {
    if (c.first + c.count - 1 > clusters + 1)
      throw new NodeimgError('INTERNAL', 'cluster chain past the end of the FAT');
    for (let i = 0; i < c.count; i++) set(c.first + i, i === c.count - 1 ? eoc : c.first + i + 1);
  }
  return out;
}

function bootSector(
  g: Geometry,
  totalSectors: number,
  input: FatImageInput,
  label: Uint8Array | undefined,
): Uint8Array {
  const b = new Uint8Array(SECTOR);
  const v = new DataView(b.buffer);
  const fat32 = g.type === 'FAT32';
  b.set(fat32 ? [0xeb, 0x58, 0x90] : [0xeb, 0x3c, 0x90], 0);
  b.set(
    Uint8Array.from('MSWIN4.1', (c) => c.charCodeAt(0)),
    3,
  );
  v.setUint16(11, SECTOR, true);
  b[13] = g.spc;
  v.setUint16(14, g.reserved, true);
  b[16] = NUM_FATS;
  v.setUint16(17, g.rootEntries, true);
  const small = !fat32 && totalSectors < 0x10000;
  v.setUint16(19, small ? totalSectors : 0, true);
  b[21] = 0xf8;
  v.setUint16(22, fat32 ? 0 : g.fatSz, true);
  v.setUint16(24, 63, true);
  v.setUint16(26, 255, true);
  v.setUint32(28, input.hiddenSectors ?? 0, true);
  v.setUint32(32, small ? 0 : totalSectors, true);
  let tail = 36;
  if (fat32) {
    v.setUint32(36, g.fatSz, true);
    v.setUint16(40, 0, true); // ExtFlags: FATs mirrored
    v.setUint16(42, 0, true); // FSVer 0.0
    v.setUint32(44, 2, true); // root directory cluster
    v.setUint16(48, 1, true); // FSInfo sector
    v.setUint16(50, 6, true); // backup boot sector
    tail = 64;
  }
  b[tail] = 0x80;
  b[tail + 2] = 0x29;
  v.setUint32(tail + 3, input.volumeId >>> 0, true);
  b.set(label ?? Uint8Array.from('NO NAME    ', (c) => c.charCodeAt(0)), tail + 7);
  b.set(
    Uint8Array.from(`${g.type}   `, (c) => c.charCodeAt(0)),
    tail + 18,
  );
  // boot code: hlt; jmp $-1 (nobody boots an ESP through its boot sector, but the jump lands here)
  b.set([0xf4, 0xeb, 0xfd], tail + 26);
  b[510] = 0x55;
  b[511] = 0xaa;
  return b;
}

function fsInfo(free: number, nextFree: number): Uint8Array {
  const s = new Uint8Array(SECTOR);
  const v = new DataView(s.buffer);
  v.setUint32(0, 0x41615252, true);
  v.setUint32(484, 0x61417272, true);
  v.setUint32(488, free, true);
  v.setUint32(492, nextFree, true);
  v.setUint32(508, 0xaa550000, true);
  return s;
}

/**
 * Lays out the volume. Throws NodeimgError('USAGE') before writing anything when the inputs are
 * malformed (paths, names, label, sizes) or the tree does not fit.
 */
export function planFat(input: FatImageInput): FatImagePlan {
  if (!Number.isSafeInteger(input.size) || input.size <= 0 || input.size % SECTOR !== 0)
    throw usage(`FAT volume size ${input.size} is not a positive multiple of ${SECTOR}`);
  if (!Number.isSafeInteger(input.volumeId) || input.volumeId < 0 || input.volumeId > 0xffffffff)
    throw usage(`volume id ${input.volumeId} is not a u32`);
  const hidden = input.hiddenSectors ?? 0;
  if (!Number.isSafeInteger(hidden) || hidden < 0 || hidden > 0xffffffff)
    throw usage(`hidden sectors ${hidden} is not a u32`);
  const epoch = input.sourceDateEpoch ?? FAT_EPOCH;
  if (!Number.isFinite(epoch)) throw usage(`SOURCE_DATE_EPOCH ${epoch} is not a number`);
  const label = input.label === undefined ? undefined : checkLabel(input.label);
  const root = buildTree(input);
  const g = geometry(input.size, input.fatType);
  const fat32 = g.type === 'FAT32';
  const clusterSize = g.spc * SECTOR;
  const t = fatTime(Math.floor(epoch));

  // Names and sizes of every directory, then cluster allocation: directories first, then files.
  const dirs: {
    node: DirNode;
    parent: DirNode | undefined;
    children: Node[];
    names: ReturnType<typeof encodeDirectoryNames>;
    entries: number;
  }[] = [];
  const files: FileNode[] = [];
  const visit = (d: DirNode, parent: DirNode | undefined): void => {
    const children = sorted(d);
    const names = encodeDirectoryNames(children.map((c) => c.name));
    const entries = entryCount(names, parent === undefined, label !== undefined);
    if (entries > MAX_DIR_ENTRIES)
      throw usage(
        `directory ${JSON.stringify(d.path || '/')} needs ${entries} entries; FAT allows ${MAX_DIR_ENTRIES}`,
      );
    if (parent === undefined && !fat32 && entries > g.rootEntries) {
      throw usage(
        `the ${g.type} root directory holds ${g.rootEntries} entries; this tree needs ${entries}`,
        'put files in subdirectories or use FAT32',
      );
    }
    dirs.push({ node: d, parent, children, names, entries });
    for (const c of children) if (c.kind === 'dir') visit(c, d);
  };
  visit(root, undefined);
  const collectFiles = (d: DirNode): void => {
    for (const c of sorted(d)) {
      if (c.kind === 'file') files.push(c);
      else collectFiles(c);
    }
  };
  collectFiles(root);

  let next = 2;
  const chains: { first: number; count: number }[] = [];
  const allocate = (n: { firstCluster: number; clusters: number }, count: number): void => {
    n.clusters = count;
    n.firstCluster = count === 0 ? 0 : next;
    if (count > 0) chains.push({ first: next, count });
    next += count;
  };
  for (const d of dirs) {
    if (d.parent === undefined && !fat32) continue; // FAT12/16 root lives in its fixed region
    allocate(d.node, Math.max(1, Math.ceil((d.entries * DIR_ENTRY_SIZE) / clusterSize)));
  }
  for (const f of files) allocate(f, Math.ceil(f.data.length / clusterSize));
  const used = next - 2;
  if (used > g.clusters) {
    const need = used * clusterSize;
    throw usage(
      `the files do not fit: they need ${used} clusters (${need} bytes) but the ${input.size}-byte ${g.type} volume has ${g.clusters} clusters of ${clusterSize} bytes`,
      `make the volume at least ${Math.ceil((input.size + (used - g.clusters) * clusterSize) / MiB)} MiB`,
    );
  }

  const dataOffset = (g.reserved + NUM_FATS * g.fatSz) * SECTOR + g.rootEntries * DIR_ENTRY_SIZE;
  const clusterOffset = (c: number): number => dataOffset + (c - 2) * clusterSize;
  const pieces: FatPiece[] = [];
  const totalSectors = input.size / SECTOR;
  const boot = bootSector(g, totalSectors, input, label);
  pieces.push({ offset: 0, data: boot });
  if (fat32) {
    const info = fsInfo(g.clusters - used, used < g.clusters ? next : 0xffffffff);
    pieces.push(
      { offset: SECTOR, data: info },
      { offset: 6 * SECTOR, data: boot },
      { offset: 7 * SECTOR, data: info },
    );
  }
  const fat = fatBytes(g.type, g.fatSz, chains, g.clusters);
  for (let i = 0; i < NUM_FATS; i++) pieces.push({ offset: (g.reserved + i * g.fatSz) * SECTOR, data: fat });

  for (const d of dirs) {
    const isRoot = d.parent === undefined;
    const size = isRoot && !fat32 ? g.rootEntries * DIR_ENTRY_SIZE : d.node.clusters * clusterSize;
    const bytes = new Uint8Array(size);
    let at = 0;
    const put = (e: Uint8Array): void => {
      bytes.set(e, at);
      at += DIR_ENTRY_SIZE;
    };
    if (isRoot) {
      if (label) put(shortEntry(label, ATTR_VOLUME_ID, 0, 0, 0, t, fat32));
    } else {
      put(shortEntry(DOT_RAW, ATTR_DIRECTORY, 0, d.node.firstCluster, 0, t, fat32));
      // '..' of a directory in the root points at cluster 0, also on FAT32 (fatgen103 §6.7)
      put(
        shortEntry(
          DOTDOT_RAW,
          ATTR_DIRECTORY,
          0,
          d.parent?.path === '' ? 0 : (d.parent?.firstCluster ?? 0),
          0,
          t,
          fat32,
        ),
      );
    }
    d.children.forEach((c, i) => {
      const n = d.names[i] as ReturnType<typeof encodeDirectoryNames>[number];
      for (const l of n.lfn) put(l);
      put(
        shortEntry(
          n.raw,
          c.kind === 'dir' ? ATTR_DIRECTORY : ATTR_ARCHIVE,
          n.ntCase,
          c.firstCluster,
          c.kind === 'file' ? c.data.length : 0,
          t,
          fat32,
        ),
      );
    });
    pieces.push({
      offset:
        isRoot && !fat32 ? (g.reserved + NUM_FATS * g.fatSz) * SECTOR : clusterOffset(d.node.firstCluster),
      data: bytes,
    });
  }
  for (const f of files)
    if (f.data.length > 0) pieces.push({ offset: clusterOffset(f.firstCluster), data: f.data });

  return {
    type: g.type,
    size: input.size,
    sectorsPerCluster: g.spc,
    clusterSize,
    reservedSectors: g.reserved,
    fatSectors: g.fatSz,
    rootEntries: g.rootEntries,
    clusterCount: g.clusters,
    dataOffset,
    usedClusters: used,
    files: files.map((f) => ({ path: f.path, firstCluster: f.firstCluster, clusters: f.clusters })),
    pieces,
  };
}

/** The whole volume as one array (the pieces over zeros). */
export function fatImageBytes(plan: FatImagePlan): Uint8Array {
  const out = new Uint8Array(plan.size);
  for (const p of plan.pieces) out.set(p.data, p.offset);
  return out;
}

/** planFat + fatImageBytes. */
export function writeFat(input: FatImageInput): Uint8Array {
  return fatImageBytes(planFat(input));
}
