// The precompiled validators (pipeline/schema/validators.generated.ts) must be those of the schema
// files in the repo, and must really validate.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { assertValid } from '../../pipeline/schema/validate.js';
import { SchemaError } from '../../pipeline/errors.js';

const dir = join(import.meta.dirname, '..', '..', 'pipeline', 'schema');

describe('JSON schemas', () => {
  it('the generated validators are up to date with the schema files', () => {
    expect(() =>
      execFileSync(process.execPath, ['scripts/gen-validators.mjs', '--check'], { stdio: 'pipe' }),
    ).not.toThrow();
  });

  it('every schema has a validator that rejects a wrong document with the failing paths', () => {
    const files = readdirSync(dir).filter((f) => f.endsWith('.schema.json'));
    expect(files.length).toBeGreaterThanOrEqual(5);
    for (const f of files) {
      const schema = JSON.parse(readFileSync(join(dir, f), 'utf8')) as object;
      const err = (() => {
        try {
          assertValid(f, schema, { unexpected: true });
        } catch (e) {
          return e;
        }
      })();
      expect(err, f).toBeInstanceOf(SchemaError);
      expect((err as SchemaError).fields.length, f).toBeGreaterThan(0);
    }
  });
});
