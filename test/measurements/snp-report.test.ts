// The SEV-SNP ATTESTATION_REPORT decoder on a real, VCEK-signed AMD Milan report (dstack's
// sev_snp_attestation.bin: the report at byte 4 of a SCALE-encoded VersionedAttestation, the values
// its README states), on synthetic reports at two offsets, and on truncated input. The same blob
// carries dstack's published launch parameters (`sev_snp_measurement`); from them alone snpDigests()
// reproduces the hardware MEASUREMENT, which anchors the page chain, VMSA and kernel-hashes logic
// (and the file order of the metadata sections) to real hardware.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ParseError } from '../../image/formats/errors.js';
import {
  decodeSnpReport,
  describeAmdSevFirmware,
  kernelHashes,
  parseOvmfHashSeed,
  snpDigests,
  SNP_REPORT_SIZE,
  vcpuSigForType,
} from '../../measurements/cvm/snp/index.js';
import { toHexStr } from './helpers.js';

const BLOB = new Uint8Array(
  readFileSync(
    new URL('../../../shared/cvm-measurement-data/dstack-fixtures/sev_snp_attestation.bin', import.meta.url),
  ),
);
const fromHex = (s: string) => new Uint8Array(Buffer.from(s, 'hex'));

describe('SEV-SNP attestation report: dstack Milan fixture', () => {
  const r = decodeSnpReport(BLOB, 4);

  it('decodes the fields its README states', () => {
    expect(r.offset).toBe(4);
    expect(r.version).toBe(3);
    // report-data = ASCII "attest-test-fixture-2026", zero-padded to 64 bytes
    expect(Buffer.from(r.reportData.subarray(0, 24)).toString('latin1')).toBe('attest-test-fixture-2026');
    expect(r.reportData.subarray(24).every((b) => b === 0)).toBe(true);
    expect(toHexStr(r.measurement)).toMatch(
      /^7f51e17f72a04d5422cb2c00998166536019a217376f3aa45a630e59c805a599/,
    );
    expect(toHexStr(r.measurement)).toMatch(/f05d$/); // launch-measurements.md §4: 7f51e17f…f05d
    expect(toHexStr(r.hostData)).toBe('783f0057820acb99249af56cc3b07b4e8d80f65183167cba9cf437bb680f742f');
    expect(toHexStr(r.chipId)).toBe(
      '38d174589d2dff97a6d40cb9f9d90b9507c027491219083cef3ce73ed18f7289142d941ad61eabecd27d25f268c1095d665f6001358e98a4769c82734a6bb877',
    );
  });

  it('decodes the rest of a Milan version-3 report consistently', () => {
    expect(r.cpuid).toEqual({ family: 0x19, model: 0x01, stepping: 0x01 }); // Milan
    expect(r.signatureAlgo).toBe(1);
    expect(r.keyInfo.signingKey).toBe('VCEK');
    expect(r.policy.raw & (1n << 17n)).toBe(1n << 17n); // reserved bit 17 must be one
    expect(r.vmpl).toBe(0);
    // the committed TCB is what the current firmware runs; reported TCB can lag behind it
    expect(r.committedTcb.raw).toBe(r.currentTcb.raw);
    expect(r.reportedTcb.snp).toBeLessThanOrEqual(r.currentTcb.snp);
    expect(r.signature?.r).toHaveLength(48);
    expect(r.launchMitVector).toBeUndefined();
    expect(r.warnings).toEqual([]);
  });

  it("reproduces the hardware MEASUREMENT from dstack's published launch parameters", () => {
    const text = Buffer.from(BLOB.subarray(4 + SNP_REPORT_SIZE)).toString('latin1');
    const outer = JSON.parse(text.slice(text.indexOf('{"os_image_hash"'), text.lastIndexOf('}') + 1)) as {
      sev_snp_measurement: string;
    };
    const m = JSON.parse(outer.sev_snp_measurement) as {
      ovmf_sections: { gpa: number; size: number; section_type: number }[];
      base_cmdline: string;
      ovmf_hash: string;
      kernel_hash: string;
      initrd_hash: string;
      sev_hashes_table_gpa: number;
      sev_es_reset_eip: number;
      vcpus: number;
      vcpu_type: string;
      guest_features: number;
    };
    const firmware = describeAmdSevFirmware({
      name: 'dstack OVMF',
      sections: m.ovmf_sections.map((s) => ({ gpa: s.gpa, size: s.size, type: s.section_type })),
      sevEsResetEip: m.sev_es_reset_eip,
      sevHashTableGpa: m.sev_hashes_table_gpa,
    });
    const kernel = kernelHashes({
      kernelSha256: fromHex(m.kernel_hash),
      initrdSha256: fromHex(m.initrd_hash),
      append: m.base_cmdline,
    });
    const common = {
      firmware,
      vcpuSig: vcpuSigForType(m.vcpu_type),
      guestFeatures: m.guest_features,
      ovmfHashSeed: parseOvmfHashSeed(m.ovmf_hash),
      kernel,
    };
    const got = snpDigests({ ...common, vcpus: [1, m.vcpus, 8] });
    expect(got.digests.find((d) => d.vcpus === m.vcpus)?.digest).toEqual(r.measurement);
    expect(got.digests.filter((d) => toHexStr(d.digest) === toHexStr(r.measurement))).toHaveLength(1);
    // Parameters without the OVMF hash (or the file) leave nothing to hash the firmware pages from.
    expect(() => snpDigests({ ...common, ovmfHashSeed: undefined, vcpus: [2] })).toThrow(
      expect.objectContaining({ code: 'USAGE', message: expect.stringMatching(/no bytes to measure/) }),
    );
    // Sorting the sections by GPA (SEC_MEM 0x811000 after KERNEL_HASHES 0x810000) breaks the match:
    // the hardware takes them in file order (launch-measurements.md §1.8).
    const sorted = describeAmdSevFirmware({
      sevEsResetEip: m.sev_es_reset_eip,
      sevHashTableGpa: m.sev_hashes_table_gpa,
      sections: [...m.ovmf_sections]
        .sort((a, b) => a.gpa - b.gpa)
        .map((s) => ({ gpa: s.gpa, size: s.size, type: s.section_type })),
    });
    expect(snpDigests({ ...common, firmware: sorted, vcpus: [m.vcpus] }).digests[0]?.digest).not.toEqual(
      r.measurement,
    );
  });
});

describe('SEV-SNP attestation report: layout', () => {
  /** A synthetic version-5 report with a distinct byte pattern per field. */
  function synthetic(): Uint8Array {
    const b = new Uint8Array(SNP_REPORT_SIZE);
    const v = new DataView(b.buffer);
    v.setUint32(0x00, 5, true); // VERSION
    v.setUint32(0x04, 7, true); // GUEST_SVN
    v.setBigUint64(0x08, 0x3_1f03n | (1n << 19n), true); // POLICY: ABI 31.3, SMT, reserved, DEBUG
    b.fill(0x11, 0x10, 0x20); // FAMILY_ID
    b.fill(0x22, 0x20, 0x30); // IMAGE_ID
    v.setUint32(0x30, 2, true); // VMPL
    v.setUint32(0x34, 1, true); // SIGNATURE_ALGO
    v.setBigUint64(0x38, 0x1a_00_00_00_00_19_03_04n, true); // CURRENT_TCB
    v.setBigUint64(0x40, 0b100101n, true); // PLATFORM_INFO
    v.setUint32(0x48, 0b111_0_1, true); // KEY_INFO: author key, signing key 7 (none)
    b.fill(0x33, 0x50, 0x90); // REPORT_DATA
    b.fill(0x44, 0x90, 0xc0); // MEASUREMENT
    b.fill(0x55, 0xc0, 0xe0); // HOST_DATA
    b.fill(0x66, 0x1a0, 0x1e0); // CHIP_ID
    b.set([0x1a, 0x02, 0x00], 0x188); // CPUID family/model/stepping: Turin
    b.set([9, 58, 1], 0x1e8); // CURRENT build/minor/major
    v.setBigUint64(0x1f8, 0xabn, true); // LAUNCH_MIT_VECTOR
    v.setBigUint64(0x200, 0xcdn, true); // CURRENT_MIT_VECTOR
    b[0x2a0] = 0x01; // R = 1 (little-endian)
    b[0x2e8 + 47] = 0x80; // S = 0x80 << 376
    return b;
  }

  it.each([0, 32])('decodes every field at offset %i', (pad) => {
    const blob = new Uint8Array(SNP_REPORT_SIZE + pad + 7).fill(0xee);
    blob.set(synthetic(), pad);
    const r = decodeSnpReport(blob, pad);
    expect(r.offset).toBe(pad);
    expect([r.version, r.guestSvn, r.vmpl, r.signatureAlgo]).toEqual([5, 7, 2, 1]);
    expect(r.policy).toMatchObject({
      abiMajor: 0x1f,
      abiMinor: 0x03,
      smtAllowed: true,
      debug: true,
      migrateMa: false,
    });
    expect(r.familyId.every((x) => x === 0x11) && r.imageId.every((x) => x === 0x22)).toBe(true);
    expect(r.currentTcb).toEqual({
      raw: 0x1a_00_00_00_00_19_03_04n,
      fmc: 4,
      bootLoader: 3,
      tee: 0x19,
      snp: 0,
      microcode: 0x1a,
    });
    expect(r.platformInfo).toMatchObject({
      smtEnabled: true,
      tsmeEnabled: false,
      eccEnabled: true,
      aliasCheckComplete: true,
    });
    expect(r.keyInfo).toEqual({
      raw: 0b11101,
      authorKeyEnabled: true,
      maskChipKey: false,
      signingKey: 'none',
    });
    expect([
      r.reportData[0],
      r.reportData[63],
      r.measurement[0],
      r.measurement[47],
      r.hostData[31],
      r.chipId[63],
    ]).toEqual([0x33, 0x33, 0x44, 0x44, 0x55, 0x66]);
    expect(r.cpuid).toEqual({ family: 0x1a, model: 2, stepping: 0 });
    expect(r.currentVersion).toEqual({ major: 1, minor: 58, build: 9 });
    expect([r.launchMitVector, r.currentMitVector]).toEqual([0xabn, 0xcdn]);
    expect(r.signature?.r[47]).toBe(1);
    expect(r.signature?.s[0]).toBe(0x80);
  });

  it('refuses truncated input, unknown old versions and oversized signature values', () => {
    const b = synthetic();
    expect(() => decodeSnpReport(b.subarray(0, SNP_REPORT_SIZE - 1))).toThrow(ParseError);
    expect(() => decodeSnpReport(b, 1)).toThrow(/1184 bytes; 1183 are left/);
    const v1 = synthetic();
    v1[0] = 1;
    expect(() => decodeSnpReport(v1)).toThrow(
      expect.objectContaining({ code: 'PARSE_UNSUPPORTED', offset: 0 }),
    );
    const big = synthetic();
    big[0x2a0 + 48] = 1;
    expect(() => decodeSnpReport(big)).toThrow(
      expect.objectContaining({ code: 'PARSE_INVALID', offset: 0x2a0 + 48 }),
    );
    const future = synthetic();
    future[0] = 9;
    expect(decodeSnpReport(future).warnings).toEqual([expect.stringMatching(/version 9 is newer/)]);
    future[1] = 1; // 265: not a report version at all (wrong offset?)
    expect(() => decodeSnpReport(future)).toThrow(expect.objectContaining({ code: 'PARSE_UNSUPPORTED' }));
  });
});
