import { describe, expect, it } from 'vitest';
import { NodeimgError } from '../../image/formats/errors.js';
import { digest } from '../../measurements/hash.js';
import { PcrBanks } from '../../measurements/pcr-banks.js';
import { extend, extendData, initialRegister } from '../../measurements/register.js';
import { RtmrBank, ccMrIndexForPcr, initialRtmr, rtmrIndexForMrIndex } from '../../measurements/rtmr.js';
import { h, hex, toHexStr } from './helpers.js';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);

// measured-boot.md §2.2 / §3.4 (pcrlock files, Constellation constants).
const SEPARATOR_0_SHA256 = 'df3f619804a92fdb4057192dc43dd748ea778adc52bc498ce80524c014b81119';
const SEPARATOR_0_SHA384 =
  '394341b7182cd227c5c6b07ef8000cdfd86136c4292b8e576573ad7ed9ae41019f5818b4b971c9effc60e1ad9f1289f0';
const SEPARATOR_FF_SHA256 = 'ad95131bc0b799c0b1af477fb14fcf26a6a9f76079e48bf090acb7e8367bfd0e';
const CALLING_EFI_APP_SHA256 = '3d6772b4f84ed47595d72a2c4c5ffd15f5bb72c7507fe26f2aaee2c69d5633ba';
const CALLING_EFI_APP_SHA384 =
  '77a0dab2312b4e1e57a84d865a21e5b2ee8d677a21012ada819d0a98988078d3d740f6346bfe0abaa938ca20439a8d71';
const EBS_INVOCATION_SHA256 = 'd8043d6b7b85ad358eb3b6ae6a873ab7ef23a26352c5dc4faa5aeedacf5eb41b';
const EBS_SUCCESS_SHA256 = 'b54f7542cbd872a81a9d9dea839b2b8d747c7ebd5ea6615c40f42f44a6dbeba0';
// measured-boot.md §4.3 end-to-end vector, cross-checked with systemd-measure 252: PCR 11 after
// the .linux section "abc" (extend H(".linux\0"), then H("abc")), then the phase word "enter-initrd".
const PCR11_LINUX_ABC_SHA256 = 'add59ff908ec30e42b7f32f055c9e9831e369067aba40e64693631392fe0166b';
const PCR11_LINUX_ABC_SHA384 =
  '7f31baea09dbe26397d8bbb70ee84426b23cd5b6b2eda49f8036f6f97c845ca546acf782d973ecb73857a04c368a72bc';
const PCR11_ENTER_INITRD_SHA256 = 'd8546e744f457ca415705e2cb22d2fdef6dce3387a6437e5cd7f0088a8e931ee';
const PCR11_ENTER_INITRD_SHA384 =
  '1a7126ab438a1ab06601a278d3bcd067abc6f5a9e8f6105e85f589f33e1ee1c9a84890fb1136563dbe30dbc49bb21389';

describe('initialRegister', () => {
  it('resets PCR 0-16 and 23 to zero and 17-22 to ones', () => {
    for (let i = 0; i < 24; i++) {
      const v = initialRegister('sha256', i).value;
      expect(v.length).toBe(32);
      expect(v.every((b) => b === (i >= 17 && i <= 22 ? 0xff : 0))).toBe(true);
    }
    expect(initialRegister('sha384', 17).value).toEqual(new Uint8Array(48).fill(0xff));
  });
  it('seeds PCR 0 with the startup locality', () => {
    expect(toHexStr(initialRegister('sha256', 0, 3).value)).toBe(`${'00'.repeat(31)}03`);
    expect(toHexStr(initialRegister('sha1', 0, 4).value)).toBe(`${'00'.repeat(19)}04`);
  });
  it('rejects bad indexes and localities', () => {
    expect(() => initialRegister('sha256', 24)).toThrow(NodeimgError);
    expect(() => initialRegister('sha256', -1)).toThrow(/out of range/);
    expect(() => initialRegister('sha256', 5, 3)).toThrow(/only applies to PCR 0/);
  });
});

describe('extend', () => {
  it('matches the spec separator constants and an independent node:crypto extend', () => {
    const sep = digest('sha256', hex`00000000`);
    expect(toHexStr(sep)).toBe(SEPARATOR_0_SHA256);
    expect(toHexStr(digest('sha384', hex`00000000`))).toBe(SEPARATOR_0_SHA384);
    expect(toHexStr(digest('sha256', hex`ffffffff`))).toBe(SEPARATOR_FF_SHA256);
    const after = extend(initialRegister('sha256', 7), sep);
    expect(after).toEqual({
      index: 7,
      alg: 'sha256',
      value: h('sha256', new Uint8Array(32), hex(SEPARATOR_0_SHA256)),
    });
    // literal: sha256(32 zero bytes || df3f6198...)
    expect(toHexStr(after.value)).toBe(toHexStr(h('sha256', hex(`${'00'.repeat(32)}${SEPARATOR_0_SHA256}`))));
  });
  it('matches the EV_EFI_ACTION vectors (§3.4)', () => {
    expect(toHexStr(digest('sha256', enc('Calling EFI Application from Boot Option')))).toBe(
      CALLING_EFI_APP_SHA256,
    );
    expect(toHexStr(digest('sha384', enc('Calling EFI Application from Boot Option')))).toBe(
      CALLING_EFI_APP_SHA384,
    );
    expect(toHexStr(digest('sha256', enc('Exit Boot Services Invocation')))).toBe(EBS_INVOCATION_SHA256);
    expect(toHexStr(digest('sha256', enc('Exit Boot Services Returned with Success')))).toBe(
      EBS_SUCCESS_SHA256,
    );
  });
  it('is immutable and chains', () => {
    const r0 = initialRegister('sha1', 4);
    const r1 = extendData(r0, enc('a'));
    const r2 = extendData(r1, enc('b'));
    expect(r0.value.every((b) => b === 0)).toBe(true);
    expect(r2.value).toEqual(h('sha1', h('sha1', new Uint8Array(20), h('sha1', 'a')), h('sha1', 'b')));
  });
  it('rejects a digest of the wrong length', () => {
    expect(() => extend(initialRegister('sha256', 0), new Uint8Array(48))).toThrow(
      /48-byte digest \(need 32\)/,
    );
    expect(() => extend(initialRegister('sha384', 0), new Uint8Array(32))).toThrow(NodeimgError);
  });
});

describe('PcrBanks', () => {
  it('reproduces the systemd-measure PCR 11 vector in both banks', () => {
    const banks = new PcrBanks(['sha384', 'sha256']);
    expect(banks.banks).toEqual(['sha256', 'sha384']);
    banks.extendData(11, enc('.linux\0'));
    const d = banks.extendData(11, enc('abc'));
    expect(d.sha256).toEqual(h('sha256', 'abc'));
    expect(toHexStr(banks.value('sha256', 11))).toBe(PCR11_LINUX_ABC_SHA256);
    expect(toHexStr(banks.value('sha384', 11))).toBe(PCR11_LINUX_ABC_SHA384);
    banks.extendData(11, enc('enter-initrd'));
    expect(toHexStr(banks.value('sha256', 11))).toBe(PCR11_ENTER_INITRD_SHA256);
    expect(toHexStr(banks.value('sha384', 11))).toBe(PCR11_ENTER_INITRD_SHA384);
  });
  it('extends by digests, requires every bank, and reports values sorted', () => {
    const banks = new PcrBanks(['sha1', 'sha256', 'sha384', 'sha512']);
    expect(() => banks.extendDigests(4, { sha256: new Uint8Array(32) })).toThrow(/no sha1 digest/);
    expect(banks.isExtended(4)).toBe(false);
    const data = enc('x');
    banks.extendData(4, data);
    for (const alg of ['sha1', 'sha256', 'sha384', 'sha512'] as const) {
      const size = h(alg, '').length;
      expect(banks.value(alg, 4)).toEqual(h(alg, new Uint8Array(size), h(alg, data)));
    }
    const values = banks.values();
    expect([...(values.sha512?.keys() ?? [])]).toEqual(Array.from({ length: 24 }, (_, i) => i));
    expect(values.sha1?.get(17)).toEqual(new Uint8Array(20).fill(0xff));
  });
  it('handles startup locality and clones independently', () => {
    const banks = new PcrBanks(['sha256'], 3);
    expect(toHexStr(banks.value('sha256', 0))).toBe(`${'00'.repeat(31)}03`);
    const copy = banks.clone();
    banks.extendData(0, enc('x'));
    expect(() => banks.setStartupLocality(0)).toThrow(/already extended/);
    copy.setStartupLocality(0);
    expect(copy.value('sha256', 0)).toEqual(new Uint8Array(32));
    expect(banks.value('sha256', 0)).toEqual(h('sha256', hex(`${'00'.repeat(31)}03`), h('sha256', 'x')));
  });
  it('rejects empty, duplicate and inactive banks', () => {
    expect(() => new PcrBanks([])).toThrow(NodeimgError);
    expect(() => new PcrBanks(['sha256', 'sha256'])).toThrow(/duplicate/);
    expect(() => new PcrBanks(['sha256']).get('sha384', 0)).toThrow(/not active/);
  });
});

describe('RTMR', () => {
  it('starts at zero and extends with sha384', () => {
    expect(initialRtmr(3).value).toEqual(new Uint8Array(48));
    expect(() => initialRtmr(4)).toThrow(NodeimgError);
    const rtmr = new RtmrBank();
    const d = rtmr.extendData(1, hex`00000000`);
    expect(toHexStr(d)).toBe(SEPARATOR_0_SHA384);
    expect(rtmr.get(1).value).toEqual(h('sha384', new Uint8Array(48), d));
    expect(rtmr.values()[0]).toEqual(new Uint8Array(48));
    expect(() => rtmr.extendDigest(2, new Uint8Array(32))).toThrow(/need 48/);
  });
  it('maps PCRs to CC MR indexes and RTMRs (measured-boot.md §9.1)', () => {
    expect([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 11, 12, 15, 16].map(ccMrIndexForPcr)).toEqual([
      0,
      1,
      2,
      2,
      2,
      2,
      2,
      1,
      3,
      3,
      3,
      3,
      3,
      undefined,
    ]);
    expect([0, 1, 2, 3, 4, 5].map(rtmrIndexForMrIndex)).toEqual([undefined, 0, 1, 2, 3, undefined]);
  });
});
