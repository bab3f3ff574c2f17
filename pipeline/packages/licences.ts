// The licences of the locked packages for the SBOM: each .deb's /usr/share/doc/<name>/copyright read
// from the .deb cache (image/build/apt-archive/copyright.ts), checked against the lock's sha256
// first so the SBOM describes exactly the locked bytes. One package at a time (each runs tar, and
// xz for most Debian packages).
import { debCachePath, debLabel, debMismatch, type DebRef } from '../../image/build/apt-archive/deb.js';
import { readDebCopyright } from '../../image/build/apt-archive/copyright.js';
import { digestFile } from '../../image/build/apt-archive/files.js';
import type { DebianCopyright } from '../../image/formats/apt/copyright.js';
import { NodeimgError } from '../errors.js';

/** sha256 -> parsed copyright file (undefined: the package ships none under its own name). */
export async function readLicences(
  packages: readonly DebRef[],
  debDir: string,
): Promise<Map<string, DebianCopyright | undefined>> {
  const out = new Map<string, DebianCopyright | undefined>();
  for (const p of packages) {
    if (out.has(p.sha256)) continue;
    const path = debCachePath(debDir, p.sha256);
    const got = await digestFile(path);
    if (got === undefined)
      throw new NodeimgError('IO_NOT_FOUND', `${debLabel(p)} is not in ${debDir} (${path})`);
    if (got.size !== p.size || got.sha256 !== p.sha256) throw debMismatch(p, path, got);
    out.set(p.sha256, await readDebCopyright(path, p.name));
  }
  return out;
}
