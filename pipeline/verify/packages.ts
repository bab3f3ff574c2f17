// The verifier's view of a release's packages (issue 12), after info.json verified under the
// signer policy (fetch-measurements.ts): packages.json and sbom.spdx.json must be stored under the
// version with exactly the sha256 the signed info.json lists, the provenance document must match
// its schema and count, and the SBOM must list every traced .deb by its digest. With a keyring it
// also re-checks the package archive itself (verifyPackageArchive: every InRelease signature,
// every index against its Release, every stanza, every pool .deb present with its size and
// sha256; `deep` re-hashes each .deb as it streams). Loaded lazily: only --packages needs it.
import { createHash } from 'node:crypto';
import { NodeimgError } from '../errors.js';
import type { ObjectReader } from '../ports.js';
import { verifyPackageArchive, type ArchiveCheck } from '../packages/archive.js';
import { provenanceDocumentKey, sbomDocumentKey } from '../packages/keys.js';
import { parseProvenanceDocument } from '../packages/provenance.js';
import type { ReleaseArtefact, ReleaseInfoDocument } from '../release/documents.js';
import type { ReleaseCoordinates } from '../release/names.js';
import { assertValid } from '../schema/validate.js';
import sbomSchema from '../schema/spdx-sbom.schema.json' with { type: 'json' };
import type { Keyring } from '../../image/build/apt-archive/gpgv.js';

const MAX_DOCUMENT = 256 * 1024 * 1024;

export interface PackagesCheckOptions {
  /** Re-check the archive's chain with this keyring (--verify-packages). */
  readonly keyring?: Keyring;
  /** Re-hash every archived .deb (streams them all). */
  readonly deep?: boolean;
}

export interface PackagesCheck {
  readonly count: number;
  readonly provenance: { readonly key: string; readonly sha256: string };
  readonly sbom: { readonly key: string; readonly sha256: string };
  /** null when only the documents were checked (no keyring). */
  readonly archive: (ArchiveCheck & { readonly deep: boolean }) | null;
}

async function pinned(store: Pick<ObjectReader, 'ref' | 'get'>, a: ReleaseArtefact, want: string, c: string) {
  if (a.key !== want)
    throw new NodeimgError(
      'VERIFY_RELEASE_MISMATCH',
      `info.json of ${c} lists ${a.name} at ${a.key}, not at ${want}`,
    );
  let bytes: Uint8Array | undefined;
  try {
    bytes = await store.get(a.key, { maxBytes: MAX_DOCUMENT, sha256: a.sha256 });
  } catch (err) {
    if (err instanceof NodeimgError && err.code === 'PUBLISH_INTEGRITY')
      throw new NodeimgError(
        'VERIFY_DIGEST_MISMATCH',
        `${a.name} of ${c} does not have the sha256 the signed info.json lists: ${err.message}`,
        { cause: err },
      );
    throw err;
  }
  if (bytes === undefined)
    throw new NodeimgError('VERIFY_NOT_FOUND', `${a.name} of ${c} is missing from ${store.ref} (${a.key})`);
  const got = createHash('sha256').update(bytes).digest('hex');
  if (got !== a.sha256 || bytes.length !== a.size)
    throw new NodeimgError(
      'VERIFY_DIGEST_MISMATCH',
      `${a.name} of ${c} has sha256 ${got} (${bytes.length} bytes); the signed info.json lists ${a.sha256} (${a.size} bytes): it was changed after release`,
    );
  return Buffer.from(bytes).toString('utf8');
}

/** `infoText`: info.json exactly as verified against the signed version index. */
export async function checkReleasePackages(
  store: ObjectReader,
  coords: ReleaseCoordinates,
  infoText: string,
  opts: PackagesCheckOptions = {},
): Promise<PackagesCheck> {
  const c = coords.version;
  let info: ReleaseInfoDocument;
  try {
    info = JSON.parse(infoText) as ReleaseInfoDocument;
  } catch (err) {
    throw new NodeimgError('SCHEMA_INVALID', `info.json of ${c} is not JSON: ${(err as Error).message}`);
  }
  const listed = info.packages;
  if (listed === undefined)
    throw new NodeimgError(
      'VERIFY_NOT_FOUND',
      `${c} was released without package provenance: its signed info.json lists no packages.json`,
      { hint: 'the lock of that release had no provenance, or it was released with --no-package-archive' },
    );
  const text = await pinned(store, listed.provenance, provenanceDocumentKey(coords), c);
  const sbomText = await pinned(store, listed.sbom, sbomDocumentKey(coords), c);
  const doc = parseProvenanceDocument(text);
  if (doc.packages.length !== listed.count)
    throw new NodeimgError(
      'VERIFY_RELEASE_MISMATCH',
      `packages.json of ${c} traces ${doc.packages.length} packages; info.json says ${listed.count}`,
    );
  let sbom: { packages?: { checksums?: { checksumValue?: string }[] }[] };
  try {
    sbom = JSON.parse(sbomText) as typeof sbom;
  } catch (err) {
    throw new NodeimgError('SCHEMA_INVALID', `sbom.spdx.json of ${c} is not JSON: ${(err as Error).message}`);
  }
  assertValid(`sbom.spdx.json of ${c}`, sbomSchema, sbom);
  const inSbom = new Set(
    (sbom.packages ?? []).flatMap((p) => (p.checksums ?? []).map((k) => k.checksumValue)),
  );
  const absent = doc.packages.filter((p) => !inSbom.has(p.sha256));
  if (absent.length > 0)
    throw new NodeimgError(
      'VERIFY_RELEASE_MISMATCH',
      `sbom.spdx.json of ${c} does not list ${absent.length} of the traced packages: ${absent
        .slice(0, 5)
        .map((p) => `${p.name}=${p.version}`)
        .join(', ')}`,
    );
  const archive =
    opts.keyring === undefined
      ? null
      : {
          ...(await verifyPackageArchive(store, text, {
            keyring: opts.keyring,
            architecture: doc.architecture,
            deep: opts.deep === true,
          })),
          deep: opts.deep === true,
        };
  return {
    count: doc.packages.length,
    provenance: { key: listed.provenance.key, sha256: listed.provenance.sha256 },
    sbom: { key: listed.sbom.key, sha256: listed.sbom.sha256 },
    archive,
  };
}
