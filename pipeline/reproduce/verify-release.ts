// Step one of `nodeimg reproduce` (issue 11): everything a rebuild starts from, verified before
// anything is built. The release's manifest.json, measurements.json and info.json are verified
// exactly as fetch-measurements verifies measurements.json (verifyReleaseDocuments: pointer ->
// signed index -> each document pinned by the digest the index lists, bundle verified, online log
// checks); then source.tar, pinned by the sha256 the signed info.json lists, and the recipe and
// lock inside it, pinned by the signed manifest. A changed manifest, info.json or source.tar is a
// VERIFY_DIGEST_MISMATCH (exit 10) here, and nothing has been written yet.
import { createHash } from 'node:crypto';
import { NodeimgError } from '../errors.js';
import { BUILD_MANIFEST_SCHEMA_ID, type BuildManifest } from '../build/manifest.js';
import { assertSchema } from '../build/schema-errors.js';
import { assertValid } from '../schema/validate.js';
import measurementsSchema from '../schema/measurements.schema.json' with { type: 'json' };
import type { MeasurementsDocument } from '../../measurements/document.js';
import { INFO_SCHEMA_ID, type ReleaseArtefact, type ReleaseInfoDocument } from '../release/documents.js';
import { SOURCE_ARCHIVE } from '../release/source-archive.js';
import { verifyReleaseDocuments, type FetchRequest } from '../verify/fetch-measurements.js';
import type { VerifiedDocument } from '../verify/signed-document.js';

const MAX_SOURCE = 64 * 1024 * 1024;

export interface VerifiedInputs {
  readonly manifest: BuildManifest;
  readonly manifestSha256: string;
  readonly measurements: MeasurementsDocument;
  readonly info: ReleaseInfoDocument;
  /** source.tar exactly as published, its sha256 the one info.json lists. */
  readonly source: Uint8Array;
  readonly index: { readonly sequence: number; readonly sha256: string; readonly key: string };
  readonly signer: string;
  readonly documents: Readonly<Record<string, VerifiedDocument>>;
  /** Advances the rollback state (after the caller's own checks). */
  commit(): Promise<void>;
}

const parse = (bytes: Uint8Array, what: string): unknown => {
  try {
    return JSON.parse(Buffer.from(bytes).toString('utf8')) as unknown;
  } catch (err) {
    throw new NodeimgError('SCHEMA_INVALID', `${what} is not JSON: ${(err as Error).message}`);
  }
};

function checkInfo(v: unknown, req: FetchRequest): ReleaseInfoDocument {
  const info = v as Partial<ReleaseInfoDocument> | null;
  const c = req.coords;
  if (
    info === null ||
    typeof info !== 'object' ||
    info.$schema !== INFO_SCHEMA_ID ||
    !Array.isArray(info.artefacts) ||
    info.artefacts.some(
      (a: Partial<ReleaseArtefact>) => typeof a.key !== 'string' || typeof a.sha256 !== 'string',
    )
  )
    throw new NodeimgError('SCHEMA_INVALID', `info.json of ${c.version} is not a release info document`);
  if (info.version !== c.version || info.ref !== c.ref || info.stream !== c.stream)
    throw new NodeimgError(
      'VERIFY_RELEASE_MISMATCH',
      `info.json is for ${String(info.version)} (${String(info.ref)}/${String(info.stream)}), not the requested ${c.version} (${c.ref}/${c.stream})`,
    );
  return info as ReleaseInfoDocument;
}

export async function verifyReproduceInputs(req: FetchRequest): Promise<VerifiedInputs> {
  const r = await verifyReleaseDocuments(req, ['manifest.json', 'measurements.json', 'info.json']);
  const doc = (name: 'manifest.json' | 'measurements.json' | 'info.json') => {
    const d = r.documents[name];
    if (!d) throw new NodeimgError('INTERNAL', `${name} was not verified`);
    return d;
  };
  const c = req.coords;
  const info = checkInfo(parse(doc('info.json').bytes, 'info.json'), req);
  const entry = info.artefacts.find((a) => a.name === SOURCE_ARCHIVE);
  if (entry === undefined)
    throw new NodeimgError(
      'VERIFY_NOT_FOUND',
      `${c.version} was published without ${SOURCE_ARCHIVE} (released before nodeimg reproduce existed?): there is nothing to rebuild from`,
    );
  let source: Uint8Array | undefined;
  try {
    source = await req.store.get(entry.key, { maxBytes: MAX_SOURCE, sha256: entry.sha256 });
  } catch (err) {
    if (err instanceof NodeimgError && err.code === 'PUBLISH_INTEGRITY')
      throw new NodeimgError(
        'VERIFY_DIGEST_MISMATCH',
        `${SOURCE_ARCHIVE} of ${c.version} does not have the sha256 ${entry.sha256} the signed info.json lists: it was changed after release (${err.message})`,
        { cause: err },
      );
    throw err;
  }
  if (source === undefined)
    throw new NodeimgError(
      'VERIFY_NOT_FOUND',
      `${SOURCE_ARCHIVE} is missing from ${req.store.ref} (${entry.key})`,
    );
  const got = createHash('sha256').update(source).digest('hex');
  if (got !== entry.sha256)
    throw new NodeimgError(
      'VERIFY_DIGEST_MISMATCH',
      `${SOURCE_ARCHIVE} of ${c.version} has sha256 ${got}, the signed info.json lists ${entry.sha256}: it was changed after release`,
    );
  // every digest holds; now the documents' shapes
  const manifest = parse(doc('manifest.json').bytes, 'manifest.json') as BuildManifest;
  assertSchema(`manifest.json of ${c.version}`, BUILD_MANIFEST_SCHEMA_ID, manifest);
  const measurements = parse(doc('measurements.json').bytes, 'measurements.json') as MeasurementsDocument;
  assertValid(`measurements.json of ${c.version}`, measurementsSchema, measurements);
  return {
    manifest,
    manifestSha256: doc('manifest.json').verified.sha256,
    measurements,
    info,
    source,
    index: r.index,
    signer: doc('manifest.json').verified.signer,
    documents: {
      index: r.indexVerified,
      'manifest.json': doc('manifest.json').verified,
      'measurements.json': doc('measurements.json').verified,
      'info.json': doc('info.json').verified,
    },
    commit: r.commit,
  };
}
