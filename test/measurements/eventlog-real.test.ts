// Real firmware logs recorded by the lab boots (test/e2e/lab-boot.slow.test.ts writes
// test/fixtures/eventlogs/<variant>.bin + <variant>.pcrs.json; provenance in that folder's README).
// QEMU q35 + OVMF + swtpm, banks sha1/sha256/sha384, systemd-stub 252, Linux 6.1. Each log must
// decode, round-trip byte for byte, describe without fallbacks and replay to the PCRs the guest
// read in the same boot (PCR 10 excluded: IMA extends it after the firmware log).
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeEventLog } from '../../measurements/eventlog/decode.js';
import { describeEvent } from '../../measurements/eventlog/describe.js';
import { encodeEventLog } from '../../measurements/eventlog/encode.js';
import { replayEventLog } from '../../measurements/eventlog/replay.js';
import { EV } from '../../measurements/eventlog/types.js';
import { verifyAgainst } from '../../measurements/eventlog/verify.js';
import { isHashAlg, type HashAlg } from '../../measurements/hash.js';
import { toHexStr } from './helpers.js';

const DIR = join(import.meta.dirname, '..', 'fixtures', 'eventlogs');
const VARIANTS = existsSync(DIR)
  ? readdirSync(DIR)
      .filter((f) => f.endsWith('.pcrs.json'))
      .map((f) => f.replace(/\.pcrs\.json$/, ''))
  : [];

interface FixtureRecord {
  readonly secureBoot: boolean;
  readonly eventLog: { readonly file: string; readonly sha256: string };
  readonly pcrs: Partial<Record<string, string[]>>;
}

function load(variant: string): { record: FixtureRecord; bytes: Uint8Array } {
  const record = JSON.parse(readFileSync(join(DIR, `${variant}.pcrs.json`), 'utf8')) as FixtureRecord;
  const bytes = new Uint8Array(readFileSync(join(DIR, record.eventLog.file)));
  return { record, bytes };
}

describe.skipIf(VARIANTS.length === 0)('real OVMF event logs', () => {
  it.each(VARIANTS)('%s: decodes, round-trips and describes every event', (variant) => {
    const { record, bytes } = load(variant);
    expect(createHash('sha256').update(bytes).digest('hex')).toBe(record.eventLog.sha256);
    const log = decodeEventLog(bytes);
    expect(log.warnings).toEqual([]);
    expect(log.specId.algorithms.map((a) => a.alg)).toEqual(['sha1', 'sha256', 'sha384']);
    expect(Buffer.from(encodeEventLog(log)).equals(bytes)).toBe(true);
    for (const ev of log.events) {
      const text = describeEvent(ev, { uintnSize: log.specId.uintnSize });
      expect(text, `event ${ev.index} ${ev.typeName}`).not.toMatch(/undecodable|^\d+ bytes/);
    }
  });

  it.each(VARIANTS)('%s: replays to the PCRs the guest read', (variant) => {
    const { record, bytes } = load(variant);
    const replay = replayEventLog(decodeEventLog(bytes));
    expect(replay.warnings).toEqual([]);
    expect(
      replay.events.filter((e) => e.dataDigestMatches === false).map((e) => `${e.index} ${e.typeName}`),
    ).toEqual([]);
    const quoted: Partial<Record<HashAlg, Map<number, Uint8Array>>> = {};
    for (const [bank, values] of Object.entries(record.pcrs)) {
      if (!isHashAlg(bank) || values === undefined) continue;
      quoted[bank] = new Map(
        values.map((v, i) => [i, new Uint8Array(Buffer.from(v, 'hex'))] as const).filter(([i]) => i !== 10),
      );
    }
    const v = verifyAgainst(replay, quoted);
    expect(
      v.mismatches.map(
        (m) =>
          `${m.alg} PCR ${m.pcr}: quoted ${toHexStr(m.expected)} replayed ${m.got ? toHexStr(m.got) : '-'}`,
      ),
    ).toEqual([]);
    expect(v).toMatchObject({ ok: true, checked: 3 * 23 });
    expect(v.verifiedEvents).toHaveLength(replay.events.length);
  });

  it.skipIf(!VARIANTS.includes('direct'))(
    'direct: PCR 4 and 5 have the §3.2 shape (SB off, stub 252)',
    () => {
      const log = decodeEventLog(load('direct').bytes);
      const types = (pcr: number): string[] =>
        log.events.filter((e) => e.pcr === pcr && e.untrustedType !== EV.NO_ACTION).map((e) => e.typeName);
      expect(types(4)).toEqual([
        'EV_EFI_ACTION',
        'EV_SEPARATOR',
        'EV_EFI_BOOT_SERVICES_APPLICATION',
        'EV_EFI_BOOT_SERVICES_APPLICATION',
      ]);
      expect(types(5)).toEqual(['EV_SEPARATOR', 'EV_EFI_GPT_EVENT', 'EV_EFI_ACTION', 'EV_EFI_ACTION']);
      const pcr4 = log.events.filter((e) => e.pcr === 4);
      expect(toHexStr(pcr4[0]!.claimedDigests.sha256!)).toBe(
        '3d6772b4f84ed47595d72a2c4c5ffd15f5bb72c7507fe26f2aaee2c69d5633ba',
      );
      expect(describeEvent(pcr4[3]!)).toContain('VenMedia(55c5d1f8-04cd-46b5-8a20-e56cbb3052d0)');
    },
  );
});
