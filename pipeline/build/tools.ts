// The external tools a build needs: every stage declares its programs and their Debian packages
// (image/build/stages/). Before anything runs, each program must be on PATH (the same PATH runTool
// gives it) or the build stops with TOOL_MISSING naming the stages that need it; the packages'
// versions (one dpkg-query call) are part of the stage keys and of the manifest.
import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
import { join } from 'node:path';
import { ToolError } from '../errors.js';
import { pinnedEnv, runTool } from '../../image/build/run-tool.js';
import type { StageNode } from './graph.js';
import type { ToolRef } from '../../image/build/stages/types.js';

async function onPath(bin: string, path: string): Promise<boolean> {
  for (const dir of path.split(':').filter(Boolean)) {
    try {
      await access(join(dir, bin), constants.X_OK);
      return true;
    } catch {
      // next folder
    }
  }
  return false;
}

/** A program the build itself runs (outside any stage). */
export interface BuildTool extends ToolRef {
  readonly who: string;
}

/** cp writes the output folder (pipeline/build/output.ts). */
export const BUILD_TOOLS: readonly BuildTool[] = [
  { bin: 'cp', package: 'coreutils', who: 'the output folder' },
];

/** Throws TOOL_MISSING for every program of `nodes` (and `extra`) not on PATH. */
export async function assertToolsPresent(
  nodes: readonly StageNode[],
  extra: readonly BuildTool[] = BUILD_TOOLS,
): Promise<void> {
  const path = pinnedEnv()['PATH'] ?? '';
  const needs = new Map<string, { pkg: string; stages: string[] }>();
  for (const n of nodes) {
    for (const t of n.tools) {
      const e = needs.get(t.bin) ?? { pkg: t.package, stages: [] };
      e.stages.push(n.id);
      needs.set(t.bin, e);
    }
  }
  for (const t of [...extra, { bin: 'dpkg-query', package: 'dpkg', who: 'the tool versions' }]) {
    const e = needs.get(t.bin) ?? { pkg: t.package, stages: [] };
    e.stages.push(t.who);
    needs.set(t.bin, e);
  }
  const missing: string[] = [];
  for (const [bin, e] of [...needs].sort(([a], [b]) => (a < b ? -1 : 1))) {
    if (!(await onPath(bin, path)))
      missing.push(`${bin} (Debian package ${e.pkg}; needed by ${e.stages.join(', ')})`);
  }
  if (missing.length === 0) return;
  const first = missing[0] as string;
  throw new ToolError(
    'TOOL_MISSING',
    { tool: first.split(' ')[0] as string, argv: [] },
    `not installed (not found on PATH): ${missing.join('; ')}`,
    { hint: 'install the Debian packages nodeimg needs: bash scripts/setup' },
  );
}

/** Installed versions of Debian packages (absent ones are left out). */
export async function packageVersions(
  packages: readonly string[],
  signal?: AbortSignal,
): Promise<Record<string, string>> {
  const wanted = [...new Set(packages)].sort();
  if (wanted.length === 0) return {};
  let stdout: string;
  try {
    stdout = (
      await runTool(
        'dpkg-query',
        ['-W', '-f', '${Package}\\t${Version}\\t${db:Status-Status}\\n', ...wanted],
        {
          ...(signal ? { signal } : {}),
        },
      )
    ).stdout;
  } catch (err) {
    // dpkg-query exits 1 when some package is unknown but still prints the others
    if (err instanceof ToolError && err.code === 'TOOL_FAILED' && err.exitCode === 1) {
      stdout = String((err.cause as { stdout?: unknown } | undefined)?.stdout ?? '');
    } else throw err;
  }
  const out: Record<string, string> = {};
  for (const line of stdout.split('\n')) {
    const [pkg, version, status] = line.split('\t');
    if (pkg && version && status === 'installed' && wanted.includes(pkg)) out[pkg] = version;
  }
  return out;
}
