// The shape of a build stage (issue 6): a plain async function with declared inputs and outputs. The
// engine (pipeline/build/engine.ts) computes a stage's cache key from its kind, implementation
// version, parameters, input digests and tool versions, and runs it only when that key is not in the
// cache. A stage reads its input files, writes exactly its declared outputs into a fresh folder and
// nothing else; it never sees the cache, the output folder or the clock.
//
// Two sorts:
// - BuildStage: produces files; the engine stores them under --cache DIR/stages/<key>/.
// - SourceStage: outputs whose digests are known before anything runs (a locked .deb's sha256); it
//   keeps them in its own content-addressed store (--cache DIR/debs/sha256/<hex>.deb) and only has
//   to make them present when a stage that reads them runs.

/** JSON values a stage's parameters may hold (what canonical JSON can encode). */
export type ParamValue =
  string | number | boolean | null | readonly ParamValue[] | { readonly [key: string]: ParamValue };

/** An external program a stage runs, and the Debian package whose version keys the stage. */
export interface ToolRef {
  readonly bin: string;
  readonly package: string;
}

export interface StageRunContext<P extends ParamValue> {
  readonly params: P;
  /** Input files by input name; read-only (they may live in the cache). */
  readonly inputs: Readonly<Record<string, string>>;
  /** Empty folder for the outputs: each declared output is the file join(outDir, name). */
  readonly outDir: string;
  /** Empty scratch folder on the same file system, removed after the stage. */
  readonly workDir: string;
  readonly signal: AbortSignal;
  /** A short line of progress for the task list. */
  readonly progress: (text: string) => void;
}

export interface BuildStage<P extends ParamValue> {
  readonly kind: string;
  /** Bump whenever the same inputs and parameters would give different output bytes. */
  readonly version: number;
  readonly tools: readonly ToolRef[];
  /** Runtime libraries whose version changes the output bytes (e.g. node's zlib for gzip). */
  readonly runtime?: readonly ('node' | 'zlib')[];
  /** The output file names for these parameters. */
  outputs(params: P): readonly string[];
  run(ctx: StageRunContext<P>): Promise<void>;
}

export interface KnownFile {
  readonly sha256: string;
  readonly size: number;
}

export interface SourceContext<P extends ParamValue> {
  readonly params: P;
  /** The stage's store folder (--cache DIR/debs). */
  readonly storeDir: string;
  readonly signal: AbortSignal;
  readonly progress: (text: string) => void;
  /**
   * Gets a missing output into the store from wherever the build was told to look (issue 12: the
   * release's package archive, then the mirror), checked against the lock; returns what served it.
   * Absent: the stage's own way (fetch.ts: apt-get download).
   */
  readonly download?: (signal: AbortSignal, progress: (text: string) => void) => Promise<string>;
}

export interface SourceStage<P extends ParamValue> {
  readonly kind: string;
  readonly version: number;
  readonly tools: readonly ToolRef[];
  /** Every output's digest and size, before anything runs. */
  known(params: P): Readonly<Record<string, KnownFile>>;
  /** Paths of the outputs if they are in the store already (no hashing: a stat). */
  present(ctx: SourceContext<P>): Promise<Readonly<Record<string, string>> | undefined>;
  /**
   * Makes every output present and verified against known(): returns the paths and whether it had
   * to fetch anything. A file whose bytes differ from known() is removed and reported (CHECK_FAILED).
   */
  materialize(
    ctx: SourceContext<P>,
  ): Promise<{ readonly paths: Readonly<Record<string, string>>; readonly fetched: boolean }>;
}
