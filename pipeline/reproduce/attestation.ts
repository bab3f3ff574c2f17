// The reproducer's attestation (issue 11): an in-toto Statement v1
// (https://github.com/in-toto/attestation/blob/main/spec/v1/statement.md) whose subjects are the
// rebuilt artefacts and whose predicate says "I rebuilt vX.Y.Z from these inputs and got these
// digests". It is signed as a message signature over the statement's bytes (hashedrekord entry),
// not as a DSSE envelope: our transparency logs (local log, nodeimg tlog serve) speak hashedrekord
// only, and @sigstore/verify needs a dsse/intoto log entry to verify a DSSE bundle.
import { canonicalText } from '../release/canonical-text.js';
import type { ManifestComparison } from './compare.js';
import type { PublishedArtefactCheck } from './published-artefact.js';

export const STATEMENT_TYPE = 'https://in-toto.io/Statement/v1';
export const PREDICATE_TYPE = 'https://nodeimg.dev/attestation/reproduce/v1';

export interface ReproduceStatement {
  readonly _type: typeof STATEMENT_TYPE;
  readonly subject: readonly { name: string; digest: { sha256: string } }[];
  readonly predicateType: typeof PREDICATE_TYPE;
  readonly predicate: {
    readonly version: string;
    readonly ref: string;
    readonly stream: string;
    readonly store: string;
    readonly manifestSha256: string;
    readonly rebuiltManifestSha256: string;
    readonly inputs: {
      readonly source: { readonly sha256: string };
      readonly recipe: string;
      readonly lock: string;
    };
    readonly result: 'reproducible' | 'differs';
    readonly differences: {
      readonly stages: readonly string[];
      readonly artefacts: readonly string[];
      readonly measurements: number;
      readonly publishedArtefacts: readonly string[];
    };
    readonly builder: {
      readonly nodeimg: string;
      readonly node: string;
      readonly tools: Readonly<Record<string, string>>;
    };
  };
}

export function reproduceStatement(input: {
  readonly coords: { version: string; ref: string; stream: string };
  readonly store: string;
  readonly manifestSha256: string;
  readonly rebuiltManifestSha256: string;
  readonly source: { readonly sha256: string; readonly recipe: string; readonly lock: string };
  readonly artefacts: readonly { path: string; sha256: string }[];
  readonly comparison: ManifestComparison;
  readonly published: readonly PublishedArtefactCheck[];
  readonly reproducible: boolean;
  readonly builder: { nodeimg: string; node: string; tools: Readonly<Record<string, string>> };
}): ReproduceStatement {
  const c = input.comparison;
  return {
    _type: STATEMENT_TYPE,
    subject: [...input.artefacts]
      .sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))
      .map((a) => ({ name: a.path, digest: { sha256: a.sha256 } })),
    predicateType: PREDICATE_TYPE,
    predicate: {
      version: input.coords.version,
      ref: input.coords.ref,
      stream: input.coords.stream,
      store: input.store,
      manifestSha256: input.manifestSha256,
      rebuiltManifestSha256: input.rebuiltManifestSha256,
      inputs: {
        source: { sha256: input.source.sha256 },
        recipe: input.source.recipe,
        lock: input.source.lock,
      },
      result: input.reproducible ? 'reproducible' : 'differs',
      differences: {
        stages: c.stages.map((s) => s.id),
        artefacts: c.artefacts.map((a) => a.name),
        measurements: c.measurements.length,
        publishedArtefacts: input.published.filter((p) => !p.ok).map((p) => p.name),
      },
      builder: input.builder,
    },
  };
}

/** The exact bytes that are signed and written (canonical JSON text, as release documents). */
export const statementText = (s: ReproduceStatement): string => canonicalText(s);
