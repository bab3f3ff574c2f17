// The human form of a reproducibility report: the verdict first, then where it was lost (the first
// differing stage, its differing outputs and inputs), the artefacts and PCRs that differ, and for
// a published artefact that differs from the rebuild: the GPT regions with their byte ranges, the
// ESP files (path, size, sha256) and the UKI sections, with a line diff of the text sections; the
// files of an erofs partition and the members of a tar archive that differ (type, size, mode,
// owner, mtime, link target, content digest, a line diff for text), and why a dm-verity hash
// partition differs. Pure.
import type { DiskDifference, RegionDifference } from './disk-diff.js';
import type { EntrySide, TreeDifference } from './entry-diff.js';
import type { ArchiveDifference } from './tar-diff.js';
import type { ReproduceReport } from './reproduce.js';

const short = (h: string | null): string => (h === null ? '(none)' : `${h.slice(0, 16)}…`);
const hex = (n: number): string => `0x${n.toString(16)}`;

function entrySide(e: EntrySide | null): string {
  if (e === null) return 'absent';
  return [
    `${e.type} ${e.size} bytes mode ${e.mode} owner ${e.uid}:${e.gid}`,
    e.owner !== undefined ? ` (${e.owner})` : '',
    ` mtime ${e.mtime}`,
    e.nlink !== undefined && e.type !== 'dir' && e.nlink !== 1 ? ` nlink ${e.nlink}` : '',
    e.target !== undefined ? ` -> ${e.target}` : '',
    e.rdev !== undefined ? ` device ${e.rdev}` : '',
    e.sha256 !== null ? ` sha256 ${short(e.sha256)}` : '',
    e.xattrs !== undefined ? ` xattrs ${e.xattrs.join(' ')}` : '',
  ].join('');
}

/** The entries of a file system or archive that differ, indented by `pad`. */
export function treeText(t: TreeDifference, pad: string): string[] {
  const n = t.entries.length + t.more;
  const lines = [`${pad}${t.type}: ${n} of ${t.compared} entries differ`];
  for (const e of t.entries) {
    lines.push(`${pad}  ${e.path} (${e.fields.join(', ')})`);
    lines.push(`${pad}    published: ${entrySide(e.published)}`);
    lines.push(`${pad}    rebuilt:   ${entrySide(e.rebuilt)}`);
    for (const d of e.diff ?? []) lines.push(`${pad}      ${d}`);
  }
  if (t.more > 0)
    lines.push(`${pad}  … and ${t.more} more (see --json for the first ${t.entries.length} only)`);
  for (const note of t.notes) lines.push(`${pad}  note: ${note}`);
  return lines;
}

function diskText(d: DiskDifference, pad: string): string[] {
  const out = [`${pad}disk: ${d.size.published} bytes published, ${d.size.rebuilt} rebuilt`];
  for (const g of d.regions) out.push(...region(g).map((l) => pad.slice(4) + l));
  for (const w of d.warnings) out.push(`${pad}warning: ${w}`);
  return out;
}

function archiveText(a: ArchiveDifference, pad: string): string[] {
  const out = treeText(a, pad);
  for (const d of a.disks) out.push(`${pad}member ${d.path}:`, ...diskText(d.disk, `${pad}  `));
  return out;
}

function region(r: RegionDifference): string[] {
  const lines = [
    `    ${r.region}: ${r.ranges.length} differing range(s): ${r.ranges
      .slice(0, 4)
      .map((x) => `${hex(x.offset)}+${x.length}`)
      .join(', ')}${r.ranges.length > 4 ? ', …' : ''}`,
  ];
  for (const f of r.files ?? []) {
    const side = (s: { size: number; sha256: string } | null) =>
      s ? `${s.size} bytes ${short(s.sha256)}` : 'absent';
    lines.push(`      file ${f.path}: published ${side(f.published)}, rebuilt ${side(f.rebuilt)}`);
    for (const s of f.sections ?? []) {
      lines.push(`        section ${s.name}: published ${short(s.published)}, rebuilt ${short(s.rebuilt)}`);
      for (const d of s.diff ?? []) lines.push(`          ${d}`);
      for (const m of s.members ?? []) {
        const ms = (x: { size: number; mode: string; mtime: number; sha256: string } | null) =>
          x ? `${x.size} bytes mode ${x.mode} mtime ${x.mtime} ${short(x.sha256)}` : 'absent';
        lines.push(`          member ${m.path}: published ${ms(m.published)}, rebuilt ${ms(m.rebuilt)}`);
        for (const d of m.diff ?? []) lines.push(`            ${d}`);
      }
    }
  }
  if (r.note !== undefined) lines.push(`      ${r.note}`);
  if (r.filesystem) lines.push(...treeText(r.filesystem, '      '));
  return lines;
}

export function reportText(r: ReproduceReport): string {
  const c = r.comparison;
  const out: string[] = [
    `${r.reproducible ? 'REPRODUCIBLE' : 'NOT REPRODUCIBLE'}: ${r.version} (${r.ref}/${r.stream}) from ${r.store}`,
    `  signed by ${r.signer}; version index ${r.index.sequence}`,
    `  published manifest ${r.manifestSha256}`,
    `  rebuilt manifest   ${r.rebuiltManifestSha256}`,
    `  compared: ${c.stagesCompared} stages, ${c.artefactsCompared} artefacts, ${c.measurementsCompared} PCR values, ${r.published.length} published artefact(s) downloaded`,
  ];
  if (c.excluded.length > 0)
    out.push(`  signed with your own Secure Boot key: not compared: ${c.excluded.join(', ')}`);
  if (!c.recipe) out.push('  the rebuilt recipe digest differs from the manifest');
  if (!c.lock) out.push('  the rebuilt lock digest differs from the manifest');
  if (r.firstStage !== null) out.push(`  first differing stage: ${r.firstStage}`);
  for (const s of c.stages) {
    out.push(
      `  stage ${s.id} (${s.kind}): ${s.reason === 'outputs' ? 'same inputs, different outputs' : s.reason === 'key' ? 'different stage key (inputs, parameters or tools)' : s.reason}`,
    );
    for (const o of s.outputs)
      out.push(`    output ${o.name}: published ${short(o.published)}, rebuilt ${short(o.rebuilt)}`);
    if (s.inputs.length > 0) out.push(`    inputs that differ: ${s.inputs.join(', ')}`);
  }
  for (const a of c.artefacts)
    out.push(`  artefact ${a.name}: published ${short(a.published)}, rebuilt ${short(a.rebuilt)}`);
  for (const m of c.measurements.slice(0, 20))
    out.push(`  ${m.name}: published ${short(m.published)}, rebuilt ${short(m.rebuilt)}`);
  for (const t of c.tools)
    out.push(`  tool ${t.name}: published ${t.published ?? '(none)'}, here ${t.rebuilt ?? '(none)'}`);
  for (const p of r.published) {
    if (p.ok) {
      out.push(`  published ${p.name}: identical to the rebuild (${short(p.downloaded)})`);
      continue;
    }
    out.push(
      `  published ${p.name} (stage ${p.stage ?? '?'}): downloaded ${short(p.downloaded)}, info.json lists ${short(p.listed)}, rebuilt ${short(p.rebuilt)}`,
    );
    if (p.storeIntegrity) out.push(`    the store's own digest check failed: ${p.storeIntegrity}`);
    if (p.disk) out.push(...diskText(p.disk, '    '));
    if (p.archive) out.push(...archiveText(p.archive, '    '));
    if (p.diffoscope) out.push('    diffoscope:', ...p.diffoscope.split('\n').map((l) => `      ${l}`));
  }
  return `${out.join('\n')}\n`;
}
