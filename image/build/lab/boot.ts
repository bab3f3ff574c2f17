// Ground truth: boot a disk image under QEMU + OVMF with a fresh software TPM 2.0 (swtpm, tpm-tis)
// and read what the guest saw (lab initrd /init): the PCRs of every bank and the firmware event log.
// Every process started here is killed and the temporary folder removed, also on failure.
import { copyFile, mkdir, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ToolError } from '../../../pipeline/errors.js';
import { runTool, startTool, tail, type ToolProcess } from '../run-tool.js';
import { detectAccel } from './accel.js';
import { PCR_BANKS, type PcrBank } from './config.js';
import { parseLabConsole } from './console.js';
import { ovmfFiles, qemuArgs, swtpmArgs, swtpmSetupArgs, type Accel } from './qemu-argv.js';

export interface BootOptions {
  readonly disk: string;
  readonly secureBoot: boolean;
  /** Whole boot, firmware to power-off; default 300 s. */
  readonly timeoutMs?: number;
  /** MiB; default 1024 (PCR 0 depends on it). */
  readonly memory?: number;
  /** default 1 (PCR 0 depends on it). */
  readonly smp?: number;
  /** Banks to activate in the TPM and to read back; default sha1, sha256, sha384. */
  readonly banks?: readonly PcrBank[];
  /** Default: detectAccel() (KVM if it can run OVMF here, else TCG). */
  readonly accel?: Accel;
  readonly signal?: AbortSignal;
}

export interface BootCapture {
  /** Lower-case hex of PCR 0-23 per requested bank. */
  readonly pcrs: Partial<Record<PcrBank, string[]>>;
  /** /sys/kernel/security/tpm0/binary_bios_measurements as the guest read it. */
  readonly eventLog: Uint8Array;
  /** The whole serial console. */
  readonly console: string;
  readonly accel: Accel;
  /** QEMU start to exit. */
  readonly durationMs: number;
  readonly guest: { readonly kernel?: string; readonly cmdline?: string; readonly uptimeSeconds?: number };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitForSocket(path: string, swtpm: ToolProcess, timeoutMs = 10_000): Promise<void> {
  const t0 = Date.now();
  while (Date.now() - t0 < timeoutMs) {
    if (
      await stat(path).then(
        (s) => s.isSocket(),
        () => false,
      )
    )
      return;
    if (swtpm.exited()) await swtpm.wait(); // throws ToolError with swtpm's stderr
    await sleep(50);
  }
  throw new ToolError(
    'TOOL_FAILED',
    { tool: 'swtpm', argv: ['swtpm'] },
    `swtpm did not create ${path} in ${timeoutMs} ms`,
  );
}

/** The console without CRs and terminal escape sequences (OVMF paints its screen with them). */
function plain(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '').replace(/\r/g, '');
}

function bootFailed(argv: string[], why: string, rawConsole: string, cause?: unknown): ToolError {
  const consoleText = plain(rawConsole);
  const lastLine = consoleText.trimEnd().split('\n').pop() ?? '';
  return new ToolError(
    'TOOL_FAILED',
    { tool: 'qemu-system-x86_64', argv, stderrTail: tail(consoleText, 30, 4000) },
    `lab boot did not complete: ${why}${lastLine ? ` (console: ${lastLine.slice(0, 200)})` : ''}`,
    cause === undefined ? {} : { cause },
  );
}

export async function bootAndCapture(opts: BootOptions): Promise<BootCapture> {
  const banks = opts.banks ?? PCR_BANKS;
  const accel = opts.accel ?? (await detectAccel());
  const signal = opts.signal ? { signal: opts.signal } : {};
  opts.signal?.throwIfAborted();
  const dir = await mkdtemp(join(tmpdir(), 'nodeimg-boot-'));
  let swtpm: ToolProcess | undefined;
  let qemu: ToolProcess | undefined;
  try {
    const state = join(dir, 'tpm');
    const socket = join(dir, 'swtpm.sock');
    const varsFile = join(dir, 'OVMF_VARS.fd');
    const consoleFile = join(dir, 'console.log');
    await mkdir(state);
    await copyFile(ovmfFiles(opts.secureBoot).varsTemplate, varsFile);
    await runTool('swtpm_setup', swtpmSetupArgs(state, banks, join(dir, 'swtpm_setup.log')), {
      timeoutMs: 60_000,
      ...signal,
    });
    swtpm = startTool('swtpm', swtpmArgs(state, socket, join(dir, 'swtpm.log')), signal);
    await waitForSocket(socket, swtpm);
    const argv = qemuArgs({
      accel,
      secureBoot: opts.secureBoot,
      disk: opts.disk,
      varsFile,
      tpmSocket: socket,
      consoleFile,
      memoryMiB: opts.memory ?? 1024,
      smp: opts.smp ?? 1,
    });
    const t0 = Date.now();
    qemu = startTool('qemu-system-x86_64', argv, { timeoutMs: opts.timeoutMs ?? 300_000, ...signal });
    let failure: unknown;
    await qemu.wait().catch((err: unknown) => (failure = err));
    const durationMs = Date.now() - t0;
    const text = await readFile(consoleFile, 'utf8').catch(() => '');
    if (failure !== undefined) {
      throw bootFailed(argv, failure instanceof Error ? failure.message : String(failure), text, failure);
    }
    const parsed = parseLabConsole(text);
    if (!parsed.complete) throw bootFailed(argv, 'the guest printed no complete PCR/event log dump', text);
    const missing = banks.filter((b) => parsed.pcrs[b] === undefined);
    if (missing.length > 0)
      throw bootFailed(argv, `the guest printed no PCRs of ${missing.join(', ')}`, text);
    if (parsed.eventLog === undefined || parsed.eventLog.length === 0) {
      throw bootFailed(argv, 'the guest printed an empty event log', text);
    }
    return {
      pcrs: Object.fromEntries(banks.map((b) => [b, parsed.pcrs[b]])),
      eventLog: parsed.eventLog,
      console: text,
      accel,
      durationMs,
      guest: {
        ...(parsed.kernel === undefined ? {} : { kernel: parsed.kernel }),
        ...(parsed.cmdline === undefined ? {} : { cmdline: parsed.cmdline }),
        ...(parsed.uptimeSeconds === undefined ? {} : { uptimeSeconds: parsed.uptimeSeconds }),
      },
    };
  } finally {
    await qemu?.stop();
    await swtpm?.stop();
    await rm(dir, { recursive: true, force: true });
  }
}
