import { describe, expect, it } from 'vitest';
import { NodeimgError } from '../../../pipeline/errors.js';
import { canonicalText, isCanonicalText } from '../../../pipeline/release/canonical-text.js';
import { coordinates } from '../../../pipeline/release/names.js';
import {
  digestOf,
  nextIndex,
  pointerTo,
  serializeIndex,
  sha256Hex,
  type IndexedVersion,
} from '../../../pipeline/release/version-index.js';
import { assertValid } from '../../../pipeline/schema/validate.js';
import indexSchema from '../../../pipeline/schema/version-index.schema.json' with { type: 'json' };
import pointerSchema from '../../../pipeline/schema/version-pointer.schema.json' with { type: 'json' };

const c = coordinates('v1.0.0', '-', 'stable');
const entry = (version: string, salt = ''): IndexedVersion => ({
  version,
  documents: {
    'manifest.json': digestOf(`manifest ${version}${salt}`),
    'measurements.json': digestOf(`measurements ${version}${salt}`),
    'info.json': digestOf(`info ${version}${salt}`),
  },
});

describe('version index', () => {
  it('starts at sequence 1 and chains each release to the bytes of the previous index', () => {
    const first = nextIndex(c, undefined, entry('v1.0.0'));
    expect(first.kind).toBe('next');
    expect(first.index.sequence).toBe(1);
    expect(first.index.previous).toBeNull();
    const t1 = serializeIndex(first.index);
    assertValid('index', indexSchema, JSON.parse(t1));
    const second = nextIndex(c, { index: first.index, sha256: sha256Hex(t1) }, entry('v1.1.0'));
    expect(second.index.sequence).toBe(2);
    expect(second.index.previous).toEqual({ sequence: 1, sha256: sha256Hex(t1) });
    expect(second.index.versions.map((v) => v.version)).toEqual(['v1.0.0', 'v1.1.0']);
    const p = pointerTo(second.index, serializeIndex(second.index));
    assertValid('pointer', pointerSchema, p);
    expect(p.index).toBe('v2/ref/-/stream/stable/versions/index-000000000002.json');
  });

  it('treats re-releasing the same content as a no-op and different content as a conflict', () => {
    const first = nextIndex(c, undefined, entry('v1.0.0')).index;
    const cur = { index: first, sha256: sha256Hex(serializeIndex(first)) };
    expect(nextIndex(c, cur, entry('v1.0.0')).kind).toBe('unchanged');
    let err: unknown;
    try {
      nextIndex(c, cur, entry('v1.0.0', 'x'));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(NodeimgError);
    expect((err as NodeimgError).code).toBe('PUBLISH_CONFLICT');
  });

  it('refuses to extend an index of another ref or stream', () => {
    const first = nextIndex(c, undefined, entry('v1.0.0')).index;
    expect(() =>
      nextIndex({ ref: '-', stream: 'nightly' }, { index: first, sha256: 'x' }, entry('v1.1.0')),
    ).toThrow(/not -\/nightly/);
  });

  it('serialises canonically: sorted keys, 2 spaces, one trailing newline', () => {
    const t = canonicalText({ b: 1, a: { d: [3, { z: 1, y: 2 }], c: null } });
    expect(t).toBe(
      '{\n  "a": {\n    "c": null,\n    "d": [\n      3,\n      {\n        "y": 2,\n        "z": 1\n      }\n    ]\n  },\n  "b": 1\n}\n',
    );
    expect(isCanonicalText(t)).toBe(true);
    expect(isCanonicalText(t.trimEnd())).toBe(false);
    expect(isCanonicalText(JSON.stringify({ b: 1, a: 2 }, null, 2) + '\n')).toBe(false);
  });
});

describe('canonical text', () => {
  it('orders integer-like keys as strings (RFC 8785), not as JavaScript enumerates them', () => {
    const t = canonicalText({ pcrs: { '4': 1, '11': 2, '9': 3 } });
    expect(t).toBe('{\n  "pcrs": {\n    "11": 2,\n    "4": 1,\n    "9": 3\n  }\n}\n');
    expect(isCanonicalText(t)).toBe(true);
  });
});
