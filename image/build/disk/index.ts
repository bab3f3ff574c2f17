// Disk images written by nodeimg's own writers: GPT + FAT + raw partition images (write-disk.ts), and
// a bootable UKI disk, direct or via systemd-boot, optionally Secure Boot signed (boot-disk.ts).
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
