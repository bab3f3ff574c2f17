// `nodeimg launch-digest --mode tdx` against every TDX vector (through the CLI: MRTD lines and the
// JSON document with RTMRs), plus its usage errors.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { run } from '../helpers/cli.js';

const VECTORS =
  process.env['NODEIMG_TDX_VECTORS'] ??
  fileURLToPath(new URL('../../../shared/vectors/tdx/vectors.json', import.meta.url));
const at = (p: string) => fileURLToPath(new URL(p, `file://${VECTORS}`));
interface V {
  firmwares: Record<string, { path: string }>;
  mrtd: Record<string, string>[];
  rtmr: {
    firmware: string;
    memory_bytes: number;
    cmdline: string | null;
    initrd: string | null;
    kernel: string;
    acpi_tables: string;
    rtmr_quex_layout: string[];
    derived_rtmr0_rtmr1_dstack_layout: { rtmr0: string; rtmr1: string };
  }[];
}
const vectors = JSON.parse(readFileSync(VECTORS, 'utf8')) as V;
const fw = (name: string) => at(vectors.firmwares[name]?.path ?? '');

describe('launch-digest --mode tdx', () => {
  it.each(vectors.mrtd.map((v) => [v['firmware'] as string, v] as const))(
    'MRTD of %s in both page orders',
    async (name, v) => {
      for (const [order, key] of [
        ['single-pass', 'mrtd_single_pass'],
        ['two-pass', 'mrtd_two_pass'],
      ] as const) {
        if (v[key] === undefined) continue;
        const r = await run(['launch-digest', '--mode', 'tdx', '--ovmf', fw(name), '--mrtd-order', order]);
        expect(r).toMatchObject({ code: 0, stdout: `${v[key]}\n` });
      }
      const b64 = await run([
        'launch-digest',
        '--mode',
        'tdx',
        '--ovmf',
        fw(name),
        '--output-format',
        'base64',
        '-v',
      ]);
      expect(b64.stdout).toBe(
        `Calculated TDX MRTD (single-pass): ${Buffer.from(v['mrtd_single_pass'] ?? '', 'hex').toString('base64')}\n`,
      );
    },
  );

  it.each(vectors.rtmr.map((v, i) => [i, v] as const))(
    'RTMRs of RTMR vector %i in both layouts (--json)',
    async (_i, v) => {
      const base = [
        'launch-digest',
        '--mode',
        'tdx',
        '--json',
        '--ovmf',
        fw(v.firmware),
        '--kernel',
        at(v.kernel),
        '--memory',
        `${v.memory_bytes / 2 ** 20}M`,
        '--acpi-tables',
        at(v.acpi_tables),
      ];
      if (v.initrd) base.push('--initrd', at(v.initrd));
      if (v.cmdline) base.push('--append', v.cmdline);
      const quex = await run([...base, '--rtmr-layout', 'quex']);
      expect(quex.code).toBe(0);
      expect(quex.stderr).toMatch(/modelled/);
      const q = JSON.parse(quex.stdout) as {
        rtmr: { registers: string[]; events: { rtmr: number; mrIndex: number }[] };
        parameters: { memoryBytes: number };
      };
      expect(q.rtmr.registers).toEqual(v.rtmr_quex_layout);
      expect(q.parameters.memoryBytes).toBe(v.memory_bytes);
      const d = JSON.parse((await run(base)).stdout) as { rtmr: { layout: string; registers: string[] } };
      expect(d.rtmr.layout).toBe('dstack');
      expect(d.rtmr.registers.slice(0, 2)).toEqual([
        v.derived_rtmr0_rtmr1_dstack_layout.rtmr0,
        v.derived_rtmr0_rtmr1_dstack_layout.rtmr1,
      ]);
    },
  );

  it('usage errors', async () => {
    const sid = fw('sid-inteltdx');
    const cases: [string[], RegExp][] = [
      [['--mode', 'tdx'], /needs --ovmf/],
      [['--mode', 'tdx', '--ovmf', sid, '--vcpus', '4'], /--vcpus is not used with --mode tdx/],
      [['--mode', 'tdx', '--ovmf', sid, '--memory', '2G'], /--memory needs --kernel/],
      [['--mode', 'tdx', '--ovmf', sid, '--kernel', sid], /--kernel needs --memory/],
      [
        ['--mode', 'tdx', '--ovmf', sid, '--mrtd-order', 'three-pass'],
        /--mrtd-order must be single-pass or two-pass/,
      ],
      [
        ['--mode', 'snp', '--ovmf', sid, '--vcpus', '1', '--mrtd-order', 'two-pass'],
        /only used with --mode tdx/,
      ],
    ];
    for (const [args, msg] of cases) {
      const r = await run(['launch-digest', ...args]);
      expect({ args, code: r.code }).toEqual({ args, code: 2 });
      expect(r.stderr).toMatch(msg);
    }
  });

  it('a firmware without TDX metadata is a parse error naming the file (exit 3)', async () => {
    const r = await run([
      'launch-digest',
      '--mode',
      'tdx',
      '--ovmf',
      fileURLToPath(new URL('inputs/kernel.bin', `file://${VECTORS}`)),
    ]);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/kernel\.bin/);
  });
});
