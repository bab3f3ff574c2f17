// The root-file-system chain for real (needs root, mmdebstrap and the Debian archive; about 3
// minutes): resolve a minbase lock online, fetch missing .debs with apt-get download, then build
// twice offline from the same locked .debs in different temporary directories (with a pause, as
// reproducible-build.md §10.5 asks): byte-identical rootfs tarballs, erofs images and dm-verity
// hash images (root hashes equal; veritysetup verify accepts them).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  buildErofsImage,
  buildRootfsTarball,
  fetchLockedDebs,
  lockedDebPath,
  resolveRootfsLock,
  type RootfsLock,
} from '../../../image/build/rootfs/index.js';
import { writeVerityHashImage } from '../../../image/build/verity.js';
import { veritysetupVerify } from '../../helpers/veritysetup.js';

const SEED = '6e6f6465-696d-4467-a972-697465727321';
let base: string;

beforeAll(async () => {
  base = await mkdtemp(join(tmpdir(), 'nodeimg-rootfs-slow-'));
});
afterAll(async () => {
  await rm(base, { recursive: true, force: true });
});

it.skipIf(process.getuid?.() !== 0)(
  'resolves a minbase lock and rebuilds byte-identical tar, erofs and verity images offline',
  async () => {
    const store = join(base, 'debs');
    const lock: RootfsLock = await resolveRootfsLock({ variant: 'minbase' }, { debStore: store });
    expect(lock.packages.length).toBeGreaterThan(80);
    const apt = lock.packages.find((d) => d.package === 'apt');
    expect(apt?.priority).toBe('required'); // the archive's override, not the control file's "important"
    expect(apt?.url).toMatch(/^http:\/\/deb\.debian\.org\/debian(-security)?\/pool\//);

    // two debs go missing from the store; fetchLockedDebs gets them back with their locked digests
    const gone = lock.packages.filter((d) => d.package === 'hostname' || d.package === 'debconf');
    expect(gone).toHaveLength(2);
    for (const d of gone) await rm(lockedDebPath(store, d));
    expect(await fetchLockedDebs(lock, store)).toEqual({ present: lock.packages.length - 2, downloaded: 2 });

    const build = async (name: string, workers: number) => {
      const dir = await mkdtemp(join(base, `${name}-`));
      const tar = await buildRootfsTarball({ lock, debStore: store }, join(dir, 'rootfs.tar'));
      const erofs = await buildErofsImage({ tarball: tar.path, seed: SEED }, join(dir, 'root.erofs'));
      const verity = await writeVerityHashImage(erofs.path, join(dir, 'root.verity'), {
        seed: SEED,
        workers,
      });
      return { tar, erofs, verity };
    };
    const a = await build('a', 1);
    await new Promise((r) => setTimeout(r, 2500));
    const b = await build('b', 2);
    console.log(
      `rootfs: ${lock.packages.length} packages, tar ${a.tar.sha256} (${a.tar.size} bytes, ${a.tar.audit.members} members), erofs ${a.erofs.sha256} (${a.erofs.size} bytes), verity root ${a.verity.rootHash}`,
    );
    expect(a.tar.audit.problems).toEqual([]);
    expect(a.tar.audit.packages).toBe(lock.packages.length);
    expect(b.tar.sha256).toBe(a.tar.sha256);
    expect(b.erofs.sha256).toBe(a.erofs.sha256);
    expect(b.verity.rootHash).toBe(a.verity.rootHash);
    expect(b.verity.hashSha256).toBe(a.verity.hashSha256);
    await veritysetupVerify(
      {
        hashAlgorithm: 'sha256',
        hashType: 1,
        dataBlockSize: 4096,
        hashBlockSize: 4096,
        salt: Buffer.from(a.verity.salt, 'hex'),
        uuid: a.verity.uuid ?? '',
        superblock: true,
        dataBlocks: a.verity.dataBlocks,
      },
      a.erofs.path,
      a.verity.path,
      a.verity.rootHash,
    );
  },
  20 * 60_000,
);
