// image/build/verity.ts on real files: the hash image written from a streamed file (one thread and
// worker threads) equals `veritysetup format`'s byte for byte with the same salt and UUID, and
// `veritysetup verify` accepts it; the appended layout equals veritysetup's combined file; the salt
// and UUID follow the seed; bad inputs are refused before anything is written and nothing is left
// under the output name on failure.
import { createHmac } from 'node:crypto';
import { copyFile, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appendVerityHash, verityIdentity, writeVerityHashImage } from '../../../image/build/verity.js';
import { fillRandom } from '../../helpers/prng.js';
import { veritysetupFormat, veritysetupVerify, type VeritysetupCase } from '../../helpers/veritysetup.js';

const SEED = '6e6f6465-696d-4467-a972-697465727321';
const MiB = 1024 * 1024;
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'nodeimg-verity-file-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function dataFile(name: string, bytes: number, seed: number): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, fillRandom(new Uint8Array(bytes), seed));
  return path;
}

function caseOf(
  r: { salt: string; uuid?: string; dataBlocks: number },
  extra: Partial<VeritysetupCase> = {},
): VeritysetupCase {
  return {
    hashAlgorithm: 'sha256',
    hashType: 1,
    dataBlockSize: 4096,
    hashBlockSize: 4096,
    salt: Buffer.from(r.salt, 'hex'),
    uuid: r.uuid ?? '',
    superblock: true,
    dataBlocks: r.dataBlocks,
    ...extra,
  };
}

describe('writeVerityHashImage', () => {
  it.each([
    { workers: 1, mib: 9, hashAlgorithm: 'sha256' as const, dataBlockSize: 4096, hashBlockSize: 4096 },
    { workers: 2, mib: 24, hashAlgorithm: 'sha256' as const, dataBlockSize: 4096, hashBlockSize: 4096 },
    { workers: 3, mib: 13, hashAlgorithm: 'sha512' as const, dataBlockSize: 1024, hashBlockSize: 512 },
  ])(
    '$workers thread(s), $mib MiB, $hashAlgorithm $dataBlockSize/$hashBlockSize: equals veritysetup format and passes veritysetup verify',
    async ({ workers, mib, ...params }) => {
      const data = await dataFile(`data-${workers}`, mib * MiB + 3 * 4096, workers);
      const ours = join(dir, `ours-${workers}.img`);
      const r = await writeVerityHashImage(data, ours, { seed: SEED, workers, ...params });
      const c = caseOf(r, params);
      const theirs = join(dir, `theirs-${workers}.img`);
      expect(await veritysetupFormat(c, data, theirs)).toBe(r.rootHash);
      const [a, b] = [await readFile(ours), await readFile(theirs)];
      expect(a.length).toBe(r.hashSize);
      expect(Buffer.compare(a, b)).toBe(0);
      await veritysetupVerify(c, data, ours, r.rootHash);
      // a changed data block: veritysetup verify fails against our tree
      const bad = join(dir, `bad-${workers}`);
      await copyFile(data, bad);
      await writeFile(bad, new Uint8Array([1, 2, 3]), { flag: 'r+' });
      await expect(veritysetupVerify(c, bad, ours, r.rootHash)).rejects.toMatchObject({
        code: 'TOOL_FAILED',
      });
      expect(await readdir(dir)).not.toContain(`.ours-${workers}.img.partial`);
    },
  );

  it('handles a single data block (no hash levels) like veritysetup', async () => {
    const data = await dataFile('one', 4096, 11);
    const r = await writeVerityHashImage(data, join(dir, 'one.hash'), { seed: SEED });
    expect([r.levels, r.hashSize]).toEqual([0, 4096]);
    expect(await veritysetupFormat(caseOf(r), data, join(dir, 'one.theirs'))).toBe(r.rootHash);
    expect(
      Buffer.compare(await readFile(join(dir, 'one.hash')), await readFile(join(dir, 'one.theirs'))),
    ).toBe(0);
  });
});

describe('appendVerityHash', () => {
  it('equals veritysetup format --data-blocks N --hash-offset O on one file', async () => {
    const src = await dataFile('combined-src', 5 * MiB, 21);
    const ours = join(dir, 'combined-ours');
    const theirs = join(dir, 'combined-theirs');
    await copyFile(src, ours);
    await copyFile(src, theirs);
    const hashOffset = 5 * MiB + 8192;
    const r = await appendVerityHash(ours, { seed: SEED, label: 'usr', hashOffset, workers: 2 });
    expect(r.hashOffset).toBe(hashOffset);
    expect(r.hashStartBlock).toBe(hashOffset / 4096 + 1);
    const c = caseOf(r, { appendAt: hashOffset });
    expect(await veritysetupFormat(c, theirs, theirs)).toBe(r.rootHash);
    expect(Buffer.compare(await readFile(ours), await readFile(theirs))).toBe(0);
    await veritysetupVerify(c, ours, ours, r.rootHash);
  });
});

describe('salt and UUID from the seed', () => {
  it('derives them with HMAC-SHA256 over a label, per label', async () => {
    const key = Buffer.from(SEED.replaceAll('-', ''), 'hex');
    const id = verityIdentity({ seed: SEED });
    expect(Buffer.from(id.salt).toString('hex')).toBe(
      createHmac('sha256', key).update('verity-salt:root').digest('hex'),
    );
    const u = createHmac('sha256', key).update('verity-uuid:root').digest('hex');
    expect(id.uuid?.replaceAll('-', '').slice(0, 12)).toBe(u.slice(0, 12));
    expect(id.uuid?.[14]).toBe('4'); // version 4
    expect(verityIdentity({ seed: SEED, label: 'usr' }).uuid).not.toBe(id.uuid);
    const given = verityIdentity({ salt: new Uint8Array(0), uuid: 'AAAAAAAA-0000-4000-8000-000000000000' });
    expect(given).toEqual({ salt: new Uint8Array(0), uuid: 'aaaaaaaa-0000-4000-8000-000000000000' });
    const data = await dataFile('seeded', 64 * 4096, 31);
    const a = await writeVerityHashImage(data, join(dir, 'seeded-a'), { seed: SEED });
    const b = await writeVerityHashImage(data, join(dir, 'seeded-b'), { seed: SEED, workers: 2 });
    expect([b.rootHash, b.hashSha256, b.uuid]).toEqual([a.rootHash, a.hashSha256, a.uuid]);
  });
});

describe('refusals', () => {
  it('refuses partial blocks, a missing seed, missing files, and leaves no output', async () => {
    const odd = await dataFile('odd', 4096 * 3 + 100, 41);
    const out = join(dir, 'refused.hash');
    await expect(writeVerityHashImage(odd, out, { seed: SEED })).rejects.toMatchObject({
      code: 'USAGE',
      message: expect.stringMatching(/not a positive multiple of the 4096-byte data block size/),
      hint: expect.stringMatching(/unprotected/),
    });
    // with an explicit block count the trailing bytes are outside the tree, like --data-blocks
    const r = await writeVerityHashImage(odd, out, { seed: SEED, dataBlocks: 3 });
    expect(await veritysetupFormat(caseOf(r), odd, join(dir, 'odd.theirs'))).toBe(r.rootHash);
    await rm(out);
    await expect(writeVerityHashImage(odd, out, { salt: new Uint8Array(1) })).rejects.toMatchObject({
      code: 'USAGE',
      message: expect.stringMatching(/seed/),
    });
    await expect(writeVerityHashImage(join(dir, 'nope'), out, { seed: SEED })).rejects.toMatchObject({
      code: 'IO_NOT_FOUND',
    });
    await expect(
      writeVerityHashImage(odd, out, { seed: SEED, dataBlocks: 3, signal: AbortSignal.abort() }),
    ).rejects.toThrow();
    const big = await dataFile('big', 16 * MiB, 42);
    const ctl = new AbortController();
    const pending = writeVerityHashImage(big, out, { seed: SEED, workers: 2, signal: ctl.signal });
    ctl.abort(new Error('stop'));
    await expect(pending).rejects.toThrow('stop');
    await expect(stat(out)).rejects.toMatchObject({ code: 'ENOENT' });
    expect((await readdir(dir)).filter((f) => f.includes('partial'))).toEqual([]);
  });
});
