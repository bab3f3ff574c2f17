import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { literalCpio, packCpio } from '../../measurements/systemd/cpio.js';

describe('systemd-stub cpio archives', () => {
  it('matches the os-release literal cpio vector of measured-boot.md §4.5', () => {
    const a = literalCpio('os-release', new TextEncoder().encode('ID=test\n'));
    expect(a.length).toBe(380);
    expect(createHash('sha256').update(a).digest('hex')).toBe(
      'ceb09e6a0f1a5594352ff386916ef2d572ddcf5dc4ad7824c7f1dac50334c216',
    );
    expect(createHash('sha384').update(a).digest('hex')).toBe(
      '14c4f6fa3f7579e0ac810714a326f27d7d34ca2910f106e3e31893224f8f13408baa647243751b3d968b9d2601d04460',
    );
  });

  it('is read back by GNU cpio with the modes systemd uses', () => {
    const a = packCpio(
      '.extra/credentials',
      [
        { name: 'b.cred', data: new TextEncoder().encode('bee') },
        { name: 'a.cred', data: new TextEncoder().encode('a') },
      ],
      0o500,
      0o400,
    );
    const dir = mkdtempSync(join(tmpdir(), 'nodeimg-cpio-'));
    try {
      const listing = execFileSync('cpio', ['-itv', '--quiet'], { input: a, cwd: dir }).toString();
      const lines = listing.trim().split('\n');
      expect(lines.map((l) => l.split(/\s+/).at(-1))).toEqual([
        '.extra',
        '.extra/credentials',
        '.extra/credentials/a.cred',
        '.extra/credentials/b.cred',
      ]);
      expect(lines[0]).toMatch(/^dr-xr-xr-x/);
      expect(lines[1]).toMatch(/^dr-x------/);
      expect(lines[2]).toMatch(/^-r--------/);
      execFileSync('cpio', ['-id', '--quiet'], { input: a, cwd: dir });
      expect(readFileSync(join(dir, '.extra/credentials/b.cred'), 'utf8')).toBe('bee');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
