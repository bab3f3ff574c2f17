// The directory store: the shared contract, plus its on-disk layout (atomic writes leave no
// temporary files, sidecar digests, nothing outside the root is ever read).
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  mkdir,
  mkdtemp,
  open,
  readdir,
  readFile,
  rm,
  symlink,
  unlink,
  utimes,
  writeFile,
} from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DirStore, STORE_DIR } from '../../../../pipeline/adapters/store/dir-store.js';
import { describeStoreContract, sha256 } from '../../../helpers/store-contract.js';

async function overwrite(path: string, bytes: Uint8Array): Promise<void> {
  const fh = await open(path, 'r+'); // same inode and size: the sidecar still claims the old digest
  await fh.write(bytes, 0, bytes.length, 0);
  await fh.close();
}

describeStoreContract('dir', async () => {
  const root = await mkdtemp(join(tmpdir(), 'nodeimg-dirstore-'));
  const store = new DirStore(root);
  return {
    writer: store,
    reader: store,
    bigObjectBytes: 12 * 1024 * 1024,
    tamper: (key, bytes) => overwrite(join(root, ...key.split('/')), bytes),
    close: () => rm(root, { recursive: true, force: true }),
  };
});

describe('DirStore on disk', () => {
  let root: string;
  let outside: string;
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'nodeimg-dirstore-'));
    outside = await mkdtemp(join(tmpdir(), 'nodeimg-outside-'));
  });
  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
    await rm(outside, { recursive: true, force: true });
  });

  it('stores a key as the file of that path, with a sidecar, and no temporary file left', async () => {
    const store = new DirStore(root);
    const bytes = randomBytes(1000);
    await store.putImmutable('v2/ref/-/stream/stable/v1.0.0/image/measurements.json', bytes, {
      sha256: sha256(bytes),
    });
    const path = join(root, 'v2/ref/-/stream/stable/v1.0.0/image/measurements.json');
    expect(sha256(await readFile(path))).toBe(sha256(bytes));
    const meta = JSON.parse(
      await readFile(
        join(root, STORE_DIR, 'meta', 'v2/ref/-/stream/stable/v1.0.0/image/measurements.json.json'),
        'utf8',
      ),
    ) as { sha256: string };
    expect(meta.sha256).toBe(sha256(bytes));
    expect(await readdir(join(root, STORE_DIR, 'tmp'))).toEqual([]);
    expect(await store.list('')).toEqual(['v2/ref/-/stream/stable/v1.0.0/image/measurements.json']);
  });

  it('computes the digest of a file that has no sidecar (copied in by hand)', async () => {
    const store = new DirStore(root);
    const bytes = randomBytes(5000);
    await mkdir(join(root, 'manual'), { recursive: true });
    await writeFile(join(root, 'manual', 'a.bin'), bytes);
    expect(await store.head('manual/a.bin')).toEqual({ size: 5000, sha256: sha256(bytes) });
    expect(await store.putImmutable('manual/a.bin', bytes, { sha256: sha256(bytes) })).toBe('unchanged');
    // a file replaced by another one of another size: the old sidecar is not used
    await unlink(join(root, 'manual', 'a.bin'));
    const other = randomBytes(6000);
    await writeFile(join(root, 'manual', 'a.bin'), other);
    expect((await store.head('manual/a.bin'))?.sha256).toBe(sha256(other));
  });

  it('never follows a symlink out of the root', async () => {
    const store = new DirStore(root);
    await writeFile(join(outside, 'secret'), 'secret');
    await mkdir(join(root, 'links'), { recursive: true });
    await symlink(join(outside, 'secret'), join(root, 'links', 'file'));
    await symlink(outside, join(root, 'links', 'dir'));
    expect(await store.get('links/file')).toBeUndefined();
    expect(await store.get('links/dir/secret')).toBeUndefined();
    expect(await store.head('links/dir/secret')).toBeUndefined();
    expect(await store.list('links/')).toEqual([]);
  });

  it('a lock left by a process that died on this host is taken over; a live holder is waited for', async () => {
    const store = new DirStore(root, 300);
    const dir = join(root, STORE_DIR, 'locks');
    const lock = join(dir, sha256(Buffer.from('versions/dead.json')));
    await mkdir(dir, { recursive: true });
    // a pid that cannot be running: the child exited before we write its pid
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], {
      encoding: 'utf8',
    });
    await writeFile(lock, `${dead.stdout} ${hostname()}\n`);
    expect(await store.putVersioned('versions/dead.json', Buffer.from('[1]'), { expected: null })).toBe(
      sha256(Buffer.from('[1]')),
    );
    await expect(readFile(lock)).rejects.toThrow(); // released after use
    // an empty lock file (a crash between create and write) once it is older than 5 s
    await writeFile(lock, '');
    await utimes(lock, new Date(Date.now() - 60_000), new Date(Date.now() - 60_000));
    expect(
      await store.putVersioned('versions/dead.json', Buffer.from('[2]'), {
        expected: sha256(Buffer.from('[1]')),
      }),
    ).toBe(sha256(Buffer.from('[2]')));
    // this very process holds it: not stale, so the writer times out
    await writeFile(lock, `${process.pid} ${hostname()}\n`);
    const err = await store
      .putVersioned('versions/dead.json', Buffer.from('[3]'), { expected: sha256(Buffer.from('[2]')) })
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'PUBLISH_FAILED', retryable: true });
    await unlink(lock);
  });

  it('a lock left behind makes putVersioned fail after its timeout, naming the lock file', async () => {
    const store = new DirStore(root, 200);
    const lock = join(root, STORE_DIR, 'locks', sha256(Buffer.from('versions/current.json')));
    await mkdir(join(root, STORE_DIR, 'locks'), { recursive: true });
    await writeFile(lock, '99999 crashed-host\n');
    const err = await store
      .putVersioned('versions/current.json', Buffer.from('[]'), { expected: null })
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'PUBLISH_FAILED', retryable: true });
    expect((err as { hint: string }).hint).toContain(lock);
    await unlink(lock);
    expect(await store.putVersioned('versions/current.json', Buffer.from('[]'), { expected: null })).toBe(
      sha256(Buffer.from('[]')),
    );
  });

  it('a key that would need an existing object as a folder is a PUBLISH_FAILED, not a crash', async () => {
    const store = new DirStore(root);
    const b = randomBytes(10);
    await store.putImmutable('clash', b, { sha256: sha256(b) });
    await expect(store.putImmutable('clash/inner', b, { sha256: sha256(b) })).rejects.toMatchObject({
      code: 'PUBLISH_FAILED',
    });
    expect(await readdir(join(root, STORE_DIR, 'tmp'))).toEqual([]);
  });
});
