// Loads the precompiled validators of validators.generated.ts, each only when its schema is first
// checked: a command that validates three schemas no longer parses the code of all eighteen
// (issue 9, bench/fetch-measurements.mjs). A validator file (validators/<name>.json) holds ajv's
// standalone CommonJS source for one of our own schemas, generated at build time by
// scripts/gen-validators.mjs (never input read at run time); it is read synchronously and compiled
// exactly as a CommonJS module would be, which keeps assertValid synchronous everywhere (Node, tsx,
// vitest), as per-schema ES modules loaded on demand could not.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { ErrorObject } from 'ajv';

export type Validator = ((value: unknown) => boolean) & { errors?: ErrorObject[] | null };

/** The ajv runtime helpers standalone code may require() (scripts/gen-validators.mjs checks it). */
const RUNTIME = new Set(['ajv/dist/runtime/equal', 'ajv/dist/runtime/ucs2length']);

const nodeRequire = createRequire(import.meta.url);

function runtimeRequire(id: string): unknown {
  if (!RUNTIME.has(id)) throw new Error(`a precompiled validator asked for ${id}, not an ajv runtime helper`);
  return nodeRequire(id);
}

type CommonJsBody = (
  module: { exports: unknown },
  exports: unknown,
  require: (id: string) => unknown,
) => void;

function compile(dir: URL, id: string, name: string): Validator {
  const file = new URL(`${name}.json`, dir);
  const doc = JSON.parse(readFileSync(file, 'utf8')) as { $id?: unknown; source?: unknown };
  if (doc.$id !== id || typeof doc.source !== 'string')
    throw new Error(`${file.pathname} is not the precompiled validator of ${id}`);
  const module: { exports: unknown } = { exports: {} };
  const body = new Function('module', 'exports', 'require', doc.source) as CommonJsBody;
  body(module, module.exports, runtimeRequire);
  if (typeof module.exports !== 'function') throw new Error(`${file.pathname} exports no validator function`);
  return module.exports as Validator;
}

/**
 * One property per schema $id (`files`: $id -> validator file name in `dir`, without .json) whose
 * validator is read and compiled when first used.
 */
export function lazyValidators(
  dir: URL,
  files: Readonly<Record<string, string>>,
): Readonly<Record<string, Validator>> {
  const validators: Record<string, Validator> = {};
  for (const [id, name] of Object.entries(files)) {
    let compiled: Validator | undefined;
    Object.defineProperty(validators, id, {
      enumerable: true,
      get: () => (compiled ??= compile(dir, id, name)),
    });
  }
  return Object.freeze(validators);
}
