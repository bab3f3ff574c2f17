// Signs an artifact and logs it: the Signer signs the bytes, the transparency log takes the
// hashedrekord 0.0.1 entry, and the result is a Sigstore bundle v0.3 (message signature, public key
// hint or, keyless, the signing certificate, one Rekor v1 tlog entry with SET and inclusion proof +
// checkpoint) plus the cosign-style detached signature (base64 DER).
import { createHash } from 'node:crypto';
import type { Signer, TransparencyLog } from './ports.js';
import { derToPem } from './adapters/fulcio/certificate.js';
import { hashedRekordBody } from './adapters/local-log/hashedrekord.js';
import type { LogEntry } from './adapters/local-log/local-log.js';

export const BUNDLE_V03_MEDIA_TYPE = 'application/vnd.dev.sigstore.bundle.v0.3+json';

/**
 * What signing needs from a transparency log (the TransparencyLog port of ports.ts): the local log
 * in a directory (LocalLog) or a Rekor server over HTTP (RekorClient), which both verify the entry.
 */
export type EntryLog = Pick<TransparencyLog, 'add'>;

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
  // Keyless: Rekor's hashedrekord carries the PEM certificate where a managed key's PEM goes.
  const cert = signed.certificate;
  const body = hashedRekordBody({
    sha256: digest,
    signature: signed.signature,
    publicKeyPem: cert ? derToPem(cert.leaf) : signed.publicKey.pem,
  });
  const entry = await log.add(body);
  const b64 = (b: Uint8Array): string => Buffer.from(b).toString('base64');
  const proof = entry.inclusionProof;
  const bundle = {
    mediaType: BUNDLE_V03_MEDIA_TYPE,
    verificationMaterial: {
      ...(cert ? { certificate: { rawBytes: b64(cert.leaf) } } : { publicKey: { hint: signed.hint } }),
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
