// The SPDX 2.3 SBOM of a release's packages: built from real .debs (test/helpers/apt-repo.ts) whose
// copyright files are DEP-5, free-form or missing; deterministic; every package with its version,
// the sha256 of its .deb and the licence Debian declares (NOASSERTION where it declares none
// machine-readably).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  authenticateSuite,
  fetchDeb,
  loadKeyring,
  provenanceOf,
  resolvePackages,
  type PackageProvenance,
} from '../../../image/build/apt-archive/index.js';
import {
  readLicences,
  spdxExpressionOf,
  spdxSbom,
  type SbomPackage,
} from '../../../pipeline/packages/index.js';
import { REPO_CLOCK, TestAptRepo } from '../../helpers/apt-repo.js';

let repo: TestAptRepo;
let work: string;
let locked: PackageProvenance[];
let packages: SbomPackage[];

beforeAll(async () => {
  repo = await TestAptRepo.create();
  work = await mkdtemp(join(tmpdir(), 'nodeimg-sbom-'));
  await repo.publish([
    { name: 'alpha', version: '1.0-1' },
    { name: 'beta', version: '2:0.9~rc1-3', architecture: 'all', licence: 'GPL-2+ with OpenSSL exception' },
    { name: 'gamma', version: '3.1-1', licence: 'GPL-2+ or Artistic' },
    { name: 'delta', version: '4.0-1', licence: 'free-form' },
    { name: 'eps', version: '5.0-1', licence: null },
  ]);
  const suite = await authenticateSuite({
    mirror: repo.url,
    suite: 'nodeimg-test',
    architecture: 'amd64',
    keyring: await loadKeyring(repo.keyring),
    clock: REPO_CLOCK,
  });
  locked = resolvePackages([suite], ['alpha', 'beta', 'gamma', 'delta', 'eps']).map(provenanceOf);
  const debs = join(work, 'debs');
  for (const p of locked) await fetchDeb(p, p.url, debs);
  const licences = await readLicences(locked, debs);
  packages = locked.map((p) => {
    const c = licences.get(p.sha256);
    return { ...p, ...(c === undefined ? {} : { copyright: c }) };
  });
});
afterAll(async () => {
  await repo?.close();
  if (work) await rm(work, { recursive: true, force: true });
});

const input = (pkgs: SbomPackage[]) => ({
  name: 'nodeimg-test-image',
  version: 'v1.2.3',
  sourceDateEpoch: 1_700_000_000,
  tool: 'nodeimg-0.1.0',
  imageSha256: 'ab'.repeat(32),
  packages: pkgs,
});

describe('SPDX SBOM', () => {
  it('lists every package with version, sha256, purl and the declared licence', () => {
    const { document } = spdxSbom(input(packages));
    const pkgs = document['packages'] as Record<string, unknown>[];
    expect(pkgs).toHaveLength(6); // the image + 5 packages
    const by = (n: string) => pkgs.find((p) => p['name'] === n) as Record<string, unknown>;
    for (const p of locked) {
      const e = by(p.name);
      expect(e['versionInfo']).toBe(p.version);
      expect(e['checksums']).toEqual([{ algorithm: 'SHA256', checksumValue: p.sha256 }]);
      expect(e['downloadLocation']).toBe(p.url);
    }
    expect(by('alpha')['licenseDeclared']).toBe('GPL-2.0-or-later AND LicenseRef-deb-public-domain');
    expect(by('gamma')['licenseDeclared']).toBe(
      '(GPL-2.0-or-later OR Artistic-1.0) AND LicenseRef-deb-public-domain',
    );
    expect(by('beta')['licenseDeclared']).toBe(
      'LicenseRef-deb-GPL-2-plus-with-OpenSSL-exception AND LicenseRef-deb-public-domain',
    );
    expect(by('delta')['licenseDeclared']).toBe('NOASSERTION'); // free-form copyright file
    expect(by('eps')['licenseDeclared']).toBe('NOASSERTION'); // no copyright file
    expect((by('beta')['externalRefs'] as { referenceLocator: string }[])[0]?.referenceLocator).toBe(
      'pkg:deb/debian/beta@2%3A0.9~rc1-3?arch=all',
    );
    expect(document['creationInfo']).toEqual({
      created: '2023-11-14T22:13:20Z',
      creators: ['Tool: nodeimg-0.1.0'],
    });
    const refs = (document['hasExtractedLicensingInfos'] as { licenseId: string }[]).map((r) => r.licenseId);
    expect(refs).toEqual([
      'LicenseRef-deb-GPL-2-plus-with-OpenSSL-exception',
      'LicenseRef-deb-public-domain',
    ]);
    const rel = document['relationships'] as { relationshipType: string }[];
    expect(rel.filter((r) => r.relationshipType === 'CONTAINS')).toHaveLength(5);
  });

  it('is deterministic: the same text whatever the input order, another text for other packages', () => {
    const a = spdxSbom(input(packages)).text;
    const b = spdxSbom(input([...packages].reverse())).text;
    expect(b).toBe(a);
    const c = spdxSbom(input(packages.slice(1))).text;
    expect(c).not.toBe(a);
    expect(JSON.parse(c).documentNamespace).not.toBe(JSON.parse(a).documentNamespace);
  });

  it('maps DEP-5 licence expressions to SPDX', () => {
    expect(spdxExpressionOf('GPL-2+').expression).toBe('GPL-2.0-or-later');
    expect(spdxExpressionOf('LGPL-2.1').expression).toBe('LGPL-2.1-only');
    expect(spdxExpressionOf('Expat').expression).toBe('MIT');
    expect(spdxExpressionOf('BSD-3-clause and Expat').expression).toBe('BSD-3-Clause AND MIT');
    expect(spdxExpressionOf('GPL-2+ or Artistic, and BSD-3-clause').expression).toBe(
      '(GPL-2.0-or-later OR Artistic-1.0) AND BSD-3-Clause',
    );
    const r = spdxExpressionOf('public-domain or Expat');
    expect(r.expression).toBe('LicenseRef-deb-public-domain OR MIT');
    expect([...r.refs]).toEqual([['LicenseRef-deb-public-domain', 'public-domain']]);
  });
});
