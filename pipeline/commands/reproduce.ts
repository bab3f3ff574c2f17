// `nodeimg reproduce --version vX.Y.Z --store REF (--key key.pub | --certificate-identity ID
// --certificate-oidc-issuer URL) ...`: a third party rebuilds a published release from its signed
// inputs and compares everything with what was published (pipeline/reproduce/reproduce.ts); the
// result is a report (text, or --json) and, with --sign-key or --keyless, a signed in-toto
// attestation of it. Exit 0 reproducible, 1 differs, 10-22 the verifier's codes (nothing is built
// when verification fails), 2 usage.
import { resolve } from 'node:path';
import { writeJson, type Command, type CommandIo, type ParsedArgs } from '../command.js';
import { UsageError } from '../errors.js';
import { EXIT } from '../exit-codes.js';
import { STORE_REF_FORMS } from '../adapters/store/store-ref.js';
import { signArtifact } from '../sign-bundle.js';
import { reproduceRelease, type ReproduceReport } from '../reproduce/reproduce.js';
import { reportText } from '../reproduce/report-text.js';
import { assertValid } from '../schema/validate.js';
import reproduceSchema from '../schema/reproduce.schema.json' with { type: 'json' };
import { statementText } from '../reproduce/attestation.js';
import { BUNDLE_SUFFIX } from '../release/names.js';
import { writeAtomic } from './fetch-measurements.js';
import { VERIFIER_OPTIONS, verifierArgs } from './verifier-args.js';
import { chooseSigner } from './sign-signer.js';
import { chooseLog } from './log-target.js';

const USAGE =
  'nodeimg reproduce --version vX.Y.Z --store REF (--key key.pub | --certificate-identity ID --certificate-oidc-issuer URL) [--trusted-root FILE] (--offline | --rekor URL) [--ref REF] [--stream NAME] [--work DIR] [--deb-cache DIR] [--check-artefacts LIST] [--secure-boot-key KEY --secure-boot-cert CERT] [--sign-key key.pem | --keyless ...] [--log dir:PATH] [-o attestation.intoto.json] [--json]';

const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

/** Signs the statement and writes it and its bundle (attestation.intoto.json + .sigstore.json). */
async function signStatement(args: ParsedArgs, io: CommandIo, report: ReproduceReport, out: string) {
  const v = args.values;
  const text = statementText(report.statement);
  const path = resolve(io.cwd, out);
  const signing = str(v['sign-key']) !== undefined || v['keyless'] === true;
  if (!signing) {
    await writeAtomic(path, text);
    return { statement: path, bundle: null, logIndex: null };
  }
  const signerArgs: ParsedArgs = {
    positionals: [],
    values: {
      key: v['sign-key'],
      keyless: v['keyless'],
      'fulcio-url': v['fulcio-url'],
      'identity-token': v['identity-token'],
      'oidc-issuer': v['oidc-issuer'],
    },
  };
  const chosen = await chooseSigner(signerArgs, io, USAGE);
  const target = chooseLog(
    { positionals: [], values: { log: v['log'], rekor: v['rekor'], 'log-key': v['log-key'] } },
    io,
    USAGE,
  );
  const log = await target.open();
  try {
    const signed = await signArtifact(new TextEncoder().encode(text), chosen.signer, log);
    await writeAtomic(path, text);
    await writeAtomic(path + BUNDLE_SUFFIX, signed.bundleText);
    return {
      statement: path,
      bundle: path + BUNDLE_SUFFIX,
      logIndex: signed.entry.logIndex,
      log: target.name,
    };
  } finally {
    await log.close();
  }
}

export const reproduceCommand: Command = {
  name: 'reproduce',
  summary:
    'Rebuild a published release from its signed recipe and lock, compare every stage, artefact and PCR, and attest the result.',
  usage: USAGE,
  help: `Verifies the release like fetch-measurements (pointer, signed version index, then the signed
manifest.json, measurements.json and info.json, each pinned by the index), then source.tar (the
recipe, its lock and the init script, pinned by info.json; recipe and lock pinned by the manifest).
Nothing is built or written when any of this fails. Then it rebuilds in a work folder with an empty
cache and compares:
  - every stage of the manifest (key, output digests): the first stage that differs is named;
  - every artefact digest and every expected PCR value (manifest and measurements.json);
  - the published artefacts (--check-artefacts, default disk.raw), downloaded: a disk image that
    differs is explained by GPT region, ESP file and UKI section (with a diff of .cmdline/.osrel),
    erofs root file (type, size, mode, owner, mtime, link target, xattrs, a diff of text files;
    a dm-verity hash partition is said to follow its data partition) and initrd member; a tar or
    gzip'd tar (disk.tar.gz) member by member, descending into a disk.raw member;
    diffoscope's output is added when diffoscope is on PATH.

options:
  --version vX.Y.Z, --ref REF (default -), --stream NAME (default stable)
  --store REF               ${STORE_REF_FORMS}
  --key FILE | --certificate-identity ID --certificate-oidc-issuer URL
                            who must have signed the release
  --trusted-root FILE       pins the transparency log (and Fulcio for keyless)
  --offline | --rekor URL   as for fetch-measurements (--rekor also logs the attestation, with --log-key)
  --state FILE, --allow-rollback   rollback state, as for fetch-measurements
  --work DIR                keep the sources, the rebuild and the downloads there (default: a
                            temporary folder, removed)
  --deb-cache DIR           take locked .debs from DIR/sha256/<sha256>.deb (a build cache's debs/
                            folder) when their sha256 matches the lock; default: download them
  --secure-boot-key KEY --secure-boot-cert CERT
                            for a release signed for Secure Boot (its private key is not
                            published): sign with your own key; the sign stage and every stage
                            after it are then left out of the comparison
  --check-artefacts LIST    comma-separated published artefacts to download and compare
                            (default disk.raw; "none" for none)
  -o, --out FILE            write the in-toto statement (default attestation.intoto.json when signing)
  --sign-key FILE | --keyless [--identity-token ... --fulcio-url ... --oidc-issuer ...]
                            sign the statement (message signature, hashedrekord) into FILE.sigstore.json
  --log dir:PATH            the log for the attestation (default dir:.nodeimg/tlog)
  --json                    the report as JSON on stdout

exit codes: 0 reproducible; 1 differs (the report says where); 10-22 verification failed (see
fetch-measurements); 2 usage.
`,
  options: {
    ...VERIFIER_OPTIONS,
    'log-key': { type: 'string' },
    work: { type: 'string' },
    'deb-cache': { type: 'string' },
    'check-artefacts': { type: 'string' },
    'secure-boot-key': { type: 'string' },
    'secure-boot-cert': { type: 'string' },
    'sign-key': { type: 'string' },
    keyless: { type: 'boolean' },
    'fulcio-url': { type: 'string' },
    'identity-token': { type: 'string' },
    'oidc-issuer': { type: 'string' },
    log: { type: 'string' },
    out: { type: 'string', short: 'o' },
    json: { type: 'boolean' },
  },
  positionals: { min: 0, max: 0 },
  async run(args, io: CommandIo): Promise<number> {
    const v = args.values;
    const hint = `usage: ${USAGE}`;
    const { request, client } = await verifierArgs(args, io, USAGE);
    const signing = str(v['sign-key']) !== undefined || v['keyless'] === true;
    const out = str(v['out']) ?? (signing ? 'attestation.intoto.json' : undefined);
    const check = str(v['check-artefacts']) ?? 'disk.raw';
    const checkArtefacts =
      check === 'none'
        ? []
        : check
            .split(',')
            .map((s) => s.trim())
            .filter(Boolean);
    const sbKey = str(v['secure-boot-key']);
    const sbCert = str(v['secure-boot-cert']);
    if ((sbKey === undefined) !== (sbCert === undefined))
      throw new UsageError('--secure-boot-key and --secure-boot-cert go together', { hint });
    const json = v['json'] === true;
    try {
      const report = await reproduceRelease({
        request,
        cwd: io.cwd,
        env: io.env,
        ...(str(v['work']) ? { work: str(v['work']) as string } : {}),
        ...(str(v['deb-cache']) ? { debCache: str(v['deb-cache']) as string } : {}),
        checkArtefacts,
        ...(sbKey !== undefined && sbCert !== undefined
          ? { signing: { key: resolve(io.cwd, sbKey), cert: resolve(io.cwd, sbCert) } }
          : {}),
        note: (line) => {
          if (!json) io.stderr.write(`reproduce: ${line}\n`);
        },
      });
      const attestation = out === undefined ? null : await signStatement(args, io, report, out);
      if (json) {
        const doc = { ...report, attestation };
        assertValid('reproduce report', reproduceSchema, doc);
        writeJson(io, doc);
      } else {
        io.stdout.write(reportText(report));
        if (attestation)
          io.stdout.write(
            `  attestation: ${attestation.statement}${attestation.bundle ? `, signed: ${attestation.bundle} (log index ${attestation.logIndex})` : ' (unsigned)'}\n`,
          );
      }
      return report.reproducible ? EXIT.ok : EXIT.checkFailed;
    } finally {
      await client?.close();
    }
  },
};
