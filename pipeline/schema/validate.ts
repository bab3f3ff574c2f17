// JSON documents are validated at the boundaries with ajv; schemas are JSON files in this folder,
// compiled ahead of time by scripts/gen-validators.mjs (npm run build) into validators.generated.ts
// so no run pays for loading and compiling ajv; each validator is turned into a function only when
// its schema is first checked (lazy-validators.ts). A failure lists every instance path
// (SchemaError.fields).
import { NodeimgError, SchemaError } from '../errors.js';
import type { Validator } from './lazy-validators.js';
import { VALIDATORS } from './validators.generated.js';
import type { InspectReport } from '../../image/inspect.js';
import type { MeasurementsDocument } from '../../measurements/document.js';

// The $id of the schemas the helpers below check (the key of each precompiled validator); a test
// checks every schema file has a validator.
const INSPECT_ID = 'https://nodeimg.dev/schema/inspect/v1.json';
const MEASUREMENTS_ID = 'https://nodeimg.dev/schema/measurements/v1.json';
const BOOT_CHECK_ID = 'https://nodeimg.dev/schema/boot-check/v1.json';

function validator(id: unknown): Validator {
  const v = typeof id === 'string' ? (VALIDATORS as Record<string, Validator | undefined>)[id] : undefined;
  if (!v)
    throw new NodeimgError(
      'INTERNAL',
      `schema ${String(id)} is not precompiled: run node scripts/gen-validators.mjs`,
    );
  return v;
}

function check(what: string, v: Validator, value: unknown): void {
  if (!v(value)) {
    throw new SchemaError(
      what,
      (v.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? 'is invalid'}`),
    );
  }
}

/** Throws SchemaError unless `value` matches `schema` (one of pipeline/schema/*.schema.json). */
export function assertValid(what: string, schema: object, value: unknown): void {
  check(what, validator((schema as { $id?: unknown }).$id), value);
}

export function assertInspectReport(value: unknown): asserts value is InspectReport {
  check('inspect report', validator(INSPECT_ID), value);
}

export function assertMeasurementsDocument(value: unknown): asserts value is MeasurementsDocument {
  check('measurements document', validator(MEASUREMENTS_ID), value);
}

/** `nodeimg boot-check --json` output. */
export function assertBootCheckReport(value: unknown): void {
  check('boot-check report', validator(BOOT_CHECK_ID), value);
}
