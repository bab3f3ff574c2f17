// `nodeimg boot-check` before anything boots: options, inputs, help. (The boots themselves are in
// test/e2e/boot-check.slow.test.ts.)
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../helpers/cli.js';

let dir: string;
let disk: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'nodeimg-boot-check-cli-'));
  disk = join(dir, 'disk.raw');
  await writeFile(disk, new Uint8Array(4096));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('nodeimg boot-check (no boot)', () => {
  it('is listed and explains itself', async () => {
    const all = await run(['--help']);
    expect(all.stdout).toMatch(/boot-check\s+Boot a disk image under QEMU/);
    const h = await run(['boot-check', '--help']);
    expect(h.code).toBe(0);
    expect(h.stdout).toMatch(/^usage: nodeimg boot-check <disk.raw>/);
    expect(h.stdout).toMatch(/--quiet S/);
  });

  it.each([
    [['boot-check'], /expected 1 argument/],
    [['boot-check', 'a', 'b'], /expected 1 argument/],
    [['boot-check', 'x.raw', '--firmware', 'seabios'], /--firmware must be ovmf or ovmf-secboot/],
    [['boot-check', 'x.raw', '--memory', 'lots'], /--memory takes a whole number/],
    [['boot-check', 'x.raw', '--smp', '0'], /--smp takes a whole number from 1/],
    [['boot-check', 'x.raw', '--timeout', '-5'], /--timeout/],
    [['boot-check', 'x.raw', '--marker', ''], /--marker needs a non-empty text/],
    [['boot-check', 'x,y.raw'], /comma/],
    [['boot-check', 'x.raw', '--bogus'], /Unknown option '--bogus'/],
  ])('usage error (exit 2): %j', async (args, message) => {
    const r = await run(args);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stdout).toBe('');
  });

  it('a disk or vars file that is not there: exit 4', async () => {
    const r = await run(['boot-check', join(dir, 'nope.raw')]);
    expect(r.code).toBe(4);
    expect(r.stderr).toMatch(/error \[IO_NOT_FOUND\]: cannot read .*nope.raw/);
    const v = await run(['boot-check', disk, '--vars', join(dir, 'nope.fd')]);
    expect(v.code).toBe(4);
  });

  it('a measurements document that is not one: exit 6 before anything boots', async () => {
    const doc = join(dir, 'm.json');
    await writeFile(doc, '{"hello": 1}');
    const r = await run(['boot-check', disk, '--against', doc]);
    expect(r.code).toBe(6);
    expect(r.stderr).toMatch(/SCHEMA_INVALID/);
    await writeFile(doc, 'not json');
    expect((await run(['boot-check', disk, '--against', doc])).code).toBe(6);
  });

  it('an image nodeimg cannot read fails in the prediction, before anything boots (exit 3)', async () => {
    const r = await run(['boot-check', disk]);
    expect(r.code).toBe(3);
    expect(r.stderr).not.toMatch(/booting/);
  });
});
