// One-line human description of an event's data, for `nodeimg` log listings and diffs. Display only:
// nothing here is trusted or used for replay. Never throws on odd data (falls back to a hex summary).
import { NodeimgError } from '../../image/formats/errors.js';
import { ByteReader, toHex } from '../../image/formats/reader.js';
import { devicePathText } from './device-path.js';
import { guidLabel, guidToString } from './efi-guid.js';
import {
  decodeFirmwareBlob,
  decodeGptEvent,
  decodeHandoffTables,
  decodeImageLoadEvent,
  decodeTaggedEvent,
  decodeUefiVariableData,
} from './event-data.js';
import { describeNoAction } from './no-action.js';
import { knownTag } from './tags.js';
import { decodeText, hex64, hexSummary, quote, textOrHex } from './text.js';
import { EV, eventTypeName, type TcgEvent } from './types.js';

export interface DescribeOptions {
  /** Spec ID uintnSize (1 = UINT32, 2 = UINT64); sizes UINTN fields of EV_EFI_HANDOFF_TABLES. */
  readonly uintnSize?: number;
}

/** A short description of what the event data says (not including the type name). */
export function describeEvent(
  ev: Pick<TcgEvent, 'untrustedType' | 'data'>,
  opts: DescribeOptions = {},
): string {
  let text: string;
  try {
    text = describeData(ev.untrustedType, ev.data, opts);
  } catch (e) {
    if (!(e instanceof NodeimgError)) throw e;
    text = `${hexSummary(ev.data)} (undecodable ${eventTypeName(ev.untrustedType)} data: ${e.message})`;
  }
  // Event data is attacker-controlled: keep control characters off the terminal.
  return text.replace(
    // eslint-disable-next-line no-control-regex
    /[\u0000-\u001f\u007f-\u009f]/g,
    (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`,
  );
}

function describeData(type: number, d: Uint8Array, opts: DescribeOptions): string {
  switch (type) {
    case EV.NO_ACTION:
      return describeNoAction(d);
    case EV.SEPARATOR:
      return d.length === 4
        ? `separator ${toHex(d)}${toHex(d) === 'ffffffff' ? ' (error)' : ''}`
        : `separator ${hexSummary(d)}`;
    case EV.EFI_VARIABLE_DRIVER_CONFIG:
    case EV.EFI_VARIABLE_BOOT:
    case EV.EFI_VARIABLE_BOOT2:
    case EV.EFI_VARIABLE_AUTHORITY:
    case EV.EFI_SPDM_DEVICE_POLICY:
    case EV.EFI_SPDM_DEVICE_AUTHORITY:
      return describeVariable(type, d);
    case EV.EFI_BOOT_SERVICES_APPLICATION:
    case EV.EFI_BOOT_SERVICES_DRIVER:
    case EV.EFI_RUNTIME_SERVICES_DRIVER: {
      const e = decodeImageLoadEvent(d);
      const clipped =
        e.devicePathLength > BigInt(e.devicePath.length)
          ? ` (device path clipped to ${e.devicePath.length} bytes)`
          : '';
      return (
        `image at ${hex64(e.location)} length ${hex64(e.length)} link ${hex64(e.linkTimeAddress)} ` +
        `devicePath[${e.devicePathLength}] ${e.devicePath.length > 0 ? devicePathText(e.devicePath) : '(none)'}${clipped}`
      );
    }
    case EV.EFI_GPT_EVENT: {
      const g = decodeGptEvent(d);
      return `GPT disk ${g.diskGuid}, ${g.partitions} partitions${g.signatureOk ? '' : ' (no "EFI PART" signature)'}`;
    }
    case EV.EVENT_TAG: {
      const t = decodeTaggedEvent(d);
      const known = knownTag(t.id);
      return `tag 0x${t.id.toString(16).padStart(8, '0')}${known ? ` ${known.name}` : ''}: ${textOrHex(t.data)}`;
    }
    case EV.EFI_PLATFORM_FIRMWARE_BLOB:
    case EV.EFI_PLATFORM_FIRMWARE_BLOB2: {
      const b = decodeFirmwareBlob(d, type === EV.EFI_PLATFORM_FIRMWARE_BLOB2);
      return `${b.description === undefined ? '' : `${quote(b.description)} `}base ${hex64(b.base)} length ${hex64(b.length)}`;
    }
    case EV.EFI_HANDOFF_TABLES:
    case EV.EFI_HANDOFF_TABLES2: {
      const t = decodeHandoffTables(d, type === EV.EFI_HANDOFF_TABLES2, opts.uintnSize === 1 ? 4 : 8);
      return `${t.description === undefined ? '' : `${quote(t.description)} `}${t.guids.length} table(s): ${t.guids.map(guidLabel).join(', ')}`;
    }
    case EV.POST_CODE:
    case EV.S_CRTM_CONTENTS: {
      // edk2 writes either a text ("POST CODE", "SMM CODE", ...) or a UEFI_PLATFORM_FIRMWARE_BLOB.
      const text = textOrHex(d);
      if (d.length !== 16 || text.startsWith('"')) return text;
      const b = decodeFirmwareBlob(d, false);
      return `base ${hex64(b.base)} length ${hex64(b.length)}`;
    }
    case EV.S_CRTM_VERSION:
      // OVMF Tcg2Pei: PcdFirmwareVersionString, UTF-16 with NUL; some firmware logs a GUID.
      return d.length === 16 && decodeText(d) === undefined
        ? `version GUID ${guidToString(d)}`
        : textOrHex(d);
    default:
      // EV_EFI_ACTION / EV_ACTION (ASCII), EV_IPL (systemd: UTF-16LE + NUL; GRUB/shim: ASCII),
      // EV_PLATFORM_CONFIG_FLAGS ("ACPI DATA"), EV_EFI_HCRTM_EVENT ("HCRTM"), and anything unknown.
      return textOrHex(d);
  }
}

function describeVariable(type: number, d: Uint8Array): string {
  const v = decodeUefiVariableData(d);
  const head = `${guidLabel(v.guid)}:${quote(v.name).slice(1, -1)}`;
  const extra = v.extra > 0 ? ` (+${v.extra} stray bytes)` : '';
  const vd = v.variableData;
  if (type === EV.EFI_VARIABLE_BOOT || type === EV.EFI_VARIABLE_BOOT2) {
    if (v.name === 'BootOrder') {
      const r = new ByteReader(vd, 'BootOrder');
      const ids: string[] = [];
      while (r.remaining >= 2 && ids.length < 64)
        ids.push(r.u16().toString(16).toUpperCase().padStart(4, '0'));
      return `${head} ${ids.join(',')}${extra}`;
    }
    if (/^Boot[0-9A-Fa-f]{4}$/.test(v.name)) return `${head} ${describeLoadOption(vd)}${extra}`;
  }
  if (v.name === 'SecureBoot' && vd.length === 1) return `${head} = ${vd[0]}${extra}`;
  if (type === EV.EFI_VARIABLE_AUTHORITY && vd.length >= 16) {
    return `${head} (${vd.length} bytes, EFI_SIGNATURE_DATA owner ${guidLabel(guidToString(vd))})${extra}`;
  }
  return `${head} (${vd.length} bytes)${extra}`;
}

/** EFI_LOAD_OPTION {u32 Attributes; u16 FilePathListLength; CHAR16 Description[] NUL; FilePathList; OptionalData}. */
function describeLoadOption(vd: Uint8Array): string {
  const r = new ByteReader(vd, 'EFI_LOAD_OPTION');
  const attributes = r.u32();
  const fpLen = r.u16();
  const units: number[] = [];
  for (let u = r.u16(); u !== 0; u = r.u16()) units.push(u);
  const desc = String.fromCharCode(...units.slice(0, 256));
  const fp = r.read(fpLen);
  const optional = r.remaining > 0 ? ` optional ${hexSummary(r.read(r.remaining), 16)}` : '';
  return `${quote(desc)} attr 0x${attributes.toString(16)} ${devicePathText(fp)}${optional}`;
}
