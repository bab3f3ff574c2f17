// RTMR events of a QEMU direct kernel boot (-kernel/-initrd/-append) on TDVF, in chronological
// order (launch-measurements.md §2.3; the event model of quex-tech/td-report-web reproduceRtmr and
// dstack-mr, which agree on every digest):
//   RTMR0  TD HOB, CFV, SecureBoot/PK/KEK/db/dbx, separator, 3 x QEMU ACPI blob,
//          BootOrder, Boot0000                          (then the ReadyToBoot separator in 'quex')
//   RTMR1  kernel Authenticode (LoadImage from QemuKernelLoaderFsDxe), "Calling EFI Application
//          from Boot Option", [ReadyToBoot separator in 'dstack'], 2 x ExitBootServices
//   RTMR2  the Linux EFI stub's LoadOptions and initrd events (CC protocol, Linux >= 6.9)
// Events carry the 'dstack' register; use withLayout() for the other layout (cc-event.ts).
import { createHash } from 'node:crypto';
import { chunks, type ByteSource } from '../../../image/formats/source.js';
import type { TdvfMetadata } from '../../../image/formats/tdvf/index.js';
import { EV } from '../../eventlog/types.js';
import { INITRD_EVENT_TAG_ID, LOAD_OPTIONS_EVENT_TAG_ID } from '../../boot/kernel.js';
import { asciiBytes, ccEvent, utf16le, type CcEvent } from './cc-event.js';
import {
  bootVariableEvents,
  ovmfDirectBootVariables,
  type BootVariable,
  type SecureBootWithoutPk,
} from './firmware-config.js';
import { SEPARATOR_DATA, firmwareEvents } from './firmware-events.js';
import type { AcpiBlobs } from './qemu-acpi.js';
import { kernelAuthenticodeSha384 } from './qemu-kernel.js';

/** Which bytes OVMF measures as the kernel: 'qemu-patched' before edk2-stable202505, 'raw' after. */
export type KernelMeasurement = 'qemu-patched' | 'raw';

export interface DirectBootInput {
  readonly firmware: ByteSource;
  readonly metadata: TdvfMetadata;
  readonly memoryBytes: number;
  readonly acpi: AcpiBlobs;
  readonly kernel: ByteSource;
  readonly initrd?: ByteSource | undefined;
  /** The -append string; undefined or "" measures no command line event (as quex's model does). */
  readonly cmdline?: string | undefined;
  readonly kernelMeasurement?: KernelMeasurement;
  /** Default: ovmfDirectBootVariables() (BootOrder + UiApp, OVMF before edk2-stable202505). */
  readonly bootVariables?: readonly BootVariable[];
  readonly secureBootWithoutPk?: SecureBootWithoutPk;
}

export interface DirectBootEvents {
  /** Chronological, registers in the 'dstack' layout. */
  readonly events: readonly CcEvent[];
  readonly kernelAuthenticode: Uint8Array;
}

function taggedData(tag: number, text: string): Uint8Array {
  // TCG_PCClientTaggedEvent {u32 taggedEventID, u32 taggedEventDataSize, data} (efistub.h)
  const t = asciiBytes(text);
  const out = new Uint8Array(8 + t.length);
  const v = new DataView(out.buffer);
  v.setUint32(0, tag, true);
  v.setUint32(4, t.length, true);
  out.set(t, 8);
  return out;
}

async function streamDigest(src: ByteSource): Promise<Uint8Array> {
  const h = createHash('sha384');
  for await (const c of chunks(src, 0, src.size)) h.update(c);
  return new Uint8Array(h.digest());
}

const action = (rtmr: number, text: string): CcEvent => ccEvent(rtmr, EV.EFI_ACTION, text, asciiBytes(text));

export async function directBootEvents(input: DirectBootInput): Promise<DirectBootEvents> {
  const fw = await firmwareEvents(input);
  const cmdline = input.cmdline ?? '';
  const load = { memoryBytes: input.memoryBytes, cmdline, initrdSize: input.initrd?.size };
  const kernelAuthenticode = await kernelAuthenticodeSha384(
    input.kernel,
    input.kernelMeasurement === 'raw' ? undefined : load,
  );
  const events: CcEvent[] = [fw.tdHob, ...(fw.cfv ? [fw.cfv] : []), ...fw.secureBoot, ...fw.acpi];
  events.push({
    rtmr: 1,
    type: EV.EFI_BOOT_SERVICES_APPLICATION,
    name: 'Linux kernel',
    digest: kernelAuthenticode,
    data: undefined,
  });
  events.push(...bootVariableEvents(input.bootVariables ?? ovmfDirectBootVariables()));
  events.push(action(1, 'Calling EFI Application from Boot Option'));
  events.push({ ...ccEvent(1, EV.SEPARATOR, 'Separator', SEPARATOR_DATA), readyToBootSeparator: true });
  if (cmdline.length > 0) {
    // OVMF appends " initrd=initrd" to LoadOptions when QEMU passed an initrd (QemuLoadImageLib);
    // the stub hashes LoadOptions as UTF-16LE with its NUL (measured-boot.md §5).
    const options = cmdline + (input.initrd ? ' initrd=initrd' : '');
    events.push(
      ccEvent(
        2,
        EV.EVENT_TAG,
        'Linux kernel command-line parameters',
        utf16le(`${options}\0`),
        taggedData(LOAD_OPTIONS_EVENT_TAG_ID, 'LOADED_IMAGE::LoadOptions\0'),
      ),
    );
  }
  if (input.initrd !== undefined && input.initrd.size > 0) {
    events.push({
      rtmr: 2,
      type: EV.EVENT_TAG,
      name: 'Linux initial ramdisk',
      digest: await streamDigest(input.initrd),
      data: taggedData(INITRD_EVENT_TAG_ID, 'Linux initrd\0'),
    });
  }
  events.push(
    action(1, 'Exit Boot Services Invocation'),
    action(1, 'Exit Boot Services Returned with Success'),
  );
  return { events, kernelAuthenticode };
}
