import { createHash, type Hash } from 'node:crypto';

/** Hash algorithms of TPM banks and Authenticode, with their TCG TPM_ALG_ID and digest size. */
export const HASH_ALGS = {
  sha1: { tpmAlgId: 0x0004, size: 20 },
  sha256: { tpmAlgId: 0x000b, size: 32 },
  sha384: { tpmAlgId: 0x000c, size: 48 },
  sha512: { tpmAlgId: 0x000d, size: 64 },
} as const;

export type HashAlg = keyof typeof HASH_ALGS;
export const ALL_HASH_ALGS: readonly HashAlg[] = ['sha1', 'sha256', 'sha384', 'sha512'];

export function isHashAlg(name: string): name is HashAlg {
  return Object.hasOwn(HASH_ALGS, name);
}

export function hashAlgById(id: number): HashAlg | undefined {
  return ALL_HASH_ALGS.find((a) => HASH_ALGS[a].tpmAlgId === id);
}

export function digest(alg: HashAlg, ...parts: Uint8Array[]): Uint8Array {
  const h = createHash(alg);
  for (const p of parts) h.update(p);
  return new Uint8Array(h.digest());
}

/** Feeds the same bytes to several hashes at once (one pass over the input for every bank). */
export class MultiHash<A extends HashAlg = HashAlg> {
  private readonly hashes: Map<A, Hash>;
  constructor(algs: readonly A[]) {
    this.hashes = new Map(algs.map((a) => [a, createHash(a)]));
  }
  update(bytes: Uint8Array): this {
    for (const h of this.hashes.values()) h.update(bytes);
    return this;
  }
  digests(): Record<A, Uint8Array> {
    const out = {} as Record<A, Uint8Array>;
    for (const [a, h] of this.hashes) out[a] = new Uint8Array(h.digest());
    return out;
  }
}
