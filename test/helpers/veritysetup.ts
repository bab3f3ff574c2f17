// Runs `veritysetup format` / `veritysetup verify` (cryptsetup 2.6.1, scripts/setup installs it) on
// files for the dm-verity tests, with the options nodeimg's VerityParams name.
import { runTool } from '../../image/build/run-tool.js';
import type { VerityHashAlgorithm, VerityHashType } from '../../image/formats/verity/index.js';

export interface VeritysetupCase {
  readonly hashAlgorithm: VerityHashAlgorithm;
  readonly hashType: VerityHashType;
  readonly dataBlockSize: number;
  readonly hashBlockSize: number;
  readonly salt: Uint8Array;
  readonly uuid: string;
  readonly superblock: boolean;
  /** Hash area in the data file itself at this byte offset (--data-blocks N --hash-offset O). */
  readonly appendAt?: number;
  readonly dataBlocks: number;
}

function common(c: VeritysetupCase): string[] {
  return [
    '--hash',
    c.hashAlgorithm,
    '--format',
    String(c.hashType),
    '--data-block-size',
    String(c.dataBlockSize),
    '--hash-block-size',
    String(c.hashBlockSize),
    '--salt',
    c.salt.length === 0 ? '-' : Buffer.from(c.salt).toString('hex'),
    ...(c.superblock ? [] : ['--no-superblock', '--data-blocks', String(c.dataBlocks)]),
    ...(c.appendAt === undefined
      ? []
      : [
          ...(c.superblock ? ['--data-blocks', String(c.dataBlocks)] : []),
          '--hash-offset',
          String(c.appendAt),
        ]),
  ];
}

/** `veritysetup format`; returns the root hash (hex) it prints. */
export async function veritysetupFormat(c: VeritysetupCase, data: string, hash: string): Promise<string> {
  const { stdout } = await runTool('veritysetup', [
    'format',
    ...common(c),
    ...(c.superblock ? ['--uuid', c.uuid] : []),
    data,
    hash,
  ]);
  const m = /^Root hash:\s+([0-9a-f]+)$/m.exec(stdout);
  if (!m) throw new Error(`veritysetup printed no root hash:\n${stdout}`);
  return m[1] as string;
}

/** `veritysetup verify`; resolves when the data and hash device match the root hash. */
export async function veritysetupVerify(
  c: VeritysetupCase,
  data: string,
  hash: string,
  root: string,
): Promise<void> {
  const args = c.superblock
    ? [...(c.appendAt === undefined ? [] : ['--hash-offset', String(c.appendAt)])]
    : common(c);
  await runTool('veritysetup', ['verify', ...args, data, hash, root]);
}
