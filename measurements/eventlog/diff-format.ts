// Words for diff.ts: one sentence per PCR that names the first event where expected and actual part,
// e.g. "PCR 4 event 3 (log event #11): expected EV_EFI_BOOT_SERVICES_APPLICATION Authenticode of
// EFI/BOOT/BOOTX64.EFI = sha256:55b17fa34916…, got EV_EFI_BOOT_SERVICES_APPLICATION sha256:7843e376e573… (…)".
import { toHex } from '../../image/formats/reader.js';
import { isHashAlg, type HashAlg } from '../hash.js';
import type { Difference, EventDiff } from './diff.js';
import type { ExpectedEvent } from './expected-event.js';
import { eventTypeName } from './types.js';

/** Hex characters of a digest shown in messages (more when two digests share a longer prefix). */
const SHORT = 12;

/** Banks in the order messages prefer them: sha256 first (what people quote), then the rest. */
export function preferred(banks: readonly string[]): HashAlg[] {
  const order: HashAlg[] = ['sha256', 'sha384', 'sha512', 'sha1'];
  return order.filter((b) => banks.includes(b) && isHashAlg(b));
}

function banksOf(e: ExpectedEvent): HashAlg[] {
  return preferred(Object.keys(e.digests).filter((b) => e.digests[b as HashAlg] !== undefined));
}

/** "sha256:55b17fa34916…"; with `other`, long enough to show where the two digests differ. */
function digestText(bank: HashAlg, d: Uint8Array, other?: Uint8Array): string {
  const h = toHex(d);
  let n = SHORT;
  if (other !== undefined) {
    const o = toHex(other);
    while (n < h.length && h.slice(0, n) === o.slice(0, n)) n += 4;
  }
  return `${bank}:${h.length > n ? `${h.slice(0, n)}…` : h}`;
}

/** "EV_X description = sha256:…" (the way an expectation reads). */
function expectedText(e: ExpectedEvent, bank: HashAlg | undefined, other?: ExpectedEvent): string {
  const d = bank === undefined ? undefined : e.digests[bank];
  const digest =
    d === undefined || bank === undefined ? '' : ` = ${digestText(bank, d, other?.digests[bank])}`;
  return `${eventTypeName(e.type)} ${e.description}${digest}`;
}

/** "EV_X sha256:… (description)" (the way a log entry reads). */
function actualText(e: ExpectedEvent, bank: HashAlg | undefined, other?: ExpectedEvent): string {
  const d = bank === undefined ? undefined : e.digests[bank];
  const digest = d === undefined || bank === undefined ? '' : ` ${digestText(bank, d, other?.digests[bank])}`;
  return `${eventTypeName(e.type)}${digest} (${e.description})`;
}

function logRef(e: ExpectedEvent | undefined): string {
  return e?.index === undefined ? '' : ` (log event #${e.index})`;
}

export function mismatchMessage(
  pcr: number,
  position: number,
  x: ExpectedEvent,
  y: ExpectedEvent,
  d: Difference,
): string {
  const head = `PCR ${pcr} event ${position}${logRef(y)}`;
  if (d.reason === 'digest' && d.bank === undefined) {
    return `${head}: expected ${expectedText(x, banksOf(x)[0])}, got ${actualText(y, banksOf(y)[0])}: no bank to compare (expected ${banksOf(x).join(', ')}; the log has ${banksOf(y).join(', ') || 'none'})`;
  }
  if (d.reason === 'data') {
    const at = d.dataOffset ?? 0;
    const xb = x.data?.[at];
    const yb = y.data?.[at];
    const byte = (b: number | undefined): string =>
      b === undefined ? 'end of data' : `0x${b.toString(16).padStart(2, '0')}`;
    return `${head}: ${eventTypeName(x.type)} digests agree but the data differs at byte ${at} (expected ${byte(xb)}, got ${byte(yb)}): expected ${x.description}, got ${y.description}`;
  }
  const bank = d.bank ?? banksOf(x).find((b) => y.digests[b] !== undefined);
  return `${head}: expected ${expectedText(x, bank, y)}, got ${actualText(y, bank, x)}`;
}

export function missingMessage(
  pcr: number,
  position: number,
  expectedCount: number,
  x: ExpectedEvent,
  actualCount: number,
): string {
  const which = position === expectedCount ? `event ${position}` : `events ${position}-${expectedCount}`;
  return `PCR ${pcr}: missing ${which} (${expectedText(x, banksOf(x)[0])}); expected ${expectedCount} event(s), got ${actualCount}`;
}

export function extraMessage(
  pcr: number,
  position: number,
  expectedCount: number,
  y: ExpectedEvent,
  count: number,
): string {
  return `PCR ${pcr}: expected ${expectedCount} event(s), got ${count} extra, from event ${position}${logRef(y)}: ${actualText(y, banksOf(y)[0])}`;
}

/** Human text of a diff: one line per PCR that differs, then the PCRs that agree and a summary. */
export function formatDiff(result: EventDiff): string {
  const lines: string[] = [];
  for (const p of result.pcrs) if (p.firstMismatch !== undefined) lines.push(p.firstMismatch.message);
  const same = result.pcrs.filter((p) => p.ok);
  if (same.length > 0)
    lines.push(`same events: ${same.map((p) => `PCR ${p.pcr} (${p.expectedEvents})`).join(', ')}`);
  const bad = result.pcrs.filter((p) => !p.ok).map((p) => p.pcr);
  const n = result.pcrs.length;
  lines.push(
    n === 0
      ? 'no PCR compared: neither side has an event for the selected PCRs'
      : bad.length === 0
        ? `the event sequences agree on all ${n} compared PCR(s)`
        : `the event sequences part on ${bad.length} of ${n} compared PCR(s): ${bad.join(', ')}`,
  );
  return `${lines.join('\n')}\n`;
}
