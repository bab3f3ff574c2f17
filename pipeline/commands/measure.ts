// `nodeimg measure`: the options, then image/measure.ts does the work. What only some options need
// (--vars, --platform, --platform-values, --eventlog, --constellation) is imported when the option is
// given, so a plain run loads about half the modules (start-up is most of bench/measure.mjs's time).
import { readFile, writeFile } from 'node:fs/promises';
import type { Command, CommandIo } from '../command.js';
import { UsageError, NodeimgError } from '../errors.js';
import { EXIT } from '../exit-codes.js';
import { measureFile, type MeasureOptions } from '../../image/measure.js';
import { isHashAlg, type HashAlg } from '../../measurements/hash.js';
import { serializeDocument, type MeasurementsDocument } from '../../measurements/document.js';
import { assertMeasurementsDocument } from '../schema/validate.js';
import { table } from '../render.js';
import { PLATFORM_OPTIONS } from './measure-options.js';
import type { Prediction } from '../../measurements/boot/predict.js';

const DEFAULT_BANKS: HashAlg[] = ['sha1', 'sha256', 'sha384'];
const MAX_LOG = 64 * 1024 * 1024;

export const measureCommand: Command = {
  name: 'measure',
  summary:
    'Predict the PCRs (and the firmware event log) a disk image or UKI produces when it boots under OVMF.',
  usage:
    'nodeimg measure <disk.raw | uki.efi> [--banks LIST] [--secure-boot on|off] [--vars OVMF_VARS.fd] [--boot direct|systemd-boot] [--phases LIST] [--eventlog out.bin] [-o measurements.json] [--json]',
  help: `arguments:
  <input>               a raw GPT disk image (the ESP's EFI/BOOT/BOOTX64.EFI is what OVMF starts:
                        a UKI, or systemd-boot with the UKI in EFI/Linux/) or a UKI file alone

options:
  --banks LIST          hash banks to predict, comma-separated (default sha1,sha256,sha384; sha512 too)
  --secure-boot on|off  whether UEFI Secure Boot is enforced (default: on when --vars enrols a PK, else off)
  --vars FILE           the OVMF variable store template the VM starts with (OVMF_VARS*.fd): PCR 7
                        is predicted from it; without it PCR 7 is reported as not predicted
  --boot MODE           direct | systemd-boot: assert how the image boots (detected from the ESP)
  --uki PATH            with systemd-boot and several UKIs: the ESP path of the one that boots
  --phases LIST         systemd-pcrphase paths for extra PCR 11 values, comma-separated, each a
                        colon-separated word list (e.g. enter-initrd,enter-initrd:leave-initrd)
  --profile N           UKI profile to boot (systemd 257+ multi-profile UKIs; default 0)
  --stub-version N      systemd-stub major version, when the binary has no LoaderInfo marker
                        (or to predict how another version would measure the same UKI)
  --loader-version N    systemd-boot major version, likewise
  --platform-log FILE   a firmware event log recorded on the target platform (VM type, memory,
                        firmware build): PCRs 0-3 and 6 are taken from it instead of being left out
  --platform-values FILE  PCR values observed on the target platform (as \`nodeimg boot-check
                        --platform-out\` writes them: {"sha256": {"0": "hex", ...}, ...}): PCRs 0-3 and 6
                        are taken from them
  --eventlog FILE       also write the predicted events as a TCG2 binary event log
  -o, --out FILE        write the measurements document here (schema:
                        pipeline/schema/measurements.schema.json); --json writes it to stdout
  --constellation FILE  also write Constellation's ImageMeasurementsV2 JSON; needs --csp,
                        --attestation-variant, --image-version, --ref, --stream
  --platform NAME       also the confidential-VM launch values of a platform profile: qemu-snp,
                        aws-sev-snp, gcp-sev-snp (SEV-SNP MEASUREMENT per vCPU count; the image boots
                        from disk, so no kernel-hashes table) or qemu-tdx (MRTD in both page orders,
                        RTMR1-3 of this boot chain, RTMR0 with the platform inputs below)
  --firmware FILE       with --platform: the OVMF build the VM launches (OVMF.amdsev.fd, OVMF.inteltdx.fd)
  --vcpus LIST          with an SNP platform: vCPU counts, e.g. 1-8 or 2,4,8
  --vcpu-type NAME      with qemu-snp: the QEMU CPU model (EPYC-Milan, EPYC-Genoa, ...), or --vcpu-sig
  --guest-features N    with an SNP platform: SEV features (default as sev-snp-measure)
  --platform-ccel FILE  with qemu-tdx: the CC event log of a TD booted from disk on the same platform
                        (its /sys/firmware/acpi/tables/data/CCEL). RTMR0 = every event the firmware
                        logged before the boot option started, as recorded (TD HOB, CFV, Secure Boot
                        configuration, ACPI blobs, BootOrder/Boot####, and option ROMs or drivers in
                        RTMR1), then this image's db authority events (PCR 7 with Secure Boot on). The
                        recorded TD's own authority events are left out. The Secure Boot configuration
                        is the prediction's when --vars is given (a warning names what differs from the
                        recorded one). The log must be consistent (every separator, action and variable
                        event carries the data its digest covers). Its CFV must be --firmware's. It
                        fixes the RTMR layout.
  --memory SIZE         with qemu-tdx: TD memory (QEMU -m syntax: 2G, 4096M, 4096 = MiB). With
                        --platform-ccel it is checked against the recorded TD HOB; otherwise the TD HOB
                        of the firmware model
  --acpi-tables FILE    with qemu-tdx, the firmware model: QEMU's fw_cfg etc/acpi/tables blob
  --acpi-loader FILE    with --acpi-rsdp: the dumped etc/table-loader and etc/acpi/rsdp blobs (without
  --acpi-rsdp FILE      them both are modelled from the tables, as launch-digest does)
  --boot-variables FILE with the firmware model: the BootOrder and Boot#### variables OVMF creates for
                        the TD's devices, as JSON {"BootOrder": "<hex>", "Boot0001": "<hex>", ...}
                        (the variable data: /sys/firmware/efi/efivars/<name>-8be4df61-... of a TD on
                        the platform, without its first 4 bytes). The image does not determine them
                        and nodeimg does not model them: without this (or --platform-ccel) RTMR0 is
                        not predicted. RTMR0 = TD HOB, CFV, Secure Boot configuration (the
                        prediction's PCR 7 with --vars, else the CFV's variable store), separator,
                        the 3 ACPI blobs, the boot variables in BootOrder order, then the image's db
                        authority events. When the platform enforces Secure Boot (PK enrolled),
                        RTMR0 needs the image verified: --vars FIRMWARE (its CFV store) --secure-boot on
  --rtmr-layout L       with qemu-tdx: dstack (default: the ReadyToBoot separator in RTMR1) or quex
                        (in RTMR0); with --platform-ccel the recorded log decides
  --json                the measurements document on stdout instead of the summary
  -h, --help            show this help

PCRs 0-3 and 6 depend on the firmware build and the VM shape and are never guessed, nor is TDX
RTMR0. The launch section records every platform input by file name and sha256. An unknown
systemd version is reported as a warning naming the behaviour that was assumed.`,
  options: {
    banks: { type: 'string' },
    'secure-boot': { type: 'string' },
    vars: { type: 'string' },
    boot: { type: 'string' },
    uki: { type: 'string' },
    phases: { type: 'string' },
    profile: { type: 'string' },
    'stub-version': { type: 'string' },
    'loader-version': { type: 'string' },
    'platform-log': { type: 'string' },
    'platform-values': { type: 'string' },
    eventlog: { type: 'string' },
    out: { type: 'string', short: 'o' },
    constellation: { type: 'string' },
    csp: { type: 'string' },
    'attestation-variant': { type: 'string' },
    'image-version': { type: 'string' },
    ref: { type: 'string' },
    stream: { type: 'string' },
    platform: { type: 'string' },
    firmware: { type: 'string' },
    vcpus: { type: 'string' },
    'vcpu-type': { type: 'string' },
    'vcpu-sig': { type: 'string' },
    'guest-features': { type: 'string' },
    'platform-ccel': { type: 'string' },
    memory: { type: 'string' },
    'acpi-tables': { type: 'string' },
    'acpi-loader': { type: 'string' },
    'acpi-rsdp': { type: 'string' },
    'boot-variables': { type: 'string' },
    'rtmr-layout': { type: 'string' },
    json: { type: 'boolean' },
  },
  positionals: { min: 1, max: 1 },
  async run(args, io) {
    const v = args.values;
    const str = (k: string) => (typeof v[k] === 'string' ? (v[k] as string) : undefined);
    const banks = parseBanks(str('banks'));
    const varsPath = str('vars');
    const policy = varsPath
      ? await (await import('../../image/secure-boot-policy.js')).loadSecureBootPolicy(varsPath)
      : undefined;
    const sb = str('secure-boot');
    if (sb !== undefined && sb !== 'on' && sb !== 'off')
      throw new UsageError(`--secure-boot must be on or off, not '${sb}'`);
    const secureBoot = sb === undefined ? (policy?.enforced ?? false) : sb === 'on';
    if (secureBoot && !policy)
      throw new UsageError('--secure-boot on needs --vars (the db decides which images may run)');
    const boot = str('boot');
    if (boot !== undefined && boot !== 'direct' && boot !== 'systemd-boot')
      throw new UsageError(`--boot must be direct or systemd-boot, not '${boot}'`);
    const platformLog = str('platform-log');
    if (platformLog && str('platform-values'))
      throw new UsageError('give --platform-log or --platform-values, not both');
    const opts: MeasureOptions = {
      banks,
      secureBoot,
      ...(boot ? { boot } : {}),
      ...(str('uki') ? { ukiPath: str('uki') as string } : {}),
      phases: str('phases') === undefined ? [] : (str('phases') as string).split(','),
      ...(str('profile') ? { profile: intArg('profile', str('profile') as string) } : {}),
      ...(str('stub-version') ? { stubVersion: intArg('stub-version', str('stub-version') as string) } : {}),
      ...(str('loader-version')
        ? { loaderVersion: intArg('loader-version', str('loader-version') as string) }
        : {}),
      ...(policy ? { secureBootPolicy: policy } : {}),
      ...(platformLog ? { platformLog: await readCapped(platformLog) } : {}),
      ...(str('platform-values')
        ? {
            platformValues: await (
              await import('./eventlog-quoted.js')
            ).readQuotedPcrs(str('platform-values') as string),
          }
        : {}),
    };
    const measured = await measureFile(args.positionals[0] as string, opts);
    const prediction = measured.prediction;
    let document: MeasurementsDocument = measured.document;
    const platform = str('platform');
    if (platform !== undefined) {
      const { warnings, ...rest } = document;
      const lv = await (await import('./measure-platform.js')).launchValues(platform, args, prediction);
      document = { ...rest, launch: lv.launch, warnings: [...warnings, ...lv.warnings] };
    } else {
      const stray = PLATFORM_OPTIONS.filter((k) => v[k] !== undefined);
      if (stray.length) throw new UsageError(`--${stray[0]} goes with --platform`);
    }
    assertMeasurementsDocument(document);
    for (const w of document.warnings) io.stderr.write(`warning: ${w}\n`);
    const text = serializeDocument(document);
    const out = str('out');
    if (out) await writeFile(out, text);
    const logPath = str('eventlog');
    if (logPath) await writeFile(logPath, await predictedLog(prediction));
    const cst = str('constellation');
    if (cst) await writeFile(cst, await constellation(document, str));
    if (v['json'] === true) io.stdout.write(text);
    else summary(document, io);
    return EXIT.ok;
  },
};

function parseBanks(s: string | undefined): HashAlg[] {
  if (s === undefined) return DEFAULT_BANKS;
  const banks = s
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean);
  for (const b of banks)
    if (!isHashAlg(b)) throw new UsageError(`unknown bank '${b}' (sha1, sha256, sha384, sha512)`);
  if (banks.length === 0) throw new UsageError('--banks needs at least one bank');
  return [...new Set(banks)] as HashAlg[];
}

function intArg(name: string, s: string): number {
  if (!/^\d{1,4}$/.test(s)) throw new UsageError(`--${name} takes a number, not '${s}'`);
  return Number(s);
}

async function readCapped(path: string): Promise<Uint8Array> {
  const b = await readFile(path).catch((err: NodeJS.ErrnoException) => {
    throw new NodeimgError(
      err.code === 'ENOENT' ? 'IO_NOT_FOUND' : 'IO_FAILED',
      `cannot read ${path}: ${err.message}`,
    );
  });
  if (b.length > MAX_LOG) throw new NodeimgError('PARSE_LIMIT', `${path} is larger than ${MAX_LOG} bytes`);
  return new Uint8Array(b);
}

/** The predicted events as a TCG2 log; events whose data is machine-specific get empty data. */
async function predictedLog(p: Prediction): Promise<Uint8Array> {
  const { createEvent, encodeEventLog } = await import('../../measurements/eventlog/encode.js');
  const { buildSpecIdEvent } = await import('../../measurements/eventlog/spec-id.js');
  const specId = buildSpecIdEvent(p.banks);
  const events = p.events.map((e) =>
    createEvent(specId, { pcr: e.pcr, type: e.type, data: e.data ?? new Uint8Array(0), digests: e.digests }),
  );
  return encodeEventLog({ headerPcr: 0, specId, events });
}

async function constellation(
  doc: MeasurementsDocument,
  str: (k: string) => string | undefined,
): Promise<string> {
  const { toConstellation } = await import('../../measurements/constellation.js');
  const need = ['csp', 'attestation-variant', 'image-version', 'ref', 'stream'];
  const missing = need.filter((k) => str(k) === undefined);
  if (missing.length)
    throw new UsageError(`--constellation needs ${missing.map((m) => `--${m}`).join(', ')}`);
  try {
    return toConstellation(doc, {
      csp: str('csp') as string,
      attestationVariant: str('attestation-variant') as string,
      version: str('image-version') as string,
      ref: str('ref') as string,
      stream: str('stream') as string,
    });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

function summary(doc: MeasurementsDocument, io: CommandIo): void {
  const lines = [
    `${doc.image.name}: ${doc.boot.mode === 'direct' ? 'UKI started directly by the firmware' : 'systemd-boot starts the UKI'}, Secure Boot ${doc.boot.secureBoot ? 'on' : 'off'}`,
    `systemd-stub ${doc.boot.systemdStub}${doc.boot.systemdBoot ? `, systemd-boot ${doc.boot.systemdBoot}` : ''}, kernel ${doc.boot.kernel ?? 'unknown'}`,
    '',
    table(
      ['PCR', 'origin', 'events', ...doc.banks],
      Object.entries(doc.pcrs).map(([pcr, p]) => [
        pcr,
        p.origin,
        String(p.events.length),
        ...doc.banks.map((b) => p.expected[b] ?? ''),
      ]),
    ),
  ];
  for (const n of doc.notPredicted) lines.push(`PCR ${n.pcr}: not predicted (${n.reason})`);
  if (doc.launch) {
    lines.push(
      '',
      `${doc.launch.platform} launch values (${Object.entries(doc.launch.parameters)
        .map(([k, x]) => `${k} ${x}`)
        .join(', ')}):`,
    );
    for (const l of doc.launch.values)
      lines.push(
        `  ${l.name}${l.vcpus ? ` (${l.vcpus} vCPU)` : ''}${l.order ? ` (${l.order})` : ''} ${l.value}`,
      );
    for (const n of doc.launch.notPredicted) lines.push(`  ${n.name}: not predicted (${n.reason})`);
  }
  for (const ph of doc.pcr11Phases)
    lines.push(
      `PCR 11 after phases '${ph.phase}': ${doc.banks.map((b) => `${b}=${ph.expected[b]}`).join(' ')}`,
    );
  io.stdout.write(`${lines.join('\n')}\n`);
}
