// Real Debian binaries for tests: the package folders of image/build/lab/debs.ts (apt-get download +
// dpkg-deb -x into .cache/debs, once, safe across test files and forks).
import { debRoot } from '../../image/build/lab/debs.js';

export interface DebPackage {
  /** The package asked for (e.g. the metapackage linux-image-amd64). */
  readonly requested: string;
  /** The package downloaded (e.g. linux-image-6.1.0-56-amd64). */
  readonly name: string;
  readonly version: string;
  /** Extraction root: files are at root + '/usr/…', root + '/boot/…'. */
  readonly root: string;
}

export async function debPackage(pkg: string): Promise<DebPackage> {
  const r = await debRoot(pkg);
  return { requested: pkg, name: r.package, version: r.version, root: r.root };
}
