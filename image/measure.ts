// `nodeimg measure`: from a disk image or a UKI to the measurements document. Composes the image
// readers (I/O) with the pure simulator in measurements/.
import { NodeimgError } from './formats/errors.js';
import type { ByteSource } from './formats/source.js';
import { withFileSource } from './file-source.js';
import { HASH_THREAD_MIN_BYTES, takeHashThread, type HashThread } from './hash-thread.js';
import type { HashOffload } from './formats/pe/stream-hash.js';
import { bootChainFromDisk, type BootMode } from './boot-chain.js';
import { loadUki } from '../measurements/boot/binaries.js';
import { predictBoot, type Prediction, type SecureBootPolicy } from '../measurements/boot/predict.js';
import { NO_EXTRAS } from '../measurements/boot/stub.js';
import { measurementsDocument, hexDigests, type MeasurementsDocument } from '../measurements/document.js';
import type { PredictedEvent } from '../measurements/boot/event.js';
import type { HashAlg } from '../measurements/hash.js';
import type { BankDigests, PcrValues } from '../measurements/pcr-banks.js';

export interface MeasureOptions {
  readonly banks: readonly HashAlg[];
  readonly secureBoot: boolean;
  readonly boot?: BootMode;
  readonly ukiPath?: string;
  readonly phases?: readonly string[];
  readonly stubVersion?: number;
  readonly loaderVersion?: number;
  /** UKI profile to boot (systemd 257+), 0 by default. */
  readonly profile?: number;
  readonly secureBootPolicy?: SecureBootPolicy;
  readonly firmware?: string;
  /** A recorded firmware event log of the target platform: PCRs 0-3 and 6 are taken from it. */
  readonly platformLog?: Uint8Array;
  /** PCR values observed on the target platform (e.g. by boot-check --platform-out): PCRs 0-3 and 6. */
  readonly platformValues?: PcrValues;
  /**
   * Where to hash the section contents of a UKI (or boot binary) of this many bytes; called as
   * soon as the size is known (measureFile: a worker thread for large UKIs).
   */
  readonly offloadFor?: (bytes: number) => HashOffload | undefined;
}

export interface MeasureResult {
  readonly prediction: Prediction;
  readonly document: MeasurementsDocument;
}

async function isDisk(src: ByteSource): Promise<boolean> {
  const head = await src.read(0, Math.min(src.size, 4096 + 8));
  const at = (o: number) =>
    head.length >= o + 8 && String.fromCharCode(...head.subarray(o, o + 8)) === 'EFI PART';
  return at(512) || at(4096);
}

const PLATFORM_PCRS = [0, 1, 2, 3, 6];

/** PCRs 0-3 and 6 replayed from a recorded log (the event log codec is loaded only for this). */
async function platformReference(log: Uint8Array, banks: readonly HashAlg[]) {
  const { decodeEventLog } = await import('../measurements/eventlog/decode.js');
  const { replayEventLog } = await import('../measurements/eventlog/replay.js');
  const decoded = decodeEventLog(log);
  const replay = replayEventLog(decoded, { banks });
  const out = new Map<number, { value: BankDigests; events: PredictedEvent[] }>();
  for (const pcr of PLATFORM_PCRS) {
    const value: BankDigests = {};
    for (const a of banks) {
      const v = replay.pcrs[a]?.get(pcr);
      if (!v) throw new NodeimgError('PARSE_INVALID', `the platform log has no ${a} bank`);
      value[a] = v;
    }
    const events = replay.events
      .filter((e) => e.pcr === pcr)
      .map((e): PredictedEvent => ({
        pcr,
        type: e.untrustedType,
        digests: e.digests,
        data: e.data,
        description: `platform reference: ${e.typeName}`,
        origin: 'platform',
      }));
    out.set(pcr, { value, events });
  }
  return out;
}

function platformFromValues(values: PcrValues, banks: readonly HashAlg[]) {
  const out = new Map<number, { value: BankDigests; events: PredictedEvent[] }>();
  for (const pcr of PLATFORM_PCRS) {
    const value: BankDigests = {};
    for (const a of banks) {
      const v = values[a]?.get(pcr);
      if (!v)
        throw new NodeimgError('USAGE', `the platform values have no ${a} value for PCR ${pcr}`, {
          hint: 'give values for PCRs 0-3 and 6 in every bank measured (--banks)',
        });
      value[a] = v;
    }
    out.set(pcr, { value, events: [] });
  }
  return out;
}

export async function measureSource(src: ByteSource, opts: MeasureOptions): Promise<MeasureResult> {
  const disk = await isDisk(src);
  const chain = disk
    ? await bootChainFromDisk(src, opts.banks, {
        ...(opts.ukiPath ? { ukiPath: opts.ukiPath } : {}),
        ...(opts.offloadFor ? { offloadFor: opts.offloadFor } : {}),
      })
    : undefined;
  const offload = chain ? undefined : opts.offloadFor?.(src.size);
  const uki = chain?.uki ?? (await loadUki(src, src.name, opts.banks, offload ? { offload } : {}));
  if (opts.boot && chain && opts.boot !== chain.mode) {
    throw new NodeimgError(
      'USAGE',
      `--boot ${opts.boot} was given but the image boots ${chain.mode} (EFI/BOOT/BOOTX64.EFI)`,
    );
  }
  if (opts.boot === 'systemd-boot' && !chain)
    throw new NodeimgError('USAGE', '--boot systemd-boot needs a disk image (systemd-boot lives on the ESP)');
  const prediction = await predictBoot({
    banks: opts.banks,
    secureBoot: opts.secureBoot,
    uki,
    ...(chain?.loader ? { loader: chain.loader } : {}),
    ...(chain?.gptEventData ? { gptEventData: chain.gptEventData } : {}),
    ...(opts.secureBootPolicy ? { secureBootPolicy: opts.secureBootPolicy } : {}),
    extras: chain?.extras ?? NO_EXTRAS,
    ...(opts.stubVersion !== undefined ? { stubVersion: opts.stubVersion } : {}),
    ...(opts.loaderVersion !== undefined ? { loaderVersion: opts.loaderVersion } : {}),
    phases: opts.phases ?? [],
    profile: opts.profile ?? 0,
  });
  const warnings = [...(chain?.warnings ?? [])];
  const document = measurementsDocument({
    prediction: { ...prediction, warnings: [...warnings, ...prediction.warnings] },
    image: {
      name: src.name.split('/').pop() ?? src.name,
      kind: disk ? 'disk' : 'uki',
      uki: uki.path.split('/').pop() ?? uki.path,
      ukiAuthenticode: hexDigests(opts.banks, uki.authenticode),
    },
    mode: chain?.mode ?? 'direct',
    secureBoot: opts.secureBoot,
    firmware: opts.firmware ?? 'ovmf',
    ...(opts.platformLog ? { platform: await platformReference(opts.platformLog, opts.banks) } : {}),
    ...(opts.platformValues ? { platform: platformFromValues(opts.platformValues, opts.banks) } : {}),
  });
  return { prediction, document };
}

/**
 * measureSource on a file. For a UKI of HASH_THREAD_MIN_BYTES or more, a worker thread hashes its
 * section contents on the second core while this one reads the file and hashes its Authenticode;
 * it is started as soon as the UKI's size is known, so that its start-up (tens of ms) overlaps
 * walking the UKI's FAT chain and reading its PE headers.
 */
export function measureFile(path: string, opts: MeasureOptions): Promise<MeasureResult> {
  return withFileSource(path, async (src) => {
    let thread: HashThread | undefined;
    const offloadFor =
      opts.offloadFor ??
      ((bytes: number) => (bytes >= HASH_THREAD_MIN_BYTES ? (thread ??= takeHashThread()) : undefined));
    try {
      return await measureSource(src, { ...opts, offloadFor });
    } finally {
      await thread?.close();
    }
  });
}
