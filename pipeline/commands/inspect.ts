import type { Command, CommandIo } from '../command.js';
import { writeJson } from '../command.js';
import { EXIT } from '../exit-codes.js';
import { inspectFile, type InspectReport } from '../../image/inspect.js';
import { assertInspectReport } from '../schema/validate.js';
import { formatBytes, table } from '../render.js';

export const inspectCommand: Command = {
  name: 'inspect',
  summary:
    'Show partitions, ESP files and, for every EFI binary, Authenticode hashes, sections and versions.',
  usage: 'nodeimg inspect <disk.raw | esp.img | file.efi> [--json]',
  help: `arguments:
  <input>      a raw GPT disk image, a FAT (ESP) image, or a PE/EFI binary (UKI, systemd-boot,
               shim, grub, vmlinuz). Read without root, mounting or loop devices.

options:
  --json       write the report as JSON (schema: pipeline/schema/inspect.schema.json) to stdout
  -h, --help   show this help

Authenticode hashes are computed as UEFI firmware computes them for the TPM event log (PCR 4):
no 8-byte padding, the certificate table excluded. Section sha256 covers the VirtualSize bytes, as
systemd-stub measures sections into PCR 11.`,
  options: { json: { type: 'boolean' } },
  positionals: { min: 1, max: 1 },
  async run(args, io) {
    const report = await inspectFile(args.positionals[0] as string);
    for (const w of report.warnings) io.stderr.write(`warning: ${w}\n`);
    if (args.values['json'] === true) {
      // The JSON output is a contract: validate it before anyone else reads it.
      assertInspectReport(report);
      writeJson(io, report);
    } else {
      renderInspect(report, io);
    }
    return EXIT.ok;
  },
};

function renderInspect(r: InspectReport, io: CommandIo): void {
  const out: string[] = [];
  out.push(
    `${r.input.path}: ${r.input.kind === 'disk' ? 'GPT disk image' : r.input.kind === 'fat' ? 'FAT file system' : 'PE/EFI binary'}, ${formatBytes(r.input.size)}`,
  );
  if (r.disk) {
    out.push(
      '',
      `disk GUID ${r.disk.diskGuid}, ${r.disk.sectorSize}-byte sectors${r.disk.usedBackupHeader ? ' (read from the BACKUP GPT header)' : ''}`,
    );
    out.push(
      table(
        ['#', 'start LBA', 'end LBA', 'size', 'type', 'name', 'partition GUID'],
        r.disk.partitions.map((p) => [
          String(p.index),
          String(p.firstLba),
          String(p.lastLba),
          formatBytes(p.size),
          p.typeName ?? p.typeGuid,
          p.name,
          p.uniqueGuid,
        ]),
      ),
    );
  }
  for (const fs of r.filesystems) {
    out.push(
      '',
      `${fs.type} file system${fs.partition === null ? '' : ` on partition ${fs.partition}`}: volume id ${fs.volumeId}, label '${fs.volumeLabel}', ${fs.clusterSize}-byte clusters`,
    );
    out.push(
      table(
        ['path', 'size', 'sha256'],
        fs.files.map((f) => [
          f.type === 'directory' ? `${f.path}/` : f.path,
          f.type === 'directory' ? '' : String(f.size),
          f.sha256 ?? '',
        ]),
      ),
    );
  }
  for (const b of r.efiBinaries) {
    out.push(
      '',
      `${b.path}${b.partition === null ? '' : ` (partition ${b.partition})`}: ${b.format} ${b.machine}, ${formatBytes(b.size)}, subsystem ${b.subsystem}`,
    );
    if (b.systemd) out.push(`  ${b.systemd.kind} ${b.systemd.version}`);
    if (b.kernel)
      out.push(`  Linux kernel ${b.kernel.version}${b.kernel.source === '.linux' ? ' (in .linux)' : ''}`);
    out.push(`  file sha256          ${b.sha256}`);
    for (const [alg, v] of Object.entries(b.authenticode)) out.push(`  authenticode ${alg.padEnd(7)} ${v}`);
    out.push(
      table(
        ['section', 'vaddr', 'vsize', 'raw size', 'raw ptr', 'sha256 (VirtualSize bytes)'],
        b.sections.map((s) => [
          s.name,
          hex(s.virtualAddress),
          String(s.virtualSize),
          String(s.sizeOfRawData),
          hex(s.pointerToRawData),
          s.sha256,
        ]),
        '  ',
      ),
    );
    if (b.uki?.uname) out.push(`  .uname   ${b.uki.uname.trim()}`);
    if (b.uki?.cmdline) out.push(`  .cmdline ${b.uki.cmdline.trim()}`);
    const pretty = b.uki?.osRelease?.match(/^PRETTY_NAME="?([^"\n]*)"?$/m)?.[1];
    if (pretty) out.push(`  .osrel   ${pretty}`);
    if (b.signatures.length === 0) out.push('  not signed');
    for (const s of b.signatures) {
      out.push(
        `  signature at ${hex(s.offset)}, ${s.length} bytes, WIN_CERTIFICATE revision ${hex(s.revision)} type ${hex(s.type)}`,
      );
      for (const c of s.certificates) out.push(`    certificate ${c.subject} (issuer ${c.issuer})`);
    }
  }
  io.stdout.write(`${out.join('\n')}\n`);
}

function hex(n: number): string {
  return `0x${n.toString(16)}`;
}
