// Compares, PCR by PCR, the measurements expected (a prediction, or a firmware event log) with the
// extends the TPM really received. The TPM sees no event types, so only the order and the digests are
// compared; the first departure of each PCR is named in words, with both digests. Pure.
import { toHex } from '../../image/formats/reader.js';
import { decodeTaggedEvent } from '../eventlog/event-data.js';
import { knownTag } from '../eventlog/tags.js';
import { EV, eventTypeName } from '../eventlog/types.js';
import type { ExpectedEvent } from '../eventlog/expected-event.js';
import type { HashAlg } from '../hash.js';
import type { TpmExtend } from './replay.js';

export type DepartureReason = 'digest' | 'no-bank' | 'missing' | 'extra';

export interface ExtendDeparture {
  readonly pcr: number;
  /** 1-based position among this PCR's extends. */
  readonly position: number;
  readonly reason: DepartureReason;
  /** 'digest': the bank whose digests differ (the one messages prefer when several do). */
  readonly bank?: HashAlg;
  readonly expected?: ExpectedEvent;
  readonly actual?: TpmExtend;
  /** 'missing' / 'extra': how many from `position` on. */
  readonly count?: number;
  readonly message: string;
}

export interface PcrExtendDiff {
  readonly pcr: number;
  readonly ok: boolean;
  readonly expectedCount: number;
  readonly actualCount: number;
  readonly first?: ExtendDeparture;
}

export interface ExtendDiff {
  readonly ok: boolean;
  /** Ascending by PCR. */
  readonly pcrs: readonly PcrExtendDiff[];
}

export interface ExtendDiffOptions {
  /** PCRs to compare; default every PCR either side extends. */
  readonly pcrs?: readonly number[];
  /** Banks to compare; default all banks both sides have. */
  readonly banks?: readonly HashAlg[];
  /** How the expected side is named in messages; default 'predicted'. */
  readonly expectedAs?: 'predicted' | 'logged';
}

/** Banks in the order messages prefer them: sha256 first (what people quote), then the rest. */
const PREFERRED: readonly HashAlg[] = ['sha256', 'sha384', 'sha512', 'sha1'];
const SHORT = 12;

function banksOf(d: Partial<Record<HashAlg, Uint8Array>>): HashAlg[] {
  return PREFERRED.filter((b) => d[b] !== undefined);
}

function digestText(bank: HashAlg, d: Uint8Array, other?: Uint8Array): string {
  const h = toHex(d);
  let n = SHORT;
  if (other !== undefined) {
    const o = toHex(other);
    while (n < h.length && h.slice(0, n) === o.slice(0, n)) n += 4;
  }
  return `${bank}:${h.length > n ? `${h.slice(0, n)}…` : h}`;
}

/** Whether an expected event extends a PCR: EV_NO_ACTION never does (a StartupLocality event seeds PCR 0 at TPM2_Startup instead). */
export function isExtend(e: ExpectedEvent): boolean {
  return e.type !== EV.NO_ACTION;
}

/**
 * What an EV_EVENT_TAG event says it is, from its data: the tag's own text (the kernel writes
 * "LOADED_IMAGE::LoadOptions" for the command line, "Linux initrd" for the initrd) or, for text-less
 * tags, the known tag's name; '' when there is no data or it does not decode.
 */
function tagLabel(e: ExpectedEvent): string {
  if (e.type !== EV.EVENT_TAG || e.data === undefined) return '';
  try {
    const t = decodeTaggedEvent(e.data);
    const text = new TextDecoder('latin1').decode(t.data).replace(/\0+$/, '');
    if (text.length > 0 && /^[\x20-\x7e]+$/.test(text)) return `${text}: `;
    const known = knownTag(t.id);
    return known === undefined ? `tag 0x${t.id.toString(16).padStart(8, '0')}: ` : `${known.name}: `;
  } catch {
    return '';
  }
}

function expectedText(e: ExpectedEvent, bank: HashAlg | undefined, other?: Uint8Array): string {
  const d = bank === undefined ? undefined : e.digests[bank];
  const digest = d === undefined || bank === undefined ? '' : ` = ${digestText(bank, d, other)}`;
  return `${eventTypeName(e.type)} ${tagLabel(e)}${e.description}${digest}`;
}

function where(a: TpmExtend): string {
  return `${a.via}, TPM command #${a.command}, swtpm log line ${a.line}`;
}

function actualText(a: TpmExtend, bank: HashAlg | undefined, other?: Uint8Array): string {
  const d = bank === undefined ? undefined : a.digests[bank];
  const digest = d === undefined || bank === undefined ? '(no digest)' : digestText(bank, d, other);
  return `${digest} (${where(a)})`;
}

const equal = (a: Uint8Array, b: Uint8Array): boolean =>
  a.length === b.length && a.every((x, i) => x === b[i]);

function group<T extends { pcr: number }>(items: readonly T[]): Map<number, T[]> {
  const m = new Map<number, T[]>();
  for (const x of items) {
    const l = m.get(x.pcr);
    if (l) l.push(x);
    else m.set(x.pcr, [x]);
  }
  return m;
}

export function diffExtends(
  expected: readonly ExpectedEvent[],
  actual: readonly TpmExtend[],
  opts: ExtendDiffOptions = {},
): ExtendDiff {
  const exp = group(expected.filter(isExtend));
  const act = group(actual);
  const selected = opts.pcrs ?? [...exp.keys(), ...act.keys()];
  const pcrs = [...new Set(selected)].sort((a, b) => a - b);
  const banks = opts.banks ?? PREFERRED;
  const label = opts.expectedAs === 'logged' ? 'the event log has' : 'predicted';
  const results = pcrs.map((pcr): PcrExtendDiff => {
    const e = exp.get(pcr) ?? [];
    const a = act.get(pcr) ?? [];
    const first = firstDeparture(pcr, e, a, banks, label);
    const base = { pcr, ok: first === undefined, expectedCount: e.length, actualCount: a.length };
    return first === undefined ? base : { ...base, first };
  });
  return { ok: results.every((r) => r.ok), pcrs: results };
}

function firstDeparture(
  pcr: number,
  e: readonly ExpectedEvent[],
  a: readonly TpmExtend[],
  banks: readonly HashAlg[],
  label: string,
): ExtendDeparture | undefined {
  const n = Math.min(e.length, a.length);
  for (let i = 0; i < n; i++) {
    const x = e[i] as ExpectedEvent;
    const y = a[i] as TpmExtend;
    const common = PREFERRED.filter(
      (b) => banks.includes(b) && x.digests[b] !== undefined && y.digests[b] !== undefined,
    );
    const head = `PCR ${pcr} extend ${i + 1}`;
    if (common.length === 0) {
      return {
        pcr,
        position: i + 1,
        reason: 'no-bank',
        expected: x,
        actual: y,
        message: `${head}: no bank to compare (${label} ${banksOf(x.digests).join(', ') || 'no digest'}; the TPM extended ${banksOf(y.digests).join(', ')}) (${where(y)})`,
      };
    }
    const bad = common.find((b) => !equal(x.digests[b] as Uint8Array, y.digests[b] as Uint8Array));
    if (bad !== undefined) {
      return {
        pcr,
        position: i + 1,
        reason: 'digest',
        bank: bad,
        expected: x,
        actual: y,
        message: `${head}: ${label} ${expectedText(x, bad, y.digests[bad])}, the TPM received ${actualText(y, bad, x.digests[bad])}`,
      };
    }
  }
  if (e.length > n) {
    const x = e[n] as ExpectedEvent;
    const which = n + 1 === e.length ? `extend ${n + 1}` : `extends ${n + 1}-${e.length}`;
    return {
      pcr,
      position: n + 1,
      reason: 'missing',
      expected: x,
      count: e.length - n,
      message: `PCR ${pcr}: the TPM received ${a.length} extend(s), ${label} ${e.length}; missing ${which}, first ${expectedText(x, banksOf(x.digests)[0])}`,
    };
  }
  if (a.length > n) {
    const y = a[n] as TpmExtend;
    return {
      pcr,
      position: n + 1,
      reason: 'extra',
      actual: y,
      count: a.length - n,
      message: `PCR ${pcr}: the TPM received ${a.length - n} extend(s) more than the ${e.length} ${label === 'predicted' ? 'predicted' : 'in the event log'}, from extend ${n + 1}: ${actualText(y, banksOf(y.digests)[0])}`,
    };
  }
  return undefined;
}

/** One line per PCR that departs, then the PCRs that agree. */
export function formatExtendDiff(d: ExtendDiff): string {
  const lines: string[] = [];
  for (const p of d.pcrs) if (p.first !== undefined) lines.push(p.first.message);
  const same = d.pcrs.filter((p) => p.ok);
  if (same.length > 0)
    lines.push(`same extends: ${same.map((p) => `PCR ${p.pcr} (${p.actualCount})`).join(', ')}`);
  return `${lines.join('\n')}\n`;
}
