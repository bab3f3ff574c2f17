// The architecture of DEVELOPERS.md as a test: the simulation core and the codecs are pure.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..');
const FORBIDDEN = [
  /^(node:)?fs(\/promises)?$/,
  /^(node:)?child_process$/,
  /^(node:)?(net|http|https|dgram|tls|worker_threads)$/,
  /^execa$/,
  /^listr2$/,
  /^sigstore$/,
  /^@sigstore\//,
  /^@aws-sdk\//,
];

function tsFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? tsFiles(p) : p.endsWith('.ts') ? [p] : [];
  });
}

function imports(src: string): string[] {
  const re = /(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g;
  return [...src.matchAll(re)].map((m) => (m[1] ?? m[2]) as string);
}

describe('architecture', () => {
  for (const folder of ['measurements', 'image/formats']) {
    it(`${folder}/ imports no fs, network, child process or adapter library`, () => {
      const offenders: string[] = [];
      for (const file of tsFiles(join(root, folder))) {
        for (const spec of imports(readFileSync(file, 'utf8'))) {
          if (FORBIDDEN.some((re) => re.test(spec)))
            offenders.push(`${relative(root, file)} imports ${spec}`);
          if (spec.startsWith('.') && /(^|\/)pipeline\//.test(join(relative(root, file), '..', spec))) {
            offenders.push(`${relative(root, file)} imports the pipeline (${spec})`);
          }
        }
      }
      expect(offenders).toEqual([]);
    });
  }

  it('the scanner sees forbidden imports (self-check)', () => {
    expect(imports(`import { open } from 'node:fs/promises';\nexport { x } from "execa";`)).toEqual([
      'node:fs/promises',
      'execa',
    ]);
  });
});
