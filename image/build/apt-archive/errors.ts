// The refusals of package provenance (issue 12), one error code per link of the chain that did not
// verify, so a caller (and the CLI's exit message) can tell them apart:
//   PROVENANCE_SIGNATURE       InRelease not signed by a trusted key of the keyring (bad signature,
//                              unknown/wrong key, expired or revoked key, weak digest, no signature)
//   PROVENANCE_EXPIRED         the Release is outside its validity window (Valid-Until passed,
//                              Date in the future, or older than the caller's maximum age)
//   PROVENANCE_INDEX_MISMATCH  a Packages index is not the one the signed Release lists (size,
//                              sha256), or the Release is not the suite/architecture asked for
//   PROVENANCE_DEB_MISMATCH    a .deb is not the one its Packages entry (or the lock) names
// All map to exit 1 (a check ran and failed: pipeline/exit-codes.ts).
import { NodeimgError, type ErrorCode } from '../../formats/errors.js';

export type ProvenanceCode = Extract<ErrorCode, `PROVENANCE_${string}`>;

export class ProvenanceError extends NodeimgError<ProvenanceCode> {
  /** What was being checked: a URL, a store key, a package=version. */
  readonly subject: string;

  constructor(
    code: ProvenanceCode,
    subject: string,
    message: string,
    options: { hint?: string; cause?: unknown } = {},
  ) {
    super(code, `${subject}: ${message}`, options);
    this.subject = subject;
  }
}
Object.defineProperty(ProvenanceError.prototype, 'name', { value: 'ProvenanceError', enumerable: false });
