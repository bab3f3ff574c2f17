// `nodeimg fetch-measurements --version vX.Y.Z --store REF (--key key.pub | --certificate-identity
// ID --certificate-oidc-issuer URL) [--trusted-root FILE] (--offline | --rekor URL) [-o FILE]`:
// fetches a release's measurements.json and accepts it only when every check of
// pipeline/verify/fetch-measurements.ts passes; each failed check has its own error and exit code
// (README, "Exit codes") and nothing is written on failure.
import { rename, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { writeJson, type Command, type CommandIo } from '../command.js';
import { NodeimgError, UsageError } from '../errors.js';
import { EXIT } from '../exit-codes.js';
import { STORE_REF_FORMS } from '../adapters/store/store-ref.js';
import { fetchMeasurements } from '../verify/fetch-measurements.js';
import type { PackagesCheck } from '../verify/packages.js';
import { VERIFIER_OPTIONS, verifierArgs } from './verifier-args.js';
import { toConstellation } from '../../measurements/constellation.js';

const USAGE =
  'nodeimg fetch-measurements --version vX.Y.Z --store REF (--key key.pub | --certificate-identity ID --certificate-oidc-issuer URL) [--trusted-root FILE] (--offline | --rekor URL) [-o FILE] [--packages [--verify-packages [--deep] [--keyring FILE]]] [--json]';

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

export async function writeAtomic(path: string, text: string): Promise<void> {
  const tmp = resolve(dirname(path), `.${path.split('/').pop() ?? 'out'}.tmp-${process.pid}`);
  try {
    await writeFile(tmp, text);
    await rename(tmp, path);
  } catch (err) {
    throw new NodeimgError('IO_FAILED', `cannot write ${path}: ${(err as Error).message}`);
  }
}

function packagesLine(p: PackagesCheck | null): string | undefined {
  if (p === null) return undefined;
  return (
    `  packages: ${p.count} traced in packages.json ${p.provenance.sha256}` +
    (p.archive === null
      ? ' (archive not re-checked: --verify-packages)\n'
      : `; archive re-checked: ${p.archive.releases} signed InRelease, ${p.archive.debBytes} bytes of .debs ${p.archive.deep ? 're-hashed' : 'present'}\n`)
  );
}

export const fetchMeasurementsCommand: Command = {
  name: 'fetch-measurements',
  summary:
    "Fetch a release's signed measurements from a store and verify signature, identity, transparency log, version index and schema, fail-closed.",
  usage: USAGE,
  help: `Reads <store>/v2/ref/<ref>/stream/<stream>/versions/current.json, the signed version index it
names, and the version's measurements.json, and accepts them only when:
  - the index and measurements.json verify under the signer policy (--key, or a keyless identity)
    and their transparency log entries verify against the log key pinned in the trusted root;
  - measurements.json has exactly the sha256 the signed index lists, matches its schema, names the
    requested version, ref and stream, and enforces PCRs 4, 9 and 11 in every bank;
  - the index is not older than one this machine saw before (rollback state, --state);
  - online (--rekor): the log still has both entries and its current tree is consistent with the
    checkpoints in the bundles.
Nothing is written unless every check passes.

options:
  --version vX.Y.Z          the release to fetch (canonical semver)
  --ref REF                 default "-" (release builds)
  --stream NAME             default "stable"
  --store REF               ${STORE_REF_FORMS}
  --key FILE                the release signing key's public half (key.pub)
  --certificate-identity ID --certificate-oidc-issuer URL
                            keyless: the exact signer identity and its OIDC issuer
  --trusted-root FILE       trusted_root.json pinning the transparency log (and for keyless the
                            Fulcio CA and CT log); default: the Sigstore public-good root
  --offline                 rely on the proofs inside the bundles; do not ask the log
  --rekor URL               the log to ask online (or NODEIMG_REKOR_URL); its key must be pinned
                            in the trusted root
  --state FILE              rollback state (default $XDG_STATE_HOME/nodeimg/version-state.json)
  --allow-rollback          accept an older version index than the one seen before (explicit override)
  -o, --out FILE            write measurements.json exactly as published and signed
  --constellation FILE      also write Constellation's ImageMeasurementsV2 for --csp and
                            --attestation-variant
  --packages                also verify info.json and the release's packages.json and
                            sbom.spdx.json against the sha256 info.json lists (issue 12)
  --verify-packages         --packages, and re-check the package archive in the store
                            (every InRelease signature against --keyring, every index and
                            stanza, every pool .deb present with its size and sha256)
  --deep                    with --verify-packages: download and re-hash every archived .deb
  --keyring FILE            default /usr/share/keyrings/debian-archive-keyring.gpg
  --json                    a JSON summary on stdout

exit codes: 0 verified; 10 digest mismatch (changed after release), 11 bad signature, 12 another
key, 13 another identity, 14 bundle of another file, 15 log entry missing, 16 log key not pinned,
17 log inconsistent, 18 version/ref/stream mismatch, 19 rollback, 20 incomplete enforced set,
21 log unreachable, 22 not found; 2 usage, 4 I/O, 6 schema.
`,
  options: {
    ...VERIFIER_OPTIONS,
    out: { type: 'string', short: 'o' },
    constellation: { type: 'string' },
    csp: { type: 'string' },
    'attestation-variant': { type: 'string' },
    json: { type: 'boolean' },
    packages: { type: 'boolean' },
    'verify-packages': { type: 'boolean' },
    deep: { type: 'boolean' },
    keyring: { type: 'string' },
  },
  positionals: { min: 0, max: 0 },
  async run(args, io: CommandIo): Promise<number> {
    const v = args.values;
    const hint = `usage: ${USAGE}`;
    const cst = str(v['constellation']);
    if (cst !== undefined && (str(v['csp']) === undefined || str(v['attestation-variant']) === undefined))
      throw new UsageError('--constellation needs --csp and --attestation-variant', { hint });
    const verifyPackages = v['verify-packages'] === true;
    const withPackages = v['packages'] === true || verifyPackages;
    if (!verifyPackages && (v['deep'] === true || str(v['keyring']) !== undefined))
      throw new UsageError('--deep and --keyring go with --verify-packages', { hint });
    const { request, client } = await verifierArgs(args, io, USAGE, { rekorFromEnv: true });
    const { coords, store } = request;
    try {
      // issue 12: packages.json / sbom.spdx.json, pinned by the signed info.json (loaded lazily)
      let packages: PackagesCheck | null = null;
      const extra = !withPackages
        ? undefined
        : {
            documents: ['info.json'] as const,
            check: async (docs: { 'info.json'?: { bytes: Uint8Array } }) => {
              const { checkReleasePackages } = await import('../verify/packages.js');
              const keyring = verifyPackages
                ? await (
                    await import('../../image/build/apt-archive/gpgv.js')
                  ).loadKeyring(str(v['keyring']) ?? '/usr/share/keyrings/debian-archive-keyring.gpg', io.cwd)
                : undefined;
              const info = Buffer.from(docs['info.json']?.bytes ?? new Uint8Array()).toString('utf8');
              packages = await checkReleasePackages(store, coords, info, {
                ...(keyring ? { keyring } : {}),
                deep: v['deep'] === true,
              });
            },
          };
      const r = await fetchMeasurements(request, extra);
      const out = str(v['out']);
      if (out !== undefined) await writeAtomic(resolve(io.cwd, out), Buffer.from(r.bytes).toString('utf8'));
      if (cst !== undefined)
        await writeAtomic(
          resolve(io.cwd, cst),
          toConstellation(r.document, {
            csp: str(v['csp']) as string,
            attestationVariant: str(v['attestation-variant']) as string,
            version: coords.version,
            ref: coords.ref,
            stream: coords.stream,
          }),
        );
      const summary = {
        version: coords.version,
        ref: coords.ref,
        stream: coords.stream,
        store: store.ref,
        index: r.index,
        measurements: { sha256: r.verified.measurements.sha256, signer: r.verified.measurements.signer },
        enforced: r.document.release?.enforced ?? [],
        logIndexes: [...r.verified.index.tlogEntries, ...r.verified.measurements.tlogEntries].map(
          (e) => e.logIndex,
        ),
        online: client !== undefined,
        out: out ?? null,
        ...(withPackages ? { packages } : {}),
      };
      if (v['json'] === true) writeJson(io, summary);
      else
        io.stderr.write(
          `OK: ${coords.version} (${coords.ref}/${coords.stream}) from ${store.ref}\n` +
            `  version index ${r.index.sequence} (${r.index.sha256}), measurements.json ${summary.measurements.sha256}\n` +
            `  signer: ${summary.measurements.signer}\n` +
            `  enforced PCRs: ${summary.enforced.join(', ')}; log entries ${summary.logIndexes.join(', ')} (${client ? 'checked online' : 'offline'})\n` +
            (out ? `  wrote ${out}\n` : '') +
            (packagesLine(packages) ?? ''),
        );
      return EXIT.ok;
    } finally {
      await client?.close();
    }
  },
};
