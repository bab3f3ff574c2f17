// Cuts the lab guest's serial console apart (markers of initrd-init.ts): PCR values per bank, the
// firmware event log (base64), uptime, kernel, command line. Pure.
import { PCR_BANKS, type PcrBank } from './config.js';
import { MARK } from './initrd-init.js';

export type PcrValues = Partial<Record<PcrBank, string[]>>;

export interface LabConsole {
  /** The guest reached the end marker. */
  readonly complete: boolean;
  /** Lower-case hex, index = PCR number, for every bank the guest printed all 24 PCRs of. */
  readonly pcrs: PcrValues;
  readonly eventLog: Uint8Array | undefined;
  readonly uptimeSeconds: number | undefined;
  readonly kernel: string | undefined;
  readonly cmdline: string | undefined;
}

function between(text: string, begin: string, end: string): string | undefined {
  const b = text.indexOf(`${begin}\n`);
  if (b < 0) return undefined;
  const e = text.indexOf(`${end}\n`, b);
  return e < 0 ? undefined : text.slice(b + begin.length + 1, e);
}

function field(block: string, key: string): string | undefined {
  return new RegExp(`^${key} (.*)$`, 'm').exec(block)?.[1];
}

/** Base64 lines only: a kernel message printed in between must not corrupt the log. */
function decodeBase64Lines(block: string): Uint8Array {
  const lines = block.split('\n').filter((l) => /^[A-Za-z0-9+/]+={0,2}$/.test(l.trim()));
  return new Uint8Array(Buffer.from(lines.map((l) => l.trim()).join(''), 'base64'));
}

export function parseLabConsole(raw: string): LabConsole {
  const text = raw.replace(/\r/g, '');
  const block = between(text, MARK.begin, MARK.end);
  if (block === undefined) {
    return {
      complete: false,
      pcrs: {},
      eventLog: undefined,
      uptimeSeconds: undefined,
      kernel: undefined,
      cmdline: undefined,
    };
  }
  const pcrs: PcrValues = {};
  for (const bank of PCR_BANKS) {
    const values: string[] = [];
    for (const m of block.matchAll(new RegExp(`^PCR ${bank} (\\d+) ([0-9A-Fa-f]+)$`, 'gm'))) {
      values[Number(m[1])] = (m[2] ?? '').toLowerCase();
    }
    if (Array.from({ length: 24 }, (_, i) => values[i]).every((v) => v !== undefined)) pcrs[bank] = values;
  }
  const b64 = between(block, MARK.logBegin, MARK.logEnd);
  const uptime = field(block, 'UPTIME');
  return {
    complete: true,
    pcrs,
    eventLog: b64 === undefined ? undefined : decodeBase64Lines(b64),
    uptimeSeconds: uptime === undefined ? undefined : Number(uptime),
    kernel: field(block, 'KERNEL'),
    cmdline: field(block, 'CMDLINE'),
  };
}
