// Ports of the pipeline: what the core needs from the outside world, as interfaces. Adapters in
// pipeline/adapters/ implement them; the core never reads the wall clock or a key file itself.

/** The wall clock, injected so that logs, signatures and tests are deterministic. */
export interface Clock {
  /** Milliseconds since the Unix epoch. */
  now(): number;
}

/** The public half of a signing key, in the two encodings sigstore needs. */
export interface SignerPublicKey {
  /** SPKI PEM (what goes into a Rekor hashedrekord entry and key.pub). */
  readonly pem: string;
  /** DER SubjectPublicKeyInfo. */
  readonly der: Uint8Array;
}

/**
 * A certificate that binds the signing key to an identity (keyless signing: a Fulcio certificate for
 * an OIDC identity). Bundles then carry the leaf instead of a public key hint.
 */
export interface SignerCertificate {
  /** DER leaf certificate; its public key is the signer's. */
  readonly leaf: Uint8Array;
  /** DER certificates above the leaf, as the CA returned them (intermediates first, then the root). */
  readonly chain: readonly Uint8Array[];
}

export interface SignResult {
  /** ASN.1 DER ECDSA signature over SHA-256 of the signed bytes. */
  readonly signature: Uint8Array;
  readonly publicKey: SignerPublicKey;
  /** Public key hint of a Sigstore bundle: base64(SHA-256(DER SPKI)), as cosign writes it. */
  readonly hint: string;
  /** Set by keyless signers: the certificate for `publicKey` (absent for a managed key). */
  readonly certificate?: SignerCertificate;
}

/** Signs bytes with a key the signer holds; never exposes private key material. */
export interface Signer {
  sign(bytes: Uint8Array): Promise<SignResult>;
}

/** A signed tree head: the tree size, its RFC 6962 root and the signed note (Rekor v1 checkpoint). */
export interface LogCheckpoint {
  readonly treeSize: number;
  readonly rootHash: Buffer;
  /** The signed note text for (treeSize, rootHash). */
  readonly checkpoint: string;
}

/** RFC 6962 inclusion proof of an entry in the tree a signed checkpoint describes. */
export interface InclusionProof extends LogCheckpoint {
  /** Index of the leaf in this tree (on a sharded Rekor: inside the shard, not the global index). */
  readonly logIndex: number;
  /** Sibling hashes, leaf -> root. */
  readonly hashes: readonly Buffer[];
}

/** A Rekor v1 log entry as a client receives it: body, SET and an inclusion proof. */
export interface LogEntry {
  /** hex SHA-256(0x00 || body): the RFC 6962 leaf hash. */
  readonly uuid: string;
  /** 16 hex digits of the tree ID, then the UUID. */
  readonly entryID: string;
  readonly logIndex: number;
  /** Unix seconds. */
  readonly integratedTime: number;
  /** The canonical entry body (hashedrekord 0.0.1 JSON). */
  readonly body: Buffer;
  /** SHA-256 of the log key's DER SPKI. */
  readonly logID: Buffer;
  /** The log key's signature over canonical {body, integratedTime, logID, logIndex}. */
  readonly signedEntryTimestamp: Buffer;
  readonly inclusionProof: InclusionProof;
}

/**
 * A Rekor v1 style transparency log of hashedrekord 0.0.1 entries: the log in a local directory
 * (pipeline/adapters/local-log/) or a Rekor server over HTTP (pipeline/adapters/rekor-client.ts).
 * Every entry and checkpoint an implementation returns has been checked (signatures, proofs).
 */
export interface TransparencyLog {
  /** Appends a canonical body; an identical body already logged is returned as it is (Rekor's 409). */
  add(canonicalBody: Uint8Array): Promise<LogEntry>;
  /** By UUID (64 hex) or entry ID (80 hex); undefined when the log has no such entry. */
  entryByUuid(uuid: string): Promise<LogEntry | undefined>;
  entryByIndex(logIndex: number): Promise<LogEntry | undefined>;
  /** Entry IDs (or UUIDs) of the entries whose artifact has this SHA-256 (hex). */
  searchBySha256(sha256Hex: string): Promise<string[]>;
  /** The current signed tree head. */
  checkpoint(): Promise<LogCheckpoint>;
  /** RFC 6962 consistency proof between two tree sizes (default last: the current size). */
  consistency(firstSize: number, lastSize?: number): Promise<Buffer[]>;
  /** Releases what the log holds (the directory lock, connections). */
  close(): Promise<void>;
}

/**
 * What `ObjectStore.putImmutable` uploads: bytes in memory, or a file read from disk (its size is
 * taken when it is opened; it must not change while it is uploaded).
 */
export type StoreBody = Uint8Array | { readonly path: string };

export interface PutImmutableOptions {
  /** Lower-case hex SHA-256 of the body: checked while uploading, stored with the object. */
  readonly sha256: string;
  /** Default application/octet-stream. */
  readonly contentType?: string;
}

/** What a store knows about an object without reading it. */
export interface StoredObjectInfo {
  readonly size: number;
  /** Lower-case hex SHA-256 as recorded at upload (S3 x-amz-meta-sha256, dir sidecar, HTTP header). */
  readonly sha256?: string;
  readonly contentType?: string;
}

export interface GetOptions {
  /** Refuse an object larger than this (get() default: 64 MiB). */
  readonly maxBytes?: number;
  /** Expected hex SHA-256; without it the one recorded with the object (if any) is checked. */
  readonly sha256?: string;
}

/** A mutable object with the version token that `putVersioned` compares (S3 ETag, dir: sha256). */
export interface VersionedObject {
  readonly bytes: Uint8Array;
  readonly version: string;
}

/** Reading side of a store: all a verifier needs (dir, S3, or any HTTP(S) server or CDN). */
export interface ObjectReader {
  /** `dir:/abs/path`, `s3://bucket/prefix/`, `https://host/base/`: for messages. */
  readonly ref: string;
  head(key: string): Promise<StoredObjectInfo | undefined>;
  /** Whole object, capped and verified; undefined when there is no such key. */
  get(key: string, options?: GetOptions): Promise<Uint8Array | undefined>;
  /**
   * The object as a stream, verified at its end (size, SHA-256 when known): the iteration throws
   * a PUBLISH_INTEGRITY PublishError after the last chunk if the bytes were wrong, so write what it
   * yields to a temporary name and keep it only when the iteration completes.
   */
  getStream(
    key: string,
    options?: Pick<GetOptions, 'sha256'>,
  ): Promise<AsyncIterable<Uint8Array> | undefined>;
  /** Every key starting with `prefix` (a plain string prefix), sorted; pages are followed inside. */
  list(prefix: string): Promise<string[]>;
  getVersioned(key: string, options?: Pick<GetOptions, 'maxBytes'>): Promise<VersionedObject | undefined>;
}

/**
 * An object store for published releases. Objects are immutable: a key is written once
 * (put-if-absent); writing the same bytes again is a no-op, different bytes are refused. The only
 * objects that change are the few written with `putVersioned` (compare-and-swap), such as the
 * pointer to the current version index. Keys are relative `/`-separated paths of
 * `[A-Za-z0-9._~+=@,-]` segments, none starting with `.`, at most 1024 bytes
 * (pipeline/adapters/store/keys.ts). Failures are PublishError (pipeline/errors.ts).
 */
export interface ObjectStore extends ObjectReader {
  /** False for HTTP(S) stores: their writes throw a USAGE error. */
  readonly writable: boolean;
  /**
   * 'created' when this call stored the object, 'unchanged' when the store already held exactly
   * these bytes; PUBLISH_CONFLICT when it holds different bytes, PUBLISH_INTEGRITY when the body
   * does not match `options.sha256`.
   */
  putImmutable(key: string, body: StoreBody, options: PutImmutableOptions): Promise<'created' | 'unchanged'>;
  /**
   * Replaces a mutable object only if its version is still `expected` (null: only if it does not
   * exist yet) and returns the new version. A lost race throws PUBLISH_CONFLICT with
   * retryable = true: read it again, redo the change, retry (pipeline/update-versioned.ts).
   */
  putVersioned(
    key: string,
    bytes: Uint8Array,
    options: { readonly expected: string | null; readonly contentType?: string },
  ): Promise<string>;
}
