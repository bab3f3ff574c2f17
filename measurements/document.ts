// The measurements document: nodeimg's published statement of what an image makes the TPM measure.
// Canonical JSON (lower-case hex, PCRs in numeric order, a fixed key order), so the same inputs
// give the same bytes. Schema: pipeline/schema/measurements.schema.json.
import { EV, eventTypeName } from './eventlog/types.js';
import type { ExpectedEvent } from './eventlog/expected-event.js';
import type { HashAlg } from './hash.js';
import type { BankDigests } from './pcr-banks.js';
import type { Origin, PredictedEvent } from './boot/event.js';
import type { Prediction } from './boot/predict.js';

export const MEASUREMENTS_SCHEMA_ID = 'https://nodeimg.dev/schema/measurements/v1.json';

export type HexDigests = Partial<Record<HashAlg, string>>;

export interface DocumentEvent {
  readonly type: string;
  readonly digests: HexDigests;
  /** Event data in hex, null when it depends on the running machine (load addresses, device paths). */
  readonly data: string | null;
  readonly description: string;
}

export interface DocumentPcr {
  /** image: follows from the image alone; platform: from firmware/VM data; image+platform: both. */
  readonly origin: 'image' | 'platform' | 'image+platform';
  readonly expected: HexDigests;
  readonly events: readonly DocumentEvent[];
}

/** Launch values of a confidential-VM platform (SEV-SNP MEASUREMENT, TDX MRTD/RTMRs). */
export interface LaunchValues {
  readonly platform: string;
  /** What the values depend on: firmware file and hash, VMM type, vCPU signature, layout ... */
  readonly parameters: Readonly<Record<string, string | number | null>>;
  readonly values: readonly {
    readonly name: string;
    readonly vcpus?: number | null;
    readonly order?: string;
    readonly value: string;
  }[];
  readonly notPredicted: readonly { readonly name: string; readonly reason: string }[];
}

export interface ReleaseInfo {
  readonly version: string;
  readonly ref: string;
  readonly stream: string;
  /** PCR indexes a verifier must enforce; each is in `pcrs`. */
  readonly enforced: readonly number[];
}

export interface MeasurementsDocument {
  readonly $schema: typeof MEASUREMENTS_SCHEMA_ID;
  readonly image: {
    readonly name: string;
    readonly kind: 'disk' | 'uki';
    readonly uki: string;
    readonly ukiAuthenticode: HexDigests;
  };
  readonly boot: {
    readonly mode: 'direct' | 'systemd-boot';
    readonly secureBoot: boolean;
    readonly firmware: string;
    readonly systemdStub: string;
    readonly stubRules: number;
    readonly systemdBoot: string | null;
    readonly kernel: string | null;
  };
  readonly banks: readonly HashAlg[];
  readonly pcrs: Readonly<Record<string, DocumentPcr>>;
  readonly notPredicted: readonly { readonly pcr: number; readonly reason: string }[];
  readonly pcr11Phases: readonly { readonly phase: string; readonly expected: HexDigests }[];
  /** Present with --platform: what the CPU measures at launch. */
  readonly launch?: LaunchValues;
  /** Present on a published document (`nodeimg release`): its version and the PCRs to enforce. */
  readonly release?: ReleaseInfo;
  readonly warnings: readonly string[];
}

const hex = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');

export function hexDigests(banks: readonly HashAlg[], d: BankDigests): HexDigests {
  const out: HexDigests = {};
  for (const a of banks) {
    const v = d[a];
    if (v) out[a] = hex(v);
  }
  return out;
}

function docEvent(banks: readonly HashAlg[], e: PredictedEvent): DocumentEvent {
  return {
    type: eventTypeName(e.type),
    digests: hexDigests(banks, e.digests),
    data: e.data ? hex(e.data) : null,
    description: e.description,
  };
}

function originOf(events: readonly PredictedEvent[], platformPcr: boolean): DocumentPcr['origin'] {
  const kinds = new Set<Origin>(events.map((e) => e.origin));
  if (platformPcr || (kinds.has('platform') && !kinds.has('image'))) return 'platform';
  return kinds.has('platform') ? 'image+platform' : 'image';
}

export interface DocumentInput {
  readonly prediction: Prediction;
  readonly image: MeasurementsDocument['image'];
  readonly mode: MeasurementsDocument['boot']['mode'];
  readonly secureBoot: boolean;
  readonly firmware: string;
  /** PCR values taken from a platform reference (a recorded log), with the events behind them. */
  readonly platform?: ReadonlyMap<
    number,
    { readonly value: BankDigests; readonly events: readonly PredictedEvent[] }
  >;
}

export function measurementsDocument(input: DocumentInput): MeasurementsDocument {
  const p = input.prediction;
  const banks = p.banks;
  const pcrs: Record<string, DocumentPcr> = {};
  const all = new Map<number, { value: BankDigests; events: readonly PredictedEvent[]; platform: boolean }>();
  for (const [pcr, value] of p.pcrs)
    all.set(pcr, { value, events: p.events.filter((e) => e.pcr === pcr), platform: false });
  for (const [pcr, ref] of input.platform ?? [])
    all.set(pcr, { value: ref.value, events: ref.events, platform: true });
  for (const pcr of [...all.keys()].sort((a, b) => a - b)) {
    const v = all.get(pcr);
    if (!v) continue;
    pcrs[String(pcr)] = {
      origin: originOf(v.events, v.platform),
      expected: hexDigests(banks, v.value),
      events: v.events.map((e) => docEvent(banks, e)),
    };
  }
  return {
    $schema: MEASUREMENTS_SCHEMA_ID,
    image: input.image,
    boot: {
      mode: input.mode,
      secureBoot: input.secureBoot,
      firmware: input.firmware,
      systemdStub: p.versions.stub,
      stubRules: p.versions.stubRules,
      systemdBoot: p.versions.loader ?? null,
      kernel: p.versions.kernel ?? null,
    },
    banks,
    pcrs,
    notPredicted: p.notPredicted
      .filter((n) => !all.has(n.pcr))
      .map((n) => ({ pcr: n.pcr, reason: n.reason })),
    pcr11Phases: p.pcr11Phases.map((x) => ({ phase: x.phase, expected: hexDigests(banks, x.value) })),
    warnings: [...p.warnings],
  };
}

/** Canonical serialisation: the bytes that get signed and published (2-space indent, trailing newline). */
export function serializeDocument(doc: MeasurementsDocument): string {
  return `${JSON.stringify(doc, null, 2)}\n`;
}

const TYPE_BY_NAME: ReadonlyMap<string, number> = new Map(Object.entries(EV).map(([k, v]) => [`EV_${k}`, v]));

function bytesOf(hexText: string): Uint8Array {
  return new Uint8Array(Buffer.from(hexText, 'hex'));
}

/**
 * The document's events as the expected side of an event-log diff (data null = not compared).
 * `pcrs` limits it to some PCRs; by default every PCR the document states.
 */
export function expectedFromDocument(doc: MeasurementsDocument, pcrs?: readonly number[]): ExpectedEvent[] {
  const out: ExpectedEvent[] = [];
  for (const [key, p] of Object.entries(doc.pcrs)) {
    const pcr = Number(key);
    if (pcrs && !pcrs.includes(pcr)) continue;
    for (const e of p.events) {
      const type = TYPE_BY_NAME.get(e.type);
      if (type === undefined) throw new RangeError(`unknown event type ${e.type} in PCR ${pcr}`);
      const digests: Partial<Record<HashAlg, Uint8Array>> = {};
      for (const [alg, h] of Object.entries(e.digests)) digests[alg as HashAlg] = bytesOf(h);
      out.push({
        pcr,
        type,
        digests,
        data: e.data === null ? undefined : bytesOf(e.data),
        description: e.description,
      });
    }
  }
  return out;
}
