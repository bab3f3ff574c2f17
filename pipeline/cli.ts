// argv -> command -> exit code. The only place that turns errors into exit codes and messages.
import { createRequire } from 'node:module';
import { helpText, parseCommandArgs, type Command, type CommandIo } from './command.js';
import { NodeimgError } from './errors.js';
import { exitCodeFor, EXIT } from './exit-codes.js';
import { prestartForLargeInput } from './commands/measure-prestart.js';
/**
 * The commands, loaded only when run: importing every command up front cost ~0.2-0.4 s per
 * invocation (bench/measure.mjs, bench/mrtd.mjs). A test checks each summary equals its command's.
 */
export interface CommandEntry {
  readonly name: string;
  readonly summary: string;
  load(): Promise<Command>;
  /**
   * Work that may start before the command's modules load (they take tens of ms), given its
   * arguments; returns what to run once the command has ended, however it ended.
   */
  prepare?(args: readonly string[], io: CommandIo): () => Promise<void>;
}

export const COMMANDS: readonly CommandEntry[] = [
  {
    name: 'build',
    summary:
      'Build a node image from a recipe and its lock: stages cached by content, outputs and manifest.json.',
    load: async () => (await import('./commands/build.js')).buildCommand,
  },
  {
    name: 'release',
    summary:
      'Cut a release: build (cached), measure, optionally boot-check, sign, log and publish it with a signed version index.',
    load: async () => (await import('./commands/release.js')).releaseCommand,
  },
  {
    name: 'inspect',
    summary:
      'Show partitions, ESP files and, for every EFI binary, Authenticode hashes, sections and versions.',
    load: async () => (await import('./commands/inspect.js')).inspectCommand,
  },
  {
    name: 'lock',
    summary:
      "Pin every package of a build recipe to an exact .deb (version, sha256, URL) in the recipe's lock file.",
    load: async () => (await import('./commands/lock.js')).lockCommand,
  },
  {
    name: 'measure',
    summary:
      'Predict the PCRs (and the firmware event log) a disk image or UKI produces when it boots under OVMF.',
    load: async () => (await import('./commands/measure.js')).measureCommand,
    prepare: prestartForLargeInput,
  },
  {
    name: 'eventlog',
    summary: 'Show, replay (and check against read PCR values) or compare TPM 2.0 event logs.',
    load: async () => (await import('./commands/eventlog.js')).eventlogCommand,
  },
  {
    name: 'verify',
    summary:
      'Check what a machine measured (event log + TPM PCRs, SEV-SNP report) against a measurements document.',
    load: async () => (await import('./commands/verify.js')).verifyCommand,
  },
  {
    name: 'fetch-measurements',
    summary:
      "Fetch a release's signed measurements from a store and verify signature, identity, transparency log, version index and schema, fail-closed.",
    load: async () => (await import('./commands/fetch-measurements.js')).fetchMeasurementsCommand,
  },
  {
    name: 'reproduce',
    summary:
      'Rebuild a published release from its signed recipe and lock, compare every stage, artefact and PCR, and attest the result.',
    load: async () => (await import('./commands/reproduce.js')).reproduceCommand,
  },
  {
    name: 'boot-check',
    summary:
      'Boot a disk image under QEMU + OVMF + swtpm and check the predicted PCRs against what the TPM really received.',
    load: async () => (await import('./commands/boot-check.js')).bootCheckCommand,
  },
  {
    name: 'launch-digest',
    summary:
      'Compute the SEV-SNP / SEV-ES / SEV launch digest (report MEASUREMENT) or the TDX MRTD (and RTMRs) from firmware and kernel files.',
    load: async () => (await import('./commands/launch-digest.js')).launchDigestCommand,
  },
  {
    name: 'snp-report',
    summary: 'Decode an SEV-SNP attestation report (MEASUREMENT, REPORT_DATA, TCB, chip id, ...).',
    load: async () => (await import('./commands/snp-report.js')).snpReportCommand,
  },
  {
    name: 'verify-bundle',
    summary:
      'Verify a Sigstore bundle for a file offline (managed key or keyless identity), as a sigstore-conformance client.',
    load: async () => (await import('./commands/verify-bundle.js')).verifyBundleCommand,
  },
  {
    name: 'keygen',
    summary: 'Generate an ECDSA P-256 signing key pair (key.pem, key.pub) for nodeimg sign.',
    load: async () => (await import('./commands/keygen.js')).keygenCommand,
  },
  {
    name: 'sign',
    summary:
      'Sign a file with a managed key or keyless (Fulcio), log it in the transparency log, and write a Sigstore bundle.',
    load: async () => (await import('./commands/sign.js')).signCommand,
  },
  {
    name: 'log',
    summary: "Show the local transparency log's trusted root (for verify-bundle) or its signed checkpoint.",
    load: async () => (await import('./commands/log.js')).logCommand,
  },
  {
    name: 'tlog',
    summary:
      'Serve the local transparency log over the Rekor v1 API, pin a served log, show its trusted root.',
    load: async () => (await import('./commands/tlog.js')).tlogCommand,
  },
  {
    name: 'serve',
    summary: 'Serve a local directory store read-only over HTTP (GET/HEAD, ETag = sha256), as a CDN would.',
    load: async () => (await import('./commands/serve.js')).serveCommand,
  },
];

function version(): string {
  const require = createRequire(import.meta.url);
  for (const p of ['../package.json', '../../package.json']) {
    try {
      return (require(p) as { version: string }).version;
    } catch {
      // try the next layout (source tree vs dist/)
    }
  }
  return 'unknown';
}

function globalHelp(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  const lines = COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`);
  return [
    'usage: nodeimg <command> [options]',
    '',
    'Reproducible confidential-VM node images with precomputed, signed and logged measurements.',
    '',
    'commands:',
    ...lines,
    '',
    'nodeimg <command> --help shows the options of a command. Exit codes: 0 ok, 1 a check failed,',
    '2 usage error, 3 malformed input, 4 file error, 5 external tool failed, 6 schema error, 70 bug.',
    '',
  ].join('\n');
}

export async function main(argv: readonly string[], io: CommandIo): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    const target = name === 'help' ? COMMANDS.find((c) => c.name === rest[0]) : undefined;
    io.stdout.write(target ? helpText(await target.load()) : globalHelp());
    return name === undefined ? EXIT.usage : EXIT.ok;
  }
  if (name === '--version' || name === '-V') {
    io.stdout.write(`nodeimg ${version()}\n`);
    return EXIT.ok;
  }
  const entry = COMMANDS.find((c) => c.name === name);
  if (!entry) {
    io.stderr.write(`nodeimg: unknown command '${name}'\n\n${globalHelp()}`);
    return EXIT.usage;
  }
  const help = rest.includes('--help') || rest.includes('-h');
  const cleanup = help ? undefined : entry.prepare?.(rest, io);
  try {
    const cmd = await entry.load();
    if (help) {
      io.stdout.write(helpText(cmd));
      return EXIT.ok;
    }
    try {
      return await cmd.run(parseCommandArgs(cmd, rest), io);
    } catch (err) {
      return report(err, cmd, io);
    }
  } finally {
    await cleanup?.();
  }
}

function report(err: unknown, cmd: Command, io: CommandIo): number {
  const code = exitCodeFor(err);
  if (err instanceof NodeimgError) {
    io.stderr.write(`nodeimg ${cmd.name}: error [${err.code}]: ${err.message}\n`);
    if (err.hint) io.stderr.write(`  hint: ${err.hint}\n`);
    if (err.code === 'INTERNAL' && err.cause instanceof Error)
      io.stderr.write(`${err.cause.stack ?? err.cause.message}\n`);
  } else {
    io.stderr.write(`nodeimg ${cmd.name}: internal error (a bug in nodeimg, please report it):\n`);
    io.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  }
  return code;
}
