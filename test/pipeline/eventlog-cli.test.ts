// `nodeimg eventlog show|replay|diff` in-process through main(), on the real lab logs
// (test/fixtures/eventlogs, see the README there): output, exit codes and the JSON schema.
import { mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { decodeEventLog } from '../../measurements/eventlog/decode.js';
import { encodeEventLog } from '../../measurements/eventlog/encode.js';
import { main } from '../../pipeline/cli.js';
import eventlogSchema from '../../pipeline/schema/eventlog.schema.json' with { type: 'json' };
import { assertValid } from '../../pipeline/schema/validate.js';

const DIR = join(import.meta.dirname, '..', 'fixtures', 'eventlogs');
const VARIANTS = ['direct', 'sdboot', 'direct-sb', 'sdboot-sb'];
const log = (v: string): string => join(DIR, `${v}.bin`);
const pcrs = (v: string): string => join(DIR, `${v}.pcrs.json`);
const tmp = mkdtempSync(join(tmpdir(), 'nodeimg-eventlog-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

class Sink extends Writable {
  text = '';
  override _write(chunk: Buffer | string, _enc: BufferEncoding, cb: () => void): void {
    this.text += chunk.toString();
    cb();
  }
}

async function run(...argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const stdout = new Sink();
  const stderr = new Sink();
  const code = await main(['eventlog', ...argv], { stdout, stderr, env: {}, cwd: process.cwd() });
  return { code, stdout: stdout.text, stderr: stderr.text };
}

function writeTmp(name: string, content: string | Uint8Array): string {
  const p = join(tmp, name);
  writeFileSync(p, content);
  return p;
}

interface LabRecord {
  pcrs: Record<string, string[]>;
}
const record = (v: string): LabRecord => JSON.parse(readFileSync(pcrs(v), 'utf8')) as LabRecord;

describe('nodeimg eventlog show', () => {
  it('lists one line per event with sha256 and the description', async () => {
    const r = await run('show', log('direct'));
    expect(r).toMatchObject({ code: 0, stderr: '' });
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(
      /direct\.bin: 36 events, 5876 bytes; Spec ID Event03 v2\.0 errata 0, banks sha1, sha256, sha384/,
    );
    expect(lines).toHaveLength(2 + 36);
    expect(lines.find((l) => l.startsWith('23 '))).toMatch(
      /^23\s+4\s+EV_EFI_BOOT_SERVICES_APPLICATION\s+55b17fa34916f43827d1c1d8171d1c91b984cbf2b0a7aa6a86b1c0c10728aca2\s+image at 0x3d6b8018 .*\\EFI\\BOOT\\BOOTX64\.EFI$/,
    );
  });

  it('filters by --pcr and shows the --bank columns', async () => {
    const r = await run('show', log('sdboot'), '--pcr', '12', '--bank', 'sha1,sha384');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('showing 2 event(s) of PCR 12');
    expect(r.stdout).toMatch(/#\s+PCR\s+type\s+sha1\s+sha384\s+description/);
    expect(r.stdout.match(/EV_IPL .*"console=ttyS0 quiet panic=-1"/g)).toHaveLength(2);
  });

  it('--json is a schema-valid document with hex digests and data', async () => {
    const r = await run('show', log('direct'), '--json', '--pcr', '4-5');
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout) as {
      command: string;
      events: {
        index: number;
        pcr: number;
        data: string;
        digests: Record<string, string>;
        description: string;
      }[];
    };
    assertValid('eventlog show output', eventlogSchema, doc);
    expect(doc.command).toBe('show');
    expect(doc.events.map((e) => e.pcr)).toEqual([4, 4, 5, 5, 4, 4, 5, 5]);
    const first = doc.events[0]!;
    expect(Buffer.from(first.data, 'hex').toString('latin1')).toBe(
      'Calling EFI Application from Boot Option',
    );
    expect(first.digests['sha256']).toBe('3d6772b4f84ed47595d72a2c4c5ffd15f5bb72c7507fe26f2aaee2c69d5633ba');
    expect(Object.keys(first.digests)).toEqual(['sha1', 'sha256', 'sha384']);
  });
});

describe('nodeimg eventlog replay', () => {
  it('prints the PCR values of every bank', async () => {
    const r = await run('replay', log('direct'));
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/sha256:\n {2}PCR\s+events\s+value\n/);
    expect(r.stdout).toMatch(
      /\n {2}4\s+4\s+1ebae4d5224f6851f0591b852a67e7c6dc14ad5fb91cecad4933f69cce5d8ef7\n/,
    );
  });

  it.each(VARIANTS)(
    '%s: matches the PCRs read in the guest; PCR 10 (IMA) is reported as not in the log',
    async (v) => {
      const r = await run('replay', log(v), '--pcrs', pcrs(v));
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expect(r.stdout).toContain('not in the log: PCR 10: no event of this log extends it');
      expect(r.stdout).toMatch(
        /OK: 72 quoted register\(s\) checked: \d+ match, \d+ at reset value with no event, 3 not in the log, 0 mismatch/,
      );
    },
  );

  it('fails with exit 1 naming every mismatching PCR and bank', async () => {
    const rec = record('direct');
    rec.pcrs['sha256']![4] = '00'.repeat(32);
    rec.pcrs['sha1']![11] = 'ab'.repeat(20);
    const r = await run('replay', log('direct'), '--pcrs', writeTmp('bad.pcrs.json', JSON.stringify(rec)));
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('error [CHECK_FAILED]: the replay of');
    expect(r.stderr).toContain(`sha1 PCR 11: quoted ${'ab'.repeat(20)}, replayed `);
    expect(r.stderr).toContain(
      `sha256 PCR 4: quoted ${'00'.repeat(32)}, replayed 1ebae4d5224f6851f0591b852a67e7c6dc14ad5fb91cecad4933f69cce5d8ef7`,
    );
    expect(r.stdout).toContain(`MISMATCH: quoted ${'00'.repeat(32)}`);
  });

  it('accepts the simple form; a PCR named with --pcr must be in the log', async () => {
    const rec = record('direct');
    const simple = writeTmp(
      'simple.json',
      JSON.stringify({
        sha256: { '4': rec.pcrs['sha256']![4]!.toUpperCase(), '10': rec.pcrs['sha256']![10] },
      }),
    );
    const ok = await run('replay', log('direct'), '--pcrs', simple);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain(
      'OK: 2 quoted register(s) checked: 1 match, 0 at reset value with no event, 1 not in the log',
    );
    const strict = await run('replay', log('direct'), '--pcrs', simple, '--pcr', '4,10');
    expect(strict.code).toBe(1);
    expect(strict.stderr).toMatch(/sha256 PCR 10: quoted [0-9a-f]{64}, not in the log/);
  });

  it('a firmware PCR (0-7) the log does not explain fails: the log is incomplete', async () => {
    const decoded = decodeEventLog(new Uint8Array(readFileSync(log('direct'))));
    const cut = writeTmp(
      'no-pcr6.bin',
      encodeEventLog({ ...decoded, events: decoded.events.filter((e) => e.pcr !== 6) }),
    );
    const r = await run('replay', cut, '--pcrs', pcrs('direct'), '--json');
    expect(r.code).toBe(1);
    const doc = JSON.parse(r.stdout) as {
      check: {
        ok: boolean;
        notInLog: number[];
        registers: { pcr: number; status: string; fails: boolean }[];
      };
    };
    assertValid('eventlog replay output', eventlogSchema, doc);
    expect(doc.check).toMatchObject({ ok: false, notInLog: [6, 10] });
    expect(doc.check.registers.filter((x) => x.fails).map((x) => [x.pcr, x.status])).toEqual([
      [6, 'not-in-log'],
      [6, 'not-in-log'],
      [6, 'not-in-log'],
    ]);
  });

  it('a quoted bank the log lacks fails', async () => {
    const r = await run(
      'replay',
      log('direct'),
      '--pcrs',
      writeTmp('sha512.json', JSON.stringify({ sha512: { '0': '00'.repeat(64) } })),
    );
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('sha512 PCR 0: quoted');
    expect(r.stderr).toContain('the log has no such bank');
  });

  it('--json validates and carries the verdict of every register', async () => {
    const r = await run('replay', log('sdboot'), '--pcrs', pcrs('sdboot'), '--json');
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout) as {
      banks: string[];
      pcrs: unknown[];
      check: { ok: boolean; notInLog: number[]; registers: unknown[] };
    };
    assertValid('eventlog replay output', eventlogSchema, doc);
    expect(doc.banks).toEqual(['sha1', 'sha256', 'sha384']);
    expect(doc.pcrs).toHaveLength(24);
    expect(doc.check).toMatchObject({ ok: true, notInLog: [10] });
    expect(doc.check.registers).toHaveLength(72);
  });

  it('refuses a malformed values file with exit 3', async () => {
    const bad = await run(
      'replay',
      log('direct'),
      '--pcrs',
      writeTmp('short.json', JSON.stringify({ sha256: { '4': 'abcd' } })),
    );
    expect(bad.code).toBe(3);
    expect(bad.stderr).toContain('/sha256/4: expected 64 hex digits (a sha256 PCR value), got "abcd"');
    expect(
      (await run('replay', log('direct'), '--pcrs', writeTmp('typo.json', '{"sha265": {}}'))).stderr,
    ).toContain("unknown bank 'sha265'");
    expect((await run('replay', log('direct'), '--pcrs', writeTmp('nojson.json', 'sha256: 0'))).code).toBe(3);
  });
});

describe('nodeimg eventlog diff', () => {
  it('direct vs sdboot: parts at PCR 4 event 3 and PCR 12, exit 1', async () => {
    const r = await run('diff', log('direct'), log('sdboot'));
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(
      /^PCR 4 event 3 \(log event #23\): expected EV_EFI_BOOT_SERVICES_APPLICATION .* = sha256:55b17fa34916…, got EV_EFI_BOOT_SERVICES_APPLICATION sha256:7843e376e573… \(/m,
    );
    expect(r.stdout).toMatch(
      /^PCR 12: expected 0 event\(s\), got 2 extra, from event 1 \(log event #25\): EV_IPL/m,
    );
    expect(r.stdout).toContain('the event sequences part on 2 of 11 compared PCR(s): 4, 12');
    expect(r.stderr).toContain('error [CHECK_FAILED]: the event logs part on PCR 4, 12');
  });

  it('agrees on identical logs and on the PCRs selected with --pcr', async () => {
    expect((await run('diff', log('direct'), log('direct'), '--strict-data')).code).toBe(0);
    const r = await run('diff', log('direct'), log('sdboot'), '--pcr', '0-3,5-11');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('the event sequences agree on all 11 compared PCR(s)');
  });

  it('--json validates', async () => {
    const r = await run('diff', log('sdboot-sb'), log('direct-sb'), '--json');
    expect(r.code).toBe(1);
    const doc = JSON.parse(r.stdout) as {
      ok: boolean;
      pcrs: { pcr: number; firstMismatch: { position: number; reason: string } | null }[];
    };
    assertValid('eventlog diff output', eventlogSchema, doc);
    expect(doc.ok).toBe(false);
    expect(
      doc.pcrs
        .filter((p) => p.firstMismatch !== null)
        .map((p) => [p.pcr, p.firstMismatch!.reason, p.firstMismatch!.position]),
    ).toEqual([
      [4, 'digest', 3],
      [12, 'missing', 1],
    ]);
  });

  it('compares image load data (memory addresses) only with --strict-data', async () => {
    const decoded = decodeEventLog(new Uint8Array(readFileSync(log('direct'))));
    const events = decoded.events.map((e) =>
      e.index === 23 ? { ...e, data: Uint8Array.from(e.data, (b, i) => (i === 1 ? b ^ 0x10 : b)) } : e,
    );
    const moved = writeTmp('moved.bin', encodeEventLog({ ...decoded, events }));
    expect((await run('diff', log('direct'), moved)).code).toBe(0);
    const r = await run('diff', log('direct'), moved, '--strict-data');
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(
      'PCR 4 event 3 (log event #23): EV_EFI_BOOT_SERVICES_APPLICATION digests agree but the data differs at byte 1',
    );
  });
});

describe('nodeimg eventlog errors and help', () => {
  it('--help exits 0 and documents both --pcrs forms and the not-in-the-log rule', async () => {
    const r = await run('--help');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('usage: nodeimg eventlog <show|replay|diff>');
    expect(r.stdout).toContain('{"sha256": {"0": "<hex>", "7": "<hex>"}');
    expect(r.stdout).toContain('"pcrs": {"sha1": ["<hex PCR 0>"');
    expect(r.stdout).toContain('"not in the log"');
    expect((await run('show', '--help')).code).toBe(0);
  });

  it('a truncated log exits 3 with the byte offset', async () => {
    const bytes = readFileSync(log('direct'));
    const r = await run('show', writeTmp('truncated.bin', bytes.subarray(0, bytes.length - 6)));
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(
      /error \[PARSE_TRUNCATED\]: .*truncated\.bin: TCG_PCR_EVENT2 #36 at byte 5836 \(0x16cc\): need \d+ bytes/,
    );
    expect((await run('replay', writeTmp('empty.bin', ''))).code).toBe(3);
  });

  it('refuses a log larger than 64 MiB with exit 3', async () => {
    const big = writeTmp('big.bin', '');
    truncateSync(big, 64 * 1024 * 1024 + 1);
    const r = await run('show', big);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('is larger than the 64 MiB limit for a TCG event log');
  });

  it('a missing or unreadable file exits 4', async () => {
    const r = await run('show', join(tmp, 'nope.bin'));
    expect(r.code).toBe(4);
    expect(r.stderr).toContain('error [IO_NOT_FOUND]: cannot read');
    expect((await run('diff', log('direct'), tmp)).code).toBe(4);
    expect((await run('replay', log('direct'), '--pcrs', join(tmp, 'nope.json'))).code).toBe(4);
  });

  it.each([
    [['frob', 'x.bin'], "unknown subcommand 'frob'"],
    [['show'], 'eventlog show takes 1 file argument(s), got 0'],
    [['diff', 'a.bin'], 'eventlog diff takes 2 file argument(s), got 1'],
    [['show', 'a.bin', '--strict-data'], '--strict-data is not an option of eventlog show'],
    [['show', 'a.bin', '--pcr', '24'], "--pcr: '24' is not a PCR number"],
    [['show', 'a.bin', '--bank', 'md5'], "--bank: unknown bank 'md5'"],
    [['show', 'a.bin', '--frob'], "Unknown option '--frob'"],
  ])('usage error %j exits 2', async (argv, message) => {
    const r = await run(...argv);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(message);
  });

  it('a bank the log does not have is a usage error', async () => {
    const r = await run('show', log('direct'), '--bank', 'sha512');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('has no sha512 bank (it has sha1, sha256, sha384)');
  });
});
