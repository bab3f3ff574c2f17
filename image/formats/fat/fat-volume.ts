import { NodeimgError, ParseError } from '../errors.js';
import type { ByteSource } from '../source.js';
import type { FatLayout, FatType } from './boot-sector.js';
import type { FatEntry, FatFs } from './fat-fs.js';
import { ATTR_DIRECTORY } from './dir-entry.js';
import { parseDirectory, type ParsedDirectory } from './directory.js';
import { checkFile, hex4, sortByName, toEntry } from './fat-entry.js';
import { MAX_DIR_DEPTH, walkTree } from './walk.js';
import { readDirectoryChain, readRootRegion } from './dir-reader.js';
import { extentSource } from './extent-source.js';
import { FatTable, type FatExtent } from './table.js';

/** Largest file readFile() loads into memory; stream bigger ones with fileSource(). */
export const MAX_FILE_BYTES = 512 * 1024 * 1024;
const MAX_WARNINGS = 100;
const READ_CHUNK = 16 * 1024 * 1024;

export class FatVolume implements FatFs {
  readonly type: FatType;
  readonly volumeId: string;
  readonly clusterSize: number;
  readonly warnings: string[] = [];
  volumeLabel = '';
  private readonly table: FatTable;
  private readonly root: FatEntry;
  private readonly offsets = new WeakMap<FatEntry, number>();

  constructor(
    private readonly volume: ByteSource,
    private readonly layout: FatLayout,
  ) {
    this.type = layout.type;
    this.clusterSize = layout.clusterSize;
    const id = layout.volumeId;
    this.volumeId = id === undefined ? '' : `${hex4(id >>> 16)}-${hex4(id & 0xffff)}`;
    this.table = new FatTable(volume, layout);
    this.root = {
      path: '/',
      name: '',
      shortName: '',
      isDirectory: true,
      size: 0,
      firstCluster: layout.rootCluster,
      attributes: ATTR_DIRECTORY,
    };
  }

  /** Reads the root directory once: it must parse, and it holds the volume label. */
  async init(): Promise<void> {
    const { label } = await this.readDirectory(this.root);
    const boot = this.layout.bootLabel;
    this.volumeLabel = label ?? (boot === undefined || boot === 'NO NAME' ? '' : boot);
  }

  async list(path: string): Promise<FatEntry[]> {
    const dir = await this.stat(path);
    if (!dir)
      throw new NodeimgError('IO_NOT_FOUND', `${this.volume.name}: no such file or directory: ${path}`);
    if (!dir.isDirectory) throw new NodeimgError('USAGE', `${this.volume.name}: not a directory: ${path}`);
    return sortByName(await this.children(dir));
  }

  async stat(path: string): Promise<FatEntry | undefined> {
    const parts = path.split('/').filter((p) => p !== '');
    if (parts.length > MAX_DIR_DEPTH + 1)
      throw new NodeimgError('USAGE', `path has more than ${MAX_DIR_DEPTH + 1} components: ${path}`);
    let cur = this.root;
    for (const part of parts) {
      if (!cur.isDirectory) return undefined;
      const want = part.toUpperCase();
      // First match in directory order, as firmware finds it; long or short name.
      const next = (await this.children(cur)).find(
        (e) => e.name.toUpperCase() === want || e.shortName.toUpperCase() === want,
      );
      if (!next) return undefined;
      cur = next;
    }
    return cur;
  }

  walk(): AsyncGenerator<FatEntry> {
    return walkTree(
      this.root,
      (dir) => this.children(dir),
      (e) => this.offsetOf(e),
    );
  }

  async readFile(pathOrEntry: string | FatEntry): Promise<Uint8Array> {
    const entry = typeof pathOrEntry === 'string' ? await this.stat(pathOrEntry) : pathOrEntry;
    if (!entry)
      throw new NodeimgError('IO_NOT_FOUND', `${this.volume.name}: no such file: ${String(pathOrEntry)}`);
    checkFile(entry);
    if (entry.size > MAX_FILE_BYTES)
      throw new ParseError(
        'PARSE_LIMIT',
        'FAT directory entry',
        this.offsetOf(entry),
        `file of ${entry.size} bytes exceeds ${MAX_FILE_BYTES}; use fileSource()`,
      );
    // Validate the chain before allocating: it proves the volume really holds `size` bytes.
    const extents = await this.extents(entry);
    const src = extentSource(this.volume, this.layout, entry, `${this.volume.name}:${entry.path}`, () =>
      Promise.resolve(extents),
    );
    const out = new Uint8Array(entry.size);
    for (let off = 0; off < entry.size; off += READ_CHUNK)
      out.set(await src.read(off, Math.min(READ_CHUNK, entry.size - off)), off);
    return out;
  }

  fileSource(entry: FatEntry): ByteSource {
    checkFile(entry);
    return extentSource(this.volume, this.layout, entry, `${this.volume.name}:${entry.path}`, () =>
      this.extents(entry),
    );
  }

  extents(entry: FatEntry): Promise<FatExtent[]> {
    const need = Math.ceil(entry.size / this.clusterSize);
    return this.table.chain(entry.firstCluster, `file ${entry.path}`, { need });
  }

  private async children(dir: FatEntry): Promise<FatEntry[]> {
    const { records } = await this.readDirectory(dir);
    const seen = new Set<string>();
    return records.map((rec) => {
      const key = rec.name.toUpperCase();
      if (seen.has(key)) this.warn(`${dir.path}: duplicate name ${rec.name}; lookups use the first`);
      seen.add(key);
      const entry = toEntry(dir.path, rec);
      this.offsets.set(entry, rec.offset);
      return entry;
    });
  }

  /** Absolute offset of an entry's short directory entry (the volume start if unknown). */
  private offsetOf(entry: FatEntry): number {
    return this.offsets.get(entry) ?? this.volume.base;
  }

  private async readDirectory(dir: FatEntry): Promise<ParsedDirectory> {
    const fat32 = this.type === 'FAT32';
    const { bytes, absAt } =
      dir === this.root && !fat32
        ? await readRootRegion(this.volume, this.layout)
        : await readDirectoryChain(this.volume, this.layout, this.table, dir);
    const found: string[] = [];
    const parsed = parseDirectory(bytes, absAt, fat32, found);
    found.forEach((w) => this.warn(w));
    return dir === this.root ? parsed : { records: parsed.records, label: undefined };
  }

  private warn(message: string): void {
    // Directories are re-read on every lookup; report each oddity once.
    if (this.warnings.length < MAX_WARNINGS && !this.warnings.includes(message)) this.warnings.push(message);
  }
}
