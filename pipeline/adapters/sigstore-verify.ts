// Sigstore bundle verification through the real sigstore-js libraries (@sigstore/bundle,
// @sigstore/verify on the Node 20 line: verify 3.1.1), offline. Fail closed: every exception the
// libraries throw (not only VerificationError) is a rejection, and nodeimg adds the checks the
// libraries leave to their callers:
// - the trusted root is validated first (every key and authority needs `validFor.start`: 3.1.1
//   accepts a tlog key without one and treats the missing bound as unbounded);
// - the verification material must match the policy (`--key` needs a public-key bundle, an identity
//   policy needs a certificate; otherwise a Fulcio-signed bundle would pass a `--key` check);
// - a message signature's `messageDigest` must be the artifact's digest;
// - a DSSE envelope must be an in-toto statement with a subject whose sha256 is the artifact's;
// - the certificate identity must equal the policy's exactly: @sigstore/verify 3.1.1 treats the
//   expected SAN as an unanchored regular expression (policy.js verifySubjectAlternativeName), so
//   `https://github.com/o/r/...@refs/heads/main` would also accept `...@refs/heads/main-evil`.
// The public-good trusted root is the one @sigstore/tuf embeds in its seeds.json, read from the
// package files: never fetched.
import { createHash, createPublicKey, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type * as SigstoreBundle from '@sigstore/bundle';
import type * as ProtobufSpecs from '@sigstore/protobuf-specs';
import type * as SigstoreVerify from '@sigstore/verify';

// The sigstore packages are CommonJS: require()d, not imported. An ES import of a CommonJS package
// also lexes it and every module it re-exports for named exports (cjs-module-lexer), ~30% more
// start-up for these ~65 modules (issue 9, bench/fetch-measurements.mjs).
const require = createRequire(import.meta.url);
const { bundleFromJSON } = require('@sigstore/bundle') as typeof SigstoreBundle;
const { HashAlgorithm, TrustedRoot } = require('@sigstore/protobuf-specs') as typeof ProtobufSpecs;
const { toSignedEntity, toTrustMaterial, Verifier } = require('@sigstore/verify') as typeof SigstoreVerify;
type Bundle = SigstoreBundle.Bundle;
type VerificationPolicy = SigstoreVerify.VerificationPolicy;

/** How the signer is trusted: a managed key (key.pub), or a Fulcio certificate for an OIDC identity. */
export type BundlePolicy =
  | { readonly kind: 'key'; readonly publicKeyPem: string }
  | { readonly kind: 'identity'; readonly identity: string; readonly issuer: string };

/** The artifact: its bytes, or only its SHA-256 (the protocol's `sha256:<hex>` form). */
export type BundleArtifact =
  | { readonly kind: 'bytes'; readonly bytes: Uint8Array }
  | { readonly kind: 'sha256'; readonly digest: Uint8Array };

export interface VerifyBundleRequest {
  /** The bundle file's text. */
  readonly bundleJson: string;
  readonly artifact: BundleArtifact;
  readonly policy: BundlePolicy;
  /** trusted_root.json text; absent = the Sigstore public-good root shipped in @sigstore/tuf. */
  readonly trustedRootJson?: string;
}

export interface VerifiedBundle {
  readonly mediaType: string;
  readonly content: 'messageSignature' | 'dsseEnvelope';
  /** The signer: `key` (hint) or the certificate identity and issuer. */
  readonly signer: string;
  readonly tlogEntries: number;
  readonly timestamps: number;
}

export type VerifyBundleResult =
  { readonly ok: true; readonly bundle: VerifiedBundle } | { readonly ok: false; readonly reason: string };

const TRUSTED_ROOT_MEDIA_TYPES = new Set([
  'application/vnd.dev.sigstore.trustedroot+json;version=0.1',
  'application/vnd.dev.sigstore.trustedroot.v0.2+json',
]);
const IN_TOTO_PAYLOAD_TYPE = 'application/vnd.in-toto+json';
const PUBLIC_GOOD_TUF = 'https://tuf-repo-cdn.sigstore.dev';

class Rejected extends Error {}

/** Verifies a bundle; never throws for anything about the bundle, root, key or artifact. */
export function verifyBundle(req: VerifyBundleRequest): VerifyBundleResult {
  try {
    return { ok: true, bundle: verifyOrThrow(req) };
  } catch (err) {
    return { ok: false, reason: describe(err) };
  }
}

function describe(err: unknown): string {
  if (err instanceof Rejected) return err.message;
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    const ctor = (err.constructor as { name?: string } | undefined)?.name;
    const name = err.name !== 'Error' ? err.name : ctor && ctor !== 'Error' ? ctor : 'error';
    return typeof code === 'string' ? `${name} ${code}: ${err.message}` : `${name}: ${err.message}`;
  }
  return String(err);
}

function verifyOrThrow(req: VerifyBundleRequest): VerifiedBundle {
  const rootJson = parseJson(req.trustedRootJson ?? publicGoodTrustedRootJson(), 'trusted root');
  checkTrustedRoot(rootJson);
  const trustedRoot = TrustedRoot.fromJSON(rootJson);

  const bundle = bundleFromJSON(parseJson(req.bundleJson, 'bundle'));
  const material = bundle.verificationMaterial.content.$case;
  if (req.policy.kind === 'key' && material !== 'publicKey')
    throw new Rejected(`a public key was given but the bundle is signed with a ${material}`);
  if (req.policy.kind === 'identity' && material === 'publicKey')
    throw new Rejected('an identity policy was given but the bundle is signed with a public key');

  const artifactSha256 =
    req.artifact.kind === 'bytes' ? sha256(req.artifact.bytes) : Buffer.from(req.artifact.digest);
  checkContentBinding(bundle, req.artifact, artifactSha256);
  checkProofMatchesCheckpoint(bundle);

  let trust;
  let policy: VerificationPolicy | undefined;
  if (req.policy.kind === 'key') {
    const key = parsePublicKey(req.policy.publicKeyPem);
    trust = toTrustMaterial(trustedRoot, () => ({ publicKey: key, validFor: () => true }));
  } else {
    trust = toTrustMaterial(trustedRoot);
    policy = {
      subjectAlternativeName: `^${req.policy.identity.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`,
      extensions: { issuer: req.policy.issuer },
    };
  }
  const artifactBytes = req.artifact.kind === 'bytes' ? Buffer.from(req.artifact.bytes) : undefined;
  const entity = toSignedEntity(bundle, artifactBytes);
  const signer = new Verifier(trust).verify(entity, policy);
  const id = signer.identity;
  if (req.policy.kind === 'identity' && id?.subjectAlternativeName !== req.policy.identity)
    throw new Rejected(
      `certificate identity ${JSON.stringify(id?.subjectAlternativeName)} is not ${JSON.stringify(req.policy.identity)}`,
    );
  return {
    mediaType: bundle.mediaType,
    content: bundle.content.$case,
    signer:
      req.policy.kind === 'key'
        ? `public key (hint ${material === 'publicKey' ? bundle.verificationMaterial.content.publicKey.hint : '?'})`
        : `${id?.subjectAlternativeName ?? '?'} (issuer ${id?.extensions?.issuer ?? '?'})`,
    tlogEntries: entity.tlogEntries.length,
    timestamps: entity.timestamps.length,
  };
}

/**
 * @sigstore/verify 3.x checks an inclusion proof against the signed checkpoint's root and size and
 * never reads the proof's own rootHash and treeSize fields; a bundle whose fields say something else
 * than what was verified is refused.
 */
function checkProofMatchesCheckpoint(bundle: Bundle): void {
  bundle.verificationMaterial.tlogEntries.forEach((e, i) => {
    const p = e.inclusionProof;
    const note = p?.checkpoint?.envelope;
    if (!p || note === undefined) return;
    const [, size, root] = note.split('\n');
    if (size === undefined || root === undefined)
      throw new Rejected(`tlog entry ${i}: the checkpoint has no size or root hash`);
    if (String(p.treeSize) !== size.trim())
      throw new Rejected(
        `tlog entry ${i}: the inclusion proof's treeSize ${String(p.treeSize)} is not the checkpoint's ${size.trim()}`,
      );
    if (!Buffer.from(root.trim(), 'base64').equals(Buffer.from(p.rootHash)))
      throw new Rejected(`tlog entry ${i}: the inclusion proof's rootHash is not the checkpoint's`);
  });
}

/** What the libraries do not tie to the artifact: the message digest and the in-toto subject. */
function checkContentBinding(bundle: Bundle, artifact: BundleArtifact, digest: Buffer): void {
  const content = bundle.content;
  if (content.$case === 'messageSignature') {
    if (artifact.kind !== 'bytes')
      throw new Rejected(
        'a message signature needs the artifact bytes (a signature over a bare sha256 digest cannot be checked here)',
      );
    const md = content.messageSignature.messageDigest;
    if (md === undefined) return; // optional hint; the signature over the bytes is what counts
    if (md.algorithm !== HashAlgorithm.SHA2_256 && md.algorithm !== HashAlgorithm.HASH_ALGORITHM_UNSPECIFIED)
      throw new Rejected(`unsupported messageDigest algorithm ${HashAlgorithm[md.algorithm]}`);
    if (!Buffer.from(md.digest).equals(digest))
      throw new Rejected("the bundle's messageDigest is not the artifact's sha256");
    return;
  }
  const env = content.dsseEnvelope;
  if (env.payloadType !== IN_TOTO_PAYLOAD_TYPE)
    throw new Rejected(`DSSE payloadType ${JSON.stringify(env.payloadType)} is not ${IN_TOTO_PAYLOAD_TYPE}`);
  const statement = parseJson(Buffer.from(env.payload).toString('utf8'), 'in-toto statement');
  const subjects = (statement as { subject?: unknown } | null)?.subject;
  if (!Array.isArray(subjects)) throw new Rejected('the in-toto statement has no subject list');
  const want = digest.toString('hex');
  const match = subjects.some((s: unknown) => {
    const d = (s as { digest?: Record<string, unknown> } | null)?.digest?.['sha256'];
    return typeof d === 'string' && d.toLowerCase() === want;
  });
  if (!match) throw new Rejected(`no in-toto subject has the artifact's sha256 ${want}`);
}

/**
 * Structural checks sigstore-js leaves out: a known media type, and a `validFor.start` on every tlog
 * and CT log key and every CA and TSA (a missing start must not read as "valid since forever").
 */
export function checkTrustedRoot(root: unknown): void {
  if (typeof root !== 'object' || root === null || Array.isArray(root))
    throw new Rejected('trusted root: not a JSON object');
  const r = root as Record<string, unknown>;
  if (typeof r['mediaType'] !== 'string' || !TRUSTED_ROOT_MEDIA_TYPES.has(r['mediaType']))
    throw new Rejected(`trusted root: unsupported mediaType ${JSON.stringify(r['mediaType'])}`);
  const list = (field: string): Record<string, unknown>[] => {
    const v = r[field] ?? [];
    if (!Array.isArray(v) || v.some((x) => typeof x !== 'object' || x === null))
      throw new Rejected(`trusted root: ${field} is not a list of objects`);
    return v as Record<string, unknown>[];
  };
  const needStart = (validFor: unknown, where: string): void => {
    const start = (validFor as { start?: unknown } | undefined)?.start;
    if (typeof start !== 'string' || Number.isNaN(Date.parse(start)))
      throw new Rejected(`trusted root: ${where} has no valid validFor.start`);
    const end = (validFor as { end?: unknown }).end;
    if (end !== undefined && end !== null && (typeof end !== 'string' || Number.isNaN(Date.parse(end))))
      throw new Rejected(`trusted root: ${where} has an invalid validFor.end`);
  };
  for (const field of ['tlogs', 'ctlogs'])
    list(field).forEach((log, i) => {
      const key = log['publicKey'] as { validFor?: unknown } | undefined;
      if (typeof key !== 'object' || key === null)
        throw new Rejected(`trusted root: ${field}[${i}] has no publicKey`);
      needStart(key.validFor, `${field}[${i}] (${String(log['baseUrl'])}) publicKey`);
    });
  for (const field of ['certificateAuthorities', 'timestampAuthorities'])
    list(field).forEach((ca, i) => needStart(ca['validFor'], `${field}[${i}] (${String(ca['uri'])})`));
}

let publicGood: string | undefined;

/** The public-good trusted_root.json embedded in @sigstore/tuf's seeds.json (no network). */
export function publicGoodTrustedRootJson(): string {
  if (publicGood !== undefined) return publicGood;
  const path = require.resolve('@sigstore/tuf/seeds.json');
  const seeds = JSON.parse(readFileSync(path, 'utf8')) as Record<
    string,
    { targets?: Record<string, string> } | undefined
  >;
  const b64 = seeds[PUBLIC_GOOD_TUF]?.targets?.['trusted_root.json'];
  if (typeof b64 !== 'string') throw new Error(`${path} holds no trusted_root.json for ${PUBLIC_GOOD_TUF}`);
  publicGood = Buffer.from(b64, 'base64').toString('utf8');
  return publicGood;
}

function parsePublicKey(pem: string): KeyObject {
  try {
    return createPublicKey(pem);
  } catch (err) {
    throw new Rejected(`the public key is not a PEM public key: ${(err as Error).message}`);
  }
}

function parseJson(text: string, what: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new Rejected(`${what}: not JSON (${(err as Error).message})`);
  }
}

function sha256(bytes: Uint8Array): Buffer {
  return createHash('sha256').update(bytes).digest();
}
