// `nodeimg launch-digest --mode tdx`: reads the TDVF firmware (and for a QEMU direct kernel boot the
// kernel, initrd and ACPI blobs), calls measurements/cvm/tdx and prints MRTD as the TD quote carries
// it (hex or base64); --json adds the TDVF sections, both MRTD page orders and, with --kernel, the
// RTMRs with their events (schema: pipeline/schema/launch-digest-tdx.schema.json).
import { createHash } from 'node:crypto';
import type { CommandIo } from '../command.js';
import { writeJson } from '../command.js';
import { NodeimgError, UsageError } from '../errors.js';
import { EXIT } from '../exit-codes.js';
import { assertValid } from '../schema/validate.js';
import tdxSchema from '../schema/launch-digest-tdx.schema.json' with { type: 'json' };
import { openFileSource, type FileSource } from '../../image/file-source.js';
import { toHex } from '../../image/formats/reader.js';
import { fromBytes } from '../../image/formats/source.js';
import { eventTypeName } from '../../measurements/eventlog/types.js';
import {
  MRTD_ORDERS,
  RTMR_LAYOUTS,
  tdxLaunchDigest,
  type KernelMeasurement,
  type MrtdOrder,
  type RtmrLayout,
  type TdxDirectBoot,
  type TdxLaunchDigest,
} from '../../measurements/cvm/tdx/index.js';
import { readSmallFile } from './eventlog-input.js';
import { str, type OptionValues } from './launch-digest-args.js';

export const TDX_SCHEMA_ID = 'https://nodeimg.dev/schema/launch-digest-tdx/v1.json';
/** Options only --mode tdx takes. */
export const TDX_OPTIONS = [
  'memory',
  'acpi-tables',
  'acpi-loader',
  'acpi-rsdp',
  'mrtd-order',
  'rtmr-layout',
  'kernel-measurement',
] as const;
/** launch-digest options the AMD modes take and TDX does not. */
const AMD_ONLY = [
  'vcpus',
  'vcpu-type',
  'vcpu-sig',
  'vcpu-family',
  'vcpu-model',
  'vcpu-stepping',
  'vmm-type',
  'guest-features',
  'snp-ovmf-hash',
  'svsm',
  'vars-size',
  'vars-file',
  'report',
  'report-offset',
];
const MAX_FIRMWARE = 64 * 1024 * 1024;
const MAX_ACPI_BLOB = 16 * 1024 * 1024;
const KERNEL_MEASUREMENTS: readonly KernelMeasurement[] = ['qemu-patched', 'raw'];

/** For the AMD modes: the TDX-only options are usage errors. */
export function rejectTdxOptions(v: OptionValues): void {
  const given = TDX_OPTIONS.filter((k) => v[k] !== undefined);
  if (given.length > 0) throw new UsageError(`--${given[0]} is only used with --mode tdx`);
}

function oneOf<T extends string>(
  name: string,
  value: string | undefined,
  allowed: readonly T[],
  fallback: T,
): T {
  if (value === undefined) return fallback;
  if (!(allowed as readonly string[]).includes(value))
    throw new UsageError(`--${name} must be ${allowed.join(' or ')}, not '${value}'`);
  return value as T;
}

/** QEMU -m syntax: a number with an optional K/M/G/T suffix (binary); no suffix means MiB. */
export function parseMemory(s: string): number {
  const m = /^(\d+)([KMGT]?)(i?B)?$/i.exec(s.trim());
  const unit = { '': 2 ** 20, K: 2 ** 10, M: 2 ** 20, G: 2 ** 30, T: 2 ** 40 }[(m?.[2] ?? '').toUpperCase()];
  const n = m && unit ? Number(m[1]) * unit : NaN;
  if (!Number.isSafeInteger(n) || n <= 0 || n % 4096 !== 0)
    throw new UsageError(`--memory: '${s}' is not a memory size like 2G, 4096M or 4096 (MiB)`);
  return n;
}

const inFile = async <T>(path: string, f: () => Promise<T>): Promise<T> => {
  try {
    return await f();
  } catch (err) {
    if (err instanceof NodeimgError && err.code.startsWith('PARSE_') && !err.message.startsWith(path))
      throw new NodeimgError(err.code, `${path}: ${err.message}`, {
        cause: err,
        ...(err.hint ? { hint: err.hint } : {}),
      });
    throw err;
  }
};

function document(r: TdxLaunchDigest, params: Record<string, unknown>): Record<string, unknown> {
  const hx = (n: number) => `0x${n.toString(16)}`;
  return {
    $schema: TDX_SCHEMA_ID,
    mode: 'tdx',
    hash: 'sha384',
    parameters: params,
    tdvf: {
      descriptorOffset: hx(r.metadata.descriptorOffset),
      offsetFromEnd: hx(r.metadata.offsetFromEnd),
      metadataGuidPresent: r.metadata.metadataGuidPresent,
      sections: r.metadata.sections.map((s) => ({
        type: s.type,
        dataOffset: hx(s.dataOffset),
        rawDataSize: hx(s.rawDataSize),
        memoryAddress: hx(s.memoryAddress),
        memoryDataSize: hx(s.memoryDataSize),
        attributes: hx(s.attributes),
      })),
    },
    mrtd: toHex(r.mrtd),
    mrtdByOrder: {
      'single-pass': toHex(r.mrtdByOrder['single-pass']),
      'two-pass': toHex(r.mrtdByOrder['two-pass']),
    },
    rtmr: r.rtmr
      ? {
          layout: r.rtmr.layout,
          registers: r.rtmr.registers.map(toHex),
          kernelAuthenticodeSha384: toHex(r.rtmr.kernelAuthenticode),
          events: r.rtmr.events.map((e) => ({
            rtmr: e.rtmr,
            mrIndex: e.rtmr + 1,
            type: eventTypeName(e.type),
            name: e.name,
            digest: toHex(e.digest),
          })),
        }
      : null,
  };
}

export async function runTdxLaunchDigest(
  v: OptionValues,
  format: 'hex' | 'base64',
  io: CommandIo,
): Promise<number> {
  const amd = AMD_ONLY.filter((k) => v[k] !== undefined);
  if (amd.length > 0) throw new UsageError(`--${amd[0]} is not used with --mode tdx`);
  const ovmf = str(v, 'ovmf');
  if (ovmf === undefined)
    throw new UsageError('--mode tdx needs --ovmf FILE (the TDVF/OVMF flash image QEMU maps)');
  const order = oneOf<MrtdOrder>('mrtd-order', str(v, 'mrtd-order'), MRTD_ORDERS, 'single-pass');
  const layout = oneOf<RtmrLayout>('rtmr-layout', str(v, 'rtmr-layout'), RTMR_LAYOUTS, 'dstack');
  const measurement = oneOf<KernelMeasurement>(
    'kernel-measurement',
    str(v, 'kernel-measurement'),
    KERNEL_MEASUREMENTS,
    'qemu-patched',
  );
  const [kernel, initrd, append, memory, tables, loader, rsdp] = [
    'kernel',
    'initrd',
    'append',
    'memory',
    'acpi-tables',
    'acpi-loader',
    'acpi-rsdp',
  ].map((k) => str(v, k));
  if (kernel === undefined) {
    const extra = (
      [
        'initrd',
        'append',
        'memory',
        'acpi-tables',
        'acpi-loader',
        'acpi-rsdp',
        'rtmr-layout',
        'kernel-measurement',
      ] as const
    ).find((k) => v[k] !== undefined);
    if (extra)
      throw new UsageError(`--${extra} needs --kernel: RTMRs are predicted for a QEMU direct kernel boot`);
  } else if (memory === undefined || tables === undefined) {
    throw new UsageError(
      '--kernel needs --memory SIZE and --acpi-tables FILE (QEMU fw_cfg etc/acpi/tables; add --acpi-loader and --acpi-rsdp when dumped)',
    );
  }
  if ((loader === undefined) !== (rsdp === undefined))
    throw new UsageError(
      '--acpi-loader and --acpi-rsdp go together (without both, they are modelled from --acpi-tables)',
    );

  const fwBytes = await readSmallFile(ovmf, MAX_FIRMWARE, 'a firmware image');
  const opened: FileSource[] = [];
  const open = async (p: string) => {
    const s = await openFileSource(p);
    opened.push(s);
    return s;
  };
  try {
    let directBoot: TdxDirectBoot | undefined;
    if (kernel !== undefined && memory !== undefined && tables !== undefined) {
      const blob = (p: string) => readSmallFile(p, MAX_ACPI_BLOB, 'a QEMU fw_cfg ACPI blob');
      const acpi =
        loader !== undefined && rsdp !== undefined
          ? { tableLoader: await blob(loader), rsdp: await blob(rsdp), tables: await blob(tables) }
          : { tables: await blob(tables) };
      directBoot = {
        memoryBytes: parseMemory(memory),
        acpi,
        kernel: await open(kernel),
        initrd: initrd === undefined ? undefined : await open(initrd),
        cmdline: append,
        kernelMeasurement: measurement,
      };
    }
    const r = await inFile(ovmf, () =>
      tdxLaunchDigest({
        firmware: fromBytes(fwBytes, ovmf),
        order,
        layout,
        ...(directBoot ? { directBoot } : {}),
      }),
    );
    if (v['json'] === true) {
      const doc = document(r, {
        firmware: {
          path: ovmf,
          size: fwBytes.length,
          sha256: createHash('sha256').update(fwBytes).digest('hex'),
        },
        mrtdOrder: order,
        rtmrLayout: directBoot ? layout : null,
        memoryBytes: directBoot?.memoryBytes ?? null,
        kernel:
          kernel === undefined
            ? null
            : { path: kernel, initrd: initrd ?? null, append: append ?? null, measurement },
        acpi:
          tables === undefined
            ? null
            : { tables, loader: loader ?? null, rsdp: rsdp ?? null, modelled: loader === undefined },
      });
      assertValid('launch-digest tdx document', tdxSchema, doc);
      writeJson(io, doc);
    } else {
      const d = format === 'hex' ? toHex(r.mrtd) : Buffer.from(r.mrtd).toString('base64');
      io.stdout.write(v['verbose'] === true ? `Calculated TDX MRTD (${order}): ${d}\n` : `${d}\n`);
    }
    if (r.rtmr?.acpiModelled)
      io.stderr.write(
        'note: etc/table-loader and etc/acpi/rsdp were modelled from the tables blob; RTMR0 is exact only with blobs dumped from the real QEMU\n',
      );
    return EXIT.ok;
  } finally {
    for (const s of opened) await s.close();
  }
}
