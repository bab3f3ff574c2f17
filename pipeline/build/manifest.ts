// The build manifest (pipeline/schema/build-manifest.schema.json), manifest.json in the output:
// recipe and lock digests, nodeimg and tool versions, every stage (key, parameters, input and output
// digests), the final artefacts and the measurements. It is canonical JSON and holds nothing that
// depends on the run: no absolute paths, times, host names or cache state (those are in the
// `--json` summary), so two builds of the same recipe and lock with the same tools give the same
// bytes, and it is what gets signed and what a third party's rebuild is compared with.
import { readFile } from 'node:fs/promises';
import { NodeimgError } from '../errors.js';
import type { MeasurementsDocument } from '../../measurements/document.js';
import { canonicalJson, type CanonicalValue } from './canonical.js';
import type { StageOutcome } from './engine.js';
import type { Plan } from './plan.js';
import { assertSchema } from './schema-errors.js';

export const BUILD_MANIFEST_SCHEMA_ID = 'https://nodeimg.dev/schema/build-manifest/v1.json';

export interface ManifestFile {
  readonly sha256: string;
  readonly size: number;
}

export interface BuildManifest {
  readonly manifest: 1;
  readonly nodeimg: string;
  readonly recipe: { readonly name: string; readonly sha256: string };
  readonly lock: { readonly sha256: string };
  readonly sourceDateEpoch: number;
  readonly tools: Readonly<Record<string, string>>;
  readonly stages: readonly {
    readonly id: string;
    readonly kind: string;
    readonly version: number;
    readonly key: string;
    readonly params: unknown;
    readonly inputs: Readonly<Record<string, { readonly sha256: string; readonly from: string }>>;
    readonly tools: Readonly<Record<string, string>>;
    readonly outputs: Readonly<Record<string, ManifestFile>>;
  }[];
  readonly artifacts: readonly {
    readonly path: string;
    readonly sha256: string;
    readonly size: number;
    readonly from: string;
  }[];
  readonly measurements: readonly {
    readonly platform: string;
    readonly firmware: string;
    readonly path: string;
    readonly sha256: string;
    readonly secureBoot: boolean;
    readonly expected: Readonly<Record<string, Readonly<Record<string, string>>>>;
  }[];
}

export interface ManifestInput {
  readonly plan: Plan;
  readonly outcomes: readonly StageOutcome[];
  readonly recipe: { readonly name: string; readonly sha256: string };
  readonly lockSha256: string;
  readonly sourceDateEpoch: number;
  readonly nodeimgVersion: string;
  readonly nodeVersion: string;
}

const files = (o: StageOutcome['outputs']): Record<string, ManifestFile> =>
  Object.fromEntries(Object.entries(o).map(([k, f]) => [k, { sha256: f.sha256, size: f.size }]));

export async function makeManifest(input: ManifestInput): Promise<BuildManifest> {
  const byId = new Map(input.outcomes.map((o) => [o.id, o]));
  const outcome = (id: string): StageOutcome => {
    const o = byId.get(id);
    if (!o) throw new NodeimgError('INTERNAL', `no outcome for stage ${id}`);
    return o;
  };
  const tools: Record<string, string> = { node: input.nodeVersion };
  for (const o of input.outcomes) Object.assign(tools, o.tools);
  const artifacts = input.plan.artifacts.map((a) => {
    const f = outcome(a.from.stage).outputs[a.from.output];
    if (!f) throw new NodeimgError('INTERNAL', `stage ${a.from.stage} has no output ${a.from.output}`);
    return { path: a.path, sha256: f.sha256, size: f.size, from: `stage:${a.from.stage}/${a.from.output}` };
  });
  const measurements = [];
  for (const m of input.plan.measurements) {
    const f = outcome(m.stage).outputs['measurements.json'];
    if (!f?.path) throw new NodeimgError('INTERNAL', `stage ${m.stage} has no measurements.json`);
    const doc = JSON.parse(await readFile(f.path, 'utf8')) as MeasurementsDocument;
    const expected = Object.fromEntries(
      Object.entries(doc.pcrs).map(([pcr, p]) => [pcr, { ...p.expected } as Record<string, string>]),
    );
    measurements.push({
      platform: m.platform,
      firmware: m.firmware,
      path: m.path,
      sha256: f.sha256,
      secureBoot: doc.boot.secureBoot,
      expected,
    });
  }
  const manifest: BuildManifest = {
    manifest: 1,
    nodeimg: input.nodeimgVersion,
    recipe: input.recipe,
    lock: { sha256: input.lockSha256 },
    sourceDateEpoch: input.sourceDateEpoch,
    tools,
    stages: input.plan.nodes.map((n) => {
      const o = outcome(n.id);
      return {
        id: n.id,
        kind: n.kind,
        version: n.version,
        key: o.key,
        params: n.params,
        inputs: o.inputs,
        tools: o.tools,
        outputs: files(o.outputs),
      };
    }),
    artifacts,
    measurements,
  };
  assertSchema('build manifest', BUILD_MANIFEST_SCHEMA_ID, manifest);
  return manifest;
}

/** The bytes of manifest.json. Pure. */
export function manifestText(m: BuildManifest): string {
  return canonicalJson(m as unknown as CanonicalValue);
}
