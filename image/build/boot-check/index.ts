// `nodeimg boot-check`'s I/O: one measured boot under QEMU + OVMF + swtpm captured from the TPM side.
export {
  captureBoot,
  plainConsole,
  type BootCapture,
  type CaptureOptions,
  type EndReason,
  type FinalRead,
} from './capture.js';
export {
  ctrlCommand,
  readAllPcrs,
  readSavedPcrs,
  saveAndStop,
  swtpmReadArgv,
  waitForSocket,
} from './swtpm.js';
