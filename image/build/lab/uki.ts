// A UKI assembled by hand with objcopy, like the lab's build-uki.sh (systemd 252 has no ukify):
// systemd-stub + .osrel .cmdline .initrd .linux at page-aligned VMAs after the stub's last
// section, padded to 8 bytes (sbsign hashes an 8-aligned image), TimeDateStamp reset and CheckSum
// recomputed (pe-fixup.ts).
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { DEFAULT_SOURCE_DATE_EPOCH, runTool } from '../run-tool.js';
import { padTo, setPeTimestamp } from './pe-fixup.js';

export interface UkiInputs {
  /** systemd-boot-efi's linuxx64.efi.stub */
  readonly stub: string;
  /** The kernel image (vmlinuz). */
  readonly kernel: string;
  readonly initrd: string;
  readonly cmdline: string;
  readonly osRelease: string;
}

export interface UkiOptions extends UkiInputs {
  readonly outFile: string;
  readonly sourceDateEpoch?: number;
  /** Section alignment of the added sections; default 0x1000. */
  readonly align?: number;
}

/** End (VMA + size) of the last section in `objdump -h` output. Pure. */
export function objdumpSectionsEnd(text: string): number {
  let end = 0;
  for (const line of text.split('\n')) {
    const m = /^\s*\d+\s+\S+\s+([0-9a-f]+)\s+([0-9a-f]+)\s/i.exec(line);
    if (m === null) continue;
    end = Math.max(end, parseInt(m[2] ?? '0', 16) + parseInt(m[1] ?? '0', 16));
  }
  return end;
}

export interface PlacedSection {
  readonly name: string;
  readonly file: string;
  readonly vma: number;
  readonly size: number;
}

/** Places sections one after another from `end`, each at an `align`-aligned VMA. Pure. */
export function placeSections(
  end: number,
  sections: readonly { name: string; file: string; size: number }[],
  align = 0x1000,
): PlacedSection[] {
  const up = (n: number): number => Math.ceil(n / align) * align;
  let vma = up(end);
  return sections.map((s) => {
    const placed = { ...s, vma };
    vma = up(vma + s.size);
    return placed;
  });
}

/** objcopy arguments adding `placed` to `stub`, writing `out`. Pure. */
export function objcopyArgs(placed: readonly PlacedSection[], stub: string, out: string): string[] {
  return [
    ...placed.flatMap((s) => [
      '--add-section',
      `${s.name}=${s.file}`,
      '--change-section-vma',
      `${s.name}=0x${s.vma.toString(16)}`,
    ]),
    stub,
    out,
  ];
}

/** Builds the UKI at opts.outFile and returns the placed sections. */
export async function buildUki(opts: UkiOptions): Promise<PlacedSection[]> {
  const epoch = opts.sourceDateEpoch ?? DEFAULT_SOURCE_DATE_EPOCH;
  await mkdir(dirname(opts.outFile), { recursive: true });
  const work = await mkdtemp(join(dirname(opts.outFile), '.uki-'));
  try {
    await writeFile(join(work, 'osrel'), opts.osRelease);
    await writeFile(join(work, 'cmdline'), opts.cmdline);
    // .linux last, as ukify does
    const files: [string, string][] = [
      ['.osrel', join(work, 'osrel')],
      ['.cmdline', join(work, 'cmdline')],
      ['.initrd', opts.initrd],
      ['.linux', opts.kernel],
    ];
    const sections = await Promise.all(
      files.map(async ([name, file]) => ({ name, file, size: (await stat(file)).size })),
    );
    const { stdout } = await runTool('objdump', ['-h', opts.stub]);
    const placed = placeSections(objdumpSectionsEnd(stdout), sections, opts.align ?? 0x1000);
    const raw = join(work, 'uki.efi');
    await runTool('objcopy', objcopyArgs(placed, opts.stub, raw), {
      sourceDateEpoch: epoch,
      timeoutMs: 120_000,
    });
    await writeFile(opts.outFile, setPeTimestamp(padTo(await readFile(raw), 8), epoch));
    return placed;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
