// The Linux kernel as TDVF measures it on a QEMU direct boot (-kernel): OVMF before
// edk2-stable202505 measures the bzImage after QEMU has patched its setup header, newer OVMF the
// file as given (launch-measurements.md §2.3 "Kernel hash details"; virtee/tdx-measure). The patch is
// QEMU hw/i386/x86.c x86_load_linux (Linux boot protocol, Documentation/arch/x86/boot.rst):
//   0x1fa vid_mode       from "vga=" in the command line, when present
//   0x210 type_of_loader 0xb0 (QEMU)                                   protocol >= 2.00
//   0x211 loadflags      |= CAN_USE_HEAP (0x80)                         protocol >= 2.01
//   0x224 heap_end_ptr   cmdline_addr - real_addr - 0x200 (u16)         protocol >= 2.01
//   0x228 cmd_line_ptr   cmdline_addr                                   protocol >= 2.02
//         (older: 0x20 = 0xa33f, 0x22 = cmdline_addr - real_addr)
//   0x218/0x21c ramdisk_image/size: (initrd_max - size) & ~0xfff, size  with an initrd
// initrd_max: 4 GiB - 1 if protocol >= 2.12 and xloadflags has XLF_CAN_BE_LOADED_ABOVE_4G (bit 1;
// dstack-mr and virtee test bit 6 instead), else initrd_addr_max (2.03+) or 0x37ffffff, clamped
// below low RAM minus QEMU's ACPI area (0x28000).
import { NodeimgError } from '../../../image/formats/errors.js';
import { authenticodeHash, parsePe } from '../../../image/formats/pe/index.js';
import { checkRange, type ByteSource } from '../../../image/formats/source.js';
import { qemuRamLayout } from './memory-layout.js';

/** ACPI_DATA_SIZE of the i386 pc machines (hw/i386/pc.c: 0x20000 + 0x8000). */
export const QEMU_ACPI_DATA_SIZE = 0x28000;
const HEADER_END = 0x238;
const XLF_CAN_BE_LOADED_ABOVE_4G = 0x2;

export interface QemuKernelLoad {
  readonly memoryBytes: number;
  /** The -append string ("" when none). */
  readonly cmdline: string;
  /** Initrd size in bytes, undefined without -initrd. */
  readonly initrdSize: number | undefined;
}

function videoMode(cmdline: string): number | undefined {
  const at = cmdline.indexOf('vga=');
  if (at < 0) return undefined;
  const v = cmdline.slice(at + 4);
  if (v.startsWith('normal')) return 0xffff;
  if (v.startsWith('ext')) return 0xfffe;
  if (v.startsWith('ask')) return 0xfffd;
  const word = v.split(' ', 1)[0] ?? '';
  // qemu_strtoui(..., base 0): decimal, 0x hex or 0 octal
  const n = /^0x[0-9a-f]+$/i.test(word)
    ? parseInt(word, 16)
    : /^0[0-7]*$/.test(word)
      ? parseInt(word, 8)
      : /^[1-9][0-9]*$/.test(word)
        ? parseInt(word, 10)
        : NaN;
  if (!Number.isSafeInteger(n) || n > 0xffffffff)
    throw new NodeimgError('USAGE', `invalid "vga=" kernel parameter: QEMU refuses ${JSON.stringify(word)}`);
  return n & 0xffff;
}

/** The first 0x238 bytes of the kernel with QEMU's setup-header patch applied. */
export function patchSetupHeader(header: Uint8Array, load: QemuKernelLoad): Uint8Array {
  if (header.length < HEADER_END)
    throw new NodeimgError(
      'PARSE_TRUNCATED',
      `the kernel is ${header.length} bytes, too short for a Linux setup header`,
    );
  const h = header.slice(0, HEADER_END);
  const v = new DataView(h.buffer);
  const hdrS = v.getUint32(0x202, true) === 0x53726448; // "HdrS"
  const protocol = hdrS ? v.getUint16(0x206, true) : 0;
  const highRecent = protocol >= 0x202 && (h[0x211] as number) & 0x01;
  const cmdlineSize = (load.cmdline.length + 16) & ~15;
  const realAddr = highRecent ? 0x10000 : 0x90000;
  const cmdlineAddr = highRecent ? 0x20000 : 0x9a000 - cmdlineSize;
  let initrdMax: number;
  if (protocol >= 0x20c && v.getUint16(0x236, true) & XLF_CAN_BE_LOADED_ABOVE_4G) initrdMax = 0xffffffff;
  else if (protocol >= 0x203) initrdMax = v.getUint32(0x22c, true);
  else initrdMax = 0x37ffffff;
  const lowRam = qemuRamLayout(load.memoryBytes).below4g;
  if (initrdMax >= lowRam - QEMU_ACPI_DATA_SIZE) initrdMax = lowRam - QEMU_ACPI_DATA_SIZE - 1;

  if (protocol >= 0x202) v.setUint32(0x228, cmdlineAddr, true);
  else {
    v.setUint16(0x20, 0xa33f, true);
    v.setUint16(0x22, cmdlineAddr - realAddr, true);
  }
  const vga = videoMode(load.cmdline);
  if (vga !== undefined) v.setUint16(0x1fa, vga, true);
  if (protocol >= 0x200) h[0x210] = 0xb0;
  if (protocol >= 0x201) {
    h[0x211] = (h[0x211] as number) | 0x80;
    v.setUint16(0x224, (cmdlineAddr - realAddr - 0x200) & 0xffff, true);
  }
  if (load.initrdSize !== undefined) {
    if (protocol < 0x200)
      throw new NodeimgError(
        'USAGE',
        'QEMU refuses an initrd for this kernel: its boot protocol is older than 2.00',
      );
    if (load.initrdSize >= initrdMax)
      throw new NodeimgError(
        'USAGE',
        `QEMU refuses the ${load.initrdSize}-byte initrd: it must be below initrd_max 0x${initrdMax.toString(16)}`,
      );
    v.setUint32(0x218, (initrdMax - load.initrdSize) & ~0xfff & 0xffffffff, true);
    v.setUint32(0x21c, load.initrdSize, true);
  }
  return h;
}

/** `src` with its first bytes replaced by `head` (reads never copy the rest of the file). */
export function withHead(src: ByteSource, head: Uint8Array): ByteSource {
  return {
    size: src.size,
    base: src.base,
    name: `${src.name} (QEMU-patched)`,
    async read(offset, length) {
      checkRange(this, offset, length);
      if (offset >= head.length) return src.read(offset, length);
      const out = new Uint8Array(length);
      const fromHead = Math.min(length, head.length - offset);
      out.set(head.subarray(offset, offset + fromHead));
      if (length > fromHead) out.set(await src.read(offset + fromHead, length - fromHead), fromHead);
      return out;
    },
  };
}

/** Authenticode SHA-384 of the kernel: of the QEMU-patched image when `load` is given, else of the file. */
export async function kernelAuthenticodeSha384(
  kernel: ByteSource,
  load: QemuKernelLoad | undefined,
): Promise<Uint8Array> {
  const src =
    load === undefined
      ? kernel
      : withHead(kernel, patchSetupHeader(await kernel.read(0, Math.min(kernel.size, HEADER_END)), load));
  return (await authenticodeHash(src, await parsePe(src), ['sha384'])).sha384;
}
