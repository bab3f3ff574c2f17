// `nodeimg verify --ccel`: a TD's CC event log is replayed, checked against the RTMRs of its quote
// (a forged or incomplete log is caught) and compared with the document's predicted RTMRs, naming
// the register that differs and what it most likely means. The log here is synthetic (encoded
// with the project's event-log codec); the replay itself is checked against the TDX vectors in
// test/measurements.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ccEvent, type CcEvent } from '../../measurements/cvm/tdx/cc-event.js';
import { replayCcel } from '../../measurements/cvm/tdx/ccel-replay.js';
import { decodeEventLog } from '../../measurements/eventlog/decode.js';
import { EV } from '../../measurements/eventlog/types.js';
import { run } from '../helpers/cli.js';
import { sampleMeasurements } from '../helpers/release-store.js';
import { calling, encodeCcel, separator } from '../helpers/tdx-ccel.js';

const tmp = mkdtempSync(join(tmpdir(), 'nodeimg-verify-ccel-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const enc = (s: string) => new TextEncoder().encode(s);
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const MRTD = 'ab'.repeat(48);

function boot(cmdline: string): CcEvent[] {
  return [
    ccEvent(0, EV.EFI_HANDOFF_TABLES2, 'TD HOB', enc('td hob of a 2 GiB TD')),
    ccEvent(0, EV.EFI_PLATFORM_FIRMWARE_BLOB2, 'ACPI tables', enc('acpi tables')),
    calling(),
    separator(1),
    ccEvent(1, EV.EFI_BOOT_SERVICES_APPLICATION, 'UKI', enc('authenticode of the UKI')),
    ccEvent(2, EV.IPL, 'kernel command line', enc(cmdline)),
  ];
}

function files(name: string, events: CcEvent[], quoteFrom: CcEvent[] = events) {
  const ccel = join(tmp, `${name}.ccel`);
  writeFileSync(ccel, encodeCcel(events));
  const rtmrs = replayCcel(decodeEventLog(encodeCcel(quoteFrom))).rtmrs.map(hex);
  const quote = join(tmp, `${name}.quote.json`);
  writeFileSync(
    quote,
    JSON.stringify({ MRTD, RTMR0: rtmrs[0], RTMR1: rtmrs[1], RTMR2: rtmrs[2], RTMR3: rtmrs[3] }),
  );
  return { ccel, quote };
}

/** The document: RTMR0-2 predicted from the expected boot. */
const expected = replayCcel(decodeEventLog(encodeCcel(boot('console=ttyS0 quiet')))).rtmrs.map(hex);
const docPath = join(tmp, 'measurements.json');
writeFileSync(
  docPath,
  JSON.stringify({
    ...sampleMeasurements(),
    launch: {
      platform: 'qemu-tdx',
      parameters: { firmware: 'OVMF.fd', layout: 'dstack' },
      values: [
        { name: 'MRTD', order: 'single-pass', value: MRTD },
        { name: 'RTMR0', value: expected[0] },
        { name: 'RTMR1', value: expected[1] },
        { name: 'RTMR2', value: expected[2] },
      ],
      notPredicted: [{ name: 'RTMR3', reason: 'runtime' }],
    },
  }),
);

describe('nodeimg verify --ccel', () => {
  it('accepts a log that replays to the quote and to the predicted RTMRs', async () => {
    const f = files('good', boot('console=ttyS0 quiet'));
    const r = await run(['verify', '--against', docPath, '--ccel', f.ccel, '--rtmrs', f.quote, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const v = JSON.parse(r.stdout) as { ok: boolean; checked: string[] };
    expect(v.ok).toBe(true);
    expect(v.checked.join('\n')).toMatch(/replays to the TD quote's RTMR0-3/);
    expect(v.checked.join('\n')).toMatch(/RTMR0, RTMR1, RTMR2 equal the prediction/);
  });

  it('names RTMR2 and the command line when the kernel command line differs', async () => {
    const f = files('cmdline', boot('console=ttyS0 quiet init=/bin/sh'));
    const r = await run(['verify', '--against', docPath, '--ccel', f.ccel, '--rtmrs', f.quote, '--json']);
    expect(r.code).toBe(1);
    const v = JSON.parse(r.stdout) as { findings: { check: string; message: string; likelyCause: string }[] };
    expect(v.findings).toHaveLength(1);
    expect(v.findings[0]?.message).toMatch(/^RTMR2: /);
    expect(v.findings[0]?.likelyCause).toMatch(/kernel command line/);
  });

  it('catches a log that does not replay to the quote (forged), even when the log itself looks right', async () => {
    const f = files('forged', boot('console=ttyS0 quiet'), boot('console=ttyS0 quiet init=/bin/sh'));
    const r = await run(['verify', '--against', docPath, '--ccel', f.ccel, '--rtmrs', f.quote, '--json']);
    expect(r.code).toBe(1);
    const v = JSON.parse(r.stdout) as { findings: { check: string; message: string }[] };
    expect(v.findings.map((x) => x.check)).toEqual(['ccel-vs-quote']);
    expect(v.findings[0]?.message).toMatch(/RTMR2/);
  });

  it('refuses a document without RTMRs, and warns when no quote is given', async () => {
    const bare = join(tmp, 'bare.json');
    writeFileSync(bare, JSON.stringify(sampleMeasurements()));
    const f = files('bare', boot('console=ttyS0 quiet'));
    expect((await run(['verify', '--against', bare, '--ccel', f.ccel])).code).toBe(1);
    const r = await run(['verify', '--against', docPath, '--ccel', f.ccel]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/no --rtmrs/);
    expect((await run(['verify', '--against', docPath, '--rtmrs', f.quote])).code).toBe(2);
  });
});
