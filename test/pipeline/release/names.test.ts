import { describe, expect, it } from 'vitest';
import {
  artefactKey,
  checkRef,
  checkStream,
  checkVersion,
  compareVersions,
  coordinates,
  imagePrefix,
  versionIndexKey,
  versionPointerKey,
} from '../../../pipeline/release/names.js';

describe('release names', () => {
  it('accepts canonical semver with a leading v and refuses the rest', () => {
    for (const v of [
      'v0.0.0',
      'v1.2.3',
      'v1.2.3-rc.1',
      'v2.25.0-pre.0.20251201083313-09e943b8b736',
      'v1.0.0+b.5',
    ])
      expect(checkVersion(v)).toBe(v);
    for (const v of ['1.2.3', 'v1.2', 'v01.2.3', 'v1.2.3-', 'v1.2.3-01', 'v1.2.3/../x', '', 'v1.2.3 '])
      expect(() => checkVersion(v), v).toThrow(/semver/);
  });

  it('refuses refs and streams that could escape their folder', () => {
    expect(checkRef('-')).toBe('-');
    expect(checkRef('main')).toBe('main');
    for (const r of ['..', 'a/b', 'Main', '-x', '', 'x'.repeat(65)]) expect(() => checkRef(r), r).toThrow();
    expect(checkStream('stable')).toBe('stable');
    for (const s of ['-', '..', 'a/b', 'A']) expect(() => checkStream(s), s).toThrow();
  });

  it("lays objects out like Constellation's CDN, with immutable numbered indexes", () => {
    const c = coordinates('v1.2.3', '-', 'stable');
    expect(imagePrefix(c)).toBe('v2/ref/-/stream/stable/v1.2.3/image/');
    expect(artefactKey(c, 'disk.raw')).toBe('v2/ref/-/stream/stable/v1.2.3/image/artefacts/disk.raw');
    expect(versionIndexKey(c, 7)).toBe('v2/ref/-/stream/stable/versions/index-000000000007.json');
    expect(versionPointerKey(c)).toBe('v2/ref/-/stream/stable/versions/current.json');
    for (const bad of ['../x', '.hidden', 'a/b', '']) expect(() => artefactKey(c, bad), bad).toThrow();
    expect(() => versionIndexKey(c, 0)).toThrow();
  });

  it('orders versions as semver.org section 11 does', () => {
    const sorted = [
      'v1.0.0-alpha',
      'v1.0.0-alpha.1',
      'v1.0.0-alpha.beta',
      'v1.0.0-beta',
      'v1.0.0-beta.2',
      'v1.0.0-beta.11',
      'v1.0.0-rc.1',
      'v1.0.0',
      'v1.0.1',
      'v1.10.0',
      'v2.0.0',
    ];
    for (let i = 0; i < sorted.length; i++)
      for (let j = 0; j < sorted.length; j++)
        expect(
          compareVersions(sorted[i] as string, sorted[j] as string),
          `${sorted[i]} vs ${sorted[j]}`,
        ).toBe(Math.sign(i - j));
    expect(compareVersions('v1.0.0+a', 'v1.0.0+b')).toBe(0);
  });
});
