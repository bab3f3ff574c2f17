// A flat apt repository of exactly the locked .deb files, for the offline mmdebstrap run
// (reproducible-build spec §2 "Offline rebuild"): the files under their pool names, an override
// file with the archive's Priority and Section of each package, and Packages from
// `dpkg-scanpackages -m . override`. mmdebstrap reads it as `deb [trusted=yes] copy://DIR ./`
// (no Release file, hence trusted=yes; nothing in it is fetched from anywhere).
import { copyFile, link, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runTool } from '../run-tool.js';
import { checkLockedDebs, lockedDebPath } from './debs.js';
import type { RootfsLock } from './lock.js';

/** "package priority section" lines, sorted (dpkg-scanpackages(1) override file). */
export function overrideFile(lock: RootfsLock): string {
  return [...lock.packages]
    .sort((a, b) => (a.package < b.package ? -1 : a.package > b.package ? 1 : 0))
    .map((d) => `${d.package} ${d.priority} ${d.section}\n`)
    .join('');
}

/** Fills the empty directory `dir` with the flat repository of `lock` (debs from `store`). */
export async function writeFlatRepo(lock: RootfsLock, store: string, dir: string): Promise<void> {
  await checkLockedDebs(lock, store);
  for (const d of lock.packages) {
    const from = lockedDebPath(store, d);
    const to = join(dir, d.filename);
    await link(from, to).catch(() => copyFile(from, to)); // a copy across file systems
  }
  await writeFile(join(dir, 'override'), overrideFile(lock));
  const { stdout } = await runTool('dpkg-scanpackages', ['-m', '.', 'override'], {
    cwd: dir,
    timeoutMs: 600_000,
  });
  await writeFile(join(dir, 'Packages'), stdout);
}
