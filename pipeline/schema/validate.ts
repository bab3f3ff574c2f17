// JSON documents are validated at the boundaries with ajv; schemas are JSON files in this folder,
// compiled ahead of time by scripts/gen-validators.mjs (npm run build) into validators.generated.ts
// so no run pays for loading and compiling ajv. A failure lists every instance path
// (SchemaError.fields).
import type { ErrorObject } from 'ajv';
import { NodeimgError, SchemaError } from '../errors.js';
import { VALIDATORS } from './validators.generated.js';
import inspectSchema from './inspect.schema.json' with { type: 'json' };
import type { InspectReport } from '../../image/inspect.js';

type Validator = ((value: unknown) => boolean) & { errors?: ErrorObject[] | null };

function validator(schema: object): Validator {
  const id = (schema as { $id?: unknown }).$id;
  const v = typeof id === 'string' ? (VALIDATORS as Record<string, Validator | undefined>)[id] : undefined;
  if (!v)
    throw new NodeimgError(
      'INTERNAL',
      `schema ${String(id)} is not precompiled: run node scripts/gen-validators.mjs`,
    );
  return v;
}

export function assertValid(what: string, schema: object, value: unknown): void {
  const v = validator(schema);
  if (!v(value)) {
    throw new SchemaError(
      what,
      (v.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? 'is invalid'}`),
    );
  }
}

export function assertInspectReport(value: unknown): asserts value is InspectReport {
  assertValid('inspect report', inspectSchema, value);
}

export { inspectSchema };

import measurementsSchema from './measurements.schema.json' with { type: 'json' };
import type { MeasurementsDocument } from '../../measurements/document.js';

export function assertMeasurementsDocument(value: unknown): asserts value is MeasurementsDocument {
  assertValid('measurements document', measurementsSchema, value);
}

export { measurementsSchema };

import bootCheckSchema from './boot-check.schema.json' with { type: 'json' };

/** `nodeimg boot-check --json` output. */
export function assertBootCheckReport(value: unknown): void {
  assertValid('boot-check report', bootCheckSchema, value);
}

export { bootCheckSchema };
