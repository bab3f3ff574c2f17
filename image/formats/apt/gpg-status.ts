// GnuPG's machine-readable status lines (`gpgv --status-fd`; GnuPG doc/DETAILS "Format of the
// status codes"): one block per signature, opened by NEWSIG, holding GOODSIG / BADSIG / EXPSIG /
// EXPKEYSIG / REVKEYSIG / ERRSIG (+ NO_PUBKEY) and, for a signature that verified, VALIDSIG with the
// signing key's fingerprint, the creation time, the hash algorithm and the primary key's
// fingerprint. Pure: the verdict (which signatures count) follows apt's gpgv method
// (apt methods/gpgv.cc): only GOODSIG + VALIDSIG counts, any BADSIG spoils the whole file,
// expired or revoked keys and weak digests (MD5, SHA-1, RIPEMD-160) do not count.

export type GpgSignatureStatus =
  'good' | 'bad' | 'expired-signature' | 'expired-key' | 'revoked-key' | 'no-public-key' | 'error';

export interface GpgSignature {
  readonly status: GpgSignatureStatus;
  /** Long key ID (16 hex) as GOODSIG/BADSIG/ERRSIG name it. */
  readonly keyId?: string;
  /** VALIDSIG: fingerprint of the (sub)key that signed. */
  readonly fingerprint?: string;
  /** VALIDSIG: fingerprint of its primary key. */
  readonly primaryFingerprint?: string;
  /** VALIDSIG: signature creation, seconds since the epoch. */
  readonly created?: number;
  /** OpenPGP hash algorithm id (RFC 4880 §9.4: 1 MD5, 2 SHA1, 3 RIPEMD160, 8 SHA256, 10 SHA512). */
  readonly hashAlgorithm?: number;
  readonly userId?: string;
}

/** RFC 4880 §9.4 ids of hash algorithms apt no longer accepts. */
export const WEAK_HASH_ALGORITHMS: ReadonlySet<number> = new Set([1, 2, 3]);
const MAX_LINES = 10_000;

/** The signatures described by a status stream, in order. */
export function parseGpgStatus(text: string): GpgSignature[] {
  const blocks: string[][][] = [];
  let cur: string[][] | undefined;
  const lines = text.split('\n').slice(0, MAX_LINES);
  for (const raw of lines) {
    const line = raw.replace(/\r$/, '');
    if (!line.startsWith('[GNUPG:] ')) continue;
    const words = line.slice(9).split(' ');
    if (words[0] === 'NEWSIG' || cur === undefined) {
      cur = [];
      blocks.push(cur);
      if (words[0] === 'NEWSIG') continue;
    }
    cur.push(words);
  }
  const out: GpgSignature[] = [];
  for (const block of blocks) {
    const find = (kw: string) => block.find((w) => w[0] === kw);
    const valid = find('VALIDSIG');
    const rank: [string, GpgSignatureStatus][] = [
      ['BADSIG', 'bad'],
      ['ERRSIG', 'error'],
      ['REVKEYSIG', 'revoked-key'],
      ['EXPKEYSIG', 'expired-key'],
      ['EXPSIG', 'expired-signature'],
      ['GOODSIG', 'good'],
    ];
    let status: GpgSignatureStatus | undefined;
    let head: string[] | undefined;
    for (const [kw, st] of rank) {
      head = find(kw);
      if (head !== undefined) {
        status = st;
        break;
      }
    }
    if (status === undefined) continue; // a block with no verdict (e.g. only KEY_CONSIDERED)
    if (status === 'error' && find('NO_PUBKEY') !== undefined) status = 'no-public-key';
    if (status === 'good' && valid === undefined) status = 'error';
    const sig: {
      status: GpgSignatureStatus;
      keyId?: string;
      fingerprint?: string;
      primaryFingerprint?: string;
      created?: number;
      hashAlgorithm?: number;
      userId?: string;
    } = { status };
    const keyId = head?.[1];
    if (keyId !== undefined && /^[0-9A-F]{16}$/.test(keyId)) sig.keyId = keyId;
    if (status !== 'error' && status !== 'no-public-key' && head !== undefined && head.length > 2)
      sig.userId = head.slice(2).join(' ');
    if (status === 'error' || status === 'no-public-key') {
      // ERRSIG <keyid> <pkalgo> <hashalgo> <sig_class> <time> <rc> [<fpr>]
      const hash = Number(head?.[3]);
      if (Number.isInteger(hash)) sig.hashAlgorithm = hash;
      const fpr = head?.[7];
      if (fpr !== undefined && /^[0-9A-F]{40,64}$/.test(fpr)) sig.fingerprint = fpr;
    }
    if (valid !== undefined) {
      // VALIDSIG <fpr> <date> <timestamp> <expire> <version> <reserved> <pkalgo> <hashalgo> <class> [<primary-fpr>]
      const fpr = valid[1];
      if (fpr !== undefined && /^[0-9A-F]{40,64}$/.test(fpr)) sig.fingerprint = fpr;
      const ts = Number(valid[3]);
      if (Number.isSafeInteger(ts)) sig.created = ts;
      const hash = Number(valid[8]);
      if (Number.isInteger(hash)) sig.hashAlgorithm = hash;
      const primary = valid[10];
      sig.primaryFingerprint =
        primary !== undefined && /^[0-9A-F]{40,64}$/.test(primary) ? primary : (sig.fingerprint ?? '');
    }
    out.push(sig);
  }
  return out;
}

export interface SignatureVerdict {
  /** The signatures that count: good, VALIDSIG, a strong digest, and a key the caller trusts. */
  readonly good: readonly GpgSignature[];
  /** Why nothing counts (when `good` is empty), or why the file is refused despite good ones. */
  readonly problem?: string;
}

/**
 * Which signatures authenticate the file. `trusted` holds the primary-key fingerprints allowed to
 * sign (upper-case hex). A BADSIG anywhere refuses the file (apt does the same).
 */
export function signatureVerdict(
  sigs: readonly GpgSignature[],
  trusted: ReadonlySet<string>,
): SignatureVerdict {
  const bad = sigs.find((s) => s.status === 'bad');
  if (bad !== undefined)
    return { good: [], problem: `BAD signature by key ${bad.keyId ?? '?'}: the signed text was altered` };
  const good = sigs.filter(
    (s) =>
      s.status === 'good' &&
      s.hashAlgorithm !== undefined &&
      !WEAK_HASH_ALGORITHMS.has(s.hashAlgorithm) &&
      s.primaryFingerprint !== undefined &&
      trusted.has(s.primaryFingerprint),
  );
  if (good.length > 0) return { good };
  if (sigs.length === 0) return { good: [], problem: 'no signature found' };
  const why = sigs.map((s) => {
    const who = s.fingerprint ?? s.keyId ?? 'an unknown key';
    switch (s.status) {
      case 'good':
        if (s.hashAlgorithm !== undefined && WEAK_HASH_ALGORITHMS.has(s.hashAlgorithm))
          return `${who}: weak digest algorithm ${s.hashAlgorithm}`;
        return `${who}: not one of the trusted keys`;
      case 'no-public-key':
        return `${who}: signed by a key that is not in the keyring`;
      case 'expired-key':
        return `${who}: the key has expired`;
      case 'revoked-key':
        return `${who}: the key was revoked`;
      case 'expired-signature':
        return `${who}: the signature has expired`;
      default:
        return `${who}: the signature could not be checked`;
    }
  });
  return { good: [], problem: why.join('; ') };
}
