// A set of TPM PCR banks (sha1/sha256/sha384/sha512 x 24 PCRs) that are extended together, the way
// firmware calls HashLogExtendEvent once per measurement for every active bank (edk2
// SecurityPkg/Tcg/Tcg2Dxe/Tcg2Dxe.c TcgDxeHashLogExtendEvent; measured-boot.md §0.1).
import { NodeimgError } from '../image/formats/errors.js';
import { ALL_HASH_ALGS, MultiHash, type HashAlg } from './hash.js';
import {
  PCR_COUNT,
  assertPcrIndex,
  extend,
  initialRegister,
  type Register,
  type StartupLocality,
} from './register.js';

/** Per-bank PCR values, each map sorted by PCR index. */
export type PcrValues = Partial<Record<HashAlg, ReadonlyMap<number, Uint8Array>>>;

/** Digests for some banks, keyed by bank (e.g. the digests of one log event). */
export type BankDigests = Partial<Record<HashAlg, Uint8Array>>;

export class PcrBanks {
  /** Active banks in TPM_ALG_ID order (sha1, sha256, sha384, sha512). */
  readonly banks: readonly HashAlg[];
  private readonly regs: Map<HashAlg, Register[]>;
  private readonly touched = new Set<number>();

  constructor(banks: readonly HashAlg[], locality: StartupLocality = 0) {
    const unique = new Set(banks);
    if (unique.size === 0) throw new NodeimgError('USAGE', 'a PCR bank set needs at least one bank');
    if (unique.size !== banks.length)
      throw new NodeimgError('USAGE', `duplicate bank in [${banks.join(', ')}]`);
    this.banks = ALL_HASH_ALGS.filter((a) => unique.has(a));
    this.regs = new Map(
      this.banks.map((alg) => [
        alg,
        Array.from({ length: PCR_COUNT }, (_, i) => initialRegister(alg, i, i === 0 ? locality : 0)),
      ]),
    );
  }

  /** True once an extend hit this PCR (in any bank). */
  isExtended(index: number): boolean {
    return this.touched.has(index);
  }

  get(alg: HashAlg, index: number): Register {
    assertPcrIndex(index);
    const bank = this.regs.get(alg);
    if (bank === undefined)
      throw new NodeimgError('USAGE', `bank ${alg} is not active (active: ${this.banks.join(', ')})`);
    return bank[index] as Register;
  }

  value(alg: HashAlg, index: number): Uint8Array {
    return this.get(alg, index).value;
  }

  /**
   * Re-seeds PCR 0 with a startup locality (EV_NO_ACTION "StartupLocality", PFP). Only valid before
   * PCR 0 has been extended, since TPM2_Startup happens before any measurement.
   */
  setStartupLocality(locality: StartupLocality): void {
    if (this.touched.has(0))
      throw new NodeimgError('USAGE', 'StartupLocality after PCR 0 was already extended');
    for (const [alg, bank] of this.regs) bank[0] = initialRegister(alg, 0, locality);
  }

  /** Extends PCR `index` of every bank with that bank's digest; a digest must exist for every bank. */
  extendDigests(index: number, digests: BankDigests): void {
    assertPcrIndex(index);
    for (const alg of this.banks) {
      if (digests[alg] === undefined)
        throw new NodeimgError('USAGE', `no ${alg} digest to extend PCR ${index}`);
    }
    for (const [alg, bank] of this.regs) {
      // PCR[bank][i] = H_bank(PCR[bank][i] ‖ digest_bank) (measured-boot.md §0.1)
      bank[index] = extend(bank[index] as Register, digests[alg] as Uint8Array);
    }
    this.touched.add(index);
  }

  /**
   * Measures `data` into PCR `index`: each bank hashes the same bytes with its own algorithm
   * (HashLogExtendEvent with flags 0). Returns the digests, which is what a log event would carry.
   */
  extendData(index: number, data: Uint8Array): BankDigests {
    const digests = new MultiHash(this.banks).update(data).digests();
    this.extendDigests(index, digests);
    return digests;
  }

  /** A copy of all values: every active bank, PCR 0-23 in order. */
  values(): PcrValues {
    const out: PcrValues = {};
    for (const [alg, bank] of this.regs) out[alg] = new Map(bank.map((r) => [r.index, r.value.slice()]));
    return out;
  }

  clone(): PcrBanks {
    const copy = new PcrBanks(this.banks);
    for (const [alg, bank] of this.regs) copy.regs.set(alg, bank.slice());
    for (const i of this.touched) copy.touched.add(i);
    return copy;
  }
}
