// OpenPGP verification of InRelease files with gpgv (GnuPG's verify-only tool, what apt uses:
// apt methods/gpgv.cc), through runTool. gpgv checks the signature against the given keyring only
// and writes the text it verified (-o); nodeimg compares that text with its own strict split of the
// message (image/formats/apt/clearsign.ts) and parses the Release from it, so nothing unsigned is
// ever read. The verdict comes from the status lines (--status-fd), not from gpgv's exit code: a
// file signed by several keys (Debian signs with three) may name keys the keyring lacks.
//
// The keyring's primary-key fingerprints come from `gpg --show-keys --with-colons`; a VALIDSIG
// counts only when its primary key is one of them (and, when given, one of the pinned ones).
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import { splitClearsigned } from '../../formats/apt/clearsign.js';
import { parseGpgStatus, signatureVerdict, type GpgSignature } from '../../formats/apt/gpg-status.js';
import { NodeimgError } from '../../formats/errors.js';
import { ToolError } from '../../../pipeline/errors.js';
import { runTool } from '../run-tool.js';
import { ProvenanceError } from './errors.js';

export interface Keyring {
  /** Absolute path of an OpenPGP keyring file (binary, as /usr/share/keyrings/*.gpg). */
  readonly path: string;
  /** Upper-case fingerprints of its primary keys. */
  readonly fingerprints: readonly string[];
}

export interface VerifiedText {
  /** The signed text, exactly as gpgv verified it. */
  readonly text: Uint8Array;
  /** The signatures that count (good, strong digest, trusted primary key). */
  readonly signers: readonly GpgSignature[];
}

async function withTempDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'nodeimg-gpgv-'));
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** stdout of a tool that exited non-zero (execa keeps it on the error runTool wraps). */
function stdoutOf(err: unknown): string | undefined {
  if (!(err instanceof ToolError) || err.code !== 'TOOL_FAILED') return undefined;
  const cause = err.cause as { stdout?: unknown } | undefined;
  return typeof cause?.stdout === 'string' ? cause.stdout : undefined;
}

/** Reads the primary-key fingerprints of a keyring file. */
export async function loadKeyring(path: string, cwd = process.cwd()): Promise<Keyring> {
  const abs = isAbsolute(path) ? path : resolve(cwd, path);
  return withTempDir(async (home) => {
    const { stdout } = await runTool(
      'gpg',
      ['--homedir', home, '--batch', '--show-keys', '--with-colons', abs],
      {
        timeoutMs: 60_000,
      },
    ).catch((err: unknown) => {
      if (err instanceof ToolError && err.code === 'TOOL_FAILED')
        throw new NodeimgError('IO_NOT_FOUND', `cannot read the keyring ${abs}: ${err.message}`, {
          cause: err,
          hint: 'give an OpenPGP keyring file, e.g. /usr/share/keyrings/debian-archive-keyring.gpg (package debian-archive-keyring)',
        });
      throw err;
    });
    // the first fpr record after a pub record is the primary key's (rvk/uid records may come
    // between: Debian's keys carry a revocation key); sub records start subkeys
    const fingerprints: string[] = [];
    let primary = false;
    for (const line of stdout.split('\n')) {
      const f = line.split(':');
      if (f[0] === 'pub') primary = true;
      else if (f[0] === 'sub' || f[0] === 'ssb') primary = false;
      else if (f[0] === 'fpr' && primary) {
        if (/^[0-9A-F]{40,64}$/.test(f[9] ?? '')) fingerprints.push(f[9] as string);
        primary = false;
      }
    }
    if (fingerprints.length === 0)
      throw new NodeimgError('PARSE_INVALID', `the keyring ${abs} holds no public key`, {
        hint: 'export one with gpg --export KEYID > keyring.gpg',
      });
    return { path: abs, fingerprints };
  });
}

/**
 * Verifies a clearsigned message (InRelease) against `keyring`; `pinned` (primary fingerprints)
 * narrows the keys allowed to sign. Throws PROVENANCE_SIGNATURE unless at least one trusted, good
 * signature covers exactly the text nodeimg will read.
 */
export async function verifyClearsigned(
  bytes: Uint8Array,
  keyring: Keyring,
  subject: string,
  pinned?: readonly string[],
): Promise<VerifiedText> {
  const trusted = new Set(
    keyring.fingerprints.filter(
      (f) => pinned === undefined || pinned.map((p) => p.toUpperCase()).includes(f),
    ),
  );
  const hint = `the keyring is ${keyring.path}; a mirror that is not what it claims, or the wrong keyring, looks like this`;
  let framed;
  try {
    framed = splitClearsigned(bytes, 0, subject);
  } catch (err) {
    throw new ProvenanceError(
      'PROVENANCE_SIGNATURE',
      subject,
      `not a well-formed signed message: ${(err as Error).message}`,
      {
        cause: err,
        hint,
      },
    );
  }
  return withTempDir(async (dir) => {
    const file = join(dir, 'InRelease');
    const out = join(dir, 'signed.txt');
    await writeFile(file, bytes);
    const args = [
      '--homedir',
      dir,
      '--keyring',
      keyring.path,
      '--weak-digest',
      'SHA1',
      '--weak-digest',
      'RIPEMD160',
      '--status-fd',
      '1',
      '-o',
      out,
      file,
    ];
    let status: string;
    try {
      status = (await runTool('gpgv', args, { timeoutMs: 120_000 })).stdout;
    } catch (err) {
      const s = stdoutOf(err);
      if (s === undefined) throw err;
      status = s;
    }
    const verdict = signatureVerdict(parseGpgStatus(status), trusted);
    if (verdict.good.length === 0)
      throw new ProvenanceError(
        'PROVENANCE_SIGNATURE',
        subject,
        `no trusted signature: ${verdict.problem ?? 'unknown'}`,
        {
          hint,
        },
      );
    const verified = new Uint8Array(await readFile(out).catch(() => Buffer.alloc(0)));
    if (Buffer.compare(Buffer.from(verified), Buffer.from(framed.text)) !== 0)
      throw new ProvenanceError(
        'PROVENANCE_SIGNATURE',
        subject,
        'the text gpgv verified is not the text of the message (more than one signed block?)',
        { hint },
      );
    return { text: verified, signers: verdict.good };
  });
}
