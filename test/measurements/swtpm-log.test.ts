// The swtpm command-log codec on real logs (test/fixtures/swtpm) and on hostile input.
import { describe, expect, it } from 'vitest';
import { NodeimgError } from '../../image/formats/errors.js';
import {
  MAX_SWTPM_LINE,
  MAX_SWTPM_LOG_BYTES,
  MAX_SWTPM_RECORD_BYTES,
  SwtpmLogError,
  parseSwtpmLog,
  type SwtpmLog,
} from '../../measurements/tpm/swtpm-log.js';
import { wireHeader } from '../../measurements/tpm/tpm2-wire.js';
import { replayTpmLog } from '../../measurements/tpm/replay.js';
import { prngFn } from '../helpers/prng.js';
import { ctrl, fixtureText, logText, powerOn, tpmCmd, tpmRsp } from '../helpers/swtpm-log.js';

const HEAD = fixtureText('direct-boot-head.log');
const FULL = fixtureText('direct-boot.log.gz');
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

function error(fn: () => unknown): SwtpmLogError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(SwtpmLogError);
    return err as SwtpmLogError;
  }
  throw new Error('no error thrown');
}

describe('parseSwtpmLog on real swtpm 0.7.1 logs', () => {
  it('reads the head of a boot: control set-up, the TPM 1.2 probe, TPM2_Startup, the first extends', () => {
    const log = parseSwtpmLog(HEAD);
    expect(log.lines).toBe(149);
    expect(log.pending).toBe(false);
    expect(log.consumed).toBe(HEAD.length);
    expect(log.noteCount).toBe(0);
    // the first records: CMD_SET_DATAFD, then QEMU's TPM2_ReadClock probe, refused before CMD_INIT
    expect(log.records.slice(0, 4).map((r) => [r.kind, r.line, hex(r.bytes)])).toEqual([
      ['ctrl-cmd', 1, '00000010'],
      ['ctrl-rsp', 3, '00000000'],
      ['tpm-cmd', 5, '80010000000a00000181'],
      ['tpm-rsp', 7, '80010000000a00000101'],
    ]);
    const startup = log.records.find((r) => r.kind === 'tpm-cmd' && wireHeader(r.bytes)?.code === 0x144);
    expect(startup?.line).toBe(45);
    expect(hex(startup?.bytes ?? new Uint8Array())).toBe('80010000000c000001440000');
    const extendsSeen = log.records.filter(
      (r) => r.kind === 'tpm-cmd' && wireHeader(r.bytes)?.code === 0x182,
    );
    expect(extendsSeen.map((r) => [r.line, r.bytes.length])).toEqual([
      [88, 203],
      [133, 203],
    ]);
    // the byte offset of a record is where its header line starts
    const r = log.records[4];
    expect(HEAD.slice(r?.offset ?? 0).startsWith(' Ctrl Cmd: length 4\n 00 00 00 01')).toBe(true);
  });

  it('reads a whole boot: every TPM record is one complete TPM 2.0 command or response (or the TPM 1.2 probe)', () => {
    const log = parseSwtpmLog(FULL);
    expect(log.lines).toBe(2566);
    expect(log.notes).toEqual([{ line: 2558, text: 'Data client disconnected' }]);
    const tpm = log.records.filter((r) => r.kind === 'tpm-cmd' || r.kind === 'tpm-rsp');
    expect(tpm.length).toBe(2 * 255);
    for (const r of tpm) {
      const h = wireHeader(r.bytes);
      if (h === undefined)
        expect(r.bytes[0]).toBe(0x00); // the TPM 1.2 probe (tag 0x00C1/0x00C4)
      else expect({ line: r.line, size: h.size }).toEqual({ line: r.line, size: r.bytes.length });
    }
  });

  it('follows a growing log: any prefix parses in partial mode to a prefix of the records, and resumes at `consumed`', () => {
    const full = parseSwtpmLog(HEAD);
    const rng = prngFn(7);
    for (let i = 0; i < 300; i++) {
      const cut = Math.floor(rng() * HEAD.length);
      const part = parseSwtpmLog(HEAD.slice(0, cut), { partial: true });
      expect(part.records.length).toBeLessThanOrEqual(full.records.length);
      part.records.forEach((r, k) =>
        expect(hex(r.bytes)).toBe(hex(full.records[k]?.bytes ?? new Uint8Array())),
      );
      expect(part.consumed).toBeLessThanOrEqual(cut);
      // what is consumed parses strictly to the same records
      expect(parseSwtpmLog(HEAD.slice(0, part.consumed)).records.length).toBe(part.records.length);
      if (cut < HEAD.length && part.records.length < full.records.length)
        expect(part.pending || part.consumed === cut).toBe(true);
    }
  });

  it('continues a log chunk by chunk (startLine/startOffset) to exactly the records, lines and offsets of one parse', () => {
    const whole = parseSwtpmLog(FULL);
    const rng = prngFn(99);
    for (let round = 0; round < 5; round++) {
      const records: (typeof whole.records)[number][] = [];
      let tail = '';
      let offset = 0;
      let lines = 0;
      for (let at = 0; at < FULL.length;) {
        const next = Math.min(FULL.length, at + 1 + Math.floor(rng() * 3000));
        const buf = tail + FULL.slice(at, next);
        at = next;
        const part = parseSwtpmLog(buf, { partial: true, startLine: lines, startOffset: offset });
        records.push(...part.records);
        tail = buf.slice(part.consumed - offset);
        offset = part.consumed;
        lines = part.consumedLines;
      }
      expect(tail).toBe('');
      expect(lines).toBe(whole.lines);
      expect(records.map((r) => [r.kind, r.line, r.offset, hex(r.bytes)])).toEqual(
        whole.records.map((r) => [r.kind, r.line, r.offset, hex(r.bytes)]),
      );
    }
    // errors of a continuation name the line and byte of the whole log
    const e = error(() => parseSwtpmLog(' 00 \n', { startLine: 41, startOffset: 1000 }));
    expect([e.line, e.offset]).toEqual([42, 1000]);
  });

  it('accepts CRLF line ends, bytes as well as text, and an empty log', () => {
    const crlf = parseSwtpmLog(HEAD.replace(/\n/g, '\r\n'));
    expect(crlf.records.map((r) => hex(r.bytes))).toEqual(
      parseSwtpmLog(HEAD).records.map((r) => hex(r.bytes)),
    );
    expect(parseSwtpmLog(new Uint8Array(Buffer.from(HEAD, 'latin1'))).records.length).toBe(
      parseSwtpmLog(HEAD).records.length,
    );
    const empty: SwtpmLog = parseSwtpmLog('');
    expect(empty).toEqual({
      records: [],
      notes: [],
      noteCount: 0,
      lines: 0,
      consumedLines: 0,
      consumed: 0,
      pending: false,
    });
  });

  it('writes what it reads: the test helper formats records exactly as swtpm does', () => {
    const log = parseSwtpmLog(HEAD);
    const again = logText(log.records.map((r) => ({ kind: r.kind, bytes: r.bytes })));
    expect(again).toBe(HEAD);
  });
});

describe('parseSwtpmLog on hostile input', () => {
  const base = logText([
    ...powerOn(),
    tpmCmd.extend(4, [['sha256', new Uint8Array(32).fill(1)]]),
    tpmRsp.okSession(),
  ]);
  const lines = base.split('\n');

  it('hex bytes without a header: PARSE_INVALID naming the line', () => {
    const e = error(() => parseSwtpmLog(` 00 01 02 \n${base}`));
    expect(e.code).toBe('PARSE_INVALID');
    expect(e.line).toBe(1);
    expect(e.message).toMatch(/swtpm log line 1 at byte 0 .*outside a record/);
  });

  it('a record cut short by the next header or a note: PARSE_TRUNCATED naming the line and the record', () => {
    const cut = [...lines.slice(0, 1), ...lines.slice(2)].join('\n'); // drop the hex of the first record
    const e = error(() => parseSwtpmLog(cut));
    expect(e.code).toBe('PARSE_TRUNCATED');
    expect(e.line).toBe(2);
    expect(e.message).toMatch(/record of line 1 has 0 of its 8 bytes/);
    const noted = [lines[0], 'Data client disconnected', ...lines.slice(1)].join('\n');
    expect(error(() => parseSwtpmLog(noted)).line).toBe(2);
  });

  it('more bytes than announced, or more than 16 on a line: PARSE_INVALID', () => {
    const more = [lines[0], `${lines[1]}00 `, ...lines.slice(2)].join('\n');
    expect(error(() => parseSwtpmLog(more)).code).toBe('PARSE_INVALID');
    const extra = [lines[0], lines[1], ' 00 ', ...lines.slice(2)].join('\n');
    const e = error(() => parseSwtpmLog(extra));
    expect([e.code, e.line]).toEqual(['PARSE_INVALID', 3]);
    const wide = ` SWTPM_IO_Read: length 17\n${' 00'.repeat(17)} \n`;
    expect(error(() => parseSwtpmLog(wide)).message).toMatch(/17 bytes on one line/);
  });

  it('the log ends inside a record: PARSE_TRUNCATED, or left out (pending) in partial mode', () => {
    const cut = lines.slice(0, -2).join('\n') + '\n';
    const e = error(() => parseSwtpmLog(cut));
    expect(e.code).toBe('PARSE_TRUNCATED');
    const p = parseSwtpmLog(cut, { partial: true });
    expect(p.pending).toBe(true);
    expect(p.records.at(-1)?.kind).toBe('tpm-cmd');
  });

  it('caps: a long line, a huge record, a huge log (PARSE_LIMIT)', () => {
    expect(error(() => parseSwtpmLog(`x${'y'.repeat(MAX_SWTPM_LINE)}\n`)).code).toBe('PARSE_LIMIT');
    const big = error(() => parseSwtpmLog(` SWTPM_IO_Read: length ${MAX_SWTPM_RECORD_BYTES + 1}\n`));
    expect([big.code, big.line]).toEqual(['PARSE_LIMIT', 1]);
    expect(error(() => parseSwtpmLog(` SWTPM_IO_Read: length 9999999999\n`)).code).toBe('PARSE_LIMIT');
    expect(parseSwtpmLog(` SWTPM_IO_Read: length 99999999999\n`).noteCount).toBe(1); // not a header: a note
    const huge = new Uint8Array(MAX_SWTPM_LOG_BYTES + 1);
    expect(error(() => parseSwtpmLog(huge)).code).toBe('PARSE_LIMIT');
  });

  it('notes are kept (the first 100) and counted', () => {
    const many = Array.from({ length: 150 }, (_, i) => `note ${i}`).join('\n');
    const log = parseSwtpmLog(`${many}\n${base}`);
    expect(log.noteCount).toBe(150);
    expect(log.notes.length).toBe(100);
    expect(log.notes[0]).toEqual({ line: 1, text: 'note 0' });
    expect(log.records.length).toBe(8);
  });

  it('a zero-length record has no hex lines', () => {
    const log = parseSwtpmLog(' Ctrl Cmd: length 0\n Ctrl Rsp: length 4\n 00 00 00 00 \n');
    expect(log.records.map((r) => r.bytes.length)).toEqual([0, 4]);
  });

  it('mutated logs end in a result or a NodeimgError, parse and replay alike, and never hang', () => {
    const rng = prngFn(1234);
    const seedLines = HEAD.split('\n');
    const junk = [
      '',
      ' ',
      ' 0',
      ' 00 ',
      ' ZZ ',
      ' SWTPM_IO_Read: length 3',
      ' Ctrl Rsp: length 0',
      ' SWTPM_IO_Write: length 99',
      '\u00ff\u0000',
      ' 80 02 FF FF FF FF 00 00 01 82 ',
    ];
    let ok = 0;
    for (let i = 0; i < 1500; i++) {
      const l = [...seedLines];
      const n = 1 + Math.floor(rng() * 4);
      for (let k = 0; k < n; k++) {
        const at = Math.floor(rng() * l.length);
        const op = rng();
        if (op < 0.3) l.splice(at, 1);
        else if (op < 0.6) l.splice(at, 0, junk[Math.floor(rng() * junk.length)] as string);
        else if (op < 0.8)
          l[at] = (l[at] ?? '').replace(/[0-9A-F]{2}/, () =>
            Math.floor(rng() * 256)
              .toString(16)
              .toUpperCase()
              .padStart(2, '0'),
          );
        else l[at] = (l[at] ?? '').slice(0, Math.floor(rng() * (l[at] ?? '').length));
      }
      const text = l.join('\n');
      try {
        const log = parseSwtpmLog(text, { partial: rng() < 0.5 });
        replayTpmLog(log, { banks: ['sha1', 'sha256', 'sha384'] });
        ok++;
      } catch (err) {
        if (!(err instanceof NodeimgError)) throw err;
        expect(err.code).toMatch(/^PARSE_/);
      }
    }
    expect(ok).toBeGreaterThan(100);
  });
});

describe('control-channel records', () => {
  it('are paired like TPM commands', () => {
    const log = parseSwtpmLog(logText([ctrl.cmd(5, [3, 0, 0, 0]), ctrl.ok()]));
    expect(log.records.map((r) => [r.kind, hex(r.bytes)])).toEqual([
      ['ctrl-cmd', '0000000503000000'],
      ['ctrl-rsp', '00000000'],
    ]);
  });
});
