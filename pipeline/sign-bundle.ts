// Signs an artifact and logs it: the Signer signs the bytes, the transparency log takes the
// hashedrekord 0.0.1 entry, and the result is a Sigstore bundle v0.3 (message signature, public key
// hint, one Rekor v1 tlog entry with SET and inclusion proof + checkpoint) plus the cosign-style
// detached signature (base64 DER).
import { createHash } from 'node:crypto';
import type { Signer } from './ports.js';
import { hashedRekordBody } from './adapters/local-log/hashedrekord.js';
import type { LogEntry } from './adapters/local-log/local-log.js';

export const BUNDLE_V03_MEDIA_TYPE = 'application/vnd.dev.sigstore.bundle.v0.3+json';

/** What signing needs from a transparency log (the local log; a Rekor client later). */
export interface EntryLog {
  add(canonicalBody: Uint8Array): Promise<LogEntry>;
}

export interface SignedArtifact {
  /** The bundle document (protobuf JSON field names, int64 as strings). */
  readonly bundle: Record<string, unknown>;
  /** `<bundle file>` text: 2-space JSON with a trailing newline. */
  readonly bundleText: string;
  /** Detached signature file text: base64 DER and a newline, as cosign writes it. */
  readonly sigText: string;
  readonly entry: LogEntry;
}

export async function signArtifact(
  bytes: Uint8Array,
  signer: Signer,
  log: EntryLog,
): Promise<SignedArtifact> {
  const digest = createHash('sha256').update(bytes).digest();
  const signed = await signer.sign(bytes);
  const body = hashedRekordBody({
    sha256: digest,
    signature: signed.signature,
    publicKeyPem: signed.publicKey.pem,
  });
  const entry = await log.add(body);
  const b64 = (b: Uint8Array): string => Buffer.from(b).toString('base64');
  const proof = entry.inclusionProof;
  const bundle = {
    mediaType: BUNDLE_V03_MEDIA_TYPE,
    verificationMaterial: {
      publicKey: { hint: signed.hint },
      tlogEntries: [
        {
          logIndex: String(entry.logIndex),
          logId: { keyId: b64(entry.logID) },
          kindVersion: { kind: 'hashedrekord', version: '0.0.1' },
          integratedTime: String(entry.integratedTime),
          inclusionPromise: { signedEntryTimestamp: b64(entry.signedEntryTimestamp) },
          inclusionProof: {
            logIndex: String(proof.logIndex),
            rootHash: b64(proof.rootHash),
            treeSize: String(proof.treeSize),
            hashes: proof.hashes.map(b64),
            checkpoint: { envelope: proof.checkpoint },
          },
          canonicalizedBody: b64(entry.body),
        },
      ],
      timestampVerificationData: {},
    },
    messageSignature: {
      messageDigest: { algorithm: 'SHA2_256', digest: b64(digest) },
      signature: b64(signed.signature),
    },
  };
  return {
    bundle,
    bundleText: `${JSON.stringify(bundle, null, 2)}\n`,
    sigText: `${b64(signed.signature)}\n`,
    entry,
  };
}
