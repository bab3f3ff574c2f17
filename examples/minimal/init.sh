#!/bin/busybox sh
# examples/minimal /init: say so on the serial console (console=ttyS0), then power off.
/bin/busybox mkdir -p /proc /sys /dev /tmp /run
/bin/busybox mount -t devtmpfs devtmpfs /dev
exec </dev/console >/dev/console 2>&1
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
echo "nodeimg minimal: kernel $(uname -r), command line: $(cat /proc/cmdline)"
echo "NODEIMG-MINIMAL-BOOTED"
sync
poweroff -f
