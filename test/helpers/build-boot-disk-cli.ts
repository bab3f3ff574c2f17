// Child-process entry for the reproducibility test: builds the sdboot + Secure Boot disk from the
// lab inputs with image/build/disk into argv[2] (JSON: { outDir, epoch, seed }), so that the build
// runs with the TZ, umask and working directory the test gives the process.
import { join } from 'node:path';
import { buildBootDisk } from '../../image/build/disk/index.js';
import { LAB_CMDLINE, buildInitrd, fetchLabInputs } from '../../image/build/lab/index.js';
import { LAB_OS_RELEASE } from '../../image/build/lab/config.js';
import { withSnakeoilKey } from '../../image/build/lab/sign.js';

const { outDir, epoch, seed } = JSON.parse(process.argv[2] ?? '{}') as {
  outDir: string;
  epoch: number;
  seed: string;
};
const inputs = await fetchLabInputs();
const initrd = await buildInitrd({
  busybox: inputs.busybox,
  outFile: join(outDir, 'initrd.cpio.gz'),
  sourceDateEpoch: epoch,
});
await withSnakeoilKey((key) =>
  buildBootDisk({
    uki: {
      stub: inputs.stub,
      kernel: inputs.kernel,
      initrd,
      cmdline: LAB_CMDLINE,
      osRelease: LAB_OS_RELEASE,
    },
    layout: 'sdboot',
    systemdBoot: inputs.systemdBoot,
    secureBootKey: key,
    outDir,
    seed,
    sourceDateEpoch: epoch,
  }),
);
