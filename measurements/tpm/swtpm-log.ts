// The text codec of swtpm's log (`swtpm ... --log file=PATH,level=20`, swtpm 0.7): every message on
// the control channel and every TPM command and response on the data channel, in hex. Pure.
//
//    Ctrl Cmd: length 8                       <- a control-channel request (CMD_* code, big-endian)
//    00 00 00 05 00 00 00 00
//    Ctrl Rsp: length 4                       <- its answer (ptm_res, 0 = success)
//    00 00 00 00
//    SWTPM_IO_Read: length 12                 <- a TPM command as swtpm read it
//    80 01 00 00 00 0C 00 00 01 44 00 00
//    SWTPM_IO_Write: length 10                <- the TPM's response
//    80 01 00 00 00 0A 00 00 00 00
//   Data client disconnected                  <- anything else is a note
//
// Each header line is followed by ceil(length / 16) lines of up to 16 upper-case hex bytes, each
// byte followed by one space (swtpm's SWTPM_PrintAll). The input is bytes read as Latin-1, so a
// character offset is a byte offset. Errors carry the 1-based line number and the byte offset.
import { ParseError, type ParseErrorCode } from '../../image/formats/errors.js';

export type SwtpmRecordKind = 'ctrl-cmd' | 'ctrl-rsp' | 'tpm-cmd' | 'tpm-rsp';

export interface SwtpmRecord {
  readonly kind: SwtpmRecordKind;
  /** 1-based line of the header in the log. */
  readonly line: number;
  /** Byte offset of the header line. */
  readonly offset: number;
  readonly bytes: Uint8Array;
}

export interface SwtpmNote {
  readonly line: number;
  readonly text: string;
}

export interface SwtpmLog {
  readonly records: readonly SwtpmRecord[];
  /** Lines that are neither a header nor hex (swtpm's own messages); the first MAX_NOTES. */
  readonly notes: readonly SwtpmNote[];
  readonly noteCount: number;
  /** Complete lines read (counting `startLine`). */
  readonly lines: number;
  /** Lines up to `consumed` (counting `startLine`): where a continuation starts counting. */
  readonly consumedLines: number;
  /** Bytes read up to the end of the last complete record or line (partial mode: where to resume; counting `startOffset`). */
  readonly consumed: number;
  /** Partial mode: an unfinished record (or line) at the end was left out. */
  readonly pending: boolean;
}

export interface SwtpmLogOptions {
  /**
   * The log is still being written: an unfinished last line and an unfinished last record are
   * left out (`pending`) instead of being an error.
   */
  readonly partial?: boolean;
  /**
   * Continuing a log: the input starts after `startLine` lines and `startOffset` bytes of it (a
   * previous partial parse's `lines up to consumed` and `consumed`), for line numbers and offsets.
   */
  readonly startLine?: number;
  readonly startOffset?: number;
}

/** Largest log accepted (a measured boot logs ~100 KiB; a long-running OS a few MiB). */
export const MAX_SWTPM_LOG_BYTES = 64 * 1024 * 1024;
/** Largest record (TPM commands are at most 4 KiB; control-channel state blobs more). */
export const MAX_SWTPM_RECORD_BYTES = 1024 * 1024;
export const MAX_SWTPM_RECORDS = 1_000_000;
export const MAX_SWTPM_LINE = 4096;
const MAX_NOTES = 100;

const KINDS: Readonly<Record<string, SwtpmRecordKind>> = {
  'Ctrl Cmd': 'ctrl-cmd',
  'Ctrl Rsp': 'ctrl-rsp',
  SWTPM_IO_Read: 'tpm-cmd',
  SWTPM_IO_Write: 'tpm-rsp',
};

const HEADER = /^\s*(Ctrl Cmd|Ctrl Rsp|SWTPM_IO_Read|SWTPM_IO_Write): length (\d{1,10})\s*$/;
const HEX_LINE = /^\s*(?:[0-9A-Fa-f]{2}\s+)*[0-9A-Fa-f]{2}\s*$/;

/** A log error: the structure names the line, the offset is the byte where that line starts. */
export class SwtpmLogError extends ParseError {
  readonly line: number;
  constructor(code: ParseErrorCode, line: number, offset: number, detail: string) {
    super(code, `swtpm log line ${line}`, offset, detail);
    this.line = line;
  }
}
Object.defineProperty(SwtpmLogError.prototype, 'name', { value: 'SwtpmLogError', enumerable: false });

function latin1(input: Uint8Array | string): string {
  if (typeof input === 'string') return input;
  let s = '';
  for (let i = 0; i < input.length; i += 0x8000) {
    s += String.fromCharCode(...input.subarray(i, Math.min(input.length, i + 0x8000)));
  }
  return s;
}

interface Open {
  readonly kind: SwtpmRecordKind;
  readonly line: number;
  readonly offset: number;
  readonly bytes: Uint8Array;
  filled: number;
}

export function parseSwtpmLog(input: Uint8Array | string, opts: SwtpmLogOptions = {}): SwtpmLog {
  const size = input.length;
  if (size > MAX_SWTPM_LOG_BYTES) {
    throw new SwtpmLogError(
      'PARSE_LIMIT',
      (opts.startLine ?? 0) + 1,
      opts.startOffset ?? 0,
      `the log has ${size} bytes, more than the ${MAX_SWTPM_LOG_BYTES} accepted`,
    );
  }
  const text = latin1(input);
  const partial = opts.partial === true;
  const base = opts.startOffset ?? 0;
  const firstLine = opts.startLine ?? 0;
  const err = (code: ParseErrorCode, lineNo: number, at: number, detail: string) =>
    new SwtpmLogError(code, lineNo, base + at, detail);
  const records: SwtpmRecord[] = [];
  const notes: SwtpmNote[] = [];
  let noteCount = 0;
  let open: Open | undefined;
  let line = firstLine;
  let pos = 0;
  let consumed = 0;
  let consumedLines = firstLine;
  let pending = false;

  const closeOpen = (at: number, lineNo: number, why: string): void => {
    if (open === undefined) return;
    if (open.filled < open.bytes.length) {
      throw err(
        'PARSE_TRUNCATED',
        lineNo,
        at,
        `${why}, but the record of line ${open.line} has ${open.filled} of its ${open.bytes.length} bytes`,
      );
    }
    open = undefined;
  };

  while (pos < text.length) {
    const nl = text.indexOf('\n', pos);
    const end = nl < 0 ? text.length : nl;
    const start = pos;
    line++;
    if (end - start > MAX_SWTPM_LINE) {
      throw err('PARSE_LIMIT', line, start, `the line is longer than ${MAX_SWTPM_LINE} characters`);
    }
    if (nl < 0 && partial) {
      // an unfinished line: wait for the rest
      line--;
      pending = true;
      break;
    }
    pos = nl < 0 ? text.length : nl + 1;
    const raw = text.slice(start, end).replace(/\r$/, '');
    const header = HEADER.exec(raw);
    if (header !== null) {
      closeOpen(start, line, 'a new record starts');
      const length = Number(header[2]);
      if (length > MAX_SWTPM_RECORD_BYTES) {
        throw err(
          'PARSE_LIMIT',
          line,
          start,
          `a record of ${length} bytes is larger than the ${MAX_SWTPM_RECORD_BYTES} accepted`,
        );
      }
      if (records.length >= MAX_SWTPM_RECORDS) {
        throw err('PARSE_LIMIT', line, start, `more than ${MAX_SWTPM_RECORDS} records`);
      }
      const kind = KINDS[header[1] as string] as SwtpmRecordKind;
      const rec: Open = { kind, line, offset: start, bytes: new Uint8Array(length), filled: 0 };
      records.push(rec);
      open = length === 0 ? undefined : rec;
      if (open === undefined) {
        consumed = pos;
        consumedLines = line;
      }
      continue;
    }
    if (raw.trim() !== '' && HEX_LINE.test(raw)) {
      if (open === undefined) {
        throw err(
          'PARSE_INVALID',
          line,
          start,
          'hex bytes outside a record (no "...: length N" header before them)',
        );
      }
      const pairs = raw.trim().split(/\s+/);
      if (pairs.length > 16) {
        throw err(
          'PARSE_INVALID',
          line,
          start,
          `${pairs.length} bytes on one line (swtpm writes at most 16)`,
        );
      }
      if (open.filled + pairs.length > open.bytes.length) {
        throw err(
          'PARSE_INVALID',
          line,
          start,
          `the record of line ${open.line} announces ${open.bytes.length} bytes but has more`,
        );
      }
      for (const p of pairs) open.bytes[open.filled++] = parseInt(p, 16);
      if (open.filled === open.bytes.length) {
        open = undefined;
        consumed = pos;
        consumedLines = line;
      }
      continue;
    }
    // a note (swtpm's own messages) or an empty line
    closeOpen(start, line, 'a line that is not hex follows');
    consumed = pos;
    consumedLines = line;
    if (raw.trim() === '') continue;
    noteCount++;
    if (notes.length < MAX_NOTES) notes.push({ line, text: raw.trim() });
  }

  if (open !== undefined) {
    if (!partial) {
      throw err(
        'PARSE_TRUNCATED',
        line,
        text.length,
        `the log ends inside the record of line ${open.line} (${open.filled} of ${open.bytes.length} bytes)`,
      );
    }
    // leave the unfinished record out
    records.pop(); // the unfinished record is always the last one
    pending = true;
    consumed = open.offset;
    consumedLines = open.line - 1;
  } else if (!pending) {
    consumed = pos;
    consumedLines = line;
  }
  return {
    records: records.map((r) => ({ kind: r.kind, line: r.line, offset: base + r.offset, bytes: r.bytes })),
    notes,
    noteCount,
    lines: line,
    consumedLines,
    consumed: base + consumed,
    pending,
  };
}
