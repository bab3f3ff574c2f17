// The boot variables TDVF measures at ReadyToBoot, in its order, from a set of variables the user
// describes (edk2 SecurityPkg/Tcg/TdTcg2Dxe/TdTcg2Dxe.c MeasureAllBootVariables): BootOrder, then
// Boot#### for each entry of BootOrder in its order (UINT16 little-endian entries; an entry listed
// twice is measured twice). For a disk boot these are what OVMF's boot manager creates for the TD's
// devices (PlatformBootManagerLib: one option per bootable device, UiApp, the shell; ordered by
// QEMU's fw_cfg bootorder), which the image does not determine and nodeimg does not model: they must
// be described (e.g. dumped from /sys/firmware/efi/efivars of a TD on the same platform) or taken from
// a recorded CCEL. edk2 skips a listed Boot#### that does not exist; a description that lacks one is
// refused instead, since that is far more likely a mistake in the description.
import { NodeimgError } from '../../../image/formats/errors.js';
import type { BootVariable } from './firmware-config.js';

/** Most BootOrder entries accepted (OVMF creates a handful). */
export const MAX_BOOT_ENTRIES = 1024;

const hex4 = (n: number) => n.toString(16).toUpperCase().padStart(4, '0');

/**
 * BootOrder and the Boot#### it lists, in measurement order. `vars` maps variable names (BootOrder,
 * Boot#### with any hex case) to their data. Returns the variables and the names not measured.
 */
export function measuredBootVariables(vars: ReadonlyMap<string, Uint8Array>): {
  readonly variables: BootVariable[];
  readonly unused: string[];
} {
  const byName = new Map<string, Uint8Array>();
  for (const [name, data] of vars) {
    const m = /^(?:BootOrder|Boot([0-9A-Fa-f]{4}))$/.exec(name);
    if (!m) throw new NodeimgError('PARSE_INVALID', `"${name}" is not BootOrder or Boot#### (4 hex digits)`);
    const key = m[1] === undefined ? 'BootOrder' : `Boot${m[1].toUpperCase()}`;
    if (byName.has(key)) throw new NodeimgError('PARSE_INVALID', `${key} is given twice`);
    byName.set(key, data);
  }
  const order = byName.get('BootOrder');
  if (order === undefined)
    throw new NodeimgError(
      'PARSE_INVALID',
      'no BootOrder: OVMF always creates it and TDVF measures it first',
    );
  if (order.length === 0 || order.length % 2 !== 0)
    throw new NodeimgError(
      'PARSE_INVALID',
      `BootOrder is ${order.length} bytes; it is a non-empty list of UINT16 option numbers`,
    );
  if (order.length / 2 > MAX_BOOT_ENTRIES)
    throw new NodeimgError('PARSE_LIMIT', `BootOrder lists more than ${MAX_BOOT_ENTRIES} options`);
  const view = new DataView(order.buffer, order.byteOffset, order.length);
  const variables: BootVariable[] = [{ name: 'BootOrder', data: order }];
  const used = new Set(['BootOrder']);
  for (let i = 0; i < order.length; i += 2) {
    const name = `Boot${hex4(view.getUint16(i, true))}`;
    const data = byName.get(name);
    if (data === undefined)
      throw new NodeimgError('PARSE_INVALID', `BootOrder lists ${name}, which is not given`);
    variables.push({ name, data });
    used.add(name);
  }
  return { variables, unused: [...byName.keys()].filter((n) => !used.has(n)) };
}
