import { ByteReader } from '../reader.js';
import type { ByteSource } from '../source.js';
import { MAX_READ } from '../source.js';
import { ParseError } from '../errors.js';
import { findNvFirmwareVolume } from './firmware-volume.js';
import {
  VARIABLE_STORE_HEADER_SIZE,
  decodeVariableStoreHeader,
  walkVariableRecords,
  type VariableRecord,
} from './variable-store.js';
import { VAR_ADDED_IN_DELETED_TRANSITION, VAR_STATE, type VarStoreFormat } from './variable-header.js';

/** A variable as GetVariable() would return it from this store. */
export interface UefiVariable {
  readonly guid: string;
  readonly name: string;
  readonly attributes: number;
  readonly data: Uint8Array;
  /** Absolute offset of the record that holds it. */
  readonly offset: number;
}

export interface VarStore {
  readonly format: VarStoreFormat;
  /** Absolute offset of the EFI_FIRMWARE_VOLUME_HEADER. */
  readonly fvOffset: number;
  /** Absolute offset and Size of the VARIABLE_STORE_HEADER. */
  readonly storeOffset: number;
  readonly storeSize: number;
  /** Records walked, deleted and superseded ones included. */
  readonly recordCount: number;
  /** Live variables, in store order of the record that is live. */
  readonly variables: readonly UefiVariable[];
}

/**
 * Reads the NV variable store of an OVMF_VARS*.fd (or of a combined OVMF.fd): FV header, store
 * header, then every record. Only live variables are returned, chosen like edk2
 * VariableParsing.c FindVariableEx: the first VAR_ADDED (0x3f) record of a (GUID, name) wins; a
 * record in VAR_ADDED & VAR_IN_DELETED_TRANSITION (0x3e) counts only when no VAR_ADDED copy exists
 * (an interrupted update); anything else (deleted 0x3c, header-only 0x7f) is ignored.
 */
export async function readVarStore(src: ByteSource): Promise<VarStore> {
  const fv = await findNvFirmwareVolume(src);
  const rel = fv.offset - src.base;
  const storeRel = rel + fv.headerLength;
  const headBytes = await src.read(storeRel, Math.min(VARIABLE_STORE_HEADER_SIZE, src.size - storeRel));
  const head = new ByteReader(headBytes, `${src.name}: VARIABLE_STORE_HEADER`, src.base + storeRel);
  const header = decodeVariableStoreHeader(head);
  // OvmfPkg FwBlockService.c ValidateFvHeader: the store lies inside the FV.
  if (header.size > fv.fvLength - fv.headerLength)
    head.fail(`Size ${header.size} exceeds FvLength - HeaderLength = ${fv.fvLength - fv.headerLength}`, 16);
  if (header.size > MAX_READ) head.fail(`Size ${header.size} exceeds ${MAX_READ}`, 16, 'PARSE_LIMIT');
  if (storeRel + header.size > src.size) {
    throw new ParseError(
      'PARSE_TRUNCATED',
      head.structure,
      head.abs(16),
      `Size ${header.size} runs past the ${src.size}-byte input`,
    );
  }
  const store = new ByteReader(
    await src.read(storeRel, header.size),
    `${src.name}: variable store`,
    src.base + storeRel,
  );
  const records = walkVariableRecords(store, header.format);
  return {
    format: header.format,
    fvOffset: fv.offset,
    storeOffset: store.abs(0),
    storeSize: header.size,
    recordCount: records.length,
    variables: liveVariables(records),
  };
}

function liveVariables(records: readonly VariableRecord[]): UefiVariable[] {
  const added = new Map<string, VariableRecord>();
  const transition = new Map<string, VariableRecord>();
  for (const rec of records) {
    const key = `${rec.guid}\u0000${rec.name}`;
    if (rec.state === VAR_STATE.added) {
      if (!added.has(key)) added.set(key, rec);
    } else if (rec.state === VAR_ADDED_IN_DELETED_TRANSITION) {
      transition.set(key, rec); // FindVariableEx keeps the last one seen
    }
  }
  for (const [key, rec] of transition) if (!added.has(key)) added.set(key, rec);
  return [...added.values()]
    .sort((a, b) => a.offset - b.offset)
    .map((r) => ({ guid: r.guid, name: r.name, attributes: r.attributes, data: r.data, offset: r.offset }));
}

/** The live variable (guid, name), or undefined. */
export function findVariable(
  store: Pick<VarStore, 'variables'>,
  guid: string,
  name: string,
): UefiVariable | undefined {
  return store.variables.find((v) => v.guid === guid && v.name === name);
}
