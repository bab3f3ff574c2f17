// Which event types' digests are H(event data), per edk2/OVMF behaviour (measured-boot.md §2.2,
// TCG PC Client PFP §10.4.1). Informational: a mismatch is reported, never used to reject a log,
// because the digest (not the data) is what the TPM extended. Types whose digest covers something
// else are not checked: EV_IPL and EV_EVENT_TAG (the measured buffer, not the description; §4.1),
// EV_EFI_BOOT_SERVICES_* (Authenticode, §1), firmware blobs and handoff tables (memory contents),
// EV_POST_CODE / EV_PLATFORM_CONFIG_FLAGS (a blob described by a text), EV_NO_ACTION (never extended).
import { NodeimgError } from '../../image/formats/errors.js';
import { digest, isHashAlg, type HashAlg } from '../hash.js';
import { decodeUefiVariableData } from './event-data.js';
import { EV, type TcgEvent } from './types.js';

/** Event types whose digest is H(the whole event data). */
export const DATA_DIGEST_TYPES: ReadonlySet<number> = new Set([
  EV.SEPARATOR, // the 4-byte value
  EV.ACTION, // the string
  EV.EFI_ACTION, // ASCII string without NUL
  EV.S_CRTM_VERSION, // OVMF Tcg2Pei: the UTF-16 version string
  EV.OMIT_BOOT_DEVICE_EVENTS, // "BOOT ATTEMPTS OMITTED"
  EV.EFI_VARIABLE_DRIVER_CONFIG, // UEFI_VARIABLE_DATA
  EV.EFI_VARIABLE_BOOT2, // UEFI_VARIABLE_DATA
  EV.EFI_VARIABLE_AUTHORITY, // UEFI_VARIABLE_DATA
  EV.EFI_GPT_EVENT, // UEFI_GPT_DATA
  EV.EFI_VARIABLE_BOOT, // special: edk2 hashes only VariableData (see below)
]);

/**
 * true if every claimed digest equals H(data) for a type in DATA_DIGEST_TYPES, false if one does
 * not, undefined if the type's digest is not of its data (or there are no digests to check).
 * EV_EFI_VARIABLE_BOOT also matches H(VariableData): edk2 Tcg2Dxe MeasureVariable hashes the variable
 * contents only, while the PFP says the whole UEFI_VARIABLE_DATA.
 */
export function dataDigestMatches(
  ev: Pick<TcgEvent, 'untrustedType' | 'data' | 'claimedDigests'>,
): boolean | undefined {
  if (!DATA_DIGEST_TYPES.has(ev.untrustedType)) return undefined;
  const algs = Object.keys(ev.claimedDigests).filter(isHashAlg);
  if (algs.length === 0) return undefined;
  let variableData: Uint8Array | undefined;
  if (ev.untrustedType === EV.EFI_VARIABLE_BOOT) {
    try {
      variableData = decodeUefiVariableData(ev.data).variableData;
    } catch (e) {
      if (!(e instanceof NodeimgError)) throw e;
    }
  }
  return algs.every((alg: HashAlg) => {
    const claimed = ev.claimedDigests[alg] as Uint8Array;
    if (equalBytes(claimed, digest(alg, ev.data))) return true;
    return variableData !== undefined && equalBytes(claimed, digest(alg, variableData));
  });
}

export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export interface DataDigestCheck {
  readonly index: number;
  readonly pcr: number;
  readonly typeName: string;
  readonly matches: boolean;
}

/** dataDigestMatches for every checkable event of a log (information for `nodeimg log` output). */
export function checkDataDigests(events: readonly TcgEvent[]): DataDigestCheck[] {
  const out: DataDigestCheck[] = [];
  for (const ev of events) {
    const matches = dataDigestMatches(ev);
    if (matches !== undefined) out.push({ index: ev.index, pcr: ev.pcr, typeName: ev.typeName, matches });
  }
  return out;
}
