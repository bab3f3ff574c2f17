// Adds what keyless verification needs to a Sigstore trusted root (protobuf-specs TrustedRoot): the
// Fulcio CA chain (certificateAuthorities) and the CT log key that signs its SCTs (ctlogs), either
// from files (a private or test Fulcio) or copied from the public-good root shipped in @sigstore/tuf.
// Every entry gets the `validFor.start` that pipeline/adapters/sigstore-verify.ts requires: the CA
// from the latest notBefore of its chain, the CT log key from the same instant unless given.
import { X509Certificate, createHash, createPublicKey, type KeyObject } from 'node:crypto';
import { UsageError } from '../../errors.js';
import { publicGoodTrustedRootJson } from '../sigstore-verify.js';
import { certificatesFromPem } from './certificate.js';

export type KeylessTrust =
  | { readonly kind: 'public-good' }
  | {
      readonly kind: 'files';
      /** PEM certificates of the CA: intermediate(s) and root, any order, no leaf. */
      readonly caChainPem: string;
      /** SPKI PEM of the CT log key. */
      readonly ctlogKeyPem: string;
      /** The CA's URI in the root (informational). */
      readonly fulcioUrl: string;
      /** The CT log's base URL in the root (informational). */
      readonly ctlogUrl?: string;
    };

type Json = Record<string, unknown>;

/** A copy of `root` with the Fulcio CA and CT log of `trust` appended. */
export function addKeylessTrust(root: Json, trust: KeylessTrust): Json {
  const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
  let cas: unknown[];
  let ctlogs: unknown[];
  if (trust.kind === 'public-good') {
    const pg = JSON.parse(publicGoodTrustedRootJson()) as Json;
    cas = list(pg['certificateAuthorities']);
    ctlogs = list(pg['ctlogs']);
  } else {
    const { entry, start } = caEntry(trust.caChainPem, trust.fulcioUrl);
    cas = [entry];
    ctlogs = [ctlogEntry(trust.ctlogKeyPem, start, trust.ctlogUrl)];
  }
  return {
    ...root,
    certificateAuthorities: [...list(root['certificateAuthorities']), ...cas],
    ctlogs: [...list(root['ctlogs']), ...ctlogs],
  };
}

function caEntry(pem: string, uri: string): { entry: Json; start: string } {
  const certs = certificatesFromPem(pem).map((der) => {
    try {
      return new X509Certificate(der);
    } catch (err) {
      throw new UsageError(`--fulcio-ca: a certificate does not parse (${(err as Error).message})`);
    }
  });
  if (certs.length === 0) throw new UsageError('--fulcio-ca: the file holds no PEM certificate');
  if (certs.some((c) => !c.ca))
    throw new UsageError(
      '--fulcio-ca: every certificate must be a CA (give the intermediate(s) and root, no leaf)',
    );
  // Chain order, as trusted roots list it: the certificate no other one was issued by, up to the root.
  const issuedByNone = certs.filter(
    (c) => !certs.some((o) => o !== c && o.checkIssued(c) && o.verify(c.publicKey)),
  );
  if (issuedByNone.length !== 1) throw new UsageError('--fulcio-ca: the certificates do not form one chain');
  const chain = [issuedByNone[0] as X509Certificate];
  for (;;) {
    const last = chain[chain.length - 1] as X509Certificate;
    const next = certs.find((c) => !chain.includes(c) && last.checkIssued(c) && last.verify(c.publicKey));
    if (next === undefined) break;
    chain.push(next);
  }
  if (chain.length !== certs.length)
    throw new UsageError('--fulcio-ca: the certificates do not form one chain');
  const start = new Date(Math.max(...chain.map((c) => Date.parse(c.validFrom)))).toISOString();
  const top = chain[chain.length - 1] as X509Certificate;
  const cn = /CN=([^\n]+)/.exec(top.subject)?.[1] ?? '';
  const org = /O=([^\n]+)/.exec(top.subject)?.[1] ?? '';
  return {
    start,
    entry: {
      subject: { organization: org, commonName: cn },
      uri,
      certChain: { certificates: chain.map((c) => ({ rawBytes: c.raw.toString('base64') })) },
      validFor: { start },
    },
  };
}

function ctlogEntry(pem: string, start: string, baseUrl?: string): Json {
  let key: KeyObject;
  try {
    key = createPublicKey(pem);
  } catch (err) {
    throw new UsageError(`--ctlog-key: not a PEM public key (${(err as Error).message})`);
  }
  const der = key.export({ type: 'spki', format: 'der' });
  return {
    ...(baseUrl === undefined ? {} : { baseUrl }),
    hashAlgorithm: 'SHA2_256',
    publicKey: { rawBytes: der.toString('base64'), keyDetails: keyDetails(key), validFor: { start } },
    logId: { keyId: createHash('sha256').update(der).digest('base64') },
  };
}

/** protobuf-specs PublicKeyDetails for a CT log key. */
function keyDetails(key: KeyObject): string {
  const curve = key.asymmetricKeyDetails?.namedCurve;
  if (key.asymmetricKeyType === 'ec' && curve === 'prime256v1') return 'PKIX_ECDSA_P256_SHA_256';
  if (key.asymmetricKeyType === 'ec' && curve === 'secp384r1') return 'PKIX_ECDSA_P384_SHA_384';
  if (key.asymmetricKeyType === 'ed25519') return 'PKIX_ED25519';
  if (key.asymmetricKeyType === 'rsa') return 'PKIX_RSA_PKCS1V15_2048_SHA256';
  throw new UsageError(
    `--ctlog-key: unsupported key type ${String(key.asymmetricKeyType)} ${String(curve ?? '')}`,
  );
}
