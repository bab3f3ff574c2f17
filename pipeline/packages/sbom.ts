// The SBOM of an image (issue 12 §4): an SPDX 2.3 JSON document (SPDX specification 2.3, clauses 6
// "Document creation information", 7 "Package information", 11 "Relationships", 10 "Other
// licensing information") listing every locked Debian package with its version, architecture, the
// sha256 of its .deb, its download location, a purl (pkg:deb/debian/<name>@<version>?arch=<arch>,
// purl-spec PURL-TYPES "deb"), and the licences Debian declares where its copyright file is
// machine-readable (DEP-5; licences.ts) — NOASSERTION otherwise, never a guess.
//
// Deterministic: no clock (created = SOURCE_DATE_EPOCH), SPDXIDs from the .deb digests, packages
// and relationships sorted, documentNamespace derived from the content, canonical JSON text.
// Pure; checked against pipeline/schema/spdx-sbom.schema.json.
import { createHash } from 'node:crypto';
import type { DebianCopyright } from '../../image/formats/apt/copyright.js';
import { canonicalText } from '../release/canonical-text.js';
import { assertValid } from '../schema/validate.js';
import sbomSchema from '../schema/spdx-sbom.schema.json' with { type: 'json' };
import { spdxExpressionOf } from './spdx-licence.js';

export interface SbomPackage {
  readonly name: string;
  readonly version: string;
  readonly architecture: string;
  readonly sha256: string;
  readonly url?: string;
  /** The parsed /usr/share/doc/<name>/copyright; undefined when the package has none. */
  readonly copyright?: DebianCopyright;
}

export interface SbomInput {
  /** The image (recipe) name and release version. */
  readonly name: string;
  readonly version: string;
  readonly sourceDateEpoch: number;
  readonly packages: readonly SbomPackage[];
  /** "nodeimg-0.1.0". */
  readonly tool: string;
  /** sha256 of the image itself (disk.raw), when known. */
  readonly imageSha256?: string;
  /** Base of documentNamespace; default https://nodeimg.dev/spdx/. */
  readonly namespaceBase?: string;
}

type Json = Record<string, unknown>;

const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
const NOASSERTION = 'NOASSERTION';

/** SPDX 2.3 §3.2: SPDXRef-[A-Za-z0-9.-]+; unique by the .deb digest. */
export function spdxIdOfPackage(p: Pick<SbomPackage, 'name' | 'sha256'>): string {
  return `SPDXRef-deb-${p.name.replace(/[^A-Za-z0-9.-]/g, '-')}-${p.sha256.slice(0, 16)}`;
}

/** purl of a Debian binary package (purl-spec: version percent-encoded, arch qualifier). */
export function purlOf(p: Pick<SbomPackage, 'name' | 'version' | 'architecture'>): string {
  return `pkg:deb/debian/${encodeURIComponent(p.name)}@${encodeURIComponent(p.version)}?arch=${encodeURIComponent(p.architecture)}`;
}

/** The package-level declared licence: the AND of its files' licences (SPDX expression). */
function declared(c: DebianCopyright | undefined, refs: Map<string, string>): string {
  if (c === undefined || !c.machineReadable || c.licences.length === 0) return NOASSERTION;
  const exprs = new Set<string>();
  for (const l of c.licences) {
    const e = spdxExpressionOf(l);
    for (const [id, name] of e.refs) refs.set(id, name);
    exprs.add(e.expression);
  }
  const list = [...exprs].sort();
  return list.length === 1
    ? (list[0] as string)
    : list.map((e) => (/\s/.test(e) ? `(${e})` : e)).join(' AND ');
}

export function spdxSbom(input: SbomInput): { document: Json; text: string } {
  const refs = new Map<string, string>();
  const pkgs = [...input.packages].sort(
    (a, b) =>
      cmp(a.name, b.name) ||
      cmp(a.architecture, b.architecture) ||
      cmp(a.version, b.version) ||
      cmp(a.sha256, b.sha256),
  );
  const seen = new Set<string>();
  const packages: Json[] = [];
  for (const p of pkgs) {
    const id = spdxIdOfPackage(p);
    if (seen.has(id)) continue;
    seen.add(id);
    const licence = declared(p.copyright, refs);
    packages.push({
      SPDXID: id,
      name: p.name,
      versionInfo: p.version,
      downloadLocation: p.url ?? NOASSERTION,
      filesAnalyzed: false,
      checksums: [{ algorithm: 'SHA256', checksumValue: p.sha256 }],
      licenseConcluded: NOASSERTION,
      licenseDeclared: licence,
      ...(licence === NOASSERTION
        ? {}
        : {
            licenseComments: `declared in /usr/share/doc/${p.name}/copyright (machine-readable, copyright-format 1.0)`,
          }),
      copyrightText: NOASSERTION,
      externalRefs: [
        { referenceCategory: 'PACKAGE-MANAGER', referenceType: 'purl', referenceLocator: purlOf(p) },
      ],
      primaryPackagePurpose: 'LIBRARY',
    });
  }
  const image: Json = {
    SPDXID: 'SPDXRef-Image',
    name: input.name,
    versionInfo: input.version,
    downloadLocation: NOASSERTION,
    filesAnalyzed: false,
    ...(input.imageSha256 === undefined
      ? {}
      : { checksums: [{ algorithm: 'SHA256', checksumValue: input.imageSha256 }] }),
    licenseConcluded: NOASSERTION,
    licenseDeclared: NOASSERTION,
    copyrightText: NOASSERTION,
    primaryPackagePurpose: 'OPERATING-SYSTEM',
  };
  const relationships: Json[] = [
    { spdxElementId: 'SPDXRef-DOCUMENT', relationshipType: 'DESCRIBES', relatedSpdxElement: 'SPDXRef-Image' },
    ...packages.map((p) => ({
      spdxElementId: 'SPDXRef-Image',
      relationshipType: 'CONTAINS',
      relatedSpdxElement: p['SPDXID'],
    })),
  ];
  const content = createHash('sha256')
    .update(
      canonicalText({
        name: input.name,
        version: input.version,
        image: input.imageSha256 ?? null,
        packages: packages.map((p) => p['SPDXID']),
      }),
    )
    .digest('hex');
  const base = input.namespaceBase ?? 'https://nodeimg.dev/spdx/';
  const document: Json = {
    spdxVersion: 'SPDX-2.3',
    dataLicense: 'CC0-1.0',
    SPDXID: 'SPDXRef-DOCUMENT',
    name: `${input.name}-${input.version}`,
    documentNamespace: `${base}${encodeURIComponent(input.name)}/${encodeURIComponent(input.version)}-${content}`,
    creationInfo: {
      created: new Date(input.sourceDateEpoch * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z'),
      creators: [`Tool: ${input.tool}`],
    },
    documentDescribes: ['SPDXRef-Image'],
    packages: [image, ...packages],
    relationships,
    ...(refs.size === 0
      ? {}
      : {
          hasExtractedLicensingInfos: [...refs]
            .sort((a, b) => cmp(a[0], b[0]))
            .map(([licenseId, name]) => ({
              licenseId,
              name,
              extractedText: `The licence Debian calls "${name}" (a copyright-format 1.0 short name without an SPDX identifier); its text is in /usr/share/doc/<package>/copyright of the packages that declare it.`,
            })),
        }),
  };
  assertValid('SPDX SBOM', sbomSchema, document);
  return { document, text: canonicalText(document) };
}
