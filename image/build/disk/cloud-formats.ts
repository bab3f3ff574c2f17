// Cloud disk formats made from a raw disk image, deterministically and streamed (the raw image is
// read in 4 MiB chunks, never whole):
//
// - qcow2: `qemu-img convert -f raw -O qcow2` with every creation option pinned (compat 1.1, 64 KiB
//   clusters, 16-bit refcounts, no lazy refcounts, no extended L2, zlib, no preallocation) so that
//   the output does not follow qemu-img's defaults. qcow2 stores no timestamps; writes are in order
//   (no -W), so two conversions are byte-identical. Checked with `qemu-img check` and
//   `qemu-img info --output=json` (checkQcow2).
// - Azure fixed VHD: the raw disk zero-padded to a whole MiB (Azure requires a 1 MiB-aligned
//   virtual size) followed by the 512-byte footer from image/formats/vhd (timestamp from
//   SOURCE_DATE_EPOCH, creator "nimg", host OS "Wi2k", unique id = the first 16 bytes of the
//   sha256 of the padded disk, as a version 4 UUID, unless one is given). The file is written
//   sparse: all-zero 64 KiB blocks are left as holes. Note: qemu's vpc driver takes the virtual
//   size from the CHS geometry for creator apps it does not know (it knows "win ", "d2v ", "qem2",
//   "CTXS", "tap"), so plain `qemu-img info disk.vhd` reports C*H*S*512 bytes (a little less);
//   `--image-opts driver=vpc,force_size_calc=current_size,...` shows the footer's size, which is
//   what Azure uses. Pass creatorApp "win " for Hyper-V's behaviour in qemu.
// - GCE image tarball: disk.raw in a gzip'd tar, written with tar-stream. One oldgnu header
//   ("ustar  \0" magic, as `tar --format=oldgnu` writes; base-256 size field beyond 8 GiB), mode
//   0644, uid/gid 0, uname/gname "root", mtime SOURCE_DATE_EPOCH. The entry is a plain (not sparse)
//   file: GCE accepts both, a sparse entry only saves tar bytes that gzip compresses to almost
//   nothing anyway. gzip: no name, mtime 0, OS byte pinned to Unix (3). GCE wants disk.raw to be a
//   whole number of GiB; writeGceTarball refuses other sizes unless allowAnySize is set. The
//   uncompressed tar is byte-identical to `tar --format=oldgnu --mtime=@EPOCH --owner=root:0
//   --group=root:0 --mode=0644 -cf` of the same disk.raw (header fields, end blocks and the padding
//   to a 10 KiB record included).
//
// Every writer writes `.<name>.partial` next to the output and renames it when complete.
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, open, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { constants as zlibConstants, createGzip } from 'node:zlib';
import { pack as tarPack } from 'tar-stream';
import { NodeimgError } from '../../formats/errors.js';
import {
  GZIP_HEADER_SIZE,
  normalizeGzipHeader,
  TAR_BLOCK,
  toOldGnuHeader,
} from '../../formats/archive/index.js';
import {
  encodeVhdFooter,
  parseVhdFooter,
  readFixedVhd,
  vhdTimestamp,
  vhdUniqueIdFrom,
  VHD_FOOTER_SIZE,
  type VhdFooter,
} from '../../formats/vhd/index.js';
import { withFileSource } from '../../file-source.js';
import { DEFAULT_SOURCE_DATE_EPOCH, runTool } from '../run-tool.js';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;
const CHUNK = 4 * MiB;
const HOLE = 64 * 1024;

export type CloudFormat = 'qcow2' | 'vhd' | 'gce';

export interface CloudFormatOptions {
  /** Default 1700000000 (the same default as the build tools). */
  readonly sourceDateEpoch?: number;
}

export interface VhdOptions extends CloudFormatOptions {
  /** 16 bytes; default derived from the sha256 of the padded disk. */
  readonly uniqueId?: Uint8Array;
  /** Default "nimg" (see the file comment about qemu). */
  readonly creatorApp?: string;
}

export interface GceOptions extends CloudFormatOptions {
  /** gzip level 1-9; default 6 (zlib's default). */
  readonly level?: number;
  /** Accept a disk.raw that is not a whole number of GiB (GCE rejects those; for tests). */
  readonly allowAnySize?: boolean;
}

export interface WrittenVhd {
  readonly path: string;
  /** The raw size rounded up to a whole MiB. */
  readonly virtualSize: number;
  readonly footer: VhdFooter;
}

export interface Qcow2Check {
  readonly virtualSize: number;
  readonly actualSize: number;
  readonly clusterSize: number;
  readonly compat: string;
}

async function sizeOf(path: string): Promise<number> {
  const st = await stat(path).catch((err: unknown) => {
    throw new NodeimgError('IO_NOT_FOUND', `cannot read ${path}: ${(err as Error).message}`, { cause: err });
  });
  if (!st.isFile()) throw new NodeimgError('USAGE', `${path} is not a regular file`);
  if (st.size === 0 || st.size % 512 !== 0)
    throw new NodeimgError(
      'USAGE',
      `${path}: a raw disk image is a positive multiple of 512 bytes, not ${st.size}`,
    );
  return st.size;
}

/** Runs `body` on a temporary name next to `out`, renames it to `out` when body succeeds. */
async function atomically<T>(out: string, body: (tmp: string) => Promise<T>): Promise<T> {
  await mkdir(dirname(out), { recursive: true });
  const tmp = join(dirname(out), `.${basename(out)}.partial`);
  await rm(tmp, { force: true });
  try {
    const r = await body(tmp);
    await rename(tmp, out);
    return r;
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}

function isZero(b: Uint8Array): boolean {
  const n = Math.floor(b.length / 8);
  if (b.byteOffset % 8 === 0) {
    const w = new BigUint64Array(b.buffer, b.byteOffset, n);
    for (const x of w) if (x !== 0n) return false;
    for (let i = n * 8; i < b.length; i++) if (b[i] !== 0) return false;
    return true;
  }
  return b.every((x) => x === 0);
}

// ---------------------------------------------------------------------------------------------
// qcow2

/** The creation options nodeimg pins (qemu-img's defaults may change between releases). */
export const QCOW2_OPTIONS =
  'compat=1.1,cluster_size=65536,refcount_bits=16,lazy_refcounts=off,extended_l2=off,compression_type=zlib,preallocation=off';

/** Converts `raw` to qcow2 at `out` with qemu-img, then checks the result (checkQcow2). */
export async function writeQcow2(
  raw: string,
  out: string,
  opts: CloudFormatOptions = {},
): Promise<Qcow2Check> {
  const size = await sizeOf(raw);
  return atomically(out, async (tmp) => {
    await runTool('qemu-img', ['convert', '-q', '-f', 'raw', '-O', 'qcow2', '-o', QCOW2_OPTIONS, raw, tmp], {
      sourceDateEpoch: opts.sourceDateEpoch ?? DEFAULT_SOURCE_DATE_EPOCH,
    });
    const check = await checkQcow2(tmp);
    if (check.virtualSize !== size)
      throw new NodeimgError(
        'CHECK_FAILED',
        `qemu-img made a ${check.virtualSize}-byte qcow2 of a ${size}-byte disk`,
      );
    return check;
  });
}

/** `qemu-img check` (no errors, no leaks) and `qemu-img info --output=json` of a qcow2 file. */
export async function checkQcow2(path: string): Promise<Qcow2Check> {
  const check = JSON.parse(
    (await runTool('qemu-img', ['check', '-f', 'qcow2', '--output=json', path])).stdout,
  ) as {
    'check-errors'?: number;
    leaks?: number;
    corruptions?: number;
  };
  const problems = (['check-errors', 'leaks', 'corruptions'] as const).filter((k) => (check[k] ?? 0) !== 0);
  if (problems.length > 0)
    throw new NodeimgError(
      'CHECK_FAILED',
      `qemu-img check ${path}: ${problems.map((k) => `${k} ${check[k]}`).join(', ')}`,
    );
  const info = JSON.parse(
    (await runTool('qemu-img', ['info', '-f', 'qcow2', '--output=json', path])).stdout,
  ) as {
    format?: string;
    'virtual-size'?: number;
    'actual-size'?: number;
    'cluster-size'?: number;
    'format-specific'?: { data?: { compat?: string } };
  };
  if (info.format !== 'qcow2' || typeof info['virtual-size'] !== 'number')
    throw new NodeimgError(
      'CHECK_FAILED',
      `qemu-img info ${path}: not a qcow2 image (${String(info.format)})`,
    );
  return {
    virtualSize: info['virtual-size'],
    actualSize: info['actual-size'] ?? 0,
    clusterSize: info['cluster-size'] ?? 0,
    compat: info['format-specific']?.data?.compat ?? '',
  };
}

// ---------------------------------------------------------------------------------------------
// Azure fixed VHD

/** Writes `raw` as an Azure fixed VHD at `out` (see the file comment). */
export async function writeVhd(raw: string, out: string, opts: VhdOptions = {}): Promise<WrittenVhd> {
  const size = await sizeOf(raw);
  const virtualSize = Math.ceil(size / MiB) * MiB;
  const timestamp = vhdTimestamp(opts.sourceDateEpoch ?? DEFAULT_SOURCE_DATE_EPOCH);
  if (opts.uniqueId && opts.uniqueId.length !== 16)
    throw new NodeimgError('USAGE', `a VHD unique id is 16 bytes, got ${opts.uniqueId.length}`);
  return atomically(out, async (tmp) => {
    const fh = await open(tmp, 'wx');
    try {
      await fh.truncate(virtualSize + VHD_FOOTER_SIZE);
      const hash = createHash('sha256');
      let at = 0;
      for await (const chunk of createReadStream(raw, { highWaterMark: CHUNK })) {
        const b = chunk as Buffer;
        hash.update(b);
        for (let i = 0; i < b.length; i += HOLE) {
          const piece = b.subarray(i, Math.min(i + HOLE, b.length));
          if (!isZero(piece)) await fh.write(piece, 0, piece.length, at + i);
        }
        at += b.length;
      }
      if (at !== size) throw new NodeimgError('IO_FAILED', `${raw} changed size while it was copied`);
      if (virtualSize > size) hash.update(new Uint8Array(virtualSize - size));
      const uniqueId = opts.uniqueId ?? vhdUniqueIdFrom(hash.digest());
      const footerBytes = encodeVhdFooter({
        currentSize: virtualSize,
        timestamp,
        uniqueId,
        ...(opts.creatorApp === undefined ? {} : { creatorApp: opts.creatorApp }),
      });
      await fh.write(footerBytes, 0, footerBytes.length, virtualSize);
      await fh.close();
      return { path: out, virtualSize, footer: parseVhdFooter(footerBytes, virtualSize, out) };
    } catch (err) {
      await fh.close().catch(() => undefined);
      throw err;
    }
  });
}

// ---------------------------------------------------------------------------------------------
// GCE image tarball

/** Rewrites the first `size` bytes of a stream with `fix` and passes the rest through. */
function fixHead(size: number, fix: (head: Uint8Array) => Uint8Array): Transform {
  let head: Buffer[] | null = [];
  let got = 0;
  return new Transform({
    transform(chunk: Buffer, _enc, done: TransformCallback) {
      if (head === null) return done(null, chunk);
      head.push(chunk);
      got += chunk.length;
      if (got < size) return done();
      const all = Buffer.concat(head);
      head = null;
      try {
        this.push(fix(all.subarray(0, size)));
      } catch (err) {
        return done(
          new NodeimgError('INTERNAL', `stream header fix-up failed: ${(err as Error).message}`, {
            cause: err,
          }),
        );
      }
      done(null, all.subarray(size));
    },
    flush(done: TransformCallback) {
      done(
        head === null ? null : new NodeimgError('INTERNAL', `stream ended before its ${size}-byte header`),
      );
    },
  });
}

/** GNU tar's record: 20 blocks of 512 bytes; an archive is padded with zeros to a whole record. */
const TAR_RECORD = 20 * TAR_BLOCK;

/** Passes a stream through and appends zeros up to a multiple of `record` bytes. */
function padTo(record: number): Transform {
  let total = 0;
  return new Transform({
    transform(chunk: Buffer, _enc, done: TransformCallback) {
      total += chunk.length;
      done(null, chunk);
    },
    flush(done: TransformCallback) {
      const rest = (record - (total % record)) % record;
      done(null, rest > 0 ? Buffer.alloc(rest) : undefined);
    },
  });
}

/** Writes `raw` as disk.raw in a gzip'd oldgnu tar at `out` (see the file comment). */
export async function writeGceTarball(
  raw: string,
  out: string,
  opts: GceOptions = {},
): Promise<{ path: string }> {
  const size = await sizeOf(raw);
  if (!opts.allowAnySize && size % GiB !== 0)
    throw new NodeimgError(
      'USAGE',
      `GCE needs disk.raw to be a whole number of GiB; ${raw} is ${size} bytes`,
      {
        hint: 'make the disk a multiple of 1 GiB',
      },
    );
  const level = opts.level ?? 6;
  if (!Number.isInteger(level) || level < 1 || level > 9)
    throw new NodeimgError('USAGE', `gzip level ${level} is not 1-9`);
  const mtime = new Date((opts.sourceDateEpoch ?? DEFAULT_SOURCE_DATE_EPOCH) * 1000);
  return atomically(out, async (tmp) => {
    const pack = tarPack();
    const writing = pipeline(
      pack,
      fixHead(TAR_BLOCK, toOldGnuHeader),
      padTo(TAR_RECORD),
      createGzip({ level, chunkSize: 256 * 1024, strategy: zlibConstants.Z_DEFAULT_STRATEGY }),
      fixHead(GZIP_HEADER_SIZE, normalizeGzipHeader),
      createWriteStream(tmp, { flags: 'wx' }),
    );
    const entry = pack.entry({
      name: 'disk.raw',
      size,
      mode: 0o644,
      mtime,
      uid: 0,
      gid: 0,
      uname: 'root',
      gname: 'root',
      type: 'file',
    });
    const copying = pipeline(createReadStream(raw, { highWaterMark: CHUNK }), entry).then(() =>
      pack.finalize(),
    );
    await Promise.all([copying, writing]);
    return { path: out };
  });
}

// ---------------------------------------------------------------------------------------------

export interface CloudImages {
  readonly qcow2?: Qcow2Check & { readonly path: string };
  readonly vhd?: WrittenVhd;
  readonly gce?: { readonly path: string };
}

/**
 * Writes the chosen formats of `raw` into `outDir` as disk.qcow2, disk.vhd and disk.tar.gz, one
 * after the other.
 */
export async function writeCloudImages(
  raw: string,
  outDir: string,
  formats: readonly CloudFormat[],
  opts: CloudFormatOptions & Omit<VhdOptions, 'uniqueId'> & Omit<GceOptions, 'level'> = {},
): Promise<CloudImages> {
  const result: { -readonly [K in keyof CloudImages]: CloudImages[K] } = {};
  const common = opts.sourceDateEpoch === undefined ? {} : { sourceDateEpoch: opts.sourceDateEpoch };
  if (formats.includes('qcow2')) {
    const path = join(outDir, 'disk.qcow2');
    result.qcow2 = { path, ...(await writeQcow2(raw, path, common)) };
  }
  if (formats.includes('vhd'))
    result.vhd = await writeVhd(raw, join(outDir, 'disk.vhd'), {
      ...common,
      ...(opts.creatorApp === undefined ? {} : { creatorApp: opts.creatorApp }),
    });
  if (formats.includes('gce'))
    result.gce = await writeGceTarball(raw, join(outDir, 'disk.tar.gz'), {
      ...common,
      ...(opts.allowAnySize === undefined ? {} : { allowAnySize: opts.allowAnySize }),
    });
  return result;
}

/** Reads and validates the footer of a fixed VHD file (its last 512 bytes only). */
export async function readVhdFooterOf(path: string): Promise<VhdFooter> {
  return withFileSource(path, (src) => readFixedVhd(src));
}
