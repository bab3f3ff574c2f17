import { describe, expect, it } from 'vitest';
import { ParseError } from '../../image/formats/errors.js';
import { decodeEventLog } from '../../measurements/eventlog/decode.js';
import { describeEvent } from '../../measurements/eventlog/describe.js';
import { encodeEventLog } from '../../measurements/eventlog/encode.js';
import { replayEventLog } from '../../measurements/eventlog/replay.js';
import { EV } from '../../measurements/eventlog/types.js';
import { atOffset, h, hex, toHexStr } from './helpers.js';

/*
 * typedef struct { UINT32 PCRIndex; UINT32 EventType; UINT8 Digest[20]; UINT32 EventSize; UINT8 Event[]; } TCG_PCR_EVENT;
 * typedef struct { UINT8 signature[16]; UINT32 platformClass; UINT8 specVersionMinor, specVersionMajor, specErrata,
 *                  uintnSize; UINT32 numberOfAlgorithms; {UINT16 algorithmId; UINT16 digestSize}[n];
 *                  UINT8 vendorInfoSize; UINT8 vendorInfo[]; } TCG_EfiSpecIDEventStruct;
 * typedef struct { UINT32 PCRIndex; UINT32 EventType; TPML_DIGEST_VALUES Digests; UINT32 EventSize; UINT8 Event[]; } TCG_PCR_EVENT2;
 */
const SPEC_ID_RECORD = `
  00000000                                  # 0x00 PCRIndex 0
  03000000                                  # 0x04 EventType EV_NO_ACTION
  {20 x 00}                                 # 0x08 SHA-1 digest, zero
  25000000                                  # 0x1c EventSize 37
  5370656320494420457665 6e74303300         # 0x20 "Spec ID Event03\\0"
  00000000                                  # 0x30 platformClass 0 (client)
  00 02 00 02                               # 0x34 specVersionMinor 0, Major 2, errata 0, uintnSize 2 (UINT64)
  02000000                                  # 0x38 numberOfAlgorithms 2
  0b00 2000                                 # 0x3c sha256, 32 bytes
  0c00 3000                                 # 0x40 sha384, 48 bytes
  00                                        # 0x44 vendorInfoSize 0
`;
const LOG = hex(`${SPEC_ID_RECORD}
  # event 1 @0x45: StartupLocality (H-CRTM/TXT style), never extended
  00000000                                  # PCRIndex 0
  03000000                                  # EV_NO_ACTION
  02000000                                  # digest count 2
  0b00 {32 x 00}                            # sha256 zero
  0c00 {48 x 00}                            # sha384 zero
  11000000                                  # EventSize 17
  537461727475704c6f63616c69747900 03       # "StartupLocality\\0", locality 3
  # event 2 @0xba: separator into PCR 7
  07000000                                  # PCRIndex 7
  04000000                                  # EV_SEPARATOR
  02000000                                  # digest count 2
  0b00 df3f619804a92fdb4057192dc43dd748ea778adc52bc498ce80524c014b81119
  0c00 394341b7182cd227c5c6b07ef8000cdfd86136c4292b8e576573ad7ed9ae41019f5818b4b971c9effc60e1ad9f1289f0
  04000000                                  # EventSize 4
  00000000                                  # separator value 0
  # event 3 @0x122: EV_EFI_ACTION into PCR 4, digests in sha384-then-sha256 order
  04000000                                  # PCRIndex 4
  07000080                                  # EV_EFI_ACTION 0x80000007
  02000000                                  # digest count 2
  0c00 77a0dab2312b4e1e57a84d865a21e5b2ee8d677a21012ada819d0a98988078d3d740f6346bfe0abaa938ca20439a8d71
  0b00 3d6772b4f84ed47595d72a2c4c5ffd15f5bb72c7507fe26f2aaee2c69d5633ba
  28000000                                  # EventSize 40
  43616c6c696e6720454649204170706c69636174696f6e2066726f6d20426f6f74204f7074696f6e  # "Calling EFI Application from Boot Option"
  # event 4 @0x1ae: kernel LoadOptions tag into PCR 9; digest = H(UTF-16 "console=ttyS0\\0"), not of the data
  09000000                                  # PCRIndex 9
  06000000                                  # EV_EVENT_TAG
  02000000                                  # digest count 2
  0b00 884260a63f4a899f7d02781f726818e187e6e9554e4c418f08e38cc37fea763e
  0c00 0c55ff8ce3ea9389db345e81fd8f0ef3cd0737c952cfc38197b2c6ac6af0fba4b56f7e027577357654dd00e43a82be63
  22000000                                  # EventSize 34
  ed223b8f                                  # taggedEventID 0x8f3b22ed
  1a000000                                  # taggedEventDataSize 26
  4c4f414445445f494d4147453a3a4c6f61644f7074696f6e7300  # "LOADED_IMAGE::LoadOptions\\0"
  # @0x234: 0xFF fill of a fixed-size log area
  {16 x ff}
`);

describe.each([0, 7])('decodeEventLog (byteOffset %i)', (pad) => {
  const bytes = atOffset(LOG, pad);
  const log = decodeEventLog(bytes);

  it('decodes the Spec ID header', () => {
    expect(log.headerPcr).toBe(0);
    expect(log.specId).toEqual({
      platformClass: 0,
      specVersion: { major: 2, minor: 0 },
      errata: 0,
      uintnSize: 2,
      algorithms: [
        { alg: 'sha256', algId: 0x0b, digestSize: 32 },
        { alg: 'sha384', algId: 0x0c, digestSize: 48 },
      ],
      vendorInfo: new Uint8Array(0),
    });
  });

  it('decodes every event field by field', () => {
    const [e1, e2, e3, e4] = log.events;
    expect(log.events).toHaveLength(4);
    expect(e1).toMatchObject({
      index: 1,
      offset: 0x45,
      pcr: 0,
      untrustedType: EV.NO_ACTION,
      typeName: 'EV_NO_ACTION',
    });
    expect(e1?.claimedDigests.sha256).toEqual(new Uint8Array(32));
    expect(describeEvent(e1!)).toBe('StartupLocality 3');
    expect(e2).toMatchObject({
      index: 2,
      offset: 0xba,
      pcr: 7,
      untrustedType: EV.SEPARATOR,
      typeName: 'EV_SEPARATOR',
    });
    expect(e2?.data).toEqual(hex`00000000`);
    expect(toHexStr(e2!.claimedDigests.sha256!)).toBe(
      'df3f619804a92fdb4057192dc43dd748ea778adc52bc498ce80524c014b81119',
    );
    expect(e3).toMatchObject({
      index: 3,
      offset: 0x122,
      pcr: 4,
      untrustedType: 0x80000007,
      typeName: 'EV_EFI_ACTION',
    });
    expect(Object.keys(e3!.claimedDigests)).toEqual(['sha384', 'sha256']); // record order kept
    expect(describeEvent(e3!)).toBe('"Calling EFI Application from Boot Option"');
    expect(e4).toMatchObject({ index: 4, offset: 0x1ae, pcr: 9, typeName: 'EV_EVENT_TAG' });
    expect(describeEvent(e4!)).toBe(
      'tag 0x8f3b22ed LOAD_OPTIONS_EVENT_TAG_ID (kernel cmdline): "LOADED_IMAGE::LoadOptions"',
    );
  });

  it('stops at the 0xFF padding with a warning', () => {
    expect(log.size).toBe(0x234);
    expect(log.trailing).toEqual({ offset: 0x234, bytes: new Uint8Array(16).fill(0xff) });
    expect(log.warnings).toEqual([
      { id: 'TRAILING_PADDING', offset: 0x234, message: '16 bytes of 0xff padding after the last event' },
    ]);
  });

  it('re-encodes byte for byte', () => {
    expect(encodeEventLog(log)).toEqual(LOG);
  });

  it('replays with the StartupLocality seed and no extend for EV_NO_ACTION', () => {
    const r = replayEventLog(log);
    expect(r.startupLocality).toBe(3);
    expect(r.extendedPcrs).toEqual([4, 7, 9]);
    expect(toHexStr(r.pcrs.sha256!.get(0)!)).toBe(`${'00'.repeat(31)}03`);
    expect(r.pcrs.sha384!.get(7)).toEqual(h('sha384', new Uint8Array(48), h('sha384', hex`00000000`)));
    expect(r.pcrs.sha256!.get(9)).toEqual(
      h('sha256', new Uint8Array(32), h('sha256', Buffer.from('console=ttyS0\0', 'utf16le'))),
    );
    expect(r.events.map((e) => [e.index, e.dataDigestMatches])).toEqual([
      [2, true],
      [3, true],
      [4, undefined], // EV_EVENT_TAG digest is of the measured buffer, not checked
    ]);
  });
});

/** Runs decode and returns the ParseError it must throw. */
function parseError(bytes: Uint8Array): ParseError {
  try {
    decodeEventLog(bytes);
  } catch (e) {
    if (e instanceof ParseError) return e;
    throw e;
  }
  throw new Error('decode did not throw');
}

const EVENT_PREFIX = `
  04000000                                  # PCRIndex 4
  07000080                                  # EV_EFI_ACTION
`;

describe('decodeEventLog rejects hostile logs', () => {
  it('an event size of 3.18 GB (go-eventlog eventlog_test.go)', () => {
    const e = parseError(
      hex(`${SPEC_ID_RECORD}${EVENT_PREFIX}
      01000000 0b00 {32 x 00}                 # 1 digest
      ffffbbbd                                # @0x73 EventSize 0xbdbbffff
      00`),
    );
    expect(e).toMatchObject({ code: 'PARSE_LIMIT', offset: 0x73, structure: 'TCG_PCR_EVENT2 #1' });
  });
  it('an event size beyond the end of the log', () => {
    const e = parseError(
      hex(`${SPEC_ID_RECORD}${EVENT_PREFIX}
      01000000 0b00 {32 x 00}
      00010000                                # @0x73 EventSize 256, data would start @0x77
      00 00`),
    );
    expect(e).toMatchObject({ code: 'PARSE_TRUNCATED', offset: 0x77 });
    expect(e.message).toContain('need 256 bytes');
  });
  it('a digest count larger than the declared banks', () => {
    const e = parseError(
      hex(`${SPEC_ID_RECORD}${EVENT_PREFIX}
      ffffff7f                                # @0x4d digest count 2^31-1
      0b00`),
    );
    expect(e).toMatchObject({ code: 'PARSE_INVALID', offset: 0x4d });
    expect(e.message).toContain('exceeds the 2 algorithms');
  });
  it('a digest of an algorithm the Spec ID event does not declare', () => {
    const e = parseError(
      hex(`${SPEC_ID_RECORD}${EVENT_PREFIX}
      01000000
      0400 {20 x 00}                          # @0x51 sha1: not declared, its size is unknown to the log
      00000000`),
    );
    expect(e).toMatchObject({ code: 'PARSE_INVALID', offset: 0x51 });
    expect(e.message).toContain('0x0004 is not declared');
  });
  it('two digests of one bank', () => {
    const e = parseError(
      hex(`${SPEC_ID_RECORD}${EVENT_PREFIX}
      02000000 0b00 {32 x 00} 0b00 {32 x 00}  # sha256 twice
      00000000`),
    );
    expect(e).toMatchObject({ code: 'PARSE_INVALID', offset: 0x73 });
  });
  it('a record cut inside a digest', () => {
    const e = parseError(hex(`${SPEC_ID_RECORD}${EVENT_PREFIX} 01000000 0b00 {10 x 11}`));
    expect(e).toMatchObject({ code: 'PARSE_TRUNCATED', offset: 0x53 });
  });
  it('a SHA-1 TCG 1.2 log (first event EV_S_CRTM_VERSION)', () => {
    const e = parseError(
      hex(`
      00000000 08000000                       # PCR 0, EV_S_CRTM_VERSION
      {20 x 42}                               # SHA-1 digest
      02000000 0000`),
    );
    expect(e).toMatchObject({ code: 'PARSE_UNSUPPORTED', offset: 4 });
    expect(e.message).toContain('SHA-1-only TCG 1.2 log');
  });
  it('a "Spec ID Event02" header', () => {
    const e = parseError(
      hex(`00000000 03000000 {20 x 00} 18000000
      5370656320494420457665 6e74303200       # "Spec ID Event02\\0"
      00000000 02 01 02 01`),
    );
    expect(e).toMatchObject({ code: 'PARSE_UNSUPPORTED', offset: 0x20 });
  });
  it('an SM3_256 bank', () => {
    const e = parseError(
      hex(`00000000 03000000 {20 x 00} 21000000
      5370656320494420457665 6e74303300 00000000 00020002
      01000000 1200 2000                      # @0x3c SM3_256, 32 bytes
      00`),
    );
    expect(e).toMatchObject({ code: 'PARSE_UNSUPPORTED', offset: 0x3c });
  });
  it('a Spec ID digest size that does not match the algorithm', () => {
    const e = parseError(
      hex(`00000000 03000000 {20 x 00} 21000000
      5370656320494420457665 6e74303300 00000000 00020002
      01000000 0b00 3000                      # sha256 with 48 bytes
      00`),
    );
    expect(e).toMatchObject({ code: 'PARSE_INVALID', offset: 0x3e });
  });
  it('vendor info that does not end the Spec ID event', () => {
    const e = parseError(
      hex(`00000000 03000000 {20 x 00} 23000000
      5370656320494420457665 6e74303300 00000000 00020002
      01000000 0b00 2000
      01 aa bb                                # vendorInfoSize 1, then a stray byte`),
    );
    expect(e).toMatchObject({ code: 'PARSE_INVALID', offset: 0x42 });
  });
  it('zero algorithms, too many algorithms, a non-zero header digest, empty and all-zero input', () => {
    expect(
      parseError(
        hex(
          `00000000 03000000 {20 x 00} 1d000000 5370656320494420457665 6e74303300 00000000 00020002 00000000 00`,
        ),
      ).code,
    ).toBe('PARSE_INVALID');
    expect(
      parseError(
        hex(
          `00000000 03000000 {20 x 00} 1d000000 5370656320494420457665 6e74303300 00000000 00020002 11000000 00`,
        ),
      ).code,
    ).toBe('PARSE_LIMIT');
    expect(parseError(hex(`${SPEC_ID_RECORD}`.replace('{20 x 00}', '01 {19 x 00}'))).offset).toBe(8);
    expect(parseError(new Uint8Array(0)).code).toBe('PARSE_TRUNCATED');
    expect(parseError(new Uint8Array(4096)).message).toContain('starts with padding');
  });
  it('more events than the cap', () => {
    const one = `${EVENT_PREFIX} 01000000 0b00 {32 x 00} 00000000`;
    const bytes = hex(`${SPEC_ID_RECORD}${one}${one}${one}`);
    expect(decodeEventLog(bytes).events).toHaveLength(3);
    expect(() => decodeEventLog(bytes, { maxEvents: 2 })).toThrow(
      expect.objectContaining({ code: 'PARSE_LIMIT' }) as Error,
    );
  });
  it('tolerates zero padding and flags non-uniform trailing bytes', () => {
    const zero = decodeEventLog(hex(`${SPEC_ID_RECORD} {7 x 00}`));
    expect(zero.events).toHaveLength(0);
    expect(zero.warnings[0]?.id).toBe('TRAILING_PADDING');
    const mixed = decodeEventLog(hex(`${SPEC_ID_RECORD} {12 x 00} 41`));
    expect(mixed.warnings[0]?.id).toBe('TRAILING_GARBAGE');
    expect(encodeEventLog(mixed)).toEqual(hex(`${SPEC_ID_RECORD} {12 x 00} 41`));
    // 5 non-padding bytes cannot be a record
    expect(parseError(hex(`${SPEC_ID_RECORD} 0400000007`)).code).toBe('PARSE_TRUNCATED');
  });
});
