#!/bin/busybox sh
# examples/debian-node /init: load the disk, dm-verity and erofs modules (the rootfs planner put
# them and dmsetup with its libraries from the locked packages into the initrd), open the root
# partition through dm-verity with the root hash from the kernel command line (which the UKI
# carries and the TPM measures), mount it read-only and hand over to systemd. Any failure says
# NODEIMG-INITRD-FAILED on the console and powers off: a root that does not verify never boots.
/bin/busybox mkdir -p /proc /sys /dev /run /sysroot
/bin/busybox mount -t devtmpfs devtmpfs /dev
exec </dev/console >/dev/console 2>&1
/bin/busybox --install -s /bin
export PATH=/bin:/sbin
mount -t proc proc /proc
mount -t sysfs sysfs /sys

fail() {
  echo "nodeimg initrd: $*"
  echo "NODEIMG-INITRD-FAILED"
  sync
  poweroff -f
}

while read -r m; do
  insmod "/lib/modules/$m.ko" || fail "insmod $m failed"
done </lib/modules/load.order

roothash=''
verity=''
for arg in $(cat /proc/cmdline); do
  case "$arg" in
    nodeimg.roothash=*) roothash="${arg#nodeimg.roothash=}" ;;
    nodeimg.verity=*) verity="${arg#nodeimg.verity=}" ;;
  esac
done
[ -n "$roothash" ] && [ -n "$verity" ] || fail "no nodeimg.roothash= / nodeimg.verity= on the command line"

# a partition by its GPT name (PARTNAME in the block device's uevent)
partition() {
  for u in /sys/class/block/*/uevent; do
    if grep -qx "PARTNAME=$1" "$u"; then
      d="${u%/uevent}"
      echo "/dev/${d##*/}"
      return 0
    fi
  done
  return 1
}
data=''
hash=''
i=0
while [ $i -lt 100 ]; do
  data=$(partition root-x86-64) && hash=$(partition root-x86-64-verity) && break
  sleep 0.1
  i=$((i + 1))
done
[ -b "$data" ] && [ -b "$hash" ] || fail "no root-x86-64 / root-x86-64-verity partitions"

# nodeimg.verity=<data blocks>,<hash start block>,<salt> (4096-byte blocks, sha256, format 1)
blocks="${verity%%,*}"
rest="${verity#*,}"
start="${rest%%,*}"
salt="${rest#*,}"
echo "nodeimg initrd: dm-verity root $data (hash tree $hash), root hash $roothash"
DM_DISABLE_UDEV=1 dmsetup --noudevsync --noudevrules create root --readonly \
  --table "0 $((blocks * 8)) verity 1 $data $hash 4096 4096 $blocks $start sha256 $roothash $salt" ||
  fail "dmsetup create failed"
mount -t erofs -o ro /dev/mapper/root /sysroot || fail "the verity root does not mount"
# (test -L: /sbin/init is an absolute link, which only resolves inside the new root)
[ -L /sysroot/sbin/init ] || [ -x /sysroot/sbin/init ] || fail "no /sbin/init on the root"
umount /sys /proc
mount --move /dev /sysroot/dev
exec switch_root /sysroot /sbin/init
