// A build recipe (pipeline/schema/recipe.schema.json): read, checked against the schema (unknown
// keys refused, every problem named by its JSON pointer), then checked for what a schema cannot say
// (every package a role names is in `packages`, the sdboot layout has a bootloader, a GCE tarball
// has a whole number of GiB, the files it names exist). The recipe digest is the sha256 of the file.
import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { NodeimgError } from '../errors.js';
import { assertSchema } from './schema-errors.js';

export const RECIPE_SCHEMA_ID = 'https://nodeimg.dev/schema/recipe/v1.json';
export const RECIPE_FILE = 'recipe.json';
const MAX_RECIPE = 1024 * 1024;
const MAX_INIT = 1024 * 1024;

export type Format = 'raw' | 'qcow2' | 'vhd' | 'gce';
export type Firmware = 'ovmf' | 'ovmf-secboot';

export interface Recipe {
  readonly recipe: 1;
  readonly name: string;
  readonly description?: string;
  readonly distribution: { readonly name: 'debian'; readonly suite: string; readonly architecture: 'amd64' };
  readonly sourceDateEpoch: number;
  readonly seed: string;
  readonly packages: readonly string[];
  readonly kernel: { readonly package: string; readonly image?: string };
  readonly cmdline: string;
  readonly initrd: { readonly busybox: string; readonly init: string };
  readonly uki: { readonly stub: string; readonly osRelease: Readonly<Record<string, string>> };
  readonly boot: {
    readonly layout: 'direct' | 'sdboot';
    readonly bootloader?: string;
    readonly secureBoot?: { readonly key: string; readonly cert: string };
  };
  readonly disk: { readonly sizeMiB: number; readonly espSizeMiB?: number; readonly rootPartition?: boolean };
  readonly rootfs?: {
    readonly type: 'erofs' | 'squashfs';
    readonly verity?: boolean;
    readonly variant?: string;
    readonly packages?: readonly string[];
    /** Absolute path in the image -> file relative to the recipe. */
    readonly files?: Readonly<Record<string, string>>;
    readonly modules?: readonly string[];
  };
  readonly outputs: { readonly formats: readonly Format[] };
  readonly platforms: readonly {
    readonly name: string;
    readonly firmware: Firmware;
    readonly banks?: readonly string[];
  }[];
}

export interface LoadedRecipe {
  readonly recipe: Recipe;
  /** Absolute path of the recipe file. */
  readonly file: string;
  /** Its folder: relative paths in the recipe start here. */
  readonly dir: string;
  /** sha256 of the file's bytes. */
  readonly sha256: string;
}

/** The package name of a `name` or `name=version` spec. Pure. */
export const packageName = (spec: string): string => spec.split('=')[0] as string;

function invalid(file: string, pointer: string, message: string, hint?: string): NodeimgError {
  return new NodeimgError('PARSE_INVALID', `${basename(file)}: ${pointer}: ${message}`, hint ? { hint } : {});
}

/** What a schema cannot say. Pure: throws PARSE_INVALID naming the JSON pointer. */
export function checkRecipe(r: Recipe, file = RECIPE_FILE): void {
  const names = new Set(r.packages.map(packageName));
  if (names.size !== r.packages.length) throw invalid(file, '/packages', 'a package is listed twice');
  const roles: [string, string | undefined][] = [
    ['/kernel/package', r.kernel.package],
    ['/initrd/busybox', r.initrd.busybox],
    ['/uki/stub', r.uki.stub],
    ['/boot/bootloader', r.boot.bootloader],
  ];
  for (const [pointer, pkg] of roles) {
    if (pkg !== undefined && !names.has(pkg))
      throw invalid(
        file,
        pointer,
        `${pkg} is not in /packages`,
        `add ${pkg} to /packages and run nodeimg lock`,
      );
  }
  if (r.boot.layout === 'sdboot' && r.boot.bootloader === undefined)
    throw invalid(
      file,
      '/boot',
      'the sdboot layout needs /boot/bootloader (the package holding systemd-boot: systemd-boot-efi)',
    );
  const esp = r.disk.espSizeMiB ?? 64;
  if (esp + 2 > r.disk.sizeMiB)
    throw invalid(file, '/disk', `a ${r.disk.sizeMiB} MiB disk has no room for a ${esp} MiB ESP and the GPT`);
  if (r.outputs.formats.includes('gce') && r.disk.sizeMiB % 1024 !== 0)
    throw invalid(
      file,
      '/disk/sizeMiB',
      `the gce format needs a whole number of GiB, not ${r.disk.sizeMiB} MiB`,
      'GCE refuses other disk sizes; use a multiple of 1024',
    );
  const platforms = new Set<string>();
  for (const [i, p] of r.platforms.entries()) {
    if (platforms.has(p.name)) throw invalid(file, `/platforms/${i}/name`, `${p.name} is named twice`);
    platforms.add(p.name);
  }
}

async function mustBeFile(path: string, what: string, max?: number): Promise<void> {
  const st = await stat(path).catch((err: unknown) => {
    throw new NodeimgError('IO_NOT_FOUND', `${what} ${path} cannot be read: ${(err as Error).message}`, {
      cause: err,
    });
  });
  if (!st.isFile()) throw new NodeimgError('IO_NOT_FOUND', `${what} ${path} is not a file`);
  if (max !== undefined && st.size > max)
    throw new NodeimgError('PARSE_LIMIT', `${what} ${path} is ${st.size} bytes, more than ${max}`);
}

/** The recipe file of a file-or-folder argument (a folder means its recipe.json). */
export async function recipeFileOf(arg: string, cwd: string): Promise<string> {
  const path = resolve(cwd, arg);
  const st = await stat(path).catch((err: unknown) => {
    throw new NodeimgError('IO_NOT_FOUND', `no recipe at ${path}: ${(err as Error).message}`, { cause: err });
  });
  return st.isDirectory() ? join(path, RECIPE_FILE) : path;
}

/** Reads, validates and checks a recipe (file or folder holding recipe.json). */
export async function loadRecipe(arg: string, cwd: string): Promise<LoadedRecipe> {
  const file = await recipeFileOf(arg, cwd);
  await mustBeFile(file, 'the recipe', MAX_RECIPE);
  const bytes = await readFile(file);
  let doc: unknown;
  try {
    doc = JSON.parse(bytes.toString('utf8'));
  } catch (err) {
    throw new NodeimgError('PARSE_INVALID', `${basename(file)} is not JSON: ${(err as Error).message}`, {
      cause: err,
    });
  }
  assertSchema(`recipe ${basename(file)}`, RECIPE_SCHEMA_ID, doc);
  const recipe = doc as Recipe;
  checkRecipe(recipe, file);
  const dir = dirname(file);
  await mustBeFile(join(dir, recipe.initrd.init), 'the /init script (/initrd/init)', MAX_INIT);
  if (recipe.boot.secureBoot) {
    await mustBeFile(join(dir, recipe.boot.secureBoot.key), 'the Secure Boot key (/boot/secureBoot/key)');
    await mustBeFile(
      join(dir, recipe.boot.secureBoot.cert),
      'the Secure Boot certificate (/boot/secureBoot/cert)',
    );
  }
  return { recipe, file, dir, sha256: createHash('sha256').update(bytes).digest('hex') };
}

/** os-release text of the recipe's fields, in their order (os-release(5) shell-style quoting). Pure. */
export function osReleaseText(fields: Readonly<Record<string, string>>): string {
  const quote = (v: string): string =>
    /^[A-Za-z0-9._-]+$/.test(v) ? v : `"${v.replace(/(["\\$`])/g, '\\$1')}"`;
  return Object.entries(fields)
    .map(([k, v]) => `${k}=${quote(v)}\n`)
    .join('');
}
