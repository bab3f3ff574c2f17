// Disk images written by nodeimg's own writers: GPT + FAT + raw partition images (write-disk.ts), a
// bootable UKI disk, direct or via systemd-boot, optionally Secure Boot signed (boot-disk.ts), and the
// cloud formats made from a raw disk: qcow2, Azure fixed VHD, GCE tarball (cloud-formats.ts).
export {
  planDisk,
  writeDisk,
  type DiskPartition,
  type DiskSpec,
  type PartitionContents,
  type WrittenDisk,
} from './write-disk.js';
export {
  buildBootDisk,
  buildUkiBytes,
  espFiles,
  type BootDisk,
  type BootDiskOptions,
  type BootLayout,
  type UkiFiles,
} from './boot-disk.js';
export {
  checkQcow2,
  QCOW2_OPTIONS,
  readVhdFooterOf,
  writeCloudImages,
  writeGceTarball,
  writeQcow2,
  writeVhd,
  type CloudFormat,
  type CloudFormatOptions,
  type CloudImages,
  type GceOptions,
  type Qcow2Check,
  type VhdOptions,
  type WrittenVhd,
} from './cloud-formats.js';
