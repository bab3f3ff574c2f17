// RFC 6962 / RFC 9162 Merkle tree hashes, inclusion and consistency proofs over leaf data.
// leaf = SHA-256(0x00 || data), node = SHA-256(0x01 || left || right), MTH splits at the largest
// power of two smaller than n. Proof hashes are ordered leaf -> root.
import { createHash } from 'node:crypto';

const sha256 = (...parts: Uint8Array[]): Buffer => {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest();
};

export const leafHash = (data: Uint8Array): Buffer => sha256(Uint8Array.of(0), data);
export const nodeHash = (left: Uint8Array, right: Uint8Array): Buffer =>
  sha256(Uint8Array.of(1), left, right);

/** Largest power of two strictly smaller than n (n >= 2). */
function split(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

/** MTH over leaf hashes (already hashed with the 0x00 prefix). */
export function rootHash(leaves: readonly Uint8Array[]): Buffer {
  if (leaves.length === 0) return sha256();
  if (leaves.length === 1) return Buffer.from(leaves[0] as Uint8Array);
  const k = split(leaves.length);
  return nodeHash(rootHash(leaves.slice(0, k)), rootHash(leaves.slice(k)));
}

/** PATH(m, D[n]) over leaf hashes. */
export function inclusionProof(m: number, leaves: readonly Uint8Array[]): Buffer[] {
  const n = leaves.length;
  if (m < 0 || m >= n) throw new RangeError(`leaf ${m} is not in a tree of size ${n}`);
  if (n === 1) return [];
  const k = split(n);
  return m < k
    ? [...inclusionProof(m, leaves.slice(0, k)), rootHash(leaves.slice(k))]
    : [...inclusionProof(m - k, leaves.slice(k)), rootHash(leaves.slice(0, k))];
}

/** PROOF(m, D[n]) over leaf hashes, 0 < m <= n. */
export function consistencyProof(m: number, leaves: readonly Uint8Array[]): Buffer[] {
  if (m <= 0 || m > leaves.length) throw new RangeError(`no consistency proof from ${m} to ${leaves.length}`);
  return subproof(m, leaves, true);
}

function subproof(m: number, leaves: readonly Uint8Array[], complete: boolean): Buffer[] {
  const n = leaves.length;
  if (m === n) return complete ? [] : [rootHash(leaves)];
  const k = split(n);
  return m <= k
    ? [...subproof(m, leaves.slice(0, k), complete), rootHash(leaves.slice(k))]
    : [...subproof(m - k, leaves.slice(k), false), rootHash(leaves.slice(0, k))];
}

/** RFC 9162 §2.1.3.2: does `proof` put leaf hash `leaf` at `index` in a tree of `size` with `root`? */
export function verifyInclusion(
  index: number,
  size: number,
  leaf: Uint8Array,
  proof: readonly Uint8Array[],
  root: Uint8Array,
): boolean {
  if (index < 0 || index >= size) return false;
  let fn = index;
  let sn = size - 1;
  let r: Buffer = Buffer.from(leaf);
  for (const p of proof) {
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      r = nodeHash(p, r);
      if (fn % 2 === 0) {
        while (fn % 2 === 0 && fn !== 0) {
          fn = Math.floor(fn / 2);
          sn = Math.floor(sn / 2);
        }
      }
    } else {
      r = nodeHash(r, p);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 && r.equals(root);
}

/** RFC 9162 §2.1.4.2: is the tree (size2, root2) an append-only extension of (size1, root1)? */
export function verifyConsistency(
  size1: number,
  size2: number,
  proof: readonly Uint8Array[],
  root1: Uint8Array,
  root2: Uint8Array,
): boolean {
  if (size1 <= 0 || size1 > size2) return false;
  if (size1 === size2) return proof.length === 0 && Buffer.from(root1).equals(root2);
  let path = [...proof];
  if (path.length === 0) return false;
  if (isPowerOfTwo(size1)) path = [Buffer.from(root1), ...path];
  let fn = size1 - 1;
  let sn = size2 - 1;
  while (fn % 2 === 1) {
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  let fr: Buffer = Buffer.from(path[0] as Uint8Array);
  let sr: Buffer = Buffer.from(path[0] as Uint8Array);
  for (const c of path.slice(1)) {
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      fr = nodeHash(c, fr);
      sr = nodeHash(c, sr);
      if (fn % 2 === 0) {
        while (fn % 2 === 0 && fn !== 0) {
          fn = Math.floor(fn / 2);
          sn = Math.floor(sn / 2);
        }
      }
    } else {
      sr = nodeHash(sr, c);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 && fr.equals(root1) && sr.equals(root2);
}

const isPowerOfTwo = (n: number): boolean => n > 0 && (n & (n - 1)) === 0;
