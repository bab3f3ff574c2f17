// JSON documents are validated at the boundaries with ajv; schemas are JSON files in this folder,
// compiled once per process. A failure lists every instance path (SchemaError.fields).
import { Ajv, type ValidateFunction } from 'ajv';
import { SchemaError } from '../errors.js';
import inspectSchema from './inspect.schema.json' with { type: 'json' };
import type { InspectReport } from '../../image/inspect.js';

const ajv = new Ajv({ allErrors: true, strict: true });
const compiled = new Map<object, ValidateFunction>();

function validator(schema: object): ValidateFunction {
  let v = compiled.get(schema);
  if (!v) {
    v = ajv.compile(schema);
    compiled.set(schema, v);
  }
  return v;
}

export function assertValid(what: string, schema: object, value: unknown): void {
  const v = validator(schema);
  if (!v(value)) {
    throw new SchemaError(what, (v.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? 'is invalid'}`));
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
