// Reads a log directory in the first format of the local log (nodeimg 0.1: one file per entry,
// entries/NNNNNNNNNNNN.json = {logIndex, integratedTime, uuid, body (base64)}), so that the store can
// migrate it into entries.dat once, explicitly, keeping every index, body and integratedTime (so
// bundles made before stay valid: their SETs and checkpoints sign the same values).
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { leafHash } from './merkle.js';

export interface LegacyEntry {
  readonly integratedTime: number;
  readonly body: Buffer;
}

/** The entries of DIR/entries/, in index order, checked; undefined when there is no such folder. */
export async function readLegacyEntries(dir: string): Promise<LegacyEntry[] | undefined> {
  let names: string[];
  try {
    names = await readdir(join(dir, 'entries'));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  names = names.filter((n) => /^\d{12}\.json$/.test(n)).sort();
  const out: LegacyEntry[] = [];
  for (const [i, name] of names.entries()) {
    const e = JSON.parse(await readFile(join(dir, 'entries', name), 'utf8')) as {
      logIndex?: unknown;
      integratedTime?: unknown;
      uuid?: unknown;
      body?: unknown;
    };
    if (name !== `${String(i).padStart(12, '0')}.json` || e.logIndex !== i)
      throw new Error(`legacy log ${dir}: entries are not contiguous at index ${i} (${name})`);
    if (typeof e.body !== 'string' || typeof e.integratedTime !== 'number')
      throw new Error(`legacy log ${dir}: entry ${i} has no body or integratedTime`);
    const body = Buffer.from(e.body, 'base64');
    if (leafHash(body).toString('hex') !== e.uuid)
      throw new Error(`legacy log ${dir}: entry ${i} does not hash to its UUID`);
    out.push({ integratedTime: e.integratedTime, body });
  }
  return out;
}
