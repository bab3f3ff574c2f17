// Intel TDX runtime measurement registers: 4 x SHA-384, reset to zero, extended with the same
// H(old ‖ digest) as a PCR (TDG.MR.RTMR.EXTEND; measured-boot.md §0.2). MRTD is not an extend
// register and is not modelled here (launch-measurements.md).
import { NodeimgError } from '../image/formats/errors.js';
import { digest } from './hash.js';
import { extend, zeroRegister, type Register } from './register.js';

export const RTMR_COUNT = 4;
export const RTMR_ALG = 'sha384' as const;

export function initialRtmr(index: number): Register {
  if (!Number.isInteger(index) || index < 0 || index >= RTMR_COUNT)
    throw new NodeimgError('USAGE', `RTMR index ${index} is out of range 0-3`);
  return zeroRegister(RTMR_ALG, index);
}

/**
 * CC measurement-register index for a TPM PCR, as OVMF's TDX build maps it (edk2
 * OvmfPkg/IntelTdx/TdxMeasurementLib/TdxMeasurementCommon.c; UEFI 2.10 §38.4.1; measured-boot.md §9.1):
 * PCR 0 -> MR 0 (MRTD), 1 and 7 -> 1, 2-6 -> 2, 8-15 -> 3. Returns undefined for PCR > 15.
 */
export function ccMrIndexForPcr(pcr: number): number | undefined {
  if (!Number.isInteger(pcr) || pcr < 0) return undefined;
  if (pcr === 0) return 0;
  if (pcr === 1 || pcr === 7) return 1;
  if (pcr <= 6) return 2;
  if (pcr <= 15) return 3;
  return undefined;
}

/** RTMR index for a CC MR index as written in the CCEL (MR 1..4 -> RTMR 0..3; MR 0 is MRTD). */
export function rtmrIndexForMrIndex(mrIndex: number): number | undefined {
  return Number.isInteger(mrIndex) && mrIndex >= 1 && mrIndex <= RTMR_COUNT ? mrIndex - 1 : undefined;
}

/** The four RTMRs of a TD, extended in event order. */
export class RtmrBank {
  private readonly regs: Register[] = Array.from({ length: RTMR_COUNT }, (_, i) => initialRtmr(i));

  get(index: number): Register {
    initialRtmr(index); // range check
    return this.regs[index] as Register;
  }

  /** RTMR[i] = SHA384(RTMR[i] ‖ digest48) (measured-boot.md §0.2). */
  extendDigest(index: number, digest48: Uint8Array): void {
    this.regs[index] = extend(this.get(index), digest48);
  }

  /** Measures bytes: extendDigest(i, SHA384(data)). Returns the digest. */
  extendData(index: number, data: Uint8Array): Uint8Array {
    const d = digest(RTMR_ALG, data);
    this.extendDigest(index, d);
    return d;
  }

  values(): readonly Uint8Array[] {
    return this.regs.map((r) => r.value.slice());
  }
}
