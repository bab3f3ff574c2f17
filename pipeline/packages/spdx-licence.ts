// Debian copyright-format licence short names (copyright-format 1.0 §"License specification":
// GPL-2+, LGPL-2.1, BSD-3-clause, Expat, ...) as SPDX 2.3 licence expressions (SPDX spec 2.3
// Annex D). Known short names map to SPDX licence IDs ("+" -> -or-later, plain -> -only); "A or
// B" / "A and B" (DEP-5 lower-case operators, commas grouping) become OR / AND; everything else
// (public-domain, "GPL-2+ with OpenSSL exception", local names) becomes a LicenseRef-deb-* that the
// SBOM lists in hasExtractedLicensingInfos. Pure.

// copyright-format 1.0's list of short names, and common spellings from the archive
const KNOWN: Record<string, string> = {
  'apache-2.0': 'Apache-2.0',
  'artistic-1.0': 'Artistic-1.0',
  artistic: 'Artistic-1.0',
  'artistic-2.0': 'Artistic-2.0',
  'bsd-2-clause': 'BSD-2-Clause',
  'bsd-3-clause': 'BSD-3-Clause',
  'bsd-4-clause': 'BSD-4-Clause',
  'cc0-1.0': 'CC0-1.0',
  'cc-by-3.0': 'CC-BY-3.0',
  'cc-by-4.0': 'CC-BY-4.0',
  'cc-by-sa-3.0': 'CC-BY-SA-3.0',
  'cc-by-sa-4.0': 'CC-BY-SA-4.0',
  expat: 'MIT',
  mit: 'MIT',
  isc: 'ISC',
  zlib: 'Zlib',
  'mpl-1.1': 'MPL-1.1',
  'mpl-2.0': 'MPL-2.0',
  'epl-1.0': 'EPL-1.0',
  'epl-2.0': 'EPL-2.0',
  'cddl-1.0': 'CDDL-1.0',
  'python-2.0': 'Python-2.0',
  'psf-2': 'PSF-2.0',
  openssl: 'OpenSSL',
  'ofl-1.1': 'OFL-1.1',
  'sil-ofl-1.1': 'OFL-1.1',
  wtfpl: 'WTFPL',
  'unicode-dfs-2016': 'Unicode-DFS-2016',
  x11: 'X11',
  curl: 'curl',
  'bsl-1.0': 'BSL-1.0',
  'boost-1.0': 'BSL-1.0',
  ftl: 'FTL',
  libpng: 'Libpng',
  ijg: 'IJG',
  'gpl-1': 'GPL-1.0-only',
  'gpl-2': 'GPL-2.0-only',
  'gpl-3': 'GPL-3.0-only',
  'lgpl-2': 'LGPL-2.0-only',
  'lgpl-2.0': 'LGPL-2.0-only',
  'lgpl-2.1': 'LGPL-2.1-only',
  'lgpl-3': 'LGPL-3.0-only',
  'lgpl-3.0': 'LGPL-3.0-only',
  'agpl-3': 'AGPL-3.0-only',
  'gfdl-1.2': 'GFDL-1.2-only',
  'gfdl-1.3': 'GFDL-1.3-only',
  'gpl-1+': 'GPL-1.0-or-later',
  'gpl-2+': 'GPL-2.0-or-later',
  'gpl-3+': 'GPL-3.0-or-later',
  'lgpl-2+': 'LGPL-2.0-or-later',
  'lgpl-2.0+': 'LGPL-2.0-or-later',
  'lgpl-2.1+': 'LGPL-2.1-or-later',
  'lgpl-3+': 'LGPL-3.0-or-later',
  'lgpl-3.0+': 'LGPL-3.0-or-later',
  'agpl-3+': 'AGPL-3.0-or-later',
  'gfdl-1.2+': 'GFDL-1.2-or-later',
  'gfdl-1.3+': 'GFDL-1.3-or-later',
  'gpl-2.0': 'GPL-2.0-only',
  'gpl-3.0': 'GPL-3.0-only',
  'gpl-2.0+': 'GPL-2.0-or-later',
  'gpl-3.0+': 'GPL-3.0-or-later',
};

/** A LicenseRef id for a Debian short name SPDX has no id for (SPDX 2.3 §10.1: [A-Za-z0-9.-]). */
export function licenseRefFor(name: string): string {
  const slug = name
    .trim()
    .replace(/\+/g, '-plus')
    .replace(/[^A-Za-z0-9.-]+/g, '-')
    .replace(/^-+|-+$/g, '');
  return `LicenseRef-deb-${slug || 'unnamed'}`;
}

/** SPDX id (or LicenseRef) of one Debian short name, and whether it is a LicenseRef. */
export function spdxIdOf(name: string): { id: string; ref: boolean } {
  const known = KNOWN[name.trim().toLowerCase()];
  return known !== undefined ? { id: known, ref: false } : { id: licenseRefFor(name), ref: true };
}

export interface SpdxExpression {
  readonly expression: string;
  /** LicenseRef ids used, with the Debian name each stands for. */
  readonly refs: ReadonlyMap<string, string>;
}

/**
 * A DEP-5 License expression ("GPL-2+ or Artistic", "BSD-3-clause and Expat", "A or B, and C") as
 * an SPDX expression. "with <exception>" terms stay whole (one LicenseRef): SPDX 2.3 only allows
 * exceptions from its list, and Debian's wording does not name them reliably.
 */
export function spdxExpressionOf(dep5: string): SpdxExpression {
  const refs = new Map<string, string>();
  const term = (t: string): string => {
    const { id, ref } = spdxIdOf(t);
    if (ref) refs.set(id, t.trim());
    return id;
  };
  // commas bind loosest in DEP-5: "A or B, and C" = (A or B) and C
  const groups = dep5
    .split(/,\s*(?=(?:and|or)\s)/i)
    .map((g) => g.trim())
    .filter((g) => g !== '');
  const parts = groups.map((g, i) => {
    const op = i === 0 ? '' : (/^(and|or)\s+/i.exec(g)?.[1] ?? 'and').toUpperCase();
    const body = i === 0 ? g : g.replace(/^(and|or)\s+/i, '');
    const ors = body.split(/\s+or\s+/i).map((o) => {
      const ands = o.split(/\s+and\s+/i).map(term);
      return ands.length > 1 ? `(${ands.join(' AND ')})` : (ands[0] as string);
    });
    const expr = ors.length > 1 ? `(${ors.join(' OR ')})` : (ors[0] as string);
    return { op, expr };
  });
  let expression = parts.map((p) => (p.op ? ` ${p.op} ${p.expr}` : p.expr)).join('');
  if (parts.length === 1) expression = expression.replace(/^\((.*)\)$/, '$1');
  return { expression, refs };
}
