// Stage `measure`: the measurements document of the built disk for one platform, made by the same
// code as `nodeimg measure <disk> --vars <vars> [--banks ...]` (image/measure.ts measureFile, the
// schema check and serializeDocument of pipeline/commands/measure.ts): PCR 7 and whether Secure Boot
// is enforced come from the platform's OVMF variable store template (input `vars`).
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { measureFile } from '../../measure.js';
import { loadSecureBootPolicy } from '../../secure-boot-policy.js';
import { serializeDocument } from '../../../measurements/document.js';
import { isHashAlg, type HashAlg } from '../../../measurements/hash.js';
import { NodeimgError } from '../../formats/errors.js';
import { assertMeasurementsDocument } from '../../../pipeline/schema/validate.js';
import type { BuildStage } from './types.js';

export type MeasureParams = {
  /** What the document names as the firmware (ovmf, ovmf-secboot). */
  readonly firmware: string;
  readonly banks: readonly string[];
};

export const measureStage: BuildStage<MeasureParams> = {
  kind: 'measure',
  version: 1,
  tools: [],
  outputs: () => ['measurements.json'],
  async run(ctx) {
    const banks: HashAlg[] = [];
    for (const b of ctx.params.banks) {
      if (!isHashAlg(b)) throw new NodeimgError('USAGE', `unknown hash bank ${b}`);
      banks.push(b);
    }
    const policy = await loadSecureBootPolicy(ctx.inputs['vars'] as string);
    const { document } = await measureFile(ctx.inputs['disk'] as string, {
      banks,
      secureBoot: policy.enforced,
      secureBootPolicy: policy,
      firmware: ctx.params.firmware,
      phases: [],
    });
    assertMeasurementsDocument(document);
    await writeFile(join(ctx.outDir, 'measurements.json'), serializeDocument(document));
  },
};
