// The initial VMSA (VM save area) of each vCPU, which SEV-ES measures as bytes and SEV-SNP as one
// VMSA page per vCPU. Layout: AMD APM vol. 2 Table B-4 "VMSA Layout, State Save Area for SEV-ES"
// (Linux struct sev_es_save_area); register values are what KVM/QEMU (or EC2's and GCE's VMMs) load
// at reset, as sev-snp-measure vmsa.py reproduces them (launch-measurements.md §1.5, §1.6). Every
// byte not written here is zero.
import { NodeimgError } from '../../../image/formats/errors.js';
import { PAGE_SIZE } from './page-info.js';

export const VMM_TYPES = ['QEMU', 'ec2', 'gce'] as const;
/** sev-snp-measure `--vmm-type` (vmm_types.py spells them this way). */
export type VmmType = (typeof VMM_TYPES)[number];

/** Reset EIP of the bootstrap processor (the x86 reset vector). */
export const BSP_EIP = 0xffff_fff0;

// Field offsets (APM Table B-4).
const SEG = {
  es: 0x00,
  cs: 0x10,
  ss: 0x20,
  ds: 0x30,
  fs: 0x40,
  gs: 0x50,
  gdtr: 0x60,
  ldtr: 0x70,
  idtr: 0x80,
  tr: 0x90,
} as const;
const U64 = {
  efer: 0xd0,
  cr4: 0x148,
  cr0: 0x158,
  dr7: 0x160,
  dr6: 0x168,
  rflags: 0x170,
  rip: 0x178,
  g_pat: 0x268,
  rdx: 0x310,
  sev_features: 0x3b0,
  xcr0: 0x3e8,
} as const;
const MXCSR = 0x408; // u32
const X87_FCW = 0x410; // u16

type Seg = readonly [selector: number, attrib: number, limit: number, base: number];

interface SaveArea {
  readonly seg: Readonly<Record<keyof typeof SEG, Seg>>;
  readonly u64: Readonly<Record<keyof typeof U64, number>>;
  readonly mxcsr: number;
  readonly fcw: number;
}

function encode(a: SaveArea): Uint8Array {
  const page = new Uint8Array(PAGE_SIZE);
  const v = new DataView(page.buffer);
  for (const [name, off] of Object.entries(SEG) as [keyof typeof SEG, number][]) {
    const [sel, attrib, limit, base] = a.seg[name];
    v.setUint16(off, sel, true);
    v.setUint16(off + 2, attrib, true);
    v.setUint32(off + 4, limit, true);
    v.setBigUint64(off + 8, BigInt(base), true);
  }
  for (const [name, off] of Object.entries(U64) as [keyof typeof U64, number][])
    v.setBigUint64(off, BigInt(a.u64[name]), true);
  v.setUint32(MXCSR, a.mxcsr, true);
  v.setUint16(X87_FCW, a.fcw, true);
  return page;
}

export interface VmsaParams {
  readonly vmmType: VmmType;
  /** BSP (vCPU 0, starts at the reset vector) or an AP (starts at the SEV-ES reset block EIP). */
  readonly eip: number;
  readonly bsp: boolean;
  /** CPUID 1 EAX of the guest CPU model, loaded into RDX (QEMU only; EC2 and GCE use 0x600). */
  readonly vcpuSig: number;
  /** SEV_FEATURES: the guest features for SNP, 0 for SEV-ES. */
  readonly sevFeatures: number;
}

/** One vCPU's reset VMSA for QEMU/KVM, EC2 or GCE (vmsa.py `build_save_area`). */
export function buildVmsa(p: VmsaParams): Uint8Array {
  if (!Number.isSafeInteger(p.sevFeatures) || p.sevFeatures < 0)
    throw new NodeimgError('USAGE', `guest features ${p.sevFeatures} is not a non-negative integer`);
  const ec2 = p.vmmType === 'ec2';
  const qemu = p.vmmType === 'QEMU';
  // EC2: cs 0x9a for the BSP, ss 0x92, tr 0x83 (vmsa.py); GCE keeps QEMU's attributes.
  const csAttrib = ec2 && p.bsp ? 0x9a : 0x9b;
  const data: Seg = [0, 0x93, 0xffff, 0];
  return encode({
    seg: {
      es: data,
      cs: [0xf000, csAttrib, 0xffff, (p.eip & 0xffff0000) >>> 0],
      ss: [0, ec2 ? 0x92 : 0x93, 0xffff, 0],
      ds: data,
      fs: data,
      gs: data,
      gdtr: [0, 0, 0xffff, 0],
      ldtr: [0, 0x82, 0xffff, 0],
      idtr: [0, 0, 0xffff, 0],
      tr: [0, ec2 ? 0x83 : 0x8b, 0xffff, 0],
    },
    u64: {
      efer: 0x1000, // EFER.SVME, set by KVM
      cr4: 0x40, // CR4.MCE, set by KVM
      cr0: 0x10,
      dr7: 0x400,
      dr6: 0xffff0ff0,
      rflags: 0x2,
      rip: p.eip & 0xffff,
      // PAT MSR reset value (APM vol. 2 §A.3); GCE's VMM loads its own.
      g_pat: p.vmmType === 'gce' ? 0x70106 : 0x0007040600070406,
      rdx: qemu ? p.vcpuSig : 0x600,
      sev_features: p.sevFeatures,
      xcr0: 0x1,
    },
    // KVM initialises the FPU state in the VMSA since Linux 6.9/6.10 (launch-measurements.md §1.5).
    mxcsr: qemu ? 0x1f80 : 0,
    fcw: qemu ? 0x037f : 0,
  });
}

/**
 * The VMSA Coconut SVSM's QEMU starts every vCPU with: flat 32-bit protected mode at the SVSM
 * entry point (vmsa.py VMSA_SVSM). sev-snp-measure passes the FPU control word under a misspelled
 * name, so x87_fcw stays 0, and its hardware-derived vectors agree (launch-measurements.md §1.5).
 */
export function buildSvsmVmsa(p: {
  readonly eip: number;
  readonly vcpuSig: number;
  readonly sevFeatures: number;
}): Uint8Array {
  const flat: Seg = [0x10, 0xc93, 0xffffffff, 0];
  return encode({
    seg: {
      es: flat,
      cs: [0x08, 0xc9b, 0xffffffff, 0],
      ss: flat,
      ds: flat,
      fs: flat,
      gs: [0, 0x93, 0xffff, 0],
      gdtr: [0, 0, 0xffff, 0],
      ldtr: [0, 0x82, 0xffff, 0],
      idtr: [0, 0, 0xffff, 0],
      tr: [0, 0x8b, 0xffff, 0],
    },
    u64: {
      efer: 0x1000,
      cr4: 0x40,
      cr0: 0x11, // CR0.PE: protected mode
      dr7: 0x400,
      dr6: 0xffff0ff0,
      rflags: 0x2,
      rip: p.eip,
      g_pat: 0x0007040600070406,
      rdx: p.vcpuSig,
      sev_features: p.sevFeatures,
      xcr0: 0x1,
    },
    mxcsr: 0x1f80,
    fcw: 0,
  });
}
