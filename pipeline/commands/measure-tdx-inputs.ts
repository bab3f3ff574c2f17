// Input files of `nodeimg measure --platform qemu-tdx`: each is read whole under a size cap and
// recorded by name and sha256 in the measurements document; parse errors name the file. The boot
// variables description is JSON: {"BootOrder": "<hex>", "Boot0001": "<hex>", ...}, each value the
// variable's data (what /sys/firmware/efi/efivars/<name>-8be4df61-93ca-11d2-aa0d-00e098032b8c holds
// after its 4-byte attributes).
import { createHash } from 'node:crypto';
import { basename } from 'node:path';
import { NodeimgError } from '../errors.js';
import { readSmallFile } from './eventlog-input.js';

export interface InputFile {
  readonly path: string;
  /** The file name recorded in the document (no directories: they differ between machines). */
  readonly name: string;
  readonly bytes: Uint8Array;
  readonly sha256: string;
}

export const MAX_FIRMWARE = 64 * 1024 * 1024;
export const MAX_ACPI_BLOB = 16 * 1024 * 1024;
export const MAX_BOOT_VARIABLES_JSON = 1024 * 1024;

export async function readInput(path: string, max: number, what: string): Promise<InputFile> {
  const bytes = await readSmallFile(path, max, what);
  return { path, name: basename(path), bytes, sha256: createHash('sha256').update(bytes).digest('hex') };
}

/** Runs `f`, prefixing the message of a parse error (exit 3) with the file it came from. */
export async function inFile<T>(path: string, f: () => T | Promise<T>): Promise<T> {
  try {
    return await f();
  } catch (err) {
    if (err instanceof NodeimgError && err.code.startsWith('PARSE_') && !err.message.startsWith(path))
      throw new NodeimgError(err.code, `${path}: ${err.message}`, {
        cause: err,
        ...(err.hint ? { hint: err.hint } : {}),
      });
    throw err;
  }
}

const BOOT_VARIABLES_HINT =
  'expected {"BootOrder": "<hex>", "Boot0001": "<hex>", ...}: each value the hex of the variable data (for instance from a TD: tail -c +5 /sys/firmware/efi/efivars/BootOrder-8be4df61-93ca-11d2-aa0d-00e098032b8c | xxd -p -c0)';

/** The boot variables description: variable name -> data. */
export function parseBootVariables(file: InputFile): ReadonlyMap<string, Uint8Array> {
  const bad = (detail: string) =>
    new NodeimgError('PARSE_INVALID', `${file.path}: ${detail}`, { hint: BOOT_VARIABLES_HINT });
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder().decode(file.bytes));
  } catch (err) {
    throw bad(`not JSON: ${(err as Error).message}`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw bad('not a JSON object');
  const out = new Map<string, Uint8Array>();
  for (const [name, value] of Object.entries(json)) {
    if (typeof value !== 'string' || !/^(?:[0-9a-fA-F]{2})*$/.test(value))
      throw bad(`${name}: the value is not a hex string of whole bytes`);
    out.set(name, new Uint8Array(Buffer.from(value, 'hex')));
  }
  return out;
}
