import { ParseError } from '../errors.js';
import { ByteReader } from '../reader.js';
import type { ByteSource } from '../source.js';

// The x86 Linux boot protocol "real-mode kernel header" (Linux Documentation/arch/x86/boot.rst,
// "The Real-Mode Kernel Header"). A bzImage is also a PE (the EFI stub), so the same file is both a
// standalone vmlinuz and a UKI's .linux payload.
const SETUP_HEADER_START = 0x200;
const HEADER_MAGIC_OFFSET = 0x202; // "HdrS", boot protocol 2.00+
const HEADER_MAGIC = 0x53726448; // "HdrS" as u32le
const VERSION_OFFSET = 0x206; // u16 boot protocol version, e.g. 0x020f = 2.15
const KERNEL_VERSION_OFFSET = 0x20e; // u16: kernel_version string is at value + 0x200
const SETUP_READ = 0x10; // 0x200..0x210 covers all three fields
/** Longest kernel_version string read (it is UTS_RELEASE + compiler info + UTS_VERSION, ~150 bytes). */
export const MAX_KERNEL_VERSION = 512;

export interface KernelVersion {
  /** The release, as `uname -r` prints it: "6.1.0-56-amd64". */
  readonly version: string;
  /** The whole kernel_version string (arch/x86/boot/version.c: UTS_RELEASE " (" user@host ") " UTS_VERSION). */
  readonly banner: string;
  readonly major: number;
  readonly minor: number;
  readonly patch: number | undefined;
  /** Boot protocol as "major.minor", e.g. "2.15". */
  readonly bootProtocol: string;
  /** The raw u16 at 0x206. */
  readonly bootProtocolVersion: number;
}

/**
 * Reads the kernel version from an x86 bzImage (a vmlinuz file, or a UKI's .linux section via
 * sectionSource). Returns undefined when there is no "HdrS" setup header or no kernel_version
 * pointer; throws ParseError when the pointer or string is malformed.
 */
export async function detectKernel(src: ByteSource): Promise<KernelVersion | undefined> {
  if (src.size < SETUP_HEADER_START + SETUP_READ) return undefined;
  const r = new ByteReader(
    await src.read(SETUP_HEADER_START, SETUP_READ),
    `${src.name}: Linux setup header`,
    src.base + SETUP_HEADER_START,
  );
  if (r.u32At(HEADER_MAGIC_OFFSET - SETUP_HEADER_START) !== HEADER_MAGIC) return undefined;
  const bootProtocolVersion = r.u16At(VERSION_OFFSET - SETUP_HEADER_START);
  const ptr = r.u16At(KERNEL_VERSION_OFFSET - SETUP_HEADER_START);
  if (ptr === 0) return undefined;
  const at = ptr + SETUP_HEADER_START;
  const fail = (detail: string): never => {
    throw new ParseError('PARSE_INVALID', `${src.name}: Linux kernel_version`, src.base + at, detail);
  };
  if (at >= src.size) fail(`kernel_version pointer 0x${ptr.toString(16)} is past the ${src.size}-byte image`);
  const bytes = await src.read(at, Math.min(MAX_KERNEL_VERSION, src.size - at));
  const nul = bytes.indexOf(0);
  if (nul < 0) fail(`kernel_version is not NUL-terminated within ${bytes.length} bytes`);
  const banner = Buffer.from(bytes.subarray(0, nul)).toString('latin1');
  const version = banner.split(' ', 1)[0] ?? '';
  const m = /^(\d{1,4})\.(\d{1,4})(?:\.(\d{1,6}))?/.exec(version);
  if (!m) return fail(`kernel_version "${banner.slice(0, 64)}" does not start with a release number`);
  return {
    version,
    banner,
    major: Number(m[1]),
    minor: Number(m[2]),
    patch: m[3] === undefined ? undefined : Number(m[3]),
    bootProtocol: `${bootProtocolVersion >> 8}.${bootProtocolVersion & 0xff}`,
    bootProtocolVersion,
  };
}
