// Resolving a recipe's package names to exact Debian packages for the lock (nodeimg lock), through
// the host's apt indexes (which apt verified against the signed InRelease): `apt-cache show` for the
// stanza (Version, Architecture, Section, Priority, Filename, Size, SHA256 as the archive's Packages
// index gives them: the archive's overrides, which a flat repository needs, reproducible-build.md §2)
// and `apt-get download --print-uris name=version` for the URL, without downloading anything.
// linux-image-<flavour> metapackages resolve to the linux-image-<abi>-<flavour> package holding the
// kernel (image/build/lab/debs.ts realPackage).
import { NodeimgError } from '../../formats/errors.js';
import { runTool } from '../run-tool.js';

/** One package of the lock (pipeline/schema/lock.schema.json). */
export interface LockedPackage {
  /** The recipe's name for it (linux-image-amd64 for linux-image-6.1.0-56-amd64); absent: a dependency. */
  readonly requested?: string;
  readonly name: string;
  readonly version: string;
  readonly architecture: string;
  readonly sha256: string;
  readonly size: number;
  /** Path in the archive (Packages' Filename). */
  readonly filename: string;
  readonly url: string;
  readonly section: string;
  readonly priority: string;
  /** Provenance (issue 12): the signed InRelease that vouched for it; absent for host-apt locks. */
  readonly release?: { readonly suite: string; readonly inRelease: string; readonly date: string };
}

const HINT =
  'the apt package lists may be missing or stale: run apt-get update (scripts/setup does when they are empty)';

/** Fields of the first stanza of deb822 text (continuation lines joined with "\n"). Pure. */
export function parseStanza(text: string): Map<string, string> {
  const fields = new Map<string, string>();
  let last: string | undefined;
  for (const line of text.replace(/\r/g, '').split('\n')) {
    if (line === '') {
      if (fields.size > 0) break;
      continue;
    }
    if (/^\s/.test(line) && last !== undefined) {
      fields.set(last, `${fields.get(last) ?? ''}\n${line.trim()}`);
      continue;
    }
    const m = /^([A-Za-z0-9-]+):\s?(.*)$/.exec(line);
    if (m === null) continue;
    last = m[1] as string;
    fields.set(last, (m[2] ?? '').trim());
  }
  return fields;
}

export interface PrintedUri {
  readonly url: string;
  readonly file: string;
  readonly size: number;
  readonly sha256: string;
}

/** One line of `apt-get download --print-uris`: 'URL' file size SHA256:hex. Pure. */
export function parsePrintUri(line: string): PrintedUri | undefined {
  const m = /^'([^']+)'\s+(\S+)\s+(\d+)\s+SHA256:([0-9a-f]{64})\s*$/.exec(line.trim());
  if (m === null) return undefined;
  return { url: m[1] as string, file: m[2] as string, size: Number(m[3]), sha256: m[4] as string };
}

/**
 * The package of a linux-image-<flavour> metapackage stanza that holds the kernel, with the exact
 * version its Depends pins (if it does). Pure.
 */
export function kernelPackageOf(stanza: Map<string, string>): { name: string; version?: string } | undefined {
  const meta = /^linux-image-([a-z][a-z0-9-]*)$/.exec(stanza.get('Package') ?? '');
  if (meta === null) return undefined;
  const flavour = meta[1] as string;
  for (const dep of (stanza.get('Depends') ?? '').split(',')) {
    const m = /^\s*(linux-image-\d\S*)\s*(?:\(\s*=\s*([^)\s]+)\s*\))?/.exec(dep);
    if (m && (m[1] as string).endsWith(`-${flavour}`))
      return { name: m[1] as string, ...(m[2] ? { version: m[2] } : {}) };
  }
  return undefined;
}

async function show(spec: string, signal?: AbortSignal): Promise<Map<string, string>> {
  const args = spec.includes('=') ? ['show', spec] : ['show', '--no-all-versions', spec];
  const out = await runTool('apt-cache', args, signal ? { signal } : {}).catch((err: unknown) => {
    if (err instanceof NodeimgError && err.code === 'TOOL_MISSING') throw err;
    throw new NodeimgError('IO_NOT_FOUND', `apt knows no package ${spec}`, { cause: err, hint: HINT });
  });
  const stanza = parseStanza(out.stdout);
  if (!stanza.has('Package') || !stanza.has('Version'))
    throw new NodeimgError('IO_NOT_FOUND', `apt knows no package ${spec}`, { hint: HINT });
  return stanza;
}

function field(stanza: Map<string, string>, name: string, spec: string): string {
  const v = stanza.get(name);
  if (v === undefined || v === '')
    throw new NodeimgError('PARSE_INVALID', `apt-cache show ${spec}: the stanza has no ${name} field`);
  return v;
}

/** Resolves `name` or `name=version` to the exact package the lock pins. */
export async function resolvePackage(spec: string, signal?: AbortSignal): Promise<LockedPackage> {
  let stanza = await show(spec, signal);
  const kernel = kernelPackageOf(stanza);
  if (kernel !== undefined)
    stanza = await show(kernel.version ? `${kernel.name}=${kernel.version}` : kernel.name, signal);
  const name = field(stanza, 'Package', spec);
  const version = field(stanza, 'Version', spec);
  const { stdout } = await runTool('apt-get', ['download', '--print-uris', `${name}=${version}`], {
    timeoutMs: 120_000,
    ...(signal ? { signal } : {}),
  });
  const uri = stdout
    .split('\n')
    .map(parsePrintUri)
    .find((u) => u !== undefined);
  if (uri === undefined)
    throw new NodeimgError(
      'PARSE_INVALID',
      `apt-get download --print-uris ${name}=${version} printed no URI`,
      {
        hint: HINT,
      },
    );
  const sha256 = field(stanza, 'SHA256', spec);
  const size = Number(field(stanza, 'Size', spec));
  if (uri.sha256 !== sha256 || uri.size !== size)
    throw new NodeimgError(
      'CHECK_FAILED',
      `apt disagrees with itself about ${name}=${version}: apt-cache says ${size} bytes, sha256 ${sha256}; ` +
        `apt-get says ${uri.size} bytes, sha256 ${uri.sha256}`,
      { hint: HINT },
    );
  return {
    requested: spec.split('=')[0] as string,
    name,
    version,
    architecture: field(stanza, 'Architecture', spec),
    sha256,
    size,
    filename: field(stanza, 'Filename', spec),
    url: uri.url,
    section: field(stanza, 'Section', spec),
    priority: field(stanza, 'Priority', spec),
  };
}

/** Codenames of the host's apt Packages indexes for `arch` (apt-get indextargets). */
export async function aptCodenames(arch: string, signal?: AbortSignal): Promise<string[]> {
  const { stdout } = await runTool(
    'apt-get',
    ['indextargets', '--format', '$(IDENTIFIER) $(ARCHITECTURE) $(CODENAME)'],
    signal ? { signal } : {},
  );
  const names = new Set<string>();
  for (const line of stdout.split('\n')) {
    const [id, a, codename] = line.trim().split(/\s+/);
    if (id === 'Packages' && a === arch && codename) names.add(codename);
  }
  return [...names].sort();
}
