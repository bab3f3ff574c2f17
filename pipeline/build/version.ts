// nodeimg's own version (package.json), part of every stage key and of the build manifest.
import { createRequire } from 'node:module';

let memo: string | undefined;

export function nodeimgVersion(): string {
  if (memo !== undefined) return memo;
  const require = createRequire(import.meta.url);
  // source tree (pipeline/build/) and dist/ (dist/pipeline/build/) layouts
  for (const p of ['../../package.json', '../../../package.json']) {
    try {
      const pkg = require(p) as { name?: string; version?: string };
      if (pkg.name === 'nodeimg' && typeof pkg.version === 'string') return (memo = pkg.version);
    } catch {
      // try the next layout
    }
  }
  return (memo = 'unknown');
}
