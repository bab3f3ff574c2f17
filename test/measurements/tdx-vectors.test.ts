// Every vector of ../shared/vectors/tdx/vectors.json, iterated generically: firmware metadata,
// MRTD in each page order the vector names (mrtd_single_pass, mrtd_two_pass, ...), and for every RTMR
// vector each event (name, type, register, digest), the kernel digests, quex's registers and the
// dstack-layout registers. Expected values come only from the file; nothing here is hard-coded.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { readVarStore } from '../../image/formats/ovmf-vars/index.js';
import { fromBytes, slice } from '../../image/formats/source.js';
import { readTdvfMetadata } from '../../image/formats/tdvf/index.js';
import { eventTypeName } from '../../measurements/eventlog/types.js';
import {
  composeRtmrs,
  computeMrtd,
  kernelAuthenticodeSha384,
  tdxLaunchDigest,
  withLayout,
  type MrtdOrder,
} from '../../measurements/cvm/tdx/index.js';

// NODEIMG_TDX_VECTORS points at another vectors.json of the same kinds (e.g. held-back vectors).
const VECTORS =
  process.env['NODEIMG_TDX_VECTORS'] ??
  fileURLToPath(new URL('../../../shared/vectors/tdx/vectors.json', import.meta.url));
const ROOT = dirname(VECTORS);

interface Section {
  data_offset: string;
  raw_size: string;
  gpa: string;
  mem_size: string;
  type: string;
  attributes: string;
}
interface Firmware {
  path: string;
  size: number;
  sha256: string;
  tdvf_descriptor_offset_from_end: string;
  sections: Section[];
}
interface VecEvent {
  register: number;
  name: string;
  type: string;
  digest: string;
}
interface RtmrVector {
  firmware: string;
  memory_bytes: number;
  software: string;
  cmdline: string | null;
  initrd: string | null;
  kernel: string;
  acpi_tables: string;
  kernel_authenticode_sha384_after_qemu_patch: string;
  events: VecEvent[];
  rtmr_quex_layout: string[];
  derived_rtmr0_rtmr1_dstack_layout: { rtmr0: string; rtmr1: string };
}
interface Vectors {
  firmwares: Record<string, Firmware>;
  inputs: Record<string, { path: string; size: number; sha256: string }>;
  kernel_authenticode_sha384_unpatched: string;
  efi_variables_found_in_firmware_varstore: Record<string, string[]>;
  mrtd: Record<string, string>[];
  rtmr: RtmrVector[];
}

const vectors = JSON.parse(readFileSync(VECTORS, 'utf8')) as Vectors;
const file = (p: string) => new Uint8Array(readFileSync(join(ROOT, p)));
const hex = (b: Uint8Array | undefined) => Buffer.from(b ?? []).toString('hex');
const firmwareBytes = new Map<string, Uint8Array>();
const firmware = (name: string) => {
  const fw = vectors.firmwares[name];
  if (!fw) throw new Error(`vector names unknown firmware ${name}`);
  if (!firmwareBytes.has(name)) firmwareBytes.set(name, file(fw.path));
  return fromBytes(firmwareBytes.get(name) as Uint8Array, name);
};
/** "mrtd_single_pass" -> "single-pass"; other keys are not MRTD values. */
const orderOf = (key: string): MrtdOrder | undefined =>
  /^mrtd_(single|two)_pass$/.test(key) ? (key.slice(5).replace('_', '-') as MrtdOrder) : undefined;

describe('TDX vectors: firmware metadata', () => {
  it.each(Object.entries(vectors.firmwares))(
    '%s: size, sha256, TDVF descriptor and sections',
    async (name, fw) => {
      const src = firmware(name);
      expect(src.size).toBe(fw.size);
      expect(
        createHash('sha256')
          .update(firmwareBytes.get(name) as Uint8Array)
          .digest('hex'),
      ).toBe(fw.sha256);
      const meta = await readTdvfMetadata(src);
      expect(meta.offsetFromEnd).toBe(Number(fw.tdvf_descriptor_offset_from_end));
      expect(meta.metadataGuidPresent).toBe(true);
      expect(
        meta.sections.map((s) => ({
          data_offset: s.dataOffset,
          raw_size: s.rawDataSize,
          gpa: s.memoryAddress,
          mem_size: s.memoryDataSize,
          type: s.type,
          attributes: s.attributes,
        })),
      ).toEqual(
        fw.sections.map((s) => ({
          data_offset: Number(s.data_offset),
          raw_size: Number(s.raw_size),
          gpa: Number(s.gpa),
          mem_size: Number(s.mem_size),
          type: s.type,
          attributes: Number(s.attributes),
        })),
      );
    },
  );

  it.each(Object.entries(vectors.efi_variables_found_in_firmware_varstore))(
    '%s: Secure Boot variables in the CFV varstore',
    async (name, want) => {
      const src = firmware(name);
      const cfv = (await readTdvfMetadata(src)).sections.find((s) => s.type === 'CFV');
      const store = await readVarStore(slice(src, cfv?.dataOffset ?? 0, cfv?.rawDataSize ?? 0));
      const found = store.variables
        .map((v) => v.name)
        .filter((n) => ['PK', 'KEK', 'db', 'dbx', 'dbt'].includes(n));
      expect(found.sort()).toEqual([...want].sort());
    },
  );

  it.each(Object.entries(vectors.inputs))('input %s matches its size and sha256', (_name, input) => {
    const b = file(input.path);
    expect(b.length).toBe(input.size);
    expect(createHash('sha256').update(b).digest('hex')).toBe(input.sha256);
  });
});

describe('TDX vectors: MRTD', () => {
  it.each(vectors.mrtd.map((v) => [v['firmware'] as string, v] as const))('%s', async (name, v) => {
    const src = firmware(name);
    const got = await computeMrtd(src, await readTdvfMetadata(src));
    const keys = Object.keys(v).filter((k) => orderOf(k) !== undefined);
    expect(keys.length).toBeGreaterThan(0);
    for (const k of keys) expect({ [k]: hex(got.get(orderOf(k) as MrtdOrder)) }).toEqual({ [k]: v[k] });
    // the one-call API reports the same values
    const ld = await tdxLaunchDigest({ firmware: src });
    for (const k of keys) expect(hex(ld.mrtdByOrder[orderOf(k) as MrtdOrder])).toBe(v[k]);
  });
});

describe('TDX vectors: RTMRs (QEMU direct boot)', () => {
  it('the unpatched kernel Authenticode (OVMF >= edk2-stable202505 measures the raw file)', async () => {
    const kernels = new Set(vectors.rtmr.map((v) => v.kernel));
    for (const k of kernels)
      expect(hex(await kernelAuthenticodeSha384(fromBytes(file(k)), undefined))).toBe(
        vectors.kernel_authenticode_sha384_unpatched,
      );
  });

  it.each(vectors.rtmr.map((v) => [`${v.firmware} ${v.memory_bytes} ${v.software}`, v] as const))(
    '%s',
    async (_label, v) => {
      const r = await tdxLaunchDigest({
        firmware: firmware(v.firmware),
        layout: 'quex',
        directBoot: {
          memoryBytes: v.memory_bytes,
          acpi: { tables: file(v.acpi_tables) },
          kernel: fromBytes(file(v.kernel)),
          initrd: v.initrd === null ? undefined : fromBytes(file(v.initrd)),
          cmdline: v.cmdline ?? undefined,
        },
      });
      const rtmr = r.rtmr;
      if (rtmr === undefined) throw new Error('no RTMRs');
      expect(hex(rtmr.kernelAuthenticode)).toBe(v.kernel_authenticode_sha384_after_qemu_patch);
      expect(
        rtmr.events.map((e) => ({
          register: e.rtmr,
          name: e.name,
          type: eventTypeName(e.type),
          digest: hex(e.digest),
        })),
      ).toEqual(v.events);
      expect(rtmr.registers.map(hex)).toEqual(v.rtmr_quex_layout);
      const dstack = composeRtmrs(withLayout(rtmr.events, 'dstack')).map(hex);
      expect({ rtmr0: dstack[0], rtmr1: dstack[1] }).toEqual({
        rtmr0: v.derived_rtmr0_rtmr1_dstack_layout.rtmr0,
        rtmr1: v.derived_rtmr0_rtmr1_dstack_layout.rtmr1,
      });
      // RTMR2 and RTMR3 are the same in both layouts
      expect(dstack.slice(2)).toEqual(v.rtmr_quex_layout.slice(2));
    },
  );
});
