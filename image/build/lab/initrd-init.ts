// The guest side of the lab: /init of the lab initrd. It prints PCR 0-23 of each bank the kernel
// exposes, then the firmware event log in base64, between markers that console.ts cuts apart, and
// powers off. Kept as a string so that the initrd's bytes depend on this file only.
import { PCR_BANKS } from './config.js';

export const MARK = {
  begin: '===NODEIMG-LAB-BEGIN===',
  logBegin: '===NODEIMG-EVENTLOG-BEGIN===',
  logEnd: '===NODEIMG-EVENTLOG-END===',
  end: '===NODEIMG-LAB-END===',
} as const;

export const INIT_SCRIPT = `#!/bin/busybox sh
# nodeimg lab /init: dump TPM PCRs and the firmware event log to the console, then power off.
/bin/busybox mkdir -p /proc /sys /dev /tmp /run
/bin/busybox mount -t devtmpfs devtmpfs /dev
exec </dev/console >/dev/console 2>&1
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t securityfs securityfs /sys/kernel/security
dmesg -n 1 # no kernel messages in between the dump lines
echo "${MARK.begin}"
echo "UPTIME $(cut -d' ' -f1 /proc/uptime)"
echo "KERNEL $(uname -r)"
echo "CMDLINE $(cat /proc/cmdline)"
for bank in ${PCR_BANKS.join(' ')}; do
  d=/sys/class/tpm/tpm0/pcr-$bank
  [ -d "$d" ] || continue
  n=0
  while [ $n -le 23 ]; do
    echo "PCR $bank $n $(cat $d/$n)"
    n=$((n + 1))
  done
done
echo "${MARK.logBegin}"
base64 /sys/kernel/security/tpm0/binary_bios_measurements
echo "${MARK.logEnd}"
echo "${MARK.end}"
sync
poweroff -f
`;
