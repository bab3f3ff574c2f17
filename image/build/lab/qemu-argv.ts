// Argument vectors of a lab boot (like the lab's boot.sh): swtpm_setup, swtpm, QEMU. Pure.
import type { HashAlg } from '../../../measurements/hash.js';
import { OVMF, type PcrBank } from './config.js';

export type Accel = 'kvm' | 'tcg';

export function swtpmSetupArgs(
  stateDir: string,
  banks: readonly (PcrBank | HashAlg)[],
  logFile: string,
): string[] {
  return [
    '--tpm2',
    '--tpmstate',
    stateDir,
    '--pcr-banks',
    banks.join(','),
    '--overwrite',
    '--logfile',
    logFile,
  ];
}

/**
 * swtpm on a unix control socket (QEMU passes the data channel). By default --terminate ends it when
 * QEMU closes the connection; boot-check keeps it running (terminate: false) to read the PCRs
 * afterwards and logs every command (logLevel 20).
 */
export function swtpmArgs(
  stateDir: string,
  socket: string,
  logFile: string,
  opts: { readonly logLevel?: number; readonly terminate?: boolean } = {},
): string[] {
  return [
    'socket',
    '--tpm2',
    '--tpmstate',
    `dir=${stateDir}`,
    '--ctrl',
    `type=unixio,path=${socket}`,
    '--log',
    `file=${logFile},level=${opts.logLevel ?? 1}`,
    ...((opts.terminate ?? true) ? ['--terminate'] : []),
  ];
}

/** The firmware pair of a boot: OVMF, or the Secure Boot build with the snakeoil keys enrolled. */
export function ovmfFiles(secureBoot: boolean): { code: string; varsTemplate: string } {
  return secureBoot
    ? { code: OVMF.codeSecureBoot, varsTemplate: OVMF.varsSnakeoil }
    : { code: OVMF.code, varsTemplate: OVMF.vars };
}

export interface QemuBoot {
  readonly accel: Accel;
  readonly secureBoot: boolean;
  /** Raw disk image; opened with snapshot=on, never written. */
  readonly disk: string;
  /** A private copy of the VARS template. */
  readonly varsFile: string;
  readonly tpmSocket: string;
  readonly consoleFile: string;
  readonly memoryMiB: number;
  readonly smp: number;
}

export function accelArgs(accel: Accel): string[] {
  return accel === 'kvm' ? ['-accel', 'kvm', '-cpu', 'host'] : ['-accel', 'tcg', '-cpu', 'max'];
}

function pflash(code: string, vars: string): string[] {
  return [
    '-drive',
    `if=pflash,format=raw,unit=0,file=${code},readonly=on`,
    '-drive',
    `if=pflash,format=raw,unit=1,file=${vars}`,
  ];
}

/** `qemu-system-x86_64` arguments: q35 (+SMM for Secure Boot), OVMF, tpm-tis, serial to a file. */
export function qemuArgs(b: QemuBoot): string[] {
  const { code } = ovmfFiles(b.secureBoot);
  for (const p of [b.disk, b.varsFile, b.tpmSocket, b.consoleFile, code]) {
    if (p.includes(',')) throw new Error(`QEMU option values cannot hold a comma: ${p}`);
  }
  return [
    '-machine',
    b.secureBoot ? 'q35,smm=on' : 'q35',
    ...accelArgs(b.accel),
    '-m',
    String(b.memoryMiB),
    '-smp',
    String(b.smp),
    '-nodefaults',
    '-display',
    'none',
    '-monitor',
    'none',
    '-no-reboot',
    '-serial',
    `file:${b.consoleFile}`,
    ...pflash(code, b.varsFile),
    ...(b.secureBoot ? ['-global', 'driver=cfi.pflash01,property=secure,value=on'] : []),
    '-chardev',
    `socket,id=chrtpm,path=${b.tpmSocket}`,
    '-tpmdev',
    'emulator,id=tpm0,chardev=chrtpm',
    '-device',
    'tpm-tis,tpmdev=tpm0',
    '-drive',
    `if=none,id=disk0,format=raw,file=${b.disk},snapshot=on`,
    '-device',
    'virtio-blk-pci,drive=disk0,bootindex=1',
  ];
}

/** Firmware-only run used to probe whether KVM can execute OVMF on this host. */
export function qemuProbeArgs(vars: string, consoleFile: string): string[] {
  return [
    '-machine',
    'q35',
    ...accelArgs('kvm'),
    '-m',
    '256',
    '-nodefaults',
    '-display',
    'none',
    '-monitor',
    'none',
    '-no-reboot',
    '-serial',
    `file:${consoleFile}`,
    ...pflash(OVMF.code, vars),
  ];
}
