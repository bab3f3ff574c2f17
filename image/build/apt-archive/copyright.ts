// The machine-readable copyright file of a .deb (/usr/share/doc/<package>/copyright, DEP-5), read
// for the SBOM's licences. The .deb's ar container is walked by nodeimg (image/formats/apt/ar.ts,
// reading only the 60-byte member headers), the data.tar member is copied to a temporary file, and
// GNU tar extracts the one file to stdout (-O, --occurrence=1: it stops reading once found),
// decompressing with xz/gzip/zstd as the member's name says. A package without the file (its doc
// folder is a symlink to another package's, or it ships none) yields undefined.
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import {
  AR_HEADER_SIZE,
  checkArMagic,
  parseArHeader,
  tarCompressionOf,
  type ArMember,
} from '../../formats/apt/ar.js';
import { parseDebianCopyright, type DebianCopyright } from '../../formats/apt/copyright.js';
import { NodeimgError } from '../../formats/errors.js';
import { ToolError } from '../../../pipeline/errors.js';
import { runTool } from '../run-tool.js';

const MAX_MEMBERS = 16;
const TAR_FLAG = { none: [], gzip: ['-z'], xz: ['-J'], zstd: ['--zstd'], bzip2: ['-j'] } as const;

/** The data.tar member of a .deb. */
export async function debDataMember(debPath: string): Promise<ArMember> {
  const fh = await open(debPath, 'r');
  try {
    const size = (await fh.stat()).size;
    const magic = Buffer.alloc(8);
    await fh.read(magic, 0, 8, 0);
    checkArMagic(magic, debPath);
    let pos = 8;
    for (let i = 0; i < MAX_MEMBERS && pos + AR_HEADER_SIZE <= size; i++) {
      const h = Buffer.alloc(AR_HEADER_SIZE);
      await fh.read(h, 0, AR_HEADER_SIZE, pos);
      const m = parseArHeader(h, pos, debPath);
      if (m.dataOffset + m.size > size)
        throw new NodeimgError(
          'PARSE_TRUNCATED',
          `${debPath}: ar member ${m.name} runs past the end of the file`,
        );
      if (m.name.startsWith('data.tar')) return m;
      pos = m.next;
    }
  } finally {
    await fh.close();
  }
  throw new NodeimgError('PARSE_INVALID', `${debPath}: no data.tar member (not a .deb?)`);
}

/** Parsed /usr/share/doc/<pkg>/copyright of the .deb, or undefined when it has none. */
export async function readDebCopyright(debPath: string, pkg: string): Promise<DebianCopyright | undefined> {
  const member = await debDataMember(debPath);
  const compression = tarCompressionOf(member.name);
  if (compression === undefined)
    throw new NodeimgError(
      'PARSE_UNSUPPORTED',
      `${debPath}: data member ${member.name} is not a tar nodeimg can read`,
    );
  const dir = await mkdtemp(join(tmpdir(), 'nodeimg-deb-'));
  try {
    const tarFile = join(dir, member.name);
    if (member.size > 0)
      await pipeline(
        createReadStream(debPath, { start: member.dataOffset, end: member.dataOffset + member.size - 1 }),
        createWriteStream(tarFile),
      );
    else await (await open(tarFile, 'w')).close();
    const file = `./usr/share/doc/${pkg}/copyright`;
    let text: string;
    try {
      text = (
        await runTool('tar', ['-x', '-O', '--occurrence=1', ...TAR_FLAG[compression], '-f', tarFile, file], {
          timeoutMs: 300_000,
        })
      ).stdout;
    } catch (err) {
      if (
        err instanceof ToolError &&
        err.code === 'TOOL_FAILED' &&
        /Not found in archive/.test(err.stderrTail)
      )
        return undefined;
      throw err;
    }
    return parseDebianCopyright(new TextEncoder().encode(text));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
