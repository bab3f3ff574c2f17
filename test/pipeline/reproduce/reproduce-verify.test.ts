// The fast half of `nodeimg reproduce` (issue 11): a tampered manifest.json or source.tar in the
// store is rejected by verification (exit 10, the verifier's message) before anything is built or
// written (the --work folder is never created); source.tar is deterministic and extracts only
// regular files inside its folder; the text diff of a report.
import { generateKeyPairSync } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, cp, mkdtemp, open, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pack } from 'tar-stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DirStore } from '../../../pipeline/adapters/store/dir-store.js';
import { KeySigner } from '../../../pipeline/adapters/key-signer.js';
import { LocalLog } from '../../../pipeline/adapters/local-log/local-log.js';
import { canonicalText } from '../../../pipeline/release/canonical-text.js';
import { artefactKey, coordinates, imagePrefix } from '../../../pipeline/release/names.js';
import { publishRelease } from '../../../pipeline/release/publish.js';
import {
  extractSourceArchive,
  SOURCE_ARCHIVE,
  writeSourceArchive,
} from '../../../pipeline/release/source-archive.js';
import { lineDiff } from '../../../pipeline/reproduce/text-diff.js';
import { sha256Hex } from '../../../pipeline/release/version-index.js';
import { run } from '../../helpers/cli.js';
import { MINIMAL } from '../../helpers/build.js';
import { FIXED_CLOCK, sampleMeasurements } from '../../helpers/release-store.js';

let tmp: string;
let store: string;
let keyPub: string;
let root: string;

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'nodeimg-reproduce-verify-'));
  const k = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const pem = k.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  keyPub = join(tmp, 'key.pub');
  await writeFile(keyPub, k.publicKey.export({ type: 'spki', format: 'pem' }).toString());
  const log = await LocalLog.open(join(tmp, 'tlog'), FIXED_CLOCK);
  root = join(tmp, 'trusted_root.json');
  await writeFile(root, JSON.stringify(log.trustedRoot()));
  const src = await writeSourceArchive({ recipe: MINIMAL, cwd: tmp, outPath: join(tmp, SOURCE_ARCHIVE) });
  const disk = join(tmp, 'disk.raw');
  await writeFile(disk, Buffer.alloc(4096, 1));
  store = join(tmp, 'store');
  await publishRelease({
    store: new DirStore(store),
    coords: coordinates('v1.0.0'),
    name: 'minimal',
    artefacts: [
      { name: 'disk.raw', path: disk, sha256: sha256Hex(Buffer.alloc(4096, 1)), size: 4096 },
      { name: SOURCE_ARCHIVE, path: src.path, sha256: src.sha256, size: src.size },
    ],
    manifestText: canonicalText({ recipe: { sha256: src.digests.get('recipe.json') } }),
    measurements: sampleMeasurements(),
    signer: KeySigner.fromPem(pem, 'key.pem', {}),
    log,
  });
  await log.close();
});

afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

/** A copy of the store with one byte of `key` flipped in place (the store's sidecar left as it was). */
async function tampered(name: string, key: string, offset: number): Promise<string> {
  const copy = join(tmp, name);
  await cp(store, copy, { recursive: true });
  const fh = await open(join(copy, key), 'r+');
  const b = Buffer.alloc(1);
  await fh.read(b, 0, 1, offset);
  b[0] = (b[0] as number) ^ 1;
  await fh.write(b, 0, 1, offset);
  await fh.close();
  return copy;
}

const reproduce = (storeDir: string, work: string) =>
  run([
    'reproduce',
    '--version',
    'v1.0.0',
    '--store',
    `dir:${storeDir}`,
    '--key',
    keyPub,
    '--trusted-root',
    root,
    '--offline',
    '--state',
    join(tmp, `state-${Math.random()}.json`),
    '--work',
    work,
  ]);

describe('nodeimg reproduce: verification before any build', () => {
  it('a tampered manifest.json is rejected with exit 10 and nothing is created', async () => {
    const key = `${imagePrefix(coordinates('v1.0.0'))}manifest.json`;
    const copy = await tampered('store-manifest', key, 5);
    const work = join(tmp, 'work-manifest');
    const r = await reproduce(copy, work);
    expect(r.code, r.stderr).toBe(10);
    expect(r.stderr).toContain('[VERIFY_DIGEST_MISMATCH]');
    expect(r.stderr).toContain('manifest.json');
    expect(existsSync(work)).toBe(false);
  });

  it('a tampered source.tar is rejected with exit 10 and nothing is created', async () => {
    const copy = await tampered('store-source', artefactKey(coordinates('v1.0.0'), SOURCE_ARCHIVE), 600);
    const work = join(tmp, 'work-source');
    const r = await reproduce(copy, work);
    expect(r.code, r.stderr).toBe(10);
    expect(r.stderr).toContain('[VERIFY_DIGEST_MISMATCH]');
    expect(r.stderr).toMatch(/source\.tar of v1\.0\.0 .*changed after release/);
    expect(existsSync(work)).toBe(false);
  });

  it('another signer key is rejected (exit 12) before anything is created', async () => {
    const other = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const otherPub = join(tmp, 'other.pub');
    await writeFile(otherPub, other.publicKey.export({ type: 'spki', format: 'pem' }).toString());
    const work = join(tmp, 'work-key');
    const r = await run([
      'reproduce',
      '--version',
      'v1.0.0',
      '--store',
      `dir:${store}`,
      '--key',
      otherPub,
      '--trusted-root',
      root,
      '--offline',
      '--state',
      join(tmp, 'state-key.json'),
      '--work',
      work,
    ]);
    expect(r.code, r.stderr).toBe(12);
    expect(existsSync(work)).toBe(false);
  });
});

describe('source.tar', () => {
  it('is the same bytes whatever the files’ times and modes, sorted, mtime = sourceDateEpoch, uid 0, mode 0644', async () => {
    const a = await writeSourceArchive({ recipe: MINIMAL, cwd: tmp, outPath: join(tmp, 'a.tar') });
    const copy = join(tmp, 'copy');
    await cp(MINIMAL, copy, { recursive: true });
    await chmod(join(copy, 'init.sh'), 0o700);
    await utimes(join(copy, 'recipe.json'), 1, 2);
    const b = await writeSourceArchive({ recipe: copy, cwd: tmp, outPath: join(tmp, 'b.tar') });
    expect(b.sha256).toBe(a.sha256);
    expect(a.members).toEqual(['init.sh', 'nodeimg.lock.json', 'recipe.json']);
    const bytes = await readFile(a.path);
    // ustar header of the first member: mode at 100, uid 108, gid 116, mtime 136 (octal)
    const field = (o: number, n: number) =>
      bytes
        .subarray(o, o + n)
        .toString('latin1')
        .replace(/[\0 ]+$/, '');
    expect(field(0, 100)).toBe('init.sh');
    expect(parseInt(field(100, 8), 8)).toBe(0o644);
    expect(parseInt(field(108, 8), 8)).toBe(0);
    expect(parseInt(field(136, 12), 8)).toBe(1_700_000_000);
    const out = await extractSourceArchive(bytes, join(tmp, 'x'));
    expect([...out.keys()].sort()).toEqual(a.members);
    expect(out.get('recipe.json')).toBe(a.digests.get('recipe.json'));
  });

  it('refuses members outside the folder and non-regular files', async () => {
    const evil = async (name: string, type: 'file' | 'symlink') => {
      const p = pack();
      const chunks: Buffer[] = [];
      p.on('data', (c: unknown) => {
        chunks.push(c as Buffer);
      });
      const done = new Promise<void>((ok) => p.on('end', () => ok()));
      if (type === 'file') p.entry({ name, size: 1 }, Buffer.from('x'));
      else p.entry({ name, type: 'symlink', linkname: '/etc/passwd' });
      p.finalize();
      await done;
      return Buffer.concat(chunks);
    };
    await expect(extractSourceArchive(await evil('../escape', 'file'), join(tmp, 'e1'))).rejects.toThrow(
      /outside its folder/,
    );
    await expect(extractSourceArchive(await evil('link', 'symlink'), join(tmp, 'e2'))).rejects.toThrow(
      /not a regular file/,
    );
    expect(existsSync(join(tmp, 'escape'))).toBe(false);
  });
});

describe('lineDiff', () => {
  it('marks the first differing character of a one-line text', () => {
    expect(lineDiff('a b', 'a c')).toEqual([
      '- a b',
      '+ a c',
      `${' '.repeat(4)}^ first difference at character 2`,
    ]);
  });
  it('keeps common lines and shows removed and added ones', () => {
    expect(lineDiff('A=1\nB=2\nC=3', 'A=1\nB=9\nC=3')).toEqual(['  A=1', '- B=2', '+ B=9', '  C=3']);
  });
});
