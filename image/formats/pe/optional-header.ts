import type { ByteReader } from '../reader.js';

// IMAGE_OPTIONAL_HEADER32 / IMAGE_OPTIONAL_HEADER64 (PE/COFF spec §3.4 "Optional Header (Image
// Only)", §3.4.1-3.4.3). PE32 and PE32+ differ only in BaseOfData (PE32 only) and the width of
// ImageBase and the four stack/heap sizes; CheckSum is at +64 in both (measured-boot.md §1).
export const PE32_MAGIC = 0x10b;
export const PE32PLUS_MAGIC = 0x20b;
/** Size of the fixed part before DataDirectory[0]. */
export const PE32_FIXED_SIZE = 96;
export const PE32PLUS_FIXED_SIZE = 112;
export const DATA_DIRECTORY_SIZE = 8;
/** PE/COFF spec §3.4.3 defines 16 data directories; edk2 BasePeCoffLib rejects images declaring more. */
export const MAX_DATA_DIRECTORIES = 16;

/** Indexes into the data directory array (PE/COFF spec §3.4.3). */
export const DIRECTORY = {
  export: 0,
  import: 1,
  resource: 2,
  exception: 3,
  /** Certificate Table: VirtualAddress is a *file offset* (PE/COFF spec §4.7). */
  security: 4,
  baseReloc: 5,
  debug: 6,
} as const;

export const SUBSYSTEM = {
  efiApplication: 10,
  efiBootServiceDriver: 11,
  efiRuntimeDriver: 12,
  efiRom: 13,
} as const;

export interface DataDirectory {
  readonly virtualAddress: number;
  readonly size: number;
}

export interface OptionalHeader {
  readonly magic: typeof PE32_MAGIC | typeof PE32PLUS_MAGIC;
  readonly format: 'PE32' | 'PE32+';
  readonly majorLinkerVersion: number;
  readonly minorLinkerVersion: number;
  readonly sizeOfCode: number;
  readonly sizeOfInitializedData: number;
  readonly sizeOfUninitializedData: number;
  readonly addressOfEntryPoint: number;
  readonly baseOfCode: number;
  /** PE32 only. */
  readonly baseOfData: number | undefined;
  readonly imageBase: bigint;
  readonly sectionAlignment: number;
  readonly fileAlignment: number;
  readonly majorOperatingSystemVersion: number;
  readonly minorOperatingSystemVersion: number;
  readonly majorImageVersion: number;
  readonly minorImageVersion: number;
  readonly majorSubsystemVersion: number;
  readonly minorSubsystemVersion: number;
  readonly win32VersionValue: number;
  readonly sizeOfImage: number;
  readonly sizeOfHeaders: number;
  readonly checkSum: number;
  /** Absolute file offset of the 4-byte CheckSum (excluded from the Authenticode hash). */
  readonly checkSumOffset: number;
  readonly subsystem: number;
  readonly dllCharacteristics: number;
  readonly sizeOfStackReserve: bigint;
  readonly sizeOfStackCommit: bigint;
  readonly sizeOfHeapReserve: bigint;
  readonly sizeOfHeapCommit: bigint;
  readonly loaderFlags: number;
  readonly numberOfRvaAndSizes: number;
  /** Exactly numberOfRvaAndSizes entries. */
  readonly dataDirectories: readonly DataDirectory[];
  /**
   * Absolute file offset of the 8-byte Certificate Table entry (DataDirectory[4]), or undefined when
   * NumberOfRvaAndSizes <= 4 (there is no security directory; measured-boot.md §1).
   */
  readonly certDirEntryOffset: number | undefined;
}

/**
 * Decodes an optional header. `r` must span exactly SizeOfOptionalHeader bytes starting at the
 * Magic field (a sub-reader, so that absolute offsets come out right).
 */
export function decodeOptionalHeader(r: ByteReader): OptionalHeader {
  const magic = r.u16At(0);
  if (magic !== PE32_MAGIC && magic !== PE32PLUS_MAGIC) {
    r.fail(`Magic 0x${magic.toString(16)} is neither PE32 (0x10b) nor PE32+ (0x20b)`, 0, 'PARSE_UNSUPPORTED');
  }
  const plus = magic === PE32PLUS_MAGIC;
  const fixed = plus ? PE32PLUS_FIXED_SIZE : PE32_FIXED_SIZE;
  if (r.length < fixed)
    r.fail(
      `SizeOfOptionalHeader ${r.length} is smaller than the ${fixed}-byte ${plus ? 'PE32+' : 'PE32'} header`,
      0,
    );
  r.seek(2);
  const majorLinkerVersion = r.u8();
  const minorLinkerVersion = r.u8();
  const sizeOfCode = r.u32();
  const sizeOfInitializedData = r.u32();
  const sizeOfUninitializedData = r.u32();
  const addressOfEntryPoint = r.u32();
  const baseOfCode = r.u32();
  const baseOfData = plus ? undefined : r.u32();
  const imageBase = plus ? r.u64() : BigInt(r.u32());
  const sectionAlignment = r.u32();
  const fileAlignment = r.u32();
  const majorOperatingSystemVersion = r.u16();
  const minorOperatingSystemVersion = r.u16();
  const majorImageVersion = r.u16();
  const minorImageVersion = r.u16();
  const majorSubsystemVersion = r.u16();
  const minorSubsystemVersion = r.u16();
  const win32VersionValue = r.u32();
  const sizeOfImage = r.u32();
  const sizeOfHeaders = r.u32();
  const checkSumOffset = r.abs(r.offset);
  const checkSum = r.u32();
  const subsystem = r.u16();
  const dllCharacteristics = r.u16();
  const wide = (): bigint => (plus ? r.u64() : BigInt(r.u32()));
  const sizeOfStackReserve = wide();
  const sizeOfStackCommit = wide();
  const sizeOfHeapReserve = wide();
  const sizeOfHeapCommit = wide();
  const loaderFlags = r.u32();
  const nrvaPos = r.offset;
  const numberOfRvaAndSizes = r.u32();
  if (numberOfRvaAndSizes > MAX_DATA_DIRECTORIES) {
    r.fail(
      `NumberOfRvaAndSizes ${numberOfRvaAndSizes} exceeds ${MAX_DATA_DIRECTORIES}`,
      nrvaPos,
      'PARSE_LIMIT',
    );
  }
  // The directories must lie inside SizeOfOptionalHeader (edk2 BasePeCoffLib requires exact
  // equality; nodeimg only requires that they fit, so that padded headers still parse).
  if (r.remaining < numberOfRvaAndSizes * DATA_DIRECTORY_SIZE) {
    r.fail(`${numberOfRvaAndSizes} data directories do not fit in SizeOfOptionalHeader ${r.length}`, nrvaPos);
  }
  const dirStart = r.offset;
  const dataDirectories: DataDirectory[] = [];
  for (let i = 0; i < numberOfRvaAndSizes; i++)
    dataDirectories.push({ virtualAddress: r.u32(), size: r.u32() });
  // edk2 Tcg2MeasurePeImage: NumberOfRvaAndSizes <= EFI_IMAGE_DIRECTORY_ENTRY_SECURITY means no
  // security directory.
  const certDirEntryOffset =
    numberOfRvaAndSizes > DIRECTORY.security
      ? r.abs(dirStart + DIRECTORY.security * DATA_DIRECTORY_SIZE)
      : undefined;
  return {
    magic,
    format: plus ? 'PE32+' : 'PE32',
    majorLinkerVersion,
    minorLinkerVersion,
    sizeOfCode,
    sizeOfInitializedData,
    sizeOfUninitializedData,
    addressOfEntryPoint,
    baseOfCode,
    baseOfData,
    imageBase,
    sectionAlignment,
    fileAlignment,
    majorOperatingSystemVersion,
    minorOperatingSystemVersion,
    majorImageVersion,
    minorImageVersion,
    majorSubsystemVersion,
    minorSubsystemVersion,
    win32VersionValue,
    sizeOfImage,
    sizeOfHeaders,
    checkSum,
    checkSumOffset,
    subsystem,
    dllCharacteristics,
    sizeOfStackReserve,
    sizeOfStackCommit,
    sizeOfHeapReserve,
    sizeOfHeapCommit,
    loaderFlags,
    numberOfRvaAndSizes,
    dataDirectories,
    certDirEntryOffset,
  };
}

/** DataDirectory[index], or an empty directory when the image declares fewer entries. */
export function dataDirectory(opt: OptionalHeader, index: number): DataDirectory {
  return opt.dataDirectories[index] ?? { virtualAddress: 0, size: 0 };
}
