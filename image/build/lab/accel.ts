// Can KVM run OVMF here? A /dev/kvm that exists is not enough (on a nested paravirtual KVM such as
// kvm_pvm, `-cpu host` aborts and other models die on OVMF's first x87 instruction), so boot the
// firmware alone for a few seconds and look for BdsDxe on the console; else fall back to TCG.
// NODEIMG_ACCEL=kvm|tcg skips the probe. The answer is kept for the life of the process.
import { constants } from 'node:fs';
import { access, copyFile, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTool, type ToolProcess } from '../run-tool.js';
import { OVMF } from './config.js';
import { qemuProbeArgs, type Accel } from './qemu-argv.js';

let memo: Promise<Accel> | undefined;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function probe(timeoutMs: number): Promise<Accel> {
  try {
    await access('/dev/kvm', constants.R_OK | constants.W_OK);
  } catch {
    return 'tcg';
  }
  const dir = await mkdtemp(join(tmpdir(), 'nodeimg-kvm-probe-'));
  const vars = join(dir, 'vars.fd');
  const consoleFile = join(dir, 'console.log');
  let qemu: ToolProcess | undefined;
  try {
    await copyFile(OVMF.vars, vars);
    qemu = startTool('qemu-system-x86_64', qemuProbeArgs(vars, consoleFile), { timeoutMs });
    const t0 = Date.now();
    while (Date.now() - t0 < timeoutMs) {
      const text = await readFile(consoleFile, 'utf8').catch(() => '');
      if (text.includes('BdsDxe')) return 'kvm';
      // QEMU reports a KVM internal error and then hangs with the VM stopped
      if (qemu.exited() || /KVM internal error|failed to set MSR/.test(qemu.output().stderr)) return 'tcg';
      await sleep(200);
    }
    return 'tcg';
  } finally {
    await qemu?.stop(500);
    await rm(dir, { recursive: true, force: true });
  }
}

/** 'kvm' if KVM can boot OVMF on this host, else 'tcg'. */
export function detectAccel(opts: { timeoutMs?: number; env?: NodeJS.ProcessEnv } = {}): Promise<Accel> {
  const forced = (opts.env ?? process.env)['NODEIMG_ACCEL'];
  if (forced === 'kvm' || forced === 'tcg') return Promise.resolve(forced);
  memo ??= probe(opts.timeoutMs ?? 20_000).catch((err: unknown) => {
    memo = undefined;
    throw err;
  });
  return memo;
}
