// The signed version index of a ref/stream: which versions are released, with the digest of each
// version's signed documents, and a sequence number that only grows, so a verifier that remembers
// the highest sequence it has seen detects a rollback to an older index (issue 9: rollback and
// freeze protection). Each index is an immutable object (`versions/index-<sequence>.json`, signed
// like every other document); the only mutable object is the pointer `versions/current.json`,
// swapped with compare-and-swap after the index and its bundle are stored. A reader that races a
// release sees the old pointer and a complete old index, or the new pointer and a complete new one.
import { createHash } from 'node:crypto';
import { NodeimgError } from '../errors.js';
import { canonicalText } from './canonical-text.js';
import { SIGNED_DOCUMENTS, versionIndexKey, type ReleaseCoordinates, type SignedDocument } from './names.js';

export const VERSION_INDEX_SCHEMA_ID = 'https://nodeimg.dev/schema/version-index/v1.json';
export const VERSION_POINTER_SCHEMA_ID = 'https://nodeimg.dev/schema/version-pointer/v1.json';

export interface ObjectDigest {
  readonly sha256: string;
  readonly size: number;
}

export interface IndexedVersion {
  readonly version: string;
  /** sha256 and size of each signed document of the version, as published. */
  readonly documents: Readonly<Record<SignedDocument, ObjectDigest>>;
}

export interface VersionIndex {
  readonly $schema: typeof VERSION_INDEX_SCHEMA_ID;
  readonly ref: string;
  readonly stream: string;
  /** 1 for the first index of a ref/stream, +1 for each release. */
  readonly sequence: number;
  /** The index this one replaces (its sequence and the sha256 of its bytes); null for the first. */
  readonly previous: { readonly sequence: number; readonly sha256: string } | null;
  /** In release order; a version appears once and never changes. */
  readonly versions: readonly IndexedVersion[];
}

export interface VersionPointer {
  readonly $schema: typeof VERSION_POINTER_SCHEMA_ID;
  readonly ref: string;
  readonly stream: string;
  readonly sequence: number;
  /** Store key of the index (relative to the store's prefix). */
  readonly index: string;
  /** sha256 of the index's bytes. */
  readonly sha256: string;
}

export const sha256Hex = (b: Uint8Array | string): string => createHash('sha256').update(b).digest('hex');

export function serializeIndex(index: VersionIndex): string {
  return canonicalText(index);
}

export function digestOf(bytes: Uint8Array | string): ObjectDigest {
  return {
    sha256: sha256Hex(bytes),
    size: typeof bytes === 'string' ? Buffer.byteLength(bytes) : bytes.length,
  };
}

function sameDocuments(a: IndexedVersion['documents'], b: IndexedVersion['documents']): boolean {
  return SIGNED_DOCUMENTS.every((d) => a[d].sha256 === b[d].sha256 && a[d].size === b[d].size);
}

export type NextIndex =
  | { readonly kind: 'unchanged'; readonly index: VersionIndex }
  | { readonly kind: 'next'; readonly index: VersionIndex };

/**
 * The index after releasing `entry` on top of `current` (with the sha256 of current's bytes).
 * The same version with the same documents is a no-op; with different documents it is refused:
 * a released version never changes.
 */
export function nextIndex(
  coords: Pick<ReleaseCoordinates, 'ref' | 'stream'>,
  current: { readonly index: VersionIndex; readonly sha256: string } | undefined,
  entry: IndexedVersion,
): NextIndex {
  if (current) {
    const { index } = current;
    if (index.ref !== coords.ref || index.stream !== coords.stream)
      throw new NodeimgError(
        'CHECK_FAILED',
        `the current version index is for ref ${index.ref} stream ${index.stream}, not ${coords.ref}/${coords.stream}`,
      );
    const old = index.versions.find((v) => v.version === entry.version);
    if (old) {
      if (sameDocuments(old.documents, entry.documents)) return { kind: 'unchanged', index };
      throw new NodeimgError(
        'PUBLISH_CONFLICT',
        `version ${entry.version} is already released on ${coords.ref}/${coords.stream} with different content`,
        {
          hint: 'a released version is immutable: release the change as a new version',
        },
      );
    }
  }
  const sequence = (current?.index.sequence ?? 0) + 1;
  return {
    kind: 'next',
    index: {
      $schema: VERSION_INDEX_SCHEMA_ID,
      ref: coords.ref,
      stream: coords.stream,
      sequence,
      previous: current ? { sequence: current.index.sequence, sha256: current.sha256 } : null,
      versions: [...(current?.index.versions ?? []), entry],
    },
  };
}

export function pointerTo(index: VersionIndex, indexText: string): VersionPointer {
  return {
    $schema: VERSION_POINTER_SCHEMA_ID,
    ref: index.ref,
    stream: index.stream,
    sequence: index.sequence,
    index: versionIndexKey(index, index.sequence),
    sha256: sha256Hex(indexText),
  };
}
