// `nodeimg launch-digest`: the confidential-VM launch measurement the hardware reports, computed
// from the firmware (and kernel) files. Accepts sev-snp-measure's option names for the AMD modes;
// each mode family is one runner (AMD here, TDX in its own module), this file only dispatches and
// prints.
import type { Command } from '../command.js';
import { writeJson } from '../command.js';
import { UsageError } from '../errors.js';
import { EXIT } from '../exit-codes.js';
import {
  AMD_SEV_MODES,
  CPU_SIGS,
  MAX_VCPUS,
  VMM_TYPES,
  type AmdSevMode,
} from '../../measurements/cvm/snp/index.js';
import { assertLaunchDigestDocument } from '../schema/cvm.js';
import { runAmdLaunch } from './launch-digest-amd.js';
import { amdDocument, amdText, checkReport } from './launch-digest-amd-output.js';
import { autoInt, str } from './launch-digest-args.js';
import { MAX_REPORT_FILE } from './snp-report.js';
import { rejectTdxOptions, runTdxLaunchDigest } from './launch-digest-tdx.js';

const MODES = [...AMD_SEV_MODES, 'snp:ovmf-hash', 'tdx'] as const;
type Mode = (typeof MODES)[number];
const isAmd = (m: Mode): m is AmdSevMode | 'snp:ovmf-hash' => m !== 'tdx';

const USAGE =
  'nodeimg launch-digest --mode snp|snp:svsm|snp:ovmf-hash|seves|sev|tdx --ovmf FILE [--vcpus N|A-B|LIST] [--vcpu-type T | --vcpu-sig V | --vcpu-family F --vcpu-model M --vcpu-stepping S] [--vmm-type QEMU|ec2|gce] [--guest-features V] [--kernel FILE [--initrd FILE] [--append CMDLINE]] [--snp-ovmf-hash HEX] [--svsm FILE --vars-size N|--vars-file FILE] [--report FILE [--report-offset N]] [--memory SIZE --acpi-tables FILE [--acpi-loader FILE --acpi-rsdp FILE]] [--mrtd-order single-pass|two-pass] [--rtmr-layout dstack|quex] [--kernel-measurement qemu-patched|raw] [--output-format hex|base64] [-v] [--json]';

export const launchDigestCommand: Command = {
  name: 'launch-digest',
  summary:
    'Compute the SEV-SNP / SEV-ES / SEV launch digest (report MEASUREMENT) or the TDX MRTD (and RTMRs) from firmware and kernel files.',
  usage: USAGE,
  help: `Options follow virtee/sev-snp-measure (same names, same defaults, same digests).

modes:
  snp             SEV-SNP: the attestation report's MEASUREMENT (SHA-384 page chain)
  snp:svsm        SEV-SNP with Coconut SVSM (needs --svsm and --vars-size or --vars-file)
  snp:ovmf-hash   only the launch digest after the firmware pages (store it, pass --snp-ovmf-hash)
  seves, sev      SHA-256 launch digests of SEV-ES / SEV (the PSP reports only an HMAC of them
                  under the launch TIK; these are its input)
  tdx             Intel TDX MRTD from the TDVF metadata of --ovmf; with --kernel (QEMU direct
                  boot) --json also gives RTMR0-3 and their events

options:
  --ovmf FILE            the firmware flash image QEMU maps (OVMF.amdsev.fd, OVMF.fd, ...)
  --vcpus N|A-B|LIST     vCPU count(s): 4, 1-64, 1,2,4-8 (at most ${MAX_VCPUS}); one digest per count.
                         Required except in sev mode. The firmware pages are hashed once for all.
  --vcpu-type T          QEMU -cpu model: ${[...CPU_SIGS.keys()].join(', ')}
  --vcpu-sig V           CPUID 1 EAX of the guest CPU (e.g. 0xa00f11), instead of --vcpu-type
  --vcpu-family F, --vcpu-model M, --vcpu-stepping S
                         the signature from its parts (these win over --vcpu-sig and --vcpu-type)
  --vmm-type T           ${VMM_TYPES.join(', ')} (default QEMU); ec2 and gce need no vCPU type
  --guest-features V     SEV_FEATURES of the VMSAs (snp; default 0x1; 0x21 for Linux 6.6-6.8 hosts)
  --kernel FILE          measured direct boot (QEMU -kernel with kernel-hashes=on): kernel or UKI
  --initrd FILE          with --kernel (none: hashed as empty)
  --append CMDLINE       with --kernel (none: hashed as "\\0")
  --snp-ovmf-hash HEX    (snp) start from this stored OVMF hash instead of hashing the firmware pages
  --svsm FILE            (snp:svsm) the Coconut SVSM image
  --vars-size N, --vars-file FILE
                         (snp:svsm) size of the OVMF_VARS image (only the size is used)
  --report FILE          (snp, snp:svsm) an SEV-SNP attestation report: exit 1 unless its MEASUREMENT
                         is one of the computed digests; says which vCPU count matched
  --report-offset N      byte offset of the report in that file (default 0)
  --memory SIZE          (tdx, with --kernel) TD memory, QEMU -m syntax: 2G, 4096M, 4096 (MiB)
  --acpi-tables FILE     (tdx, with --kernel) QEMU's fw_cfg etc/acpi/tables blob
  --acpi-loader FILE, --acpi-rsdp FILE
                         (tdx) etc/table-loader and etc/acpi/rsdp dumped from the same QEMU; without
                         them both are modelled from the tables (quex-tech's model, approximate)
  --mrtd-order O         (tdx) single-pass (default: per page ADD then EXTEND, upstream KVM/QEMU >= 9)
                         or two-pass (all ADDs of a section, then its EXTENDs: older TDX stacks)
  --rtmr-layout L        (tdx) dstack (default: ReadyToBoot separator in RTMR1, as dstack-mr and
                         virtee/tdx-measure) or quex (in RTMR0, as quex-tech and upstream edk2 source)
  --kernel-measurement M (tdx) qemu-patched (default: OVMF before edk2-stable202505 measures the
                         bzImage after QEMU patched its setup header) or raw (newer OVMF)
  --output-format F      hex (default) or base64
  -v, --verbose          "Calculated <MODE> guest measurement: ..." like sev-snp-measure
  --json                 one JSON document with the parameters, intermediate values (OVMF hash,
                         VMSA hashes, kernel-hashes table, page runs) and the digests, in hex
                         (schema: pipeline/schema/launch-digest.schema.json)
  -h, --help             show this help

Output: one line with the digest for one vCPU count; "vcpus=N <digest>" lines for several.`,
  options: {
    mode: { type: 'string' },
    ovmf: { type: 'string' },
    vcpus: { type: 'string' },
    'vcpu-type': { type: 'string' },
    'vcpu-sig': { type: 'string' },
    'vcpu-family': { type: 'string' },
    'vcpu-model': { type: 'string' },
    'vcpu-stepping': { type: 'string' },
    'vmm-type': { type: 'string' },
    'guest-features': { type: 'string' },
    kernel: { type: 'string' },
    initrd: { type: 'string' },
    append: { type: 'string' },
    'snp-ovmf-hash': { type: 'string' },
    svsm: { type: 'string' },
    'vars-size': { type: 'string' },
    'vars-file': { type: 'string' },
    report: { type: 'string' },
    'report-offset': { type: 'string' },
    'output-format': { type: 'string' },
    memory: { type: 'string' },
    'acpi-tables': { type: 'string' },
    'acpi-loader': { type: 'string' },
    'acpi-rsdp': { type: 'string' },
    'mrtd-order': { type: 'string' },
    'rtmr-layout': { type: 'string' },
    'kernel-measurement': { type: 'string' },
    verbose: { type: 'boolean', short: 'v' },
    json: { type: 'boolean' },
  },
  positionals: { min: 0, max: 0 },
  async run(args, io) {
    const v = args.values;
    const mode = str(v, 'mode');
    if (mode === undefined)
      throw new UsageError(`--mode is required (${MODES.join(', ')})`, { hint: `usage: ${USAGE}` });
    if (!(MODES as readonly string[]).includes(mode))
      throw new UsageError(`--mode: unknown mode '${mode}' (${MODES.join(', ')})`);
    const format = str(v, 'output-format') ?? 'hex';
    if (format !== 'hex' && format !== 'base64')
      throw new UsageError(`--output-format must be hex or base64, not '${format}'`);
    const m = mode as Mode;
    // TDX (MRTD from the TDVF metadata, RTMRs for a direct boot) is a runner of its own.
    if (!isAmd(m)) return runTdxLaunchDigest(v, format, io);
    rejectTdxOptions(v);
    const run = await runAmdLaunch(m, v);
    const reportPath = str(v, 'report');
    const offsetArg = str(v, 'report-offset');
    if (offsetArg !== undefined && reportPath === undefined)
      throw new UsageError('--report-offset needs --report');
    const report =
      reportPath === undefined
        ? undefined
        : await checkReport(
            run,
            reportPath,
            offsetArg === undefined ? 0 : autoInt('report-offset', offsetArg, MAX_REPORT_FILE),
          );
    if (v['json'] === true) {
      const doc = amdDocument(run, report?.json);
      assertLaunchDigestDocument(doc);
      writeJson(io, doc);
    } else {
      amdText(run, format, v['verbose'] === true, io);
    }
    if (!report) return EXIT.ok;
    if (report.match === null) {
      io.stderr.write(
        `nodeimg launch-digest: report MEASUREMENT ${report.json['measurement'] as string} matches none of the computed digests\n`,
      );
      return EXIT.checkFailed;
    }
    io.stderr.write(`report MEASUREMENT matches the digest for ${report.match} vCPU(s)\n`);
    return EXIT.ok;
  },
};
