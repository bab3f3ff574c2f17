// Fetching one Packages index of an authenticated suite: pick the variant the signed Release lists
// (Packages.xz, then .gz, then uncompressed), fetch it by hash when the Release says
// Acquire-By-Hash (by-hash/SHA256/<hex>: the file cannot change under us while the mirror updates;
// apt does the same), else by name, and check its size and sha256 against the Release before
// anything reads it. When the Release also lists the uncompressed Packages (Debian does), the
// decompressed bytes are checked against that entry too. gzip is decompressed with node:zlib, xz
// with `xz -d` through runTool (Node has no xz).
import { readFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import type { ReleaseFileEntry, ReleaseInfo } from '../../formats/apt/release.js';
import { runTool } from '../run-tool.js';
import { ProvenanceError } from './errors.js';
import { sha256Hex } from './files.js';
import { fetchAtMost, type HttpOptions } from './http.js';

export const MAX_INDEX_BYTES = 512 * 1024 * 1024;
const VARIANTS = ['.xz', '.gz', ''] as const;

export interface FetchedIndex {
  /** The Release entry of the file that was fetched (path relative to dists/<suite>/). */
  readonly entry: ReleaseFileEntry;
  readonly url: string;
  /** As fetched (compressed): what the Release's sha256 covers and what the archive keeps. */
  readonly raw: Uint8Array;
  /** Decompressed Packages text. */
  readonly packages: Uint8Array;
}

/** Decompresses an index by its file name's suffix. */
export async function decompressIndex(raw: Uint8Array, path: string): Promise<Uint8Array> {
  if (path.endsWith('.gz')) return new Uint8Array(gunzipSync(raw, { maxOutputLength: MAX_INDEX_BYTES }));
  if (!path.endsWith('.xz')) return raw;
  const dir = await mkdtemp(join(tmpdir(), 'nodeimg-xz-'));
  try {
    await writeFile(join(dir, 'Packages.xz'), raw);
    await runTool('xz', ['-d', '-q', '--', join(dir, 'Packages.xz')], { timeoutMs: 300_000 });
    return new Uint8Array(await readFile(join(dir, 'Packages')));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** The Release entry nodeimg fetches for component/binary-arch/Packages, or undefined. */
export function chooseIndex(
  release: ReleaseInfo,
  component: string,
  architecture: string,
): ReleaseFileEntry | undefined {
  for (const v of VARIANTS) {
    const e = release.sha256.get(`${component}/binary-${architecture}/Packages${v}`);
    if (e !== undefined) return e;
  }
  return undefined;
}

export async function fetchIndex(
  distsUrl: string,
  release: ReleaseInfo,
  component: string,
  architecture: string,
  http: HttpOptions,
): Promise<FetchedIndex> {
  const entry = chooseIndex(release, component, architecture);
  const subject = `${distsUrl}${component}/binary-${architecture}/Packages`;
  if (entry === undefined)
    throw new ProvenanceError(
      'PROVENANCE_INDEX_MISMATCH',
      subject,
      'the signed Release lists no Packages index for it',
      {
        hint: `the suite has components ${release.components.join(', ') || '(none listed)'} and architectures ${release.architectures.join(', ') || '(none listed)'}`,
      },
    );
  const dir = entry.path.slice(0, entry.path.lastIndexOf('/') + 1);
  const urls = [
    ...(release.acquireByHash ? [`${distsUrl}${dir}by-hash/SHA256/${entry.sha256}`] : []),
    `${distsUrl}${entry.path}`,
  ];
  let raw: Uint8Array | undefined;
  let url = '';
  for (const u of urls) {
    raw = await fetchAtMost(u, Math.min(MAX_INDEX_BYTES, entry.size), http);
    url = u;
    if (raw !== undefined) break;
  }
  if (raw === undefined)
    throw new ProvenanceError(
      'PROVENANCE_INDEX_MISMATCH',
      `${distsUrl}${entry.path}`,
      'the signed Release lists it but the mirror does not serve it (HTTP 404)',
      {
        hint: 'the mirror may be in the middle of an update; try again',
      },
    );
  const got = sha256Hex(raw);
  if (raw.length !== entry.size || got !== entry.sha256)
    throw new ProvenanceError(
      'PROVENANCE_INDEX_MISMATCH',
      url,
      `${raw.length > entry.size ? `more than ${entry.size} bytes` : `${raw.length} bytes with sha256 ${got}`}; the signed Release lists ${entry.size} bytes with sha256 ${entry.sha256}`,
      {
        hint: 'the index is not the one the suite signed (tampered, or a mirror caught mid-update): nothing from it is used',
      },
    );
  const packages = await decompressIndex(raw, entry.path);
  const plain = release.sha256.get(`${component}/binary-${architecture}/Packages`);
  if (plain !== undefined && plain !== entry) {
    const p = sha256Hex(packages);
    if (packages.length !== plain.size || p !== plain.sha256)
      throw new ProvenanceError(
        'PROVENANCE_INDEX_MISMATCH',
        url,
        `decompresses to ${packages.length} bytes with sha256 ${p}; the signed Release lists the uncompressed index as ${plain.size} bytes with sha256 ${plain.sha256}`,
      );
  }
  return { entry, url, raw, packages };
}
