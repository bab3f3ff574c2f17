// Publishing one release into an ObjectStore, in the order that keeps readers safe (issue 8):
//   1. artefacts (disk images): immutable, content-addressed by their sha256 in info.json; then,
//      when the release archived its packages (issue 12; the .deb pool is stored before this, by
//      pipeline/release/packages.ts), packages.json and sbom.spdx.json, listed in info.json;
//   2. manifest.json, measurements.json, info.json, each followed by its Sigstore bundle and the
//      cosign-style .sig; a document's bundle is only made once: a re-run finds it in the store;
//   3. the next signed version index (immutable, numbered), then its bundle;
//   4. last, the pointer versions/current.json, swapped with compare-and-swap.
// Until step 4 no reader can reach the new version, and every object step 4 makes reachable is
// already stored and signed. Every write is put-if-absent, so re-running after a failure at any
// point converges: objects already there with the same bytes are left alone, and because
// signatures are deterministic (key-signer.ts) and the log returns an existing entry for a body
// it already has, a re-run recreates exactly the bytes an uninterrupted run would have written.
import { NodeimgError } from '../errors.js';
import type { ObjectStore, Signer } from '../ports.js';
import { signArtifact, type EntryLog } from '../sign-bundle.js';
import type { MeasurementsDocument } from '../../measurements/document.js';
import { isCanonicalText } from './canonical-text.js';
import {
  documentText,
  releaseInfo,
  releaseMeasurements,
  type ReleaseArtefact,
  type ReleasePackagesInfo,
} from './documents.js';
import { PROVENANCE_DOCUMENT, SBOM_DOCUMENT } from '../packages/keys.js';
import {
  BUNDLE_SUFFIX,
  SIG_SUFFIX,
  artefactKey,
  imagePrefix,
  versionIndexKey,
  versionPointerKey,
  type ReleaseCoordinates,
  type SignedDocument,
} from './names.js';
import {
  digestOf,
  nextIndex,
  pointerTo,
  serializeIndex,
  sha256Hex,
  type IndexedVersion,
  type VersionIndex,
  type VersionPointer,
} from './version-index.js';

export interface PublishArtefact {
  /** File name in the release (disk.raw, disk.qcow2, ...). */
  readonly name: string;
  readonly path: string;
  readonly sha256: string;
  readonly size: number;
}

export interface PublishInput {
  readonly store: ObjectStore;
  readonly coords: ReleaseCoordinates;
  /** The recipe's name (info.json). */
  readonly name: string;
  readonly artefacts: readonly PublishArtefact[];
  /** manifest.json exactly as `nodeimg build` wrote it (canonical text). */
  readonly manifestText: string;
  /** The build's measurements document; the release block is added here. */
  readonly measurements: MeasurementsDocument;
  readonly signer: Signer;
  readonly log: EntryLog;
  /** Progress, one call per step (listr2 task output, --json summary). */
  readonly onStep?: (step: PublishStep) => void;
  /**
   * The package provenance document and SBOM (pipeline/release/packages.ts), canonical text; the
   * pool objects they name must already be stored. Absent: info.json lists no packages.
   */
  readonly packages?: PublishPackages;
}

export interface PublishPackages {
  readonly provenanceText: string;
  readonly sbomText: string;
  readonly count: number;
}

export interface PublishStep {
  readonly step: 'artefact' | 'packages' | 'document' | 'bundle' | 'index' | 'pointer';
  readonly key: string;
  readonly result: 'created' | 'unchanged';
}

export interface PublishedRelease {
  readonly index: { readonly sequence: number; readonly key: string; readonly sha256: string };
  /** false when this exact version was already released (nothing new was written). */
  readonly newIndex: boolean;
  readonly documents: Readonly<Record<SignedDocument, { key: string; sha256: string; size: number }>>;
  readonly artefacts: readonly ReleaseArtefact[];
  /** packages.json and sbom.spdx.json as info.json lists them (absent without input.packages). */
  readonly packages?: ReleasePackagesInfo;
  /** Log indexes of the bundles this run needed (existing bundles included). */
  readonly logIndexes: Readonly<Record<string, number>>;
  readonly steps: readonly PublishStep[];
}

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const MAX_POINTER = 64 * 1024;
const MAX_INDEX = 64 * 1024 * 1024;
const CAS_ATTEMPTS = 8;

function logIndexOf(bundleText: string): number {
  const b = JSON.parse(bundleText) as { verificationMaterial?: { tlogEntries?: { logIndex?: string }[] } };
  return Number(b.verificationMaterial?.tlogEntries?.[0]?.logIndex ?? -1);
}

/** Whether a stored bundle is the bundle of `bytes` (its message digest is their sha256). */
function bundleSigns(bundleText: string, bytes: Uint8Array): boolean {
  try {
    const b = JSON.parse(bundleText) as { messageSignature?: { messageDigest?: { digest?: string } } };
    const d = b.messageSignature?.messageDigest?.digest;
    return d !== undefined && Buffer.from(d, 'base64').toString('hex') === sha256Hex(bytes);
  } catch {
    return false;
  }
}

export async function publishRelease(input: PublishInput): Promise<PublishedRelease> {
  const { store, coords } = input;
  if (!store.writable) throw new NodeimgError('USAGE', `${store.ref} is read-only: publish to dir: or s3://`);
  const steps: PublishStep[] = [];
  const logIndexes: Record<string, number> = {};
  const note = (s: PublishStep): void => {
    steps.push(s);
    input.onStep?.(s);
  };

  const put = async (
    step: PublishStep['step'],
    key: string,
    body: Uint8Array | { path: string },
    sha256: string,
    contentType: string,
  ) => {
    const result = await store.putImmutable(key, body, { sha256, contentType });
    note({ step, key, result });
  };

  /** Stores a signed document: its bytes, then its bundle (made once), then the .sig. */
  const putSigned = async (key: string, text: string, logName: string): Promise<void> => {
    const bytes = enc(text);
    await put('document', key, bytes, sha256Hex(bytes), 'application/json');
    const existing = await store.get(key + BUNDLE_SUFFIX, { maxBytes: MAX_POINTER });
    let bundleText: string;
    let sigText: string;
    if (existing !== undefined && bundleSigns(Buffer.from(existing).toString('utf8'), bytes)) {
      bundleText = Buffer.from(existing).toString('utf8');
      const b = JSON.parse(bundleText) as { messageSignature: { signature: string } };
      sigText = `${b.messageSignature.signature}\n`;
    } else {
      const signed = await signArtifact(bytes, input.signer, input.log);
      bundleText = signed.bundleText;
      sigText = signed.sigText;
    }
    const bundleBytes = enc(bundleText);
    await put('bundle', key + BUNDLE_SUFFIX, bundleBytes, sha256Hex(bundleBytes), 'application/json');
    const sigBytes = enc(sigText);
    await put('bundle', key + SIG_SUFFIX, sigBytes, sha256Hex(sigBytes), 'text/plain');
    logIndexes[logName] = logIndexOf(bundleText);
  };

  // 1. artefacts
  const artefacts: ReleaseArtefact[] = [];
  for (const a of input.artefacts) {
    const key = artefactKey(coords, a.name);
    await put('artefact', key, { path: a.path }, a.sha256, 'application/octet-stream');
    artefacts.push({ name: a.name, key, size: a.size, sha256: a.sha256 });
  }

  // 1b. the package documents (covered by info.json's signature through their sha256)
  let packages: ReleasePackagesInfo | undefined;
  if (input.packages !== undefined) {
    const prefix = imagePrefix(coords);
    const doc = async (name: string, text: string): Promise<ReleaseArtefact> => {
      if (!isCanonicalText(text))
        throw new NodeimgError(
          'INTERNAL',
          `${name} is not in canonical form; it would not verify as published`,
        );
      const bytes = enc(text);
      const key = prefix + name;
      const sha256 = sha256Hex(bytes);
      await put('packages', key, bytes, sha256, 'application/json');
      return { name, key, size: bytes.length, sha256 };
    };
    packages = {
      count: input.packages.count,
      provenance: await doc(PROVENANCE_DOCUMENT, input.packages.provenanceText),
      sbom: await doc(SBOM_DOCUMENT, input.packages.sbomText),
    };
  }

  // 2. signed documents
  if (!isCanonicalText(input.manifestText))
    throw new NodeimgError(
      'INTERNAL',
      'the build manifest is not in canonical form; it would not verify as published',
    );
  const texts: Record<SignedDocument, string> = {
    'manifest.json': input.manifestText,
    'measurements.json': documentText(releaseMeasurements(input.measurements, coords)),
    'info.json': documentText(releaseInfo(coords, input.name, artefacts, packages)),
  };
  const prefix = imagePrefix(coords);
  const documents = {} as Record<SignedDocument, { key: string; sha256: string; size: number }>;
  for (const name of ['manifest.json', 'measurements.json', 'info.json'] as const) {
    const key = prefix + name;
    await putSigned(key, texts[name], name);
    documents[name] = { key, ...digestOf(texts[name]) };
  }
  const entry: IndexedVersion = {
    version: coords.version,
    documents: {
      'manifest.json': digestOf(texts['manifest.json']),
      'measurements.json': digestOf(texts['measurements.json']),
      'info.json': digestOf(texts['info.json']),
    },
  };

  // 3 + 4. next index, its bundle, then the pointer (compare-and-swap; retried on a lost race)
  const pointerKey = versionPointerKey(coords);
  /** Points current.json at `pointer` if it is still `expected`; false after a lost race (retry). */
  const swap = async (
    expected: string | null,
    pointer: VersionPointer,
    attempt: number,
  ): Promise<boolean> => {
    try {
      await store.putVersioned(pointerKey, enc(documentText(pointer)), {
        expected,
        contentType: 'application/json',
      });
    } catch (err) {
      const lost =
        err instanceof NodeimgError &&
        err.code === 'PUBLISH_CONFLICT' &&
        (err as { retryable?: boolean }).retryable === true;
      if (lost && attempt < CAS_ATTEMPTS) return false;
      throw err;
    }
    note({ step: 'pointer', key: pointerKey, result: 'created' });
    return true;
  };
  for (let attempt = 1; attempt <= CAS_ATTEMPTS; attempt++) {
    const cur = await store.getVersioned(pointerKey, { maxBytes: MAX_POINTER });
    let current: { index: VersionIndex; sha256: string } | undefined;
    if (cur !== undefined) {
      const pointer = JSON.parse(Buffer.from(cur.bytes).toString('utf8')) as VersionPointer;
      const bytes = await store.get(pointer.index, { maxBytes: MAX_INDEX, sha256: pointer.sha256 });
      if (bytes === undefined)
        throw new NodeimgError(
          'PUBLISH_FAILED',
          `${store.ref}: the current pointer names ${pointer.index}, which is missing`,
        );
      current = {
        index: JSON.parse(Buffer.from(bytes).toString('utf8')) as VersionIndex,
        sha256: pointer.sha256,
      };
    }
    // An index numbered after the current one already exists: a release stopped between storing
    // it and swapping the pointer. It is complete up to its bundle (documents come first) and
    // chains to the current index, so finish that release first, then ours on top of it.
    const pending = versionIndexKey(coords, (current?.index.sequence ?? 0) + 1);
    const orphan = await store.get(pending, { maxBytes: MAX_INDEX });
    if (orphan !== undefined) {
      const text = Buffer.from(orphan).toString('utf8');
      const index = JSON.parse(text) as VersionIndex;
      const chains =
        index.sequence === (current?.index.sequence ?? 0) + 1 &&
        (current === undefined
          ? index.previous === null
          : index.previous?.sequence === current.index.sequence && index.previous.sha256 === current.sha256);
      if (!chains)
        throw new NodeimgError(
          'PUBLISH_CONFLICT',
          `${store.ref}: ${pending} exists but does not follow the current index; the store needs a person to look at it`,
        );
      await putSigned(pending, text, 'index');
      await swap(cur?.version ?? null, pointerTo(index, text), attempt);
      continue;
    }
    const next = nextIndex(coords, current, entry);
    if (next.kind === 'unchanged') {
      const key = versionIndexKey(coords, next.index.sequence);
      note({ step: 'pointer', key: pointerKey, result: 'unchanged' });
      return {
        index: { sequence: next.index.sequence, key, sha256: current?.sha256 ?? '' },
        newIndex: false,
        documents,
        artefacts,
        ...(packages === undefined ? {} : { packages }),
        logIndexes,
        steps,
      };
    }
    const text = serializeIndex(next.index);
    const key = versionIndexKey(coords, next.index.sequence);
    try {
      await putSigned(key, text, 'index');
    } catch (err) {
      // another release stored its index under this number first: start over from its state
      if (err instanceof NodeimgError && err.code === 'PUBLISH_CONFLICT' && attempt < CAS_ATTEMPTS) continue;
      throw err;
    }
    const pointer = pointerTo(next.index, text);
    if (!(await swap(cur?.version ?? null, pointer, attempt))) continue;
    return {
      index: { sequence: next.index.sequence, key, sha256: pointer.sha256 },
      newIndex: true,
      documents,
      artefacts,
      ...(packages === undefined ? {} : { packages }),
      logIndexes,
      steps,
    };
  }
  throw new NodeimgError(
    'PUBLISH_FAILED',
    `${store.ref}: the version pointer kept changing while publishing; try again`,
  );
}
