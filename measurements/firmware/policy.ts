// The Secure Boot policy of a platform as the boot simulator uses it: the PCR 7 configuration
// events and, when Secure Boot is on, the authority event of each loaded image (predictPcr7 does
// the edk2 logic; this adapts it to the simulator's binaries and event model).
import type { VarStore } from '../../image/formats/ovmf-vars/read-var-store.js';
import type { EfiBinary } from '../boot/binaries.js';
import type { PredictedEvent } from '../boot/event.js';
import type { HashAlg } from '../hash.js';
import { deriveSecureBoot } from './secure-boot-state.js';
import { predictPcr7, type PredictedEvent as Pcr7Event } from './pcr7.js';

export interface SecureBootPolicy {
  /** Whether the variable store enforces Secure Boot (PK enrolled and SecureBootEnable = 1). */
  readonly enforced: boolean;
  /**
   * PCR 7 for images loaded in this order: the configuration events (SecureBoot, PK, KEK, db,
   * dbx, separator) and, with Secure Boot on, one authority event per image that needed a new db
   * entry (undefined where the entry was already measured). Throws CHECK_FAILED when an image
   * would not be allowed to run.
   */
  predict(
    images: readonly EfiBinary[],
    banks: readonly HashAlg[],
    secureBoot: boolean,
  ): {
    readonly config: readonly PredictedEvent[];
    readonly authorities: readonly (PredictedEvent | undefined)[];
    readonly warnings: readonly string[];
  };
}

function toPredicted(e: Pcr7Event): PredictedEvent {
  return {
    pcr: e.pcr,
    type: e.untrustedType,
    digests: e.claimedDigests,
    data: e.data,
    description: e.description,
    origin: e.source,
  };
}

export function secureBootPolicy(vars: Pick<VarStore, 'variables'>): SecureBootPolicy {
  return {
    enforced: deriveSecureBoot(vars).secureBoot === 1,
    predict(images, banks, secureBoot) {
      const derived = deriveSecureBoot(vars).secureBoot === 1;
      const p = predictPcr7({
        vars,
        banks,
        // an override only where the caller departs from what the variable store implies
        secureBoot: secureBoot === derived ? undefined : secureBoot,
        // images are only verified (and only then add PCR 7 events) with Secure Boot on
        images: secureBoot
          ? images.map((b) => ({ label: b.path, signatures: b.signatures, digests: b.authenticode }))
          : [],
      });
      const config = p.events.filter((e) => e.imageIndex === undefined).map(toPredicted);
      const authorities = images.map((_, i) => {
        const e = p.events.find((x) => x.imageIndex === i);
        return e ? toPredicted(e) : undefined;
      });
      return { config, authorities, warnings: p.warnings };
    },
  };
}
