// The lab disk images (systemd-stub + Debian kernel + busybox initrd on a GPT/FAT32 disk, with and
// without systemd-boot and Secure Boot signatures), built once per input hash and cached.
import { cachedLabImages, fetchLabInputs, type LabImages } from '../../image/build/lab/index.js';

let pending: Promise<LabImages> | undefined;

export function labImages(): Promise<LabImages> {
  pending ??= fetchLabInputs().then((inputs) => cachedLabImages({ inputs }));
  return pending;
}
