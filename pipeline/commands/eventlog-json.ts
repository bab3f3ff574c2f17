// JSON shapes of `nodeimg eventlog show|replay|diff --json` (schema: pipeline/schema/eventlog.schema.json).
// Hex is lower-case; event data is hex as well (the largest events, db/dbx, are a few KiB).
import { toHex } from '../../image/formats/reader.js';
import type { HashAlg } from '../../measurements/hash.js';
import type { ExpectedEvent } from '../../measurements/eventlog/expected-event.js';
import {
  eventTypeName,
  type DecodeWarning,
  type SpecIdEvent,
  type TcgEvent,
} from '../../measurements/eventlog/types.js';
import eventlogSchema from '../schema/eventlog.schema.json' with { type: 'json' };
import { assertValid } from '../schema/validate.js';

export const EVENTLOG_SCHEMA_ID = 'https://nodeimg.dev/schema/eventlog/v1.json';

export type Digests = Partial<Record<HashAlg, string>>;

export interface InputJson {
  readonly path: string;
  readonly size: number;
}

export interface EventJson {
  readonly index: number;
  readonly offset: number;
  readonly pcr: number;
  readonly type: number;
  readonly typeName: string;
  readonly digests: Digests;
  readonly dataSize: number;
  readonly data: string;
  readonly description: string;
}

export interface ExpectedEventJson {
  readonly index: number | null;
  readonly pcr: number;
  readonly type: number;
  readonly typeName: string;
  readonly digests: Digests;
  /** null: not compared (not predictable, e.g. memory addresses of an image load event). */
  readonly data: string | null;
  readonly description: string;
}

export function digestsJson(d: Partial<Record<HashAlg, Uint8Array>>, banks?: readonly HashAlg[]): Digests {
  const out: Digests = {};
  for (const [alg, v] of Object.entries(d) as [HashAlg, Uint8Array | undefined][]) {
    if (v !== undefined && (banks === undefined || banks.includes(alg))) out[alg] = toHex(v);
  }
  return out;
}

export function eventJson(e: TcgEvent, description: string, banks?: readonly HashAlg[]): EventJson {
  return {
    index: e.index,
    offset: e.offset,
    pcr: e.pcr,
    type: e.untrustedType,
    typeName: e.typeName,
    digests: digestsJson(e.claimedDigests, banks),
    dataSize: e.data.length,
    data: toHex(e.data),
    description,
  };
}

export function expectedEventJson(e: ExpectedEvent): ExpectedEventJson {
  return {
    index: e.index ?? null,
    pcr: e.pcr,
    type: e.type,
    typeName: eventTypeName(e.type),
    digests: digestsJson(e.digests),
    data: e.data === undefined ? null : toHex(e.data),
    description: e.description,
  };
}

export function specIdJson(s: SpecIdEvent): Record<string, unknown> {
  return {
    platformClass: s.platformClass,
    specVersion: `${s.specVersion.major}.${s.specVersion.minor}`,
    errata: s.errata,
    uintnSize: s.uintnSize,
    algorithms: s.algorithms.map((a) => ({ alg: a.alg, algId: a.algId, digestSize: a.digestSize })),
    vendorInfo: toHex(s.vendorInfo),
  };
}

export function warningsJson(
  ws: readonly DecodeWarning[],
): { id: string; offset: number; message: string }[] {
  return ws.map((w) => ({ id: w.id, offset: w.offset, message: w.message }));
}

/** Validates an output document against the eventlog schema (SCHEMA_INVALID, exit 6, on a bug). */
export function assertEventlogJson(what: string, value: unknown): void {
  assertValid(what, eventlogSchema, value);
}
