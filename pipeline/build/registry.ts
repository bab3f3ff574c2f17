// Where stages plug into `nodeimg build`: the registry of stage implementations by kind, and the
// planner of a recipe's `rootfs` section. A recipe with `rootfs` is refused ("not available yet")
// until a root file system planner is registered; that planner adds its stages (rootfs from the
// locked .debs, file system image, dm-verity) and says which of their outputs become disk
// partitions, which text joins the kernel command line (roothash=...) and which files are final
// artefacts. See pipeline/build/plan.ts for how the rest of the graph uses them.
import {
  diskStage,
  espStage,
  extractStage,
  fetchStage,
  gceStage,
  initrdStage,
  measureStage,
  qcow2Stage,
  signStage,
  ukiStage,
  vhdStage,
  type BuildStage,
  type DiskPartitionParams,
  type LockedPackage,
  type ParamValue,
  type SourceStage,
} from '../../image/build/stages/index.js';
import type { LoadedRecipe, Recipe } from './recipe.js';
import type { Lock } from './lock.js';
import type { InputRef, StageNode } from './graph.js';

/** A stage of any parameter type (methods are bivariant in their parameters). */
export type AnyStage = BuildStage<ParamValue> | SourceStage<ParamValue>;

const STAGES = new Map<string, AnyStage>();

/** Adds a stage implementation; its kind must be new. */
export function registerStage(impl: AnyStage): void {
  if (STAGES.has(impl.kind)) throw new Error(`a stage of kind ${impl.kind} is registered already`);
  STAGES.set(impl.kind, impl);
}

/** The implementation of a kind (for planners), or undefined. */
export function stageImpl(kind: string): AnyStage | undefined {
  return STAGES.get(kind);
}

/** Every registered kind, sorted. */
export function stageKinds(): string[] {
  return [...STAGES.keys()].sort();
}

/** An output of a stage in the graph. */
export interface OutputRef {
  readonly stage: string;
  readonly output: string;
}

export interface RootfsContext {
  readonly loaded: LoadedRecipe;
  readonly lock: Lock;
  /** SOURCE_DATE_EPOCH and the seed of the recipe. */
  readonly sourceDateEpoch: number;
  readonly seed: string;
  /** The .deb of a locked package (by its lock name or the recipe's name); adds its fetch stage once. */
  deb(name: string): InputRef;
  /** Adds stages to the graph. */
  add(...nodes: StageNode[]): void;
}

export interface RootfsPartition extends Omit<DiskPartitionParams, 'input' | 'uuidInput'> {
  /** The partition's contents. */
  readonly from: OutputRef;
  /** A text output holding the partition UUID (e.g. from the dm-verity root hash). */
  readonly uuidFrom?: OutputRef;
}

export interface RootfsPlan {
  /** Partitions after the ESP, in disk order. */
  readonly partitions: readonly RootfsPartition[];
  /** A text output appended to the kernel command line (one line, e.g. "roothash=<hex>"). */
  readonly cmdline?: OutputRef;
  /** A gzip'ed cpio appended to the initrd (modules and tools /init needs to mount the root). */
  readonly initrd?: OutputRef;
  /** More final artefacts (file name in the output folder -> stage output). */
  readonly artifacts?: readonly { readonly path: string; readonly from: OutputRef }[];
}

export type RootfsPlanner = (
  ctx: RootfsContext,
  rootfs: NonNullable<Recipe['rootfs']>,
) => RootfsPlan | Promise<RootfsPlan>;

let rootfsPlanner: RootfsPlanner | undefined;

/** Wires the root file system stages in (once). */
export function registerRootfsPlanner(planner: RootfsPlanner): void {
  if (rootfsPlanner) throw new Error('a rootfs planner is registered already');
  rootfsPlanner = planner;
}

export function getRootfsPlanner(): RootfsPlanner | undefined {
  return rootfsPlanner;
}

/**
 * Resolves the packages of a recipe's `rootfs` for `nodeimg lock`: its packages and their whole
 * dependency closure, as lock entries (`requested` set for the names /rootfs/packages lists, absent
 * for dependencies). Without one, `nodeimg lock` refuses a recipe with `rootfs`.
 */
export type RootfsLocker = (
  recipe: Recipe,
  rootfs: NonNullable<Recipe['rootfs']>,
  opts: RootfsLockOptions,
) => Promise<readonly LockedPackage[]>;

export interface RootfsLockOptions {
  /** The build cache's .deb store (StageCache.debsDir): the downloaded closure is kept there. */
  readonly debsDir: string;
  readonly signal?: AbortSignal;
  /** apt source lines mmdebstrap resolves from (default: the suite's Debian mirrors). */
  readonly mirrors?: readonly string[];
}

let rootfsLocker: RootfsLocker | undefined;

export function registerRootfsLocker(locker: RootfsLocker): void {
  if (rootfsLocker) throw new Error('a rootfs locker is registered already');
  rootfsLocker = locker;
}

export function getRootfsLocker(): RootfsLocker | undefined {
  return rootfsLocker;
}

/** Parameters of any stage are canonical-JSON values. */
export type { ParamValue };

for (const s of [
  fetchStage,
  extractStage,
  initrdStage,
  ukiStage,
  signStage,
  espStage,
  diskStage,
  qcow2Stage,
  vhdStage,
  gceStage,
  measureStage,
] as const)
  registerStage(s as AnyStage);
