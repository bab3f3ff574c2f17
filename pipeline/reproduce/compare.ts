// Compares a rebuilt build manifest with the published, signed one (issue 11): stage by stage in
// the manifest's order (a topological order of the stage graph, pipeline/build/graph.ts), the
// first stage whose key or outputs differ is where reproducibility was lost; then every artefact
// digest, every expected PCR value of every measured platform, and the published
// measurements.json's PCRs. Tool versions that differ are listed because they are the usual cause
// of a different stage key. Pure.
import type { BuildManifest } from '../build/manifest.js';
import type { MeasurementsDocument } from '../../measurements/document.js';

export interface StageDifference {
  readonly id: string;
  readonly kind: string;
  /** What differs: outputs (same key, different bytes: the stage is not deterministic), key, missing. */
  readonly reason: 'outputs' | 'key' | 'missing' | 'extra';
  readonly outputs: readonly { name: string; published: string | null; rebuilt: string | null }[];
  /** Inputs whose digest differs (they come from an earlier stage). */
  readonly inputs: readonly string[];
}

export interface DigestDifference {
  readonly name: string;
  readonly published: string | null;
  readonly rebuilt: string | null;
}

export interface ManifestComparison {
  readonly stagesCompared: number;
  readonly stages: readonly StageDifference[];
  readonly artefactsCompared: number;
  readonly artefacts: readonly DigestDifference[];
  readonly measurementsCompared: number;
  /** `platform PCR n bank` -> values. */
  readonly measurements: readonly DigestDifference[];
  readonly tools: readonly DigestDifference[];
  readonly recipe: boolean;
  readonly lock: boolean;
  /** Stages left out of the verdict (signed with the reproducer's own Secure Boot key). */
  readonly excluded: readonly string[];
}

/**
 * The stages that depend on `root` (itself included), following the manifest's input references
 * (`stage:<id>/<output>`): with a Secure Boot key of their own a reproducer can only expect the
 * stages before signing to be identical.
 */
export function dependents(m: BuildManifest, root: string): Set<string> {
  const out = new Set<string>(m.stages.some((s) => s.id === root) ? [root] : []);
  let grew = out.size > 0;
  while (grew) {
    grew = false;
    for (const s of m.stages)
      if (
        !out.has(s.id) &&
        Object.values(s.inputs).some((i) => out.has(/^stage:([^/]+)\//.exec(i.from)?.[1] ?? ''))
      ) {
        out.add(s.id);
        grew = true;
      }
  }
  return out;
}

function stageDiff(
  p: BuildManifest['stages'][number] | undefined,
  r: BuildManifest['stages'][number] | undefined,
): StageDifference | undefined {
  const base = p ?? r;
  if (!base) return undefined;
  if (!p || !r)
    return {
      id: base.id,
      kind: base.kind,
      reason: p ? 'missing' : 'extra',
      outputs: [],
      inputs: [],
    };
  const names = [...new Set([...Object.keys(p.outputs), ...Object.keys(r.outputs)])].sort();
  const outputs = names
    .map((name) => ({
      name,
      published: p.outputs[name]?.sha256 ?? null,
      rebuilt: r.outputs[name]?.sha256 ?? null,
    }))
    .filter((o) => o.published !== o.rebuilt);
  const inputs = [...new Set([...Object.keys(p.inputs), ...Object.keys(r.inputs)])]
    .filter((k) => p.inputs[k]?.sha256 !== r.inputs[k]?.sha256)
    .sort();
  if (outputs.length === 0 && p.key === r.key) return undefined;
  return { id: p.id, kind: p.kind, reason: outputs.length > 0 ? 'outputs' : 'key', outputs, inputs };
}

export function compareManifests(
  published: BuildManifest,
  rebuilt: BuildManifest,
  publishedMeasurements?: MeasurementsDocument,
  exclude: ReadonlySet<string> = new Set(),
): ManifestComparison {
  const ids = published.stages.map((s) => s.id).filter((id) => !exclude.has(id));
  for (const s of rebuilt.stages) if (!ids.includes(s.id) && !exclude.has(s.id)) ids.push(s.id);
  const fromExcluded = (from: string | undefined): boolean =>
    exclude.has(/^stage:([^/]+)\//.exec(from ?? '')?.[1] ?? '');
  const stages = ids.flatMap((id) => {
    const d = stageDiff(
      published.stages.find((s) => s.id === id),
      rebuilt.stages.find((s) => s.id === id),
    );
    return d ? [d] : [];
  });
  const artNames = [
    ...new Set(
      [...published.artifacts, ...rebuilt.artifacts].filter((a) => !fromExcluded(a.from)).map((a) => a.path),
    ),
  ].sort();
  const artefacts = artNames
    .map((name) => ({
      name,
      published: published.artifacts.find((a) => a.path === name)?.sha256 ?? null,
      rebuilt: rebuilt.artifacts.find((a) => a.path === name)?.sha256 ?? null,
    }))
    .filter((d) => d.published !== d.rebuilt);
  const measurements: DigestDifference[] = [];
  let measurementsCompared = 0;
  const comparePcrs = (
    label: string,
    p: Readonly<Record<string, Readonly<Record<string, string>>>>,
    r: Readonly<Record<string, Readonly<Record<string, string>>>>,
  ): void => {
    for (const pcr of [...new Set([...Object.keys(p), ...Object.keys(r)])].sort((a, b) => +a - +b))
      for (const bank of [...new Set([...Object.keys(p[pcr] ?? {}), ...Object.keys(r[pcr] ?? {})])].sort()) {
        measurementsCompared++;
        const a = p[pcr]?.[bank] ?? null;
        const b = r[pcr]?.[bank] ?? null;
        if (a !== b) measurements.push({ name: `${label} PCR ${pcr} ${bank}`, published: a, rebuilt: b });
      }
  };
  const measured = published.measurements.filter((m) => !exclude.has(`measure:${m.platform}`));
  for (const m of measured) {
    const r = rebuilt.measurements.find((x) => x.platform === m.platform && x.firmware === m.firmware);
    comparePcrs(`manifest ${m.platform}/${m.firmware}`, m.expected, r?.expected ?? {});
  }
  const first = rebuilt.measurements[0];
  if (publishedMeasurements && first && measured.length === published.measurements.length) {
    const p = Object.fromEntries(
      Object.entries(publishedMeasurements.pcrs).map(([k, v]) => [
        k,
        { ...v.expected } as Record<string, string>,
      ]),
    );
    comparePcrs('measurements.json', p, first.expected);
  }
  const toolNames = [...new Set([...Object.keys(published.tools), ...Object.keys(rebuilt.tools)])].sort();
  const tools = toolNames
    .map((name) => ({ name, published: published.tools[name] ?? null, rebuilt: rebuilt.tools[name] ?? null }))
    .filter((t) => t.published !== t.rebuilt);
  return {
    stagesCompared: ids.length,
    stages,
    artefactsCompared: artNames.length,
    artefacts,
    measurementsCompared,
    measurements,
    tools,
    recipe: published.recipe.sha256 === rebuilt.recipe.sha256,
    lock: published.lock.sha256 === rebuilt.lock.sha256,
    excluded: [...exclude].sort(),
  };
}
