// PCR values to check a replay against (`nodeimg eventlog replay --pcrs FILE`). Two JSON forms:
//   the lab record (test/fixtures/eventlogs/<variant>.pcrs.json): { ..., "pcrs": { "sha256": ["hex" x 24], ... } }
//   the simple form:                                               { "sha256": { "0": "hex", "7": "hex" }, ... }
// Either form takes, per bank, an array indexed by PCR (null = not given) or an object keyed by PCR
// number. Hex may be upper- or lower-case, with or without 0x. Anything else is refused (exit 3).
import { NodeimgError } from '../errors.js';
import { ALL_HASH_ALGS, HASH_ALGS, isHashAlg, type HashAlg } from '../../measurements/hash.js';
import type { PcrValues } from '../../measurements/pcr-banks.js';
import { PCR_COUNT } from '../../measurements/register.js';
import { readSmallFile } from './eventlog-input.js';

const MAX_JSON_BYTES = 4 * 1024 * 1024;

function bad(path: string, where: string, detail: string): NodeimgError {
  return new NodeimgError('PARSE_INVALID', `${path}: ${where}: ${detail}`, {
    hint: 'expected {"sha256": {"0": "<hex>", ...}} or a lab record with "pcrs": {"sha256": ["<hex>", ...]} (see nodeimg eventlog --help)',
  });
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

export async function readQuotedPcrs(path: string): Promise<PcrValues> {
  const text = new TextDecoder('utf-8', { fatal: false }).decode(
    await readSmallFile(path, MAX_JSON_BYTES, 'a PCR values file'),
  );
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw bad(path, 'JSON', (err as Error).message);
  }
  return parseQuotedPcrs(json, path);
}

export function parseQuotedPcrs(json: unknown, path: string): PcrValues {
  if (!isObject(json)) throw bad(path, '/', 'not a JSON object');
  const lab = isObject(json['pcrs']);
  const banks = lab ? (json['pcrs'] as Record<string, unknown>) : json;
  const prefix = lab ? '/pcrs' : '';
  const out: Partial<Record<HashAlg, Map<number, Uint8Array>>> = {};
  for (const [bank, values] of Object.entries(banks)) {
    const where = `${prefix}/${bank}`;
    if (!isHashAlg(bank))
      throw bad(path, where, `unknown bank '${bank}' (known: ${ALL_HASH_ALGS.join(', ')})`);
    const entries: [string, unknown][] = Array.isArray(values)
      ? values.map((v, i) => [String(i), v])
      : isObject(values)
        ? Object.entries(values)
        : [];
    if (!Array.isArray(values) && !isObject(values))
      throw bad(path, where, 'expected an array indexed by PCR or an object keyed by PCR number');
    const map = new Map<number, Uint8Array>();
    for (const [key, v] of entries) {
      if (v === null) continue;
      if (!/^\d{1,2}$/.test(key) || Number(key) >= PCR_COUNT)
        throw bad(path, `${where}/${key}`, `not a PCR number 0-${PCR_COUNT - 1}`);
      map.set(Number(key), hexValue(path, `${where}/${key}`, bank, v));
    }
    if (map.size > 0) out[bank] = new Map([...map].sort(([a], [b]) => a - b));
  }
  if (Object.keys(out).length === 0) throw bad(path, lab ? '/pcrs' : '/', 'no PCR values');
  return out;
}

function hexValue(path: string, where: string, bank: HashAlg, v: unknown): Uint8Array {
  const size = HASH_ALGS[bank].size;
  const s = typeof v === 'string' ? v.replace(/^0x/i, '') : '';
  if (!new RegExp(`^[0-9a-fA-F]{${size * 2}}$`).test(s)) {
    throw bad(
      path,
      where,
      `expected ${size * 2} hex digits (a ${bank} PCR value), got ${JSON.stringify(v)?.slice(0, 80)}`,
    );
  }
  return new Uint8Array(Buffer.from(s, 'hex'));
}
