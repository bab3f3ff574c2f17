// The stage graph the engine runs: nodes made from stage implementations (image/build/stages/) with
// their parameters fixed and their inputs wired to other nodes' outputs or to files the build reads
// (the recipe's /init script, a Secure Boot certificate, an OVMF variable store).
import type {
  BuildStage,
  KnownFile,
  ParamValue,
  SourceContext,
  SourceStage,
  StageRunContext,
  ToolRef,
} from '../../image/build/stages/types.js';

/** Where an input comes from. */
export type InputRef =
  /** An output of another node. */
  | { readonly stage: string; readonly output: string }
  /**
   * A file the build reads. `label` names it in the manifest (a path relative to the recipe, or a
   * symbolic name for a host file: never an absolute path); `digest` replaces the file's sha256
   * (a private key is identified by the digest of its public key).
   */
  | { readonly file: string; readonly label: string; readonly digest?: () => Promise<string> };

interface NodeBase {
  readonly id: string;
  readonly kind: string;
  readonly version: number;
  readonly tools: readonly ToolRef[];
  readonly runtime: readonly string[];
  readonly params: ParamValue;
  readonly inputs: Readonly<Record<string, InputRef>>;
  readonly outputs: readonly string[];
}

export interface BuildNode extends NodeBase {
  readonly type: 'build';
  run(ctx: Omit<StageRunContext<ParamValue>, 'params'>): Promise<void>;
}

export interface SourceNode extends NodeBase {
  readonly type: 'source';
  readonly known: Readonly<Record<string, KnownFile>>;
  present(storeDir: string, signal: AbortSignal): Promise<Readonly<Record<string, string>> | undefined>;
  materialize(
    storeDir: string,
    signal: AbortSignal,
    progress: (text: string) => void,
  ): Promise<{ readonly paths: Readonly<Record<string, string>>; readonly fetched: boolean }>;
}

export type StageNode = BuildNode | SourceNode;

/** A node running `impl` with `params`, reading `inputs`. */
export function buildNode<P extends ParamValue>(
  impl: BuildStage<P>,
  id: string,
  params: P,
  inputs: Readonly<Record<string, InputRef>> = {},
): BuildNode {
  return {
    type: 'build',
    id,
    kind: impl.kind,
    version: impl.version,
    tools: impl.tools,
    runtime: impl.runtime ?? [],
    params,
    inputs,
    outputs: impl.outputs(params),
    run: (ctx) => impl.run({ ...ctx, params }),
  };
}

/** A node whose outputs `impl` keeps in its own store (a locked .deb). */
export function sourceNode<P extends ParamValue>(
  impl: SourceStage<P>,
  id: string,
  params: P,
  services: Pick<SourceContext<P>, 'download'> = {},
): SourceNode {
  const known = impl.known(params);
  return {
    type: 'source',
    id,
    kind: impl.kind,
    version: impl.version,
    tools: impl.tools,
    runtime: [],
    params,
    inputs: {},
    outputs: Object.keys(known).sort(),
    known,
    present: (storeDir, signal) => impl.present({ params, storeDir, signal, progress: () => undefined }),
    materialize: (storeDir, signal, progress) =>
      impl.materialize({ params, storeDir, signal, progress, ...services }),
  };
}

/** Checks ids are unique, every stage input names an existing node's output, and there is no cycle. Pure. */
export function checkGraph(nodes: readonly StageNode[]): void {
  const byId = new Map<string, StageNode>();
  for (const n of nodes) {
    if (byId.has(n.id)) throw new Error(`stage graph: two stages are called ${n.id}`);
    byId.set(n.id, n);
  }
  for (const n of nodes) {
    for (const [name, ref] of Object.entries(n.inputs)) {
      if (!('stage' in ref)) continue;
      const from = byId.get(ref.stage);
      if (!from) throw new Error(`stage graph: ${n.id}.${name} reads ${ref.stage}, which does not exist`);
      if (!from.outputs.includes(ref.output))
        throw new Error(
          `stage graph: ${n.id}.${name} reads ${ref.stage}/${ref.output}, which it does not write`,
        );
    }
  }
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (id: string): void => {
    if (state.get(id) === 'done') return;
    if (state.get(id) === 'visiting') throw new Error(`stage graph: ${id} depends on itself`);
    state.set(id, 'visiting');
    for (const ref of Object.values(byId.get(id)?.inputs ?? {})) if ('stage' in ref) visit(ref.stage);
    state.set(id, 'done');
  };
  for (const n of nodes) visit(n.id);
}
