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

export interface SignResult {
  /** ASN.1 DER ECDSA signature over SHA-256 of the signed bytes. */
  readonly signature: Uint8Array;
  readonly publicKey: SignerPublicKey;
  /** Public key hint of a Sigstore bundle: base64(SHA-256(DER SPKI)), as cosign writes it. */
  readonly hint: string;
}

/** Signs bytes with a key the signer holds; never exposes private key material. */
export interface Signer {
  sign(bytes: Uint8Array): Promise<SignResult>;
}
