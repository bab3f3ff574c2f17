// Prediction of PCR 7 on OVMF (measured-boot.md §3.1 steps 3 and 6, §3.2 "PCR 7"):
//   1. edk2 SecurityPkg/Tcg/Tcg2Dxe/Tcg2Dxe.c MeasureSecureBootPolicy -> MeasureAllSecureVariables:
//      EV_EFI_VARIABLE_DRIVER_CONFIG for SecureBoot, PK, KEK (EFI_GLOBAL_VARIABLE), db, dbx
//      (EFI_IMAGE_SECURITY_DATABASE); a missing one is measured with VariableDataLength 0
//      (ReadAndMeasureSecureVariable). dbt only when present ("Measure DBT if present"); dbr never.
//   2. EV_SEPARATOR 00000000 (MeasureSeparatorEvent(7), before any image is verified).
//   3. Secure Boot on: per loaded image, the db EFI_SIGNATURE_DATA that authorised it as
//      EV_EFI_VARIABLE_AUTHORITY UEFI_VARIABLE_DATA{db GUID, "db", entry}, once per distinct entry
//      (DxeImageVerificationLib/Measurement.c SecureBootHook, IsDataMeasured).
// Every digest is H(event data): PFP §10.4.1 for both event types.
import { NodeimgError } from '../../image/formats/errors.js';
import {
  EFI_GLOBAL_VARIABLE_GUID,
  EFI_IMAGE_SECURITY_DATABASE_GUID,
} from '../../image/formats/ovmf-vars/guids.js';
import type { VarStore } from '../../image/formats/ovmf-vars/read-var-store.js';
import { secureBootVariables } from '../../image/formats/ovmf-vars/secure-boot.js';
import { parseSignatureLists, type SignatureList } from '../../image/formats/ovmf-vars/signature-list.js';
import { equalBytes } from '../eventlog/data-digest.js';
import { EV, type EventRecord } from '../eventlog/types.js';
import type { HashAlg } from '../hash.js';
import { PcrBanks, type BankDigests } from '../pcr-banks.js';
import { authorise, type DbMatch, type LoadedImage } from './db-authority.js';
import { describeSignatureLists } from './describe-lists.js';
import { deriveSecureBoot, type SecureBootState } from './secure-boot-state.js';
import { encodeUefiVariableData } from './uefi-variable-data.js';

export const PCR7 = 7;
/** Most images verified in one prediction. */
export const MAX_LOADED_IMAGES = 64;
const SEPARATOR = new Uint8Array(4);

export interface Pcr7Input {
  readonly vars: Pick<VarStore, 'variables'>;
  readonly banks: readonly HashAlg[];
  /** Images loaded by the firmware, in load order (e.g. systemd-boot, then the UKI). */
  readonly images?: readonly LoadedImage[];
  /** Override SecureBoot instead of deriving it like AuthVariableLib (secure-boot-state.ts). */
  readonly secureBoot?: boolean | undefined;
  /** false for an OVMF built without SECURE_BOOT_ENABLE: no SecureBoot variable, no verification. Default true. */
  readonly firmwareSecureBoot?: boolean | undefined;
}

export interface PredictedEvent extends EventRecord {
  readonly description: string;
  /** platform: the variable store / firmware; image: caused by verifying the images listed. */
  readonly source: 'platform' | 'image';
  readonly variable?: { readonly guid: string; readonly name: string } | undefined;
  readonly images?: readonly string[] | undefined;
  /**
   * Load index of the image whose verification logged it. In a full log the authority event comes
   * right before that image's own events (GPT on PCR 5 for the first image, then PCR 4): the
   * Security2 verification handler runs before the measurement handler (real logs, sdboot-sb event 22).
   */
  readonly imageIndex?: number | undefined;
}

export interface Pcr7Prediction {
  readonly events: readonly PredictedEvent[];
  /** The SecureBoot byte measured (undefined: the variable does not exist). */
  readonly secureBoot: 0 | 1 | undefined;
  readonly state: SecureBootState | undefined;
  /** PCR 7 after these events, per bank. */
  readonly pcr7: BankDigests;
  readonly warnings: readonly string[];
}

/** Predicts the PCR 7 events of an OVMF boot from its variable store and the loaded images. */
export function predictPcr7(input: Pcr7Input): Pcr7Prediction {
  const images = input.images ?? [];
  if (images.length > MAX_LOADED_IMAGES)
    throw new NodeimgError('USAGE', `${images.length} loaded images, more than ${MAX_LOADED_IMAGES}`);
  const bank = new PcrBanks(input.banks);
  const events: PredictedEvent[] = [];
  const warnings: string[] = [];
  const emit = (
    type: number,
    data: Uint8Array,
    rest: Omit<PredictedEvent, 'pcr' | 'untrustedType' | 'claimedDigests' | 'data'>,
  ): void => {
    const all = bank.extendData(PCR7, data);
    const claimedDigests: BankDigests = {};
    for (const a of input.banks) claimedDigests[a] = all[a] as Uint8Array;
    events.push({ pcr: PCR7, untrustedType: type, claimedDigests, data, ...rest });
  };
  const config = (guid: string, name: string, data: Uint8Array | undefined, what: string): void => {
    const description = data === undefined ? `${name} absent (VariableDataLength 0)` : `${name} = ${what}`;
    emit(EV.EFI_VARIABLE_DRIVER_CONFIG, encodeUefiVariableData(guid, name, data ?? new Uint8Array(0)), {
      description,
      source: 'platform',
      variable: { guid, name },
    });
  };

  const v = secureBootVariables(input.vars);
  const supported = input.firmwareSecureBoot ?? true;
  const state = supported ? deriveSecureBoot(input.vars) : undefined;
  const sb: 0 | 1 | undefined = !supported
    ? undefined
    : input.secureBoot === undefined
      ? state?.secureBoot
      : input.secureBoot
        ? 1
        : 0;
  const why = input.secureBoot === undefined ? state?.reason : 'set by the caller';
  config(
    EFI_GLOBAL_VARIABLE_GUID,
    'SecureBoot',
    sb === undefined ? undefined : new Uint8Array([sb]),
    `${sb ?? ''} (${why ?? ''})`,
  );
  // Tcg2Dxe measures the variable bytes whatever they hold; only verification needs db/dbx decoded.
  const lists = new Map<string, SignatureList[] | NodeimgError>();
  for (const [guid, name, variable] of [
    [EFI_GLOBAL_VARIABLE_GUID, 'PK', v.PK],
    [EFI_GLOBAL_VARIABLE_GUID, 'KEK', v.KEK],
    [EFI_IMAGE_SECURITY_DATABASE_GUID, 'db', v.db],
    [EFI_IMAGE_SECURITY_DATABASE_GUID, 'dbx', v.dbx],
    [EFI_IMAGE_SECURITY_DATABASE_GUID, 'dbt', v.dbt],
  ] as const) {
    if (name === 'dbt' && variable === undefined) continue;
    const parsed = variable === undefined ? [] : tryParse(variable.data, variable.offset, name);
    lists.set(name, parsed);
    let what = '';
    if (parsed instanceof NodeimgError) {
      what = `${variable?.data.length ?? 0} bytes, not valid EFI_SIGNATURE_LISTs`;
      warnings.push(`${name}: ${parsed.message}`);
    } else if (variable !== undefined) what = describeSignatureLists(variable.data.length, parsed);
    config(guid, name, variable?.data, what);
  }
  emit(EV.SEPARATOR, SEPARATOR, { description: 'separator 00000000', source: 'platform' });

  // DxeImageVerificationHandler returns early unless SecureBoot exists and is 1.
  if (sb === 1) {
    const measured: { match: DbMatch; at: number; images: string[] }[] = [];
    const authority = (match: DbMatch, labels: readonly string[]): string =>
      `db entry ${match.list}/${match.index} (${match.by === 'x509' ? 'X.509 certificate' : 'image hash'}, owner ${match.entry.owner}) authorised ${labels.join(', ')}`;
    const db = decoded(lists.get('db'));
    const dbx = decoded(lists.get('dbx'));
    for (const [imageIndex, image] of images.entries()) {
      const match = authorise(image, db, dbx, warnings);
      const seen = measured.find((m) => equalBytes(m.match.entry.rawEntry, match.entry.rawEntry));
      if (seen) {
        // IsDataMeasured: the entry is already in mMeasuredAuthorityList, nothing is extended.
        seen.images.push(image.label);
        const ev = events[seen.at] as PredictedEvent;
        events[seen.at] = {
          ...ev,
          description: authority(seen.match, seen.images),
          images: [...seen.images],
        };
        continue;
      }
      measured.push({ match, at: events.length, images: [image.label] });
      emit(
        EV.EFI_VARIABLE_AUTHORITY,
        encodeUefiVariableData(EFI_IMAGE_SECURITY_DATABASE_GUID, 'db', match.entry.rawEntry),
        {
          description: authority(match, [image.label]),
          source: 'image',
          variable: { guid: EFI_IMAGE_SECURITY_DATABASE_GUID, name: 'db' },
          images: [image.label],
          imageIndex,
        },
      );
    }
  } else if (images.length > 0) {
    warnings.push(
      `Secure Boot is off: ${images.length} image(s) load without verification and add no PCR 7 event`,
    );
  }
  const pcr7: BankDigests = {};
  for (const a of bank.banks) pcr7[a] = bank.value(a, PCR7);
  return { events, secureBoot: sb, state, pcr7, warnings };
}

function tryParse(data: Uint8Array, offset: number, name: string): SignatureList[] | NodeimgError {
  try {
    return parseSignatureLists(data, offset, `${name} EFI_SIGNATURE_LIST`);
  } catch (err) {
    if (err instanceof NodeimgError) return err;
    throw err;
  }
}

function decoded(lists: SignatureList[] | NodeimgError | undefined): SignatureList[] {
  if (lists instanceof NodeimgError) throw lists;
  return lists ?? [];
}
