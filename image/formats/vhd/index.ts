// Azure fixed VHD: the 512-byte footer codec (pure). image/build/disk/cloud-formats.ts streams the
// raw disk in front of it.
export {
  encodeVhdFooter,
  parseVhdFooter,
  readFixedVhd,
  vhdChecksum,
  vhdGeometry,
  vhdTimestamp,
  vhdUniqueIdFrom,
  VHD_COOKIE,
  VHD_DISK_TYPES,
  VHD_EPOCH_OFFSET,
  VHD_FOOTER_SIZE,
  VHD_FORMAT_VERSION,
  VHD_HOST_OS_WINDOWS,
  VHD_MAX_CHS_SECTORS,
  type VhdDiskTypeName,
  type VhdFooter,
  type VhdFooterInput,
  type VhdGeometry,
} from './footer.js';
