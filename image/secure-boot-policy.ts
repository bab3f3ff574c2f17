// Reads an OVMF variable store template (OVMF_VARS*.fd, or a whole OVMF.fd) into the Secure Boot
// policy the simulator predicts PCR 7 from.
import { withFileSource } from './file-source.js';
import { readVarStore } from './formats/ovmf-vars/index.js';
import { secureBootPolicy, type SecureBootPolicy } from '../measurements/firmware/policy.js';

export async function loadSecureBootPolicy(path: string): Promise<SecureBootPolicy> {
  return secureBootPolicy(await withFileSource(path, readVarStore));
}
