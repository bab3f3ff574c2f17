// Decoder for the TCG PC Client crypto-agile event log (binary_bios_measurements, or the TDX CCEL
// table which has the same format). Layout: TCG PC Client PFP "Event Logging" (TCG_PCR_EVENT for the
// Spec ID header, TCG_PCR_EVENT2 for every later record); edk2 UefiTcgPlatform.h; measured-boot.md §2.1.
// Strict about bounds and sizes, tolerant of the one quirk real logs show: padding after the last event.
import { ParseError } from '../../image/formats/errors.js';
import { ByteReader } from '../../image/formats/reader.js';
import type { HashAlg } from '../hash.js';
import { SPEC_ID_SIGNATURE_02, SPEC_ID_SIGNATURE_03, decodeSpecIdEvent, startsWith } from './spec-id.js';
import {
  EV,
  eventTypeName,
  type DecodeWarning,
  type DecodedEventLog,
  type SpecIdEvent,
  type TcgEvent,
  type TrailingBytes,
} from './types.js';

/** Default cap on the number of records (a real boot log has a few hundred). */
export const MAX_EVENTS = 100_000;
/** Default cap on one record's event data (largest real events are dbx/db lists, well under 1 MiB). */
export const MAX_EVENT_SIZE = 16 * 1024 * 1024;

/** TCG_PCR_EVENT header: PCRIndex u32, EventType u32, SHA-1 Digest[20], EventSize u32. */
const HEADER_RECORD_SIZE = 32;
/** TCG_PCR_EVENT2 prefix that is checked for padding: PCRIndex, EventType, digest count (3 x u32). */
const EVENT2_PREFIX_SIZE = 12;

export interface DecodeOptions {
  readonly maxEvents?: number;
  readonly maxEventSize?: number;
}

/**
 * Decodes a crypto-agile (TPM 2.0, "Spec ID Event03") log. Throws ParseError with the absolute byte
 * offset on anything malformed; a SHA-1-only TCG 1.2 log is refused with PARSE_UNSUPPORTED.
 */
export function decodeEventLog(bytes: Uint8Array, opts: DecodeOptions = {}): DecodedEventLog {
  const maxEvents = opts.maxEvents ?? MAX_EVENTS;
  const maxEventSize = opts.maxEventSize ?? MAX_EVENT_SIZE;
  const r = new ByteReader(bytes, 'TCG event log');
  const warnings: DecodeWarning[] = [];
  if (bytes.length === 0) throw new ParseError('PARSE_TRUNCATED', 'TCG event log', 0, 'the log is empty');
  if (paddingAt(bytes, 0, HEADER_RECORD_SIZE) !== undefined)
    r.fail('the log starts with padding bytes, not with the Spec ID event');

  const { headerPcr, specId } = decodeHeaderRecord(r, maxEventSize, warnings);
  const events: TcgEvent[] = [];
  let trailing: TrailingBytes | undefined;
  while (r.remaining > 0) {
    const start = r.offset;
    // Quirk: some firmware hands over a fixed-size log area (ACPI TPM2 LAML) filled with 0x00 or
    // 0xFF after the last event. go-eventlog stops at PCRIndex 0xFFFFFFFF (AllowPadding); a record
    // whose first 12 bytes are all 0x00 or all 0xFF cannot be an event (it would have 0 or 2^32-1 digests).
    const fill = paddingAt(bytes, start, EVENT2_PREFIX_SIZE);
    if (fill !== undefined) {
      trailing = { offset: start, bytes: bytes.slice(start) };
      const uniform = trailing.bytes.every((b) => b === fill);
      const hex = `0x${fill.toString(16).padStart(2, '0')}`;
      warnings.push(
        uniform
          ? {
              id: 'TRAILING_PADDING',
              offset: start,
              message: `${trailing.bytes.length} bytes of ${hex} padding after the last event`,
            }
          : {
              id: 'TRAILING_GARBAGE',
              offset: start,
              message: `${trailing.bytes.length} bytes after the last event start with ${hex} padding but are not all ${hex}`,
            },
      );
      break;
    }
    if (events.length >= maxEvents) r.fail(`more than ${maxEvents} events`, start, 'PARSE_LIMIT');
    const index = events.length + 1;
    const er = r.sub(start, r.remaining, `TCG_PCR_EVENT2 #${index}`);
    events.push(decodeEvent2(er, specId, index, maxEventSize));
    r.skip(er.offset);
  }
  return { headerPcr, specId, events, trailing, warnings, size: trailing?.offset ?? bytes.length };
}

/** The fill byte if bytes[pos, pos+n) (clipped to the end) are all 0x00 or all 0xFF. */
function paddingAt(bytes: Uint8Array, pos: number, n: number): 0 | 0xff | undefined {
  const end = Math.min(bytes.length, pos + n);
  const first = bytes[pos];
  if (first !== 0 && first !== 0xff) return undefined;
  for (let i = pos + 1; i < end; i++) if (bytes[i] !== first) return undefined;
  return first;
}

function decodeHeaderRecord(
  log: ByteReader,
  maxEventSize: number,
  warnings: DecodeWarning[],
): { headerPcr: number; specId: SpecIdEvent } {
  const r = log.sub(0, Math.min(log.length, HEADER_RECORD_SIZE), 'TCG_PCR_EVENT (Spec ID header)');
  const headerPcr = r.u32();
  const type = r.u32();
  const sha1 = r.read(20);
  const size = r.u32();
  if (type !== EV.NO_ACTION) {
    r.fail(
      `first record is ${eventTypeName(type)}, not the EV_NO_ACTION "Spec ID Event03": this is a SHA-1-only TCG 1.2 log; ` +
        'nodeimg decodes only crypto-agile (TPM 2.0) logs',
      4,
      'PARSE_UNSUPPORTED',
    );
  }
  if (size > maxEventSize)
    r.fail(`EventSize ${size} exceeds the ${maxEventSize}-byte limit`, 28, 'PARSE_LIMIT');
  const data = log.sub(HEADER_RECORD_SIZE, size, 'TCG_EfiSpecIDEventStruct');
  if (startsWith(data.bytes, SPEC_ID_SIGNATURE_02)) {
    data.fail(
      '"Spec ID Event02" (TCG EFI Platform 1.22, SHA-1 only) is not supported',
      0,
      'PARSE_UNSUPPORTED',
    );
  }
  if (!startsWith(data.bytes, SPEC_ID_SIGNATURE_03))
    data.fail('the first record is EV_NO_ACTION but not "Spec ID Event03"', 0, 'PARSE_UNSUPPORTED');
  // PFP: the Spec ID record's digest is all zero; it is never extended.
  if (sha1.some((b) => b !== 0)) r.fail('the Spec ID record has a non-zero SHA-1 digest', 8);
  const specId = decodeSpecIdEvent(data, warnings);
  log.seek(HEADER_RECORD_SIZE + size);
  return { headerPcr, specId };
}

/** TCG_PCR_EVENT2 {PCRIndex, EventType, TPML_DIGEST_VALUES {count, {hashAlg, digest}...}, EventSize, Event}. */
function decodeEvent2(r: ByteReader, spec: SpecIdEvent, index: number, maxEventSize: number): TcgEvent {
  const offset = r.abs();
  const pcr = r.u32();
  const untrustedType = r.u32();
  const countPos = r.offset;
  const count = r.u32();
  // Each digest must be of a bank the Spec ID event declared (its size comes from there), and no
  // bank twice, so there are at most as many digests as declared banks (go-eventlog parseRawEvent2).
  if (count > spec.algorithms.length)
    r.fail(
      `digest count ${count} exceeds the ${spec.algorithms.length} algorithms of the Spec ID event`,
      countPos,
    );
  const claimedDigests: Partial<Record<HashAlg, Uint8Array>> = {};
  for (let i = 0; i < count; i++) {
    const pos = r.offset;
    const algId = r.u16();
    const decl = spec.algorithms.find((a) => a.algId === algId);
    if (decl === undefined)
      r.fail(
        `digest algorithm 0x${algId.toString(16).padStart(4, '0')} is not declared in the Spec ID event`,
        pos,
      );
    if (claimedDigests[decl.alg] !== undefined) r.fail(`two ${decl.alg} digests in one event`, pos);
    claimedDigests[decl.alg] = r.read(decl.digestSize).slice();
  }
  const sizePos = r.offset;
  const size = r.u32();
  if (size > maxEventSize)
    r.fail(`EventSize ${size} exceeds the ${maxEventSize}-byte limit`, sizePos, 'PARSE_LIMIT');
  const data = r.read(size).slice();
  return { index, offset, pcr, untrustedType, typeName: eventTypeName(untrustedType), claimedDigests, data };
}
