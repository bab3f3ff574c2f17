// Schemas of the confidential-VM launch commands (`launch-digest`, `snp-report`), compiled once by
// validate.ts's shared ajv instance.
import { assertValid } from './validate.js';
import launchDigestSchema from './launch-digest.schema.json' with { type: 'json' };
import snpReportSchema from './snp-report.schema.json' with { type: 'json' };

export const LAUNCH_DIGEST_SCHEMA_ID = 'https://nodeimg.dev/schema/launch-digest/v1.json';
export const SNP_REPORT_SCHEMA_ID = 'https://nodeimg.dev/schema/snp-report/v1.json';

export function assertLaunchDigestDocument(value: unknown): void {
  assertValid('launch-digest document', launchDigestSchema, value);
}

export function assertSnpReportDocument(value: unknown): void {
  assertValid('snp-report document', snpReportSchema, value);
}

export { launchDigestSchema, snpReportSchema };
