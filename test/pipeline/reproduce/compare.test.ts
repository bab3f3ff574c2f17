// compareManifests (issue 11): the first stage in manifest order whose outputs or key differ is
// named, with the outputs and inputs that differ; artefact digests and PCR values are compared;
// stages from Secure Boot signing on can be left out (dependents()).
import { describe, expect, it } from 'vitest';
import type { BuildManifest } from '../../../pipeline/build/manifest.js';
import { compareManifests, dependents } from '../../../pipeline/reproduce/compare.js';

const h = (c: string): string => c.repeat(64);

function manifest(uki: string, disk: string, pcr11: string): BuildManifest {
  const stage = (
    id: string,
    inputs: Record<string, { sha256: string; from: string }>,
    out: string,
    name: string,
  ) => ({
    id,
    kind: id,
    version: 1,
    key: h(id === 'uki' ? uki : id === 'disk' ? disk : 'a').slice(0, 64),
    params: {},
    inputs,
    tools: {},
    outputs: { [name]: { sha256: out, size: 1 } },
  });
  return {
    manifest: 1,
    nodeimg: '0.1.0',
    recipe: { name: 'x', sha256: h('1') },
    lock: { sha256: h('2') },
    sourceDateEpoch: 1,
    tools: { node: '20' },
    stages: [
      stage('initrd', {}, h('3'), 'initrd.cpio.gz'),
      stage('uki', { initrd: { sha256: h('3'), from: 'stage:initrd/initrd.cpio.gz' } }, h(uki), 'uki.efi'),
      stage('sign', { uki: { sha256: h(uki), from: 'stage:uki/uki.efi' } }, h(uki), 'uki.efi'),
      stage('disk', { uki: { sha256: h(uki), from: 'stage:sign/uki.efi' } }, h(disk), 'disk.raw'),
    ],
    artifacts: [{ path: 'disk.raw', sha256: h(disk), size: 1, from: 'stage:disk/disk.raw' }],
    measurements: [
      {
        platform: 'qemu',
        firmware: 'ovmf',
        path: 'measurements.json',
        sha256: h('4'),
        secureBoot: false,
        expected: { '11': { sha256: pcr11 } },
      },
    ],
  };
}

describe('compareManifests', () => {
  it('finds nothing between equal manifests', () => {
    const c = compareManifests(manifest('5', '6', h('7')), manifest('5', '6', h('7')));
    expect(c.stages).toEqual([]);
    expect(c.artefacts).toEqual([]);
    expect(c.measurements).toEqual([]);
    expect([c.stagesCompared, c.artefactsCompared, c.measurementsCompared]).toEqual([4, 1, 1]);
  });

  it('names the first differing stage, its outputs, the artefact and the PCR', () => {
    const c = compareManifests(manifest('5', '6', h('7')), manifest('8', '9', h('b')));
    expect(c.stages[0]).toMatchObject({
      id: 'uki',
      reason: 'outputs',
      outputs: [{ name: 'uki.efi', published: h('5'), rebuilt: h('8') }],
      inputs: [],
    });
    expect(c.stages.map((s) => s.id)).toEqual(['uki', 'sign', 'disk']);
    expect(c.stages[1]?.inputs).toEqual(['uki']);
    expect(c.artefacts).toEqual([{ name: 'disk.raw', published: h('6'), rebuilt: h('9') }]);
    expect(c.measurements).toEqual([
      { name: 'manifest qemu/ovmf PCR 11 sha256', published: h('7'), rebuilt: h('b') },
    ]);
  });

  it('leaves out the sign stage and what depends on it', () => {
    const pub = manifest('5', '6', h('7'));
    const ex = dependents(pub, 'sign');
    expect([...ex].sort()).toEqual(['disk', 'sign']);
    const rebuilt = manifest('5', '9', h('7'));
    const c = compareManifests(pub, rebuilt, undefined, ex);
    expect(c.stages).toEqual([]);
    expect(c.artefacts).toEqual([]);
    expect(c.excluded).toEqual(['disk', 'sign']);
  });
});
