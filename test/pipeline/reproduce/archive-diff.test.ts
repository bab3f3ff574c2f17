// The initrd member diff of reproduce: real newc archives made by GNU cpio (and gzip -n), read by
// our cpio reader; a changed /init is named with its mode, size, mtime and a line diff, a changed
// mode or mtime alone is named too, identical archives give no difference; hostile input is a
// ParseError, never a crash.
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { readNewcCpio } from '../../../image/formats/archive/index.js';
import { ParseError } from '../../../image/formats/errors.js';
import { cpioDifferences } from '../../../pipeline/reproduce/archive-diff.js';
import { prngFn } from '../../helpers/prng.js';

const tmp = mkdtempSync(join(tmpdir(), 'nodeimg-cpio-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** A newc archive of a small initrd tree, made by GNU cpio. */
function archive(name: string, init: string, initMode = 0o755, mtime = 1_700_000_000): Buffer {
  const dir = join(tmp, name);
  mkdirSync(join(dir, 'bin'), { recursive: true });
  writeFileSync(join(dir, 'init'), init);
  chmodSync(join(dir, 'init'), initMode);
  writeFileSync(join(dir, 'bin', 'busybox'), Buffer.alloc(3000, 7));
  for (const p of ['init', 'bin/busybox', 'bin', '.']) utimesSync(join(dir, p), mtime, mtime);
  return execFileSync('sh', [
    '-c',
    `cd '${dir}' && printf '.\\nbin\\nbin/busybox\\ninit\\n' | cpio -o -H newc --quiet`,
  ]);
}

describe('initrd member diff', () => {
  it('reads what GNU cpio writes', () => {
    const m = readNewcCpio(archive('read', '#!/bin/sh\necho hi\n'));
    expect(m.map((x) => x.name)).toEqual(['.', 'bin', 'bin/busybox', 'init']);
    const init = m.find((x) => x.name === 'init');
    expect(init?.mode.toString(8)).toBe('100755');
    expect(init?.mtime).toBe(1_700_000_000);
    expect(Buffer.from(init?.data ?? []).toString()).toBe('#!/bin/sh\necho hi\n');
  });

  it('names a changed /init with a line diff, in gzip-compressed and concatenated archives', () => {
    const a = archive('a', '#!/bin/sh\necho NODEIMG\npoweroff -f\n');
    const b = archive('b', '#!/bin/sh\necho NODEIMG-CHANGED\npoweroff -f\n');
    const extra = archive('extra', 'x');
    const d = cpioDifferences(gzipSync(Buffer.concat([a, extra.subarray(0, 0)])), gzipSync(b));
    expect(d?.map((x) => x.path)).toEqual(['init']);
    expect(d?.[0]?.diff).toEqual(expect.arrayContaining(['- echo NODEIMG', '+ echo NODEIMG-CHANGED']));
    expect(cpioDifferences(gzipSync(a), gzipSync(a))).toEqual([]);
    // concatenated archives: members of both are compared
    const two = cpioDifferences(
      Buffer.concat([a, Buffer.alloc(12), a]),
      Buffer.concat([a, Buffer.alloc(12), b]),
    );
    expect(two?.map((x) => x.path)).toEqual(['init']);
  });

  it('names a member whose mode or mtime alone differs, and one that is missing', () => {
    const a = archive('m1', 'same\n');
    const d = cpioDifferences(a, archive('m2', 'same\n', 0o700, 1_700_000_001));
    expect(d?.map((x) => [x.path, x.published?.mode, x.rebuilt?.mode])).toContainEqual([
      'init',
      '100755',
      '100700',
    ]);
    expect(d?.some((x) => x.path === 'init' && x.published?.mtime !== x.rebuilt?.mtime)).toBe(true);
    expect(d?.find((x) => x.path === 'init')?.diff).toBeUndefined();
    expect(cpioDifferences(a, Buffer.from('zstd?'))).toBeUndefined();
  });

  it('hostile archives give ParseErrors (3,000 mutations)', () => {
    const base = archive('fuzz', '#!/bin/sh\n');
    const rnd = prngFn(11);
    let parsed = 0;
    for (let i = 0; i < 3000; i++) {
      const b = Buffer.from(base);
      const n = 1 + Math.floor(rnd() * 8);
      for (let k = 0; k < n; k++) b[Math.floor(rnd() * b.length)] = Math.floor(rnd() * 256);
      const cut = rnd() < 0.3 ? b.subarray(0, Math.floor(rnd() * b.length)) : b;
      try {
        readNewcCpio(cut);
        parsed++;
      } catch (err) {
        expect(err).toBeInstanceOf(ParseError);
      }
    }
    expect(parsed).toBeGreaterThan(0);
  });
});
