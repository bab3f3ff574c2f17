// Verifies one signed, published document (its bytes and its Sigstore bundle) and names exactly
// which check failed, so that `fetch-measurements` can give each failure its own error and exit
// code (issue 9). The cryptography is @sigstore/verify's (adapters/sigstore-verify.ts, fail-closed);
// the checks done here first only classify: a document whose bytes are not the ones the signed
// index lists was tampered with, a bundle whose message digest is another file's was mixed up, a
// bundle without a log entry or whose log is not pinned cannot prove publication, and a hashedrekord
// entry naming another key was signed by someone else.
import { createHash, createPublicKey } from 'node:crypto';
import { NodeimgError, type ErrorCode } from '../errors.js';
import { verifyBundle, type BundlePolicy } from '../adapters/sigstore-verify.js';

export interface SignedDocumentInput {
  /** What the document is, for messages: e.g. "measurements.json of v1.2.3". */
  readonly what: string;
  readonly bytes: Uint8Array;
  readonly bundleText: string;
  /** sha256 hex the document must have (from a signed index); omitted for the index itself. */
  readonly expectedSha256?: string;
  readonly policy: BundlePolicy;
  readonly trustedRootJson?: string;
}

export interface VerifiedDocument {
  readonly sha256: string;
  /** The bundle's transparency log entries (for online checks). */
  readonly tlogEntries: readonly TlogEntryRef[];
  readonly signer: string;
}

export interface TlogEntryRef {
  readonly logIndex: number;
  /** hex SHA-256(0x00 || canonicalizedBody): the Rekor entry UUID. */
  readonly uuid: string;
  /** hex SHA-256 of the log's key (logId). */
  readonly logId: string;
  /** The checkpoint the inclusion proof was verified against. */
  readonly treeSize: number;
  readonly rootHash: string;
}

const fail = (code: ErrorCode, message: string, hint?: string): never => {
  throw new NodeimgError(code, message, hint === undefined ? {} : { hint });
};

const sha256 = (b: Uint8Array): Buffer => createHash('sha256').update(b).digest();

interface BundleShape {
  messageSignature?: { messageDigest?: { digest?: string } };
  verificationMaterial?: {
    tlogEntries?: {
      logIndex?: string;
      logId?: { keyId?: string };
      canonicalizedBody?: string;
      inclusionProof?: { checkpoint?: { envelope?: string } };
    }[];
  };
}

function parse(text: string, what: string): BundleShape {
  try {
    const v = JSON.parse(text) as unknown;
    if (v !== null && typeof v === 'object') return v as BundleShape;
  } catch {
    // fall through
  }
  return fail('VERIFY_SIGNATURE', `the bundle of ${what} is not a JSON object`);
}

function trustedLogIds(rootJson: string | undefined): Set<string> | undefined {
  if (rootJson === undefined) return undefined; // public-good root: sigstore-verify checks it
  try {
    const root = JSON.parse(rootJson) as { tlogs?: { logId?: { keyId?: string } }[] };
    return new Set(
      (root.tlogs ?? []).flatMap((t) =>
        t.logId?.keyId === undefined ? [] : [Buffer.from(t.logId.keyId, 'base64').toString('hex')],
      ),
    );
  } catch {
    return new Set();
  }
}

/** The public key a hashedrekord body names (PEM or certificate), as DER SPKI, if it can be read. */
function bodyKeyDer(bodyB64: string | undefined): Buffer | undefined {
  if (bodyB64 === undefined) return undefined;
  try {
    const body = JSON.parse(Buffer.from(bodyB64, 'base64').toString('utf8')) as {
      spec?: { signature?: { publicKey?: { content?: string } } };
    };
    const content = body.spec?.signature?.publicKey?.content;
    if (content === undefined) return undefined;
    const pem = Buffer.from(content, 'base64').toString('utf8');
    if (!pem.includes('PUBLIC KEY')) return undefined;
    return createPublicKey(pem).export({ type: 'spki', format: 'der' });
  } catch {
    return undefined;
  }
}

function entryRefs(b: BundleShape): TlogEntryRef[] {
  return (b.verificationMaterial?.tlogEntries ?? []).map((e) => {
    const note = e.inclusionProof?.checkpoint?.envelope ?? '';
    const [, size, root] = note.split('\n');
    const body = Buffer.from(e.canonicalizedBody ?? '', 'base64');
    return {
      logIndex: Number(e.logIndex ?? -1),
      uuid: createHash('sha256')
        .update(Buffer.concat([Buffer.of(0), body]))
        .digest('hex'),
      logId: Buffer.from(e.logId?.keyId ?? '', 'base64').toString('hex'),
      treeSize: Number(size ?? -1),
      rootHash: Buffer.from(root ?? '', 'base64').toString('hex'),
    };
  });
}

/** Library failure reason -> the check it belongs to. */
function classify(reason: string, policy: BundlePolicy, keyMatches: boolean | undefined): ErrorCode {
  if (/UNTRUSTED_SIGNER_ERROR|CERTIFICATE_ERROR/.test(reason)) return 'VERIFY_WRONG_IDENTITY';
  if (/signed with a (publicKey|x509|certificate)/i.test(reason))
    return policy.kind === 'key' ? 'VERIFY_WRONG_KEY' : 'VERIFY_WRONG_IDENTITY';
  if (/TLOG_INCLUSION_PROOF_ERROR|checkpoint|inclusion proof/i.test(reason))
    return 'VERIFY_TLOG_INCONSISTENT';
  if (/TLOG_MISSING_INCLUSION_ERROR/.test(reason)) return 'VERIFY_TLOG_MISSING';
  if (/TLOG_BODY_ERROR/.test(reason)) return 'VERIFY_BUNDLE_MISMATCH';
  if (/SIGNATURE_ERROR|PUBLIC_KEY_ERROR/.test(reason) && policy.kind === 'key' && keyMatches === false)
    return 'VERIFY_WRONG_KEY';
  return 'VERIFY_SIGNATURE';
}

export function verifySignedDocument(input: SignedDocumentInput): VerifiedDocument {
  const { what } = input;
  const digest = sha256(input.bytes);
  const hex = digest.toString('hex');
  if (input.expectedSha256 !== undefined && hex !== input.expectedSha256)
    fail(
      'VERIFY_DIGEST_MISMATCH',
      `${what} has sha256 ${hex}, the signed version index lists ${input.expectedSha256}: it was changed after release`,
    );
  const bundle = parse(input.bundleText, what);
  const md = bundle.messageSignature?.messageDigest?.digest;
  if (md !== undefined && !Buffer.from(md, 'base64').equals(digest))
    fail(
      'VERIFY_BUNDLE_MISMATCH',
      `the bundle next to ${what} signs another file (message digest ${Buffer.from(md, 'base64').toString('hex')}, file ${hex})`,
    );
  const entries = entryRefs(bundle);
  if (entries.length === 0)
    fail(
      'VERIFY_TLOG_MISSING',
      `the bundle of ${what} has no transparency log entry: its publication cannot be proven`,
    );
  const pinned = trustedLogIds(input.trustedRootJson);
  if (pinned !== undefined) {
    const unknown = entries.find((e) => !pinned.has(e.logId));
    if (unknown)
      fail(
        'VERIFY_TLOG_UNTRUSTED',
        `the bundle of ${what} was logged by a log whose key (logId ${unknown.logId}) is not pinned in the trusted root`,
        'pin the log with --trusted-root (nodeimg log trusted-root / nodeimg tlog serve publish one)',
      );
  }
  let keyMatches: boolean | undefined;
  if (input.policy.kind === 'key') {
    const want = createPublicKey(input.policy.publicKeyPem).export({ type: 'spki', format: 'der' });
    const rawEntries = bundle.verificationMaterial?.tlogEntries ?? [];
    const named = rawEntries.map((e) => bodyKeyDer(e.canonicalizedBody));
    keyMatches = named.every((k) => k === undefined || k.equals(want));
    if (!keyMatches)
      fail(
        'VERIFY_WRONG_KEY',
        `${what} is signed by another key than the one given (its log entry names a different public key)`,
      );
  }
  const r = verifyBundle({
    bundleJson: input.bundleText,
    artifact: { kind: 'bytes', bytes: input.bytes },
    policy: input.policy,
    ...(input.trustedRootJson === undefined ? {} : { trustedRootJson: input.trustedRootJson }),
  });
  if (!r.ok) {
    const code = classify(r.reason, input.policy, keyMatches);
    fail(code, `${what}: signature verification failed: ${r.reason}`);
  }
  return { sha256: hex, tlogEntries: entries, signer: r.ok ? r.bundle.signer : '' };
}
