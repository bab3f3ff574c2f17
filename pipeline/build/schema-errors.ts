// Readable messages for a document that fails its schema (recipes and locks are written by hand):
// one line per problem, with the JSON pointer of the offending value and what was expected, e.g.
//   /kernel: unknown key 'cmdlin'
//   /boot/layout: 'uefi' is not one of direct, sdboot
import type { ErrorObject } from 'ajv';
import { NodeimgError, SchemaError } from '../errors.js';
import { VALIDATORS } from '../schema/validators.generated.js';

type Validator = ((value: unknown) => boolean) & { errors?: ErrorObject[] | null };

/** The value at a JSON pointer, or undefined. Pure. */
export function atPointer(doc: unknown, pointer: string): unknown {
  let cur: unknown = doc;
  for (const raw of pointer.split('/').slice(1)) {
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[key];
  }
  return cur;
}

const show = (v: unknown): string => {
  const s = JSON.stringify(v) ?? String(v);
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
};

/** One line for one ajv error (undefined for ajv's summary line of a bad property name). Pure. */
export function describeError(e: ErrorObject, doc: unknown): string | undefined {
  const at = e.instancePath === '' ? '/' : e.instancePath;
  const p = e.params as Record<string, unknown>;
  if (e.keyword === 'propertyNames') return undefined; // the failing name is reported on its own
  const value = e.propertyName === undefined ? atPointer(doc, e.instancePath) : e.propertyName;
  const subject = e.propertyName === undefined ? show(value) : `key ${show(value)}`;
  switch (e.keyword) {
    case 'additionalProperties':
      return `${at}: unknown key ${show(p['additionalProperty'])}`;
    case 'required':
      return `${at}: missing key ${show(p['missingProperty'])}`;
    case 'enum':
      return `${at}: ${show(value)} is not one of ${(p['allowedValues'] as unknown[]).map((x) => String(x)).join(', ')}`;
    case 'const':
      return `${at}: ${show(value)} must be ${show(p['allowedValue'])}`;
    case 'type':
      return `${at}: ${show(value)} is not of type ${String(p['type'])}`;
    case 'pattern':
      return `${at}: ${subject} does not match ${String(p['pattern'])}`;
    default:
      return `${at}: ${e.message ?? 'is invalid'}`;
  }
}

/** Validates `doc` against the precompiled schema `id`; throws SchemaError naming `what`. */
export function assertSchema(what: string, id: string, doc: unknown): void {
  const v = (VALIDATORS as Record<string, Validator | undefined>)[id];
  if (!v)
    throw new NodeimgError(
      'INTERNAL',
      `schema ${id} is not precompiled: run node scripts/gen-validators.mjs`,
    );
  if (v(doc)) return;
  const lines = [
    ...new Set(
      (v.errors ?? []).map((e) => describeError(e, doc)).filter((l): l is string => l !== undefined),
    ),
  ];
  throw new SchemaError(what, lines);
}
