// The three QEMU fw_cfg ACPI blobs OVMF measures into RTMR0 as EV_PLATFORM_CONFIG_FLAGS
// (launch-measurements.md §2.3 RTMR0 items 9-11): etc/table-loader, etc/acpi/rsdp, etc/acpi/tables.
// They depend on the QEMU version and the whole device model; the sound input is the three blobs
// dumped from a real TD (or a patched QEMU, as virtee/tdx-measure does).
//
// For a tables blob alone, modelAcpiBlobs() rebuilds the loader script and RSDP the way
// quex-tech/td-report-web does (the model behind ../vectors/tdx): BIOSLinker commands in QEMU's
// 128-byte format (hw/acpi/bios-linker-loader.c BiosLinkerLoaderEntry), table pointers for FACP
// (FIRMWARE_CTRL, DSDT, X_DSDT) and every RSDT entry, a checksum per table except FACS, then the
// RSDP pointer and checksum; the script is zero-padded to 4 KiB (hw/i386/acpi-build.c
// acpi_align_size(..., ACPI_BUILD_ALIGN_SIZE)). The RSDP is QEMU's revision-0 form (build_rsdp,
// OEM "BOCHS ") before the loader patches it: checksum 0, RsdtAddress = RSDT offset in the tables blob.
import { NodeimgError } from '../../../image/formats/errors.js';
import { ByteReader } from '../../../image/formats/reader.js';
import { asciiBytes } from './cc-event.js';

export interface AcpiBlobs {
  readonly tableLoader: Uint8Array;
  readonly rsdp: Uint8Array;
  readonly tables: Uint8Array;
}

const ENTRY = 128;
const FILE_NAME = 56;
const COMMAND = { allocate: 1, addPointer: 2, addChecksum: 3 } as const;
const ZONE = { high: 1, fseg: 2 } as const;
const LOADER_SIZE = 4096;
const TABLES = 'etc/acpi/tables';
const RSDP = 'etc/acpi/rsdp';
/** Most tables walked in a blob (QEMU builds about a dozen). */
export const MAX_ACPI_TABLES = 256;
const ACPI_HEADER = 36;

interface AcpiTable {
  readonly signature: string;
  readonly offset: number;
  readonly length: number;
}

/** Walks the tables blob: table after table until a zero signature, the end, or < 8 bytes left. */
export function listAcpiTables(tables: Uint8Array): AcpiTable[] {
  const r = new ByteReader(tables, 'ACPI tables blob');
  const out: AcpiTable[] = [];
  let pos = 0;
  while (pos + 8 <= tables.length && r.u32At(pos) !== 0) {
    if (out.length >= MAX_ACPI_TABLES) r.fail(`more than ${MAX_ACPI_TABLES} tables`, pos, 'PARSE_LIMIT');
    const signature = String.fromCharCode(...r.bytesAt(pos, 4));
    const length = r.u32At(pos + 4);
    if (length < ACPI_HEADER && signature !== 'FACS')
      r.fail(`${signature} length ${length} is shorter than an ACPI header`, pos + 4);
    if (length < 8 || pos + length > tables.length)
      r.fail(`${signature} length ${length} runs past the ${tables.length}-byte blob`, pos + 4);
    out.push({ signature, offset: pos, length });
    pos += length;
  }
  return out;
}

function entry(command: number, fill: (b: Uint8Array, v: DataView) => void): Uint8Array {
  const b = new Uint8Array(ENTRY);
  const v = new DataView(b.buffer);
  v.setUint32(0, command, true);
  fill(b, v);
  return b;
}

function name(b: Uint8Array, at: number, file: string): void {
  if (file.length >= FILE_NAME) throw new NodeimgError('INTERNAL', `fw_cfg file name ${file} is too long`);
  b.set(asciiBytes(file), at);
}

const allocate = (file: string, align: number, zone: number) =>
  entry(COMMAND.allocate, (b, v) => {
    name(b, 4, file);
    v.setUint32(60, align, true);
    v.setUint8(64, zone);
  });
const addPointer = (dest: string, src: string, offset: number, size: number) =>
  entry(COMMAND.addPointer, (b, v) => {
    name(b, 4, dest);
    name(b, 60, src);
    v.setUint32(116, offset, true);
    v.setUint8(120, size);
  });
const addChecksum = (file: string, offset: number, start: number, length: number) =>
  entry(COMMAND.addChecksum, (b, v) => {
    name(b, 4, file);
    v.setUint32(60, offset, true);
    v.setUint32(64, start, true);
    v.setUint32(68, length, true);
  });

/** Modelled etc/table-loader and etc/acpi/rsdp for a tables blob (see the file comment). */
export function modelAcpiBlobs(tables: Uint8Array): AcpiBlobs {
  const list = listAcpiTables(tables);
  const cmds: Uint8Array[] = [allocate(RSDP, 16, ZONE.fseg), allocate(TABLES, 64, ZONE.high)];
  for (const t of list) {
    if (t.signature === 'FACP') {
      cmds.push(
        addPointer(TABLES, TABLES, t.offset + 36, 4),
        addPointer(TABLES, TABLES, t.offset + 40, 4),
        addPointer(TABLES, TABLES, t.offset + 140, 8),
      );
    }
    if (t.signature === 'RSDT')
      for (let at = ACPI_HEADER; at + 4 <= t.length; at += 4)
        cmds.push(addPointer(TABLES, TABLES, t.offset + at, 4));
    if (t.signature !== 'FACS') cmds.push(addChecksum(TABLES, t.offset + 9, t.offset, t.length));
  }
  cmds.push(addPointer(RSDP, TABLES, 16, 4), addChecksum(RSDP, 8, 0, 20));
  if (cmds.length * ENTRY > LOADER_SIZE)
    throw new NodeimgError(
      'PARSE_LIMIT',
      `the modelled table-loader needs ${cmds.length} commands, more than fit in ${LOADER_SIZE} bytes`,
    );
  const tableLoader = new Uint8Array(LOADER_SIZE);
  cmds.forEach((c, i) => tableLoader.set(c, i * ENTRY));

  const rsdp = new Uint8Array(20);
  rsdp.set(asciiBytes('RSD PTR '), 0);
  rsdp.set(asciiBytes('BOCHS '), 9);
  new DataView(rsdp.buffer).setUint32(16, list.find((t) => t.signature === 'RSDT')?.offset ?? 0, true);
  return { tableLoader, rsdp, tables };
}
