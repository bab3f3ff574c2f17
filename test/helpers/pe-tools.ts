// Independent Authenticode implementations to compare nodeimg against: pesign (sha1/sha256 only;
// `pesign -h -d sha384` answers 'Digest "sha384" not found') and the measured-boot lab's petool.py
// (python3 hashlib, any alg).
import { execa } from 'execa';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO = fileURLToPath(new URL('../..', import.meta.url));
const SHARED = process.env['NODEIMG_SHARED'] ?? join(REPO, '..', 'shared');
export const PETOOL = join(SHARED, 'lab', 'measured-boot', 'petool.py');
export const hasPetool = existsSync(PETOOL);

/** `pesign -h -i FILE [-d alg]` → lower-case hex ("hash: <hex>" on stdout). */
export async function pesignHash(file: string, alg: 'sha1' | 'sha256' = 'sha256'): Promise<string> {
  const { stdout } = await execa('pesign', ['-h', '-d', alg, '-i', file]);
  const m = /hash:\s*([0-9a-f]+)/i.exec(stdout);
  if (!m?.[1]) throw new Error(`unexpected pesign output: ${stdout}`);
  return m[1].toLowerCase();
}

/** `python3 petool.py authenticode FILE alg...` → { alg: hex }. */
export async function petoolHashes(file: string, algs: readonly string[]): Promise<Record<string, string>> {
  const { stdout } = await execa('python3', [PETOOL, 'authenticode', file, ...algs]);
  const out: Record<string, string> = {};
  for (const line of stdout.trim().split('\n')) {
    const [alg, hex] = line.split(' ');
    if (alg && hex) out[alg] = hex;
  }
  return out;
}

export async function hasTool(name: string): Promise<boolean> {
  const r = await execa('sh', ['-c', `command -v ${name}`], { reject: false });
  return r.exitCode === 0;
}
