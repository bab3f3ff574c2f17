// Encoder for the crypto-agile event log: the exact inverse of decodeEventLog (same layout, TCG PC
// Client PFP "Event Logging"; edk2 UefiTcgPlatform.h TCG_PCR_EVENT / TCG_PCR_EVENT2;
// measured-boot.md §2.1). Used to write simulated logs and to round-trip real ones.
import { NodeimgError } from '../../image/formats/errors.js';
import { HASH_ALGS, MultiHash, isHashAlg, type HashAlg } from '../hash.js';
import { checkInt, encodeSpecIdEvent } from './spec-id.js';
import { EV, type EventLog, type EventRecord, type SpecIdEvent } from './types.js';

/**
 * Serialises a log. Digests are written in the key order of each event's claimedDigests (the order
 * the decoder found them in); each must be a bank the Spec ID event declares.
 */
export function encodeEventLog(log: EventLog): Uint8Array {
  const spec = encodeSpecIdEvent(log.specId);
  const sizes = new Map<HashAlg, number>(log.specId.algorithms.map((a) => [a.alg, a.digestSize]));
  const ids = new Map<HashAlg, number>(log.specId.algorithms.map((a) => [a.alg, a.algId]));
  let total = 32 + spec.length;
  for (const [i, ev] of log.events.entries()) total += recordSize(ev, sizes, i + 1);
  const trailing = log.trailing?.bytes ?? new Uint8Array(0);
  total += trailing.length;

  const out = new Uint8Array(total);
  const dv = new DataView(out.buffer);
  // TCG_PCR_EVENT header record: PCRIndex, EV_NO_ACTION, SHA-1 digest of zeros, EventSize, Spec ID.
  dv.setUint32(0, checkInt(log.headerPcr, 0xffffffff, 'header PCRIndex'), true);
  dv.setUint32(4, EV.NO_ACTION, true);
  dv.setUint32(28, spec.length, true);
  out.set(spec, 32);
  let p = 32 + spec.length;
  for (const ev of log.events) {
    // TCG_PCR_EVENT2: PCRIndex, EventType, TPML_DIGEST_VALUES.count, {hashAlg u16, digest}..., EventSize, Event.
    dv.setUint32(p, ev.pcr, true);
    dv.setUint32(p + 4, ev.untrustedType, true);
    const algs = digestAlgs(ev);
    dv.setUint32(p + 8, algs.length, true);
    p += 12;
    for (const alg of algs) {
      dv.setUint16(p, ids.get(alg) as number, true);
      out.set(ev.claimedDigests[alg] as Uint8Array, p + 2);
      p += 2 + (sizes.get(alg) as number);
    }
    dv.setUint32(p, ev.data.length, true);
    out.set(ev.data, p + 4);
    p += 4 + ev.data.length;
  }
  out.set(trailing, p);
  return out;
}

function digestAlgs(ev: EventRecord): HashAlg[] {
  return Object.keys(ev.claimedDigests).filter(
    (k): k is HashAlg => isHashAlg(k) && ev.claimedDigests[k] !== undefined,
  );
}

function recordSize(ev: EventRecord, sizes: ReadonlyMap<HashAlg, number>, n: number): number {
  checkInt(ev.pcr, 0xffffffff, `event ${n} PCRIndex`);
  checkInt(ev.untrustedType, 0xffffffff, `event ${n} EventType`);
  if (ev.data.length > 0xffffffff) throw new NodeimgError('USAGE', `event ${n} data is larger than 4 GiB`);
  let size = 12 + 4 + ev.data.length;
  for (const alg of digestAlgs(ev)) {
    const want = sizes.get(alg);
    if (want === undefined)
      throw new NodeimgError(
        'USAGE',
        `event ${n} has a ${alg} digest but the Spec ID event does not declare ${alg}`,
      );
    const got = (ev.claimedDigests[alg] as Uint8Array).length;
    if (got !== want)
      throw new NodeimgError(
        'USAGE',
        `event ${n} ${alg} digest is ${got} bytes, the Spec ID event says ${want}`,
      );
    size += 2 + want;
  }
  return size;
}

export interface CreateEventInput {
  readonly pcr: number;
  readonly type: number;
  /** Event data written to the log. */
  readonly data: Uint8Array;
  /**
   * The bytes that are hashed. Defaults to `data`, which is right for EV_SEPARATOR, EV_EFI_ACTION,
   * EV_EFI_VARIABLE_DRIVER_CONFIG ... but not for EV_IPL / EV_EVENT_TAG (measured buffer,
   * measured-boot.md §4.1) or EV_EFI_BOOT_SERVICES_APPLICATION (Authenticode hash, §1): for those
   * pass `measured` or `digests`.
   */
  readonly measured?: Uint8Array;
  /** Precomputed digests (e.g. Authenticode); overrides `measured`. */
  readonly digests?: Partial<Record<HashAlg, Uint8Array>>;
}

/**
 * Builds one log record for every bank of `spec`, the way HashLogExtendEvent logs it: each bank's
 * digest is that bank's hash of the same measured bytes (measured-boot.md §0.1). EV_NO_ACTION
 * records carry all-zero digests (PFP; never extended).
 */
export function createEvent(spec: SpecIdEvent, input: CreateEventInput): EventRecord {
  const banks = spec.algorithms.map((a) => a.alg);
  let claimedDigests: Partial<Record<HashAlg, Uint8Array>>;
  if (input.type === EV.NO_ACTION) {
    claimedDigests = Object.fromEntries(banks.map((a) => [a, new Uint8Array(HASH_ALGS[a].size)]));
  } else if (input.digests !== undefined) {
    const given = input.digests;
    claimedDigests = Object.fromEntries(
      banks.map((a) => {
        const d = given[a];
        if (d === undefined)
          throw new NodeimgError('USAGE', `no ${a} digest given for a PCR ${input.pcr} event`);
        return [a, d];
      }),
    );
  } else {
    claimedDigests = new MultiHash(banks).update(input.measured ?? input.data).digests();
  }
  return { pcr: input.pcr, untrustedType: input.type, claimedDigests, data: input.data };
}
