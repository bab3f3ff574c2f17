// `nodeimg verify-bundle --bundle FILE (--key key.pub | --certificate-identity ID
// --certificate-oidc-issuer URL) [--trusted-root trusted_root.json] ARTIFACT`: verifies a Sigstore
// bundle offline with the sigstore-js libraries, speaking the sigstore-conformance client protocol
// (`verify-bundle`). Exit 0 when the bundle verifies for the artifact under the policy, 1 when it
// does not (CHECK_FAILED with the library's reason), 2 for usage errors, 4 for unreadable files.
import type { Command, CommandIo } from '../command.js';
import { CheckFailedError, UsageError } from '../errors.js';
import { EXIT } from '../exit-codes.js';
import { verifyBundle, type BundleArtifact } from '../adapters/sigstore-verify.js';
import { POLICY_OPTIONS, policyFromArgs } from './bundle-policy.js';
import { readSmallFile } from './eventlog-input.js';

/** Bundles and trusted roots are a few KiB; the cap only stops reading a wrong file whole. */
const MAX_JSON_BYTES = 16 * 1024 * 1024;
/** The artifact is signed as a whole (ECDSA over its bytes), so it is read into memory. */
export const MAX_ARTIFACT_BYTES = 1024 * 1024 * 1024;

const USAGE =
  'nodeimg verify-bundle --bundle FILE (--key key.pub | --certificate-identity ID --certificate-oidc-issuer URL) [--trusted-root trusted_root.json] ARTIFACT';

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

async function readText(path: string, max: number, what: string): Promise<string> {
  return Buffer.from(await readSmallFile(path, max, what)).toString('utf8');
}

async function readArtifact(arg: string): Promise<BundleArtifact> {
  const m = /^sha256:([0-9a-fA-F]{64})$/.exec(arg);
  if (m) return { kind: 'sha256', digest: Buffer.from(m[1] as string, 'hex') };
  if (arg.startsWith('sha256:'))
    throw new UsageError(`${arg}: a sha256: artifact needs 64 hex digits`, { hint: `usage: ${USAGE}` });
  return {
    kind: 'bytes',
    bytes: await readSmallFile(arg, MAX_ARTIFACT_BYTES, 'a signed artifact'),
  };
}

export const verifyBundleCommand: Command = {
  name: 'verify-bundle',
  summary:
    'Verify a Sigstore bundle for a file offline (managed key or keyless identity), as a sigstore-conformance client.',
  usage: USAGE,
  help: `Verifies a Sigstore bundle (v0.1, v0.2, v0.3; message signature or DSSE in-toto envelope)
offline with the sigstore-js libraries, with their default thresholds (one transparency log entry,
one timestamp, one SCT for certificates). Any error is a rejection.

options:
  --bundle FILE                     the bundle (*.sigstore.json)
  --key FILE                        PEM public key of a managed signing key; the bundle must carry a
                                    public key hint (not a certificate)
  --certificate-identity ID         expected certificate SAN (exact match), with
  --certificate-oidc-issuer URL     the expected OIDC issuer extension of the signing certificate
  --trusted-root FILE               trusted_root.json; default: the Sigstore public-good root
                                    shipped in @sigstore/tuf (read from the package, never fetched)
  ARTIFACT                          the signed file, or sha256:<64 hex> (DSSE bundles only)

Exit 0 when the bundle verifies for the artifact under the policy, 1 when it does not (the reason
is printed), 2 usage error, 4 a file cannot be read.

Not supported by @sigstore/verify 3.1.1 (Node 20 line), so rejected: DSSE envelopes logged to Rekor
v2 as hashedrekord 0.0.2 entries (supported from @sigstore/verify 4.1.0).
`,
  options: {
    bundle: { type: 'string' },
    ...POLICY_OPTIONS,
    'trusted-root': { type: 'string' },
  },
  positionals: { min: 1, max: 1 },
  async run(args, io: CommandIo): Promise<number> {
    const bundlePath = str(args.values['bundle']);
    const rootPath = str(args.values['trusted-root']);
    const hint = `usage: ${USAGE}`;
    if (bundlePath === undefined) throw new UsageError('--bundle FILE is required', { hint });
    const policy = await policyFromArgs(args, USAGE);
    const artifactArg = args.positionals[0] as string;

    const bundleJson = await readText(bundlePath, MAX_JSON_BYTES, 'a Sigstore bundle');
    const trustedRootJson =
      rootPath === undefined ? undefined : await readText(rootPath, MAX_JSON_BYTES, 'a trusted root');
    const artifact = await readArtifact(artifactArg);

    const result = verifyBundle({
      bundleJson,
      artifact,
      policy,
      ...(trustedRootJson === undefined ? {} : { trustedRootJson }),
    });
    if (!result.ok)
      throw new CheckFailedError(`${bundlePath} does not verify for ${artifactArg}: ${result.reason}`);
    const b = result.bundle;
    io.stdout.write(
      `OK: ${bundlePath} verifies for ${artifactArg}\n` +
        `  bundle:  ${b.mediaType}, ${b.content}\n` +
        `  signer:  ${b.signer}\n` +
        `  tlog entries: ${b.tlogEntries}, timestamps: ${b.timestamps}\n` +
        `  trust:   ${rootPath ?? 'Sigstore public-good root (@sigstore/tuf, offline)'}\n`,
    );
    return EXIT.ok;
  },
};
