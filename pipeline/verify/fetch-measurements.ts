// fetch-measurements, the verifier's front door (issue 9): from a store (local directory, S3, or
// HTTP(S) like a CDN), fetch the published measurements of one version and accept them only when
// every check passes, in this order:
//   1. versions/current.json -> the signed version index it names; the index's bytes must have
//      the pointer's sha256, its bundle must verify under the signer policy, its schema, ref and
//      stream must be the requested ones, and its sequence must not be older than the one this
//      verifier saw before (rollback state);
//   2. the version must be listed; measurements.json must have the digest the index lists, its
//      own bundle must verify, its schema must hold, its release block must name the requested
//      version/ref/stream, and it must enforce a complete set of PCRs;
//   3. online (unless --offline): every log entry of both bundles must still be in the log and the
//      log's current tree must be consistent with the checkpoints in the bundles.
// Only then is the rollback state advanced and the caller allowed to write anything.
import { NodeimgError } from '../errors.js';
import type { BundlePolicy } from '../adapters/sigstore-verify.js';
import type { ObjectReader } from '../ports.js';
import { assertValid } from '../schema/validate.js';
import measurementsSchema from '../schema/measurements.schema.json' with { type: 'json' };
import indexSchema from '../schema/version-index.schema.json' with { type: 'json' };
import pointerSchema from '../schema/version-pointer.schema.json' with { type: 'json' };
import type { MeasurementsDocument } from '../../measurements/document.js';
import { checkEnforcedSet } from '../release/documents.js';
import {
  BUNDLE_SUFFIX,
  imagePrefix,
  versionPointerKey,
  type ReleaseCoordinates,
  type SignedDocument,
} from '../release/names.js';
import type { VersionIndex, VersionPointer } from '../release/version-index.js';
import { stateKey, type RollbackState } from './rollback-state.js';
import { verifySignedDocument, type TlogEntryRef, type VerifiedDocument } from './signed-document.js';

/** What the verifier needs from a store (any ObjectReader: dir, S3, HTTP). */
export type StoreReader = Pick<ObjectReader, 'ref' | 'get'>;

/** What online verification needs from the transparency log. */
export interface OnlineLog {
  /** True when the entry is in the log; throws VERIFY_TLOG_UNREACHABLE when the log cannot be asked. */
  hasEntry(entry: TlogEntryRef): Promise<boolean>;
  /** Throws VERIFY_TLOG_INCONSISTENT unless the log's tree now extends (size, rootHash hex). */
  checkConsistent(entry: TlogEntryRef): Promise<void>;
}

export interface FetchRequest {
  readonly store: StoreReader;
  readonly coords: ReleaseCoordinates;
  readonly policy: BundlePolicy;
  readonly trustedRootJson?: string;
  readonly state: RollbackState;
  readonly allowRollback?: boolean;
  /** Absent = offline: the bundles' own proofs are the evidence. */
  readonly online?: OnlineLog;
}

export interface FetchResult {
  readonly document: MeasurementsDocument;
  /** measurements.json exactly as published and signed. */
  readonly bytes: Uint8Array;
  readonly index: { readonly sequence: number; readonly sha256: string; readonly key: string };
  readonly verified: { readonly index: VerifiedDocument; readonly measurements: VerifiedDocument };
}

const MAX_DOCUMENT = 64 * 1024 * 1024;
const MAX_SMALL = 4 * 1024 * 1024;

const text = (b: Uint8Array): string => Buffer.from(b).toString('utf8');

/**
 * An object's bytes. A store that records digests (dir sidecars, S3 metadata) refuses bytes that no
 * longer match them: that is a changed object, reported like any other digest mismatch.
 */
async function fetchObject(store: StoreReader, key: string, max: number): Promise<Uint8Array | undefined> {
  try {
    return await store.get(key, { maxBytes: max });
  } catch (err) {
    if (err instanceof NodeimgError && err.code === 'PUBLISH_INTEGRITY')
      throw new NodeimgError(
        'VERIFY_DIGEST_MISMATCH',
        `${store.ref}: ${key} was changed after it was stored: ${err.message}`,
        { cause: err },
      );
    throw err;
  }
}

async function need(store: StoreReader, key: string, max: number, what: string): Promise<Uint8Array> {
  const b = await fetchObject(store, key, max);
  if (b === undefined)
    throw new NodeimgError('VERIFY_NOT_FOUND', `${what} is missing from ${store.ref} (${key})`);
  return b;
}

function json(bytes: Uint8Array, what: string): unknown {
  try {
    return JSON.parse(text(bytes)) as unknown;
  } catch (err) {
    throw new NodeimgError('SCHEMA_INVALID', `${what} is not JSON: ${(err as Error).message}`);
  }
}

function mismatch(what: string, field: string, got: string, want: string): never {
  throw new NodeimgError(
    'VERIFY_RELEASE_MISMATCH',
    `${what} is for ${field} ${JSON.stringify(got)}, not the requested ${JSON.stringify(want)}`,
  );
}

async function checkOnline(log: OnlineLog, entries: readonly TlogEntryRef[], what: string): Promise<void> {
  for (const e of entries) {
    if (!(await log.hasEntry(e)))
      throw new NodeimgError(
        'VERIFY_TLOG_MISSING',
        `the transparency log no longer has the entry of ${what} (log index ${e.logIndex}, uuid ${e.uuid})`,
      );
    await log.checkConsistent(e);
  }
}

export interface VerifiedRelease {
  readonly index: { readonly sequence: number; readonly sha256: string; readonly key: string };
  readonly indexVerified: VerifiedDocument;
  /** The requested documents, exactly as published, each verified against the signed index. */
  readonly documents: Readonly<
    Partial<Record<SignedDocument, { bytes: Uint8Array; verified: VerifiedDocument }>>
  >;
  /** Advances the rollback state; call only once every check of the caller has passed too. */
  commit(): Promise<void>;
}

/**
 * Steps 1 and 3 for any set of the release's signed documents (fetch-measurements asks for
 * measurements.json, reproduce for all three): pointer -> signed index -> each document pinned by
 * the digest the index lists, its bundle verified; online log checks when asked.
 */
export async function verifyReleaseDocuments(
  req: FetchRequest,
  names: readonly SignedDocument[],
): Promise<VerifiedRelease> {
  const { store, coords, policy } = req;
  const trust = req.trustedRootJson === undefined ? {} : { trustedRootJson: req.trustedRootJson };
  const where = `${coords.ref}/${coords.stream}`;

  // 1. pointer -> signed index
  const pointerKey = versionPointerKey(coords);
  const pointerBytes = await fetchObject(store, pointerKey, MAX_SMALL);
  if (pointerBytes === undefined)
    throw new NodeimgError(
      'VERIFY_NOT_FOUND',
      `${store.ref} has no released versions on ${where} (${pointerKey})`,
    );
  const pointer = json(pointerBytes, pointerKey) as VersionPointer;
  assertValid(`version pointer ${pointerKey}`, pointerSchema, pointer);
  if (pointer.ref !== coords.ref) mismatch('the version pointer', 'ref', pointer.ref, coords.ref);
  if (pointer.stream !== coords.stream)
    mismatch('the version pointer', 'stream', pointer.stream, coords.stream);
  const indexBytes = await need(store, pointer.index, MAX_DOCUMENT, `version index ${pointer.sequence}`);
  const indexBundle = await need(store, pointer.index + BUNDLE_SUFFIX, MAX_SMALL, 'the version index bundle');
  const indexVerified = verifySignedDocument({
    what: `version index ${pointer.sequence} of ${where}`,
    bytes: indexBytes,
    bundleText: text(indexBundle),
    expectedSha256: pointer.sha256,
    policy,
    ...trust,
  });
  const index = json(indexBytes, pointer.index) as VersionIndex;
  assertValid(`version index ${pointer.index}`, indexSchema, index);
  if (index.ref !== coords.ref) mismatch('the version index', 'ref', index.ref, coords.ref);
  if (index.stream !== coords.stream) mismatch('the version index', 'stream', index.stream, coords.stream);
  if (index.sequence !== pointer.sequence)
    throw new NodeimgError(
      'VERIFY_RELEASE_MISMATCH',
      `the pointer names index ${pointer.sequence} but the signed index says it is number ${index.sequence}`,
    );
  const key = stateKey(store.ref, coords.ref, coords.stream);
  const seen = { sequence: index.sequence, sha256: indexVerified.sha256 };
  req.state.check(key, seen, req.allowRollback === true);

  // 2. the version's documents, each pinned by the digest the signed index lists
  const entry = index.versions.find((v) => v.version === coords.version);
  if (entry === undefined)
    throw new NodeimgError(
      'VERIFY_NOT_FOUND',
      `version ${coords.version} is not released on ${where} (index ${index.sequence} lists ${index.versions.length} version(s))`,
    );
  const documents: Partial<Record<SignedDocument, { bytes: Uint8Array; verified: VerifiedDocument }>> = {};
  for (const name of names) {
    const docKey = `${imagePrefix(coords)}${name}`;
    const bytes = await need(store, docKey, MAX_DOCUMENT, `${name} of ${coords.version}`);
    const bundle = await need(store, docKey + BUNDLE_SUFFIX, MAX_SMALL, `the bundle of ${name}`);
    const verified = verifySignedDocument({
      what: `${name} of ${coords.version}`,
      bytes,
      bundleText: text(bundle),
      expectedSha256: entry.documents[name].sha256,
      policy,
      ...trust,
    });
    documents[name] = { bytes, verified };
  }

  // 3. online log checks
  if (req.online) {
    await checkOnline(req.online, indexVerified.tlogEntries, `version index ${index.sequence}`);
    for (const name of names) {
      const d = documents[name];
      if (d) await checkOnline(req.online, d.verified.tlogEntries, `${name} of ${coords.version}`);
    }
  }
  return {
    index: { ...seen, key: pointer.index },
    indexVerified,
    documents,
    commit: () => req.state.record(key, seen),
  };
}

/**
 * More documents to verify with measurements.json, and a check of them that must pass before the
 * rollback state advances (fetch-measurements --packages: info.json -> packages.json).
 */
export interface FetchExtra {
  readonly documents: readonly SignedDocument[];
  check(documents: VerifiedRelease['documents']): Promise<void>;
}

export async function fetchMeasurements(req: FetchRequest, extra?: FetchExtra): Promise<FetchResult> {
  const { coords } = req;
  const release = await verifyReleaseDocuments(req, ['measurements.json', ...(extra?.documents ?? [])]);
  const m = release.documents['measurements.json'];
  if (m === undefined) throw new NodeimgError('INTERNAL', 'measurements.json was not verified');
  const { bytes } = m;
  const docKey = `${imagePrefix(coords)}measurements.json`;
  const document = json(bytes, docKey) as MeasurementsDocument;
  assertValid(`measurements.json of ${coords.version}`, measurementsSchema, document);
  const rel = document.release;
  if (rel === undefined)
    throw new NodeimgError(
      'VERIFY_RELEASE_MISMATCH',
      `measurements.json of ${coords.version} has no release block: it was not published by nodeimg release`,
    );
  if (rel.version !== coords.version) mismatch('measurements.json', 'version', rel.version, coords.version);
  if (rel.ref !== coords.ref) mismatch('measurements.json', 'ref', rel.ref, coords.ref);
  if (rel.stream !== coords.stream) mismatch('measurements.json', 'stream', rel.stream, coords.stream);
  checkEnforcedSet(document, rel);
  if (extra !== undefined) await extra.check(release.documents);
  await release.commit();
  return {
    document,
    bytes,
    index: release.index,
    verified: { index: release.indexVerified, measurements: m.verified },
  };
}
