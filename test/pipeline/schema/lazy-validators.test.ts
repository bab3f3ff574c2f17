// The precompiled validators are read and compiled one by one, on first use (issue 9): a validator
// file is not touched until its schema is checked, a file that is not the validator of its $id or
// asks for more than ajv's runtime helpers is refused, and the $ids validate.ts checks by name are
// all precompiled.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { SchemaError } from '../../../pipeline/errors.js';
import { lazyValidators } from '../../../pipeline/schema/lazy-validators.js';
import {
  assertBootCheckReport,
  assertInspectReport,
  assertMeasurementsDocument,
} from '../../../pipeline/schema/validate.js';

const schemaDir = join(import.meta.dirname, '..', '..', '..', 'pipeline', 'schema');
const POINTER_ID = 'https://nodeimg.dev/schema/version-pointer/v1.json';
const pointerFile = join(schemaDir, 'validators', 'version-pointer.json');

let dirs: string[] = [];
afterEach(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
  dirs = [];
});

/** A folder URL holding the given validator files. */
function folder(files: Record<string, string>): URL {
  const d = mkdtempSync(join(tmpdir(), 'nodeimg-lazy-validators-'));
  dirs.push(d);
  for (const [name, text] of Object.entries(files)) writeFileSync(join(d, `${name}.json`), text);
  return pathToFileURL(`${d}/`);
}

describe('lazy validators', () => {
  it('reads a validator file only when its schema is first checked, then keeps the function', () => {
    const dir = folder({});
    const v = lazyValidators(dir, { [POINTER_ID]: 'p', 'https://example.invalid/missing': 'missing' });
    // nothing was read yet: the file can still be put in place
    writeFileSync(new URL('p.json', dir), readFileSync(pointerFile, 'utf8'));
    const check = v[POINTER_ID];
    expect(typeof check).toBe('function');
    rmSync(new URL('p.json', dir));
    expect(v[POINTER_ID]).toBe(check); // compiled once, not read again
    expect(check?.({ unexpected: true })).toBe(false);
    expect(check?.errors?.some((e) => e.keyword === 'required')).toBe(true);
    expect(() => v['https://example.invalid/missing']).toThrow(/ENOENT/);
  });

  it("refuses a file that is not the validator of the schema's $id", () => {
    const dir = folder({ p: readFileSync(pointerFile, 'utf8') });
    const v = lazyValidators(dir, { 'https://nodeimg.dev/schema/other/v1.json': 'p' });
    expect(() => v['https://nodeimg.dev/schema/other/v1.json']).toThrow(/not the precompiled validator/);
  });

  it('gives the code nothing but the ajv runtime helpers to require', () => {
    const id = 'https://example.invalid/evil';
    const dir = folder({
      evil: JSON.stringify({ $id: id, source: 'module.exports = require("node:child_process");' }),
    });
    expect(() => lazyValidators(dir, { [id]: 'evil' })[id]).toThrow(/not an ajv runtime helper/);
  });

  it('precompiles every schema validate.ts checks by $id', () => {
    for (const assert of [assertInspectReport, assertMeasurementsDocument, assertBootCheckReport])
      expect(() => assert({ unexpected: true })).toThrow(SchemaError);
  });
});
