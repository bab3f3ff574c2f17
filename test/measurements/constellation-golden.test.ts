// Constellation's golden PCR vectors (image/measured-boot/measure/*_test.go, listed in
// shared/specs/constellation.md §1.9), computed with nodeimg's event builders and PcrBanks.
import { describe, expect, it } from 'vitest';
import { toHex } from '../../image/formats/reader.js';
import {
  application,
  efiAction,
  hashAll,
  ipl,
  separator,
  taggedEvent,
  utf16z,
  ascii,
} from '../../measurements/boot/event.js';
import { INITRD_EVENT_TAG_ID, LOAD_OPTIONS_EVENT_TAG_ID } from '../../measurements/boot/kernel.js';
import { PcrBanks } from '../../measurements/pcr-banks.js';
import type { PredictedEvent } from '../../measurements/boot/event.js';

const B = ['sha256'] as const;
const fill = (v: number) => ({ sha256: new Uint8Array(32).fill(v) });

function pcr(events: PredictedEvent[], index: number): string {
  const banks = new PcrBanks(B);
  for (const e of events) banks.extendDigests(e.pcr, e.digests);
  return toHex(banks.value('sha256', index));
}

describe("Constellation's golden vectors", () => {
  it('pcr_test.go: separator, then EFI action', () => {
    expect(pcr([separator(B, 4)], 4)).toBe(
      '3d458cfe55cc03ea1f443f1562beec8df51c75e14a9fcf9a7234a13f198e7969',
    );
    expect(pcr([separator(B, 4), efiAction(B, 4, 'Calling EFI Application from Boot Option')], 4)).toBe(
      'dd50c8da0f899f655b4305d2438663c1b3da6d1922a0c8226533ac417abcd523',
    );
  });

  it('pcr04_test.go: action, separator, two boot stages', () => {
    const events = [
      efiAction(B, 4, 'Calling EFI Application from Boot Option'),
      separator(B, 4),
      application(fill(0), 'stage 1'),
      application(fill(1), 'stage 2'),
    ];
    expect(pcr(events, 4)).toBe('22116dee861aa6b44242ac469eab24cead344d52c77131f54ac1cac9d6a2408e');
  });

  it('pcr09_test.go: command line as UTF-16LE with NUL, then the initrd digest', () => {
    const events = [
      taggedEvent(
        9,
        LOAD_OPTIONS_EVENT_TAG_ID,
        ascii('LOADED_IMAGE::LoadOptions\0'),
        hashAll(B, utf16z('console=tty0')),
        'cmdline',
      ),
      taggedEvent(9, INITRD_EVENT_TAG_ID, ascii('Linux initrd\0'), fill(0), 'initrd'),
    ];
    expect(pcr(events, 9)).toBe('eb4f7bca865807d3163b95174d6e66cfc74acf8b930a553e95ec94662cb6facd');
  });

  it('pcr11_test.go: .linux and .initrd name and content events', () => {
    const name = (n: string) => hashAll(B, ascii(`${n}\0`));
    expect(toHex(name('.linux').sha256 as Uint8Array)).toBe(
      '0da293e37ad5511c59be47993769aacb91b243f7d010288e118dc90e95aaef5a',
    );
    expect(toHex(name('.initrd').sha256 as Uint8Array)).toBe(
      '15ee37e75f1e8d42080e91fdbbd2560780918c81fe3687ae6d15c472bbdaac75',
    );
    const events = [
      ipl(11, name('.linux'), '.linux', ''),
      ipl(11, fill(0), '.linux', ''),
      ipl(11, name('.initrd'), '.initrd', ''),
      ipl(11, fill(1), '.initrd', ''),
    ];
    expect(pcr(events, 11)).toBe('9dfe399fcd4432639f0e20f49df823aa66b095f0664f0a4b9fbdc11ea64683e2');
  });
});
