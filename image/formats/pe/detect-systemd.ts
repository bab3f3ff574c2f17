import { chunks, slice, type ByteSource } from '../source.js';
import type { PeImage } from './parse.js';
import { sectionData } from './section-data.js';
import { findSection, type PeSection } from './sections.js';
import { isUkiSectionName } from './uki.js';

// systemd-boot and systemd-stub embed "#### LoaderInfo: systemd-stub <GIT_VERSION> ####"
// (src/boot/efi/stub.c, boot.c `DECLARE_NOALLOC_SECTION(".sdmagic", ...)` since v250; before that a
// plain `static const char magic[]` that lands in .data/.rodata). systemd reads it back the same way
// (bootctl's get_file_version() scans for the marker). measured-boot.md §11 item 1.

const MARKER = Buffer.from('#### LoaderInfo: ', 'latin1');
const END = Buffer.from(' ####', 'latin1');
/** Longest marker accepted, terminator included. */
export const MAX_LOADER_INFO = 256;
/** Total section bytes scanned for the marker when .sdmagic does not have it. */
export const MAX_MARKER_SCAN = 64 * 1024 * 1024;
const SCAN_CHUNK = 1024 * 1024;
const INFO_RE = /^#### LoaderInfo: (systemd-stub|systemd-boot) ([^\s#]{1,200}) ####$/;

export interface SystemdVersion {
  readonly kind: 'systemd-stub' | 'systemd-boot';
  /** The version as built, e.g. "252.39-1~deb12u2" or "257.7". */
  readonly version: string;
  /** Leading number of the version: 252. */
  readonly major: number;
  /** Section the marker was found in. */
  readonly section: string;
}

/** Parses one "#### LoaderInfo: … ####" string; undefined for other loaders or malformed text. */
export function parseLoaderInfo(text: string, section = ''): SystemdVersion | undefined {
  const m = INFO_RE.exec(text);
  if (!m) return undefined;
  const kind = m[1] as SystemdVersion['kind'];
  const version = m[2] as string;
  const major = /^(\d{1,6})/.exec(version);
  if (!major) return undefined;
  return { kind, version, major: Number(major[1]), section };
}

/**
 * Detects systemd-stub / systemd-boot and its version: first from .sdmagic, then by a streaming,
 * bounded search through the raw data of the other non-payload sections (older builds). Returns
 * undefined for other PE images. Sections whose data is outside the file are skipped.
 */
export async function detectSystemd(src: ByteSource, pe: PeImage): Promise<SystemdVersion | undefined> {
  const magic = findSection(pe.sections, '.sdmagic');
  if (
    magic &&
    magic.virtualSize <= MAX_LOADER_INFO &&
    magic.pointerToRawData + Math.min(magic.virtualSize, magic.sizeOfRawData) <= src.size
  ) {
    const bytes = await sectionData(src, pe, magic);
    const nul = bytes.indexOf(0);
    const found = parseLoaderInfo(
      Buffer.from(bytes.subarray(0, nul < 0 ? bytes.length : nul)).toString('latin1'),
      magic.name,
    );
    if (found) return found;
  }
  // UKI payload sections (.linux, .initrd, …) are skipped: an initrd may well contain a
  // systemd-boot binary whose marker would be misattributed to this image.
  let budget = MAX_MARKER_SCAN;
  for (const s of pe.sections) {
    if (s === magic || isUkiSectionName(s.name) || budget <= 0) continue;
    const len = Math.min(s.sizeOfRawData, budget);
    if (len === 0 || s.pointerToRawData + len > src.size) continue;
    budget -= len;
    const found = await scanForLoaderInfo(slice(src, s.pointerToRawData, len), s);
    if (found) return found;
  }
  return undefined;
}

/** Streams `src` looking for a valid marker; keeps at most MAX_LOADER_INFO - 1 bytes across chunks. */
async function scanForLoaderInfo(src: ByteSource, section: PeSection): Promise<SystemdVersion | undefined> {
  let carry: Uint8Array = new Uint8Array(0);
  for await (const c of chunks(src, 0, src.size, SCAN_CHUNK)) {
    const buf =
      carry.length === 0 ? Buffer.from(c.buffer, c.byteOffset, c.byteLength) : Buffer.concat([carry, c]);
    let keepFrom = Math.max(0, buf.length - (MAX_LOADER_INFO - 1));
    for (let i = buf.indexOf(MARKER); i >= 0; i = buf.indexOf(MARKER, i + 1)) {
      const window = buf.subarray(i, Math.min(buf.length, i + MAX_LOADER_INFO));
      const j = window.indexOf(END, MARKER.length);
      if (j >= 0) {
        const found = parseLoaderInfo(window.subarray(0, j + END.length).toString('latin1'), section.name);
        if (found) return found;
      } else if (i + MAX_LOADER_INFO > buf.length) {
        keepFrom = Math.min(keepFrom, i); // may complete in the next chunk
        break;
      }
    }
    carry = Uint8Array.prototype.slice.call(buf, keepFrom);
  }
  return undefined;
}
