// One measured boot for `nodeimg boot-check`, captured from the TPM side: a fresh swtpm logs every
// command it receives, QEMU boots the disk (snapshot: never written) under OVMF, and the boot is
// watched until it is far enough; then the PCRs are read from the TPM (see swtpm.ts). Nothing of the
// guest is needed. Every process started here is stopped and the temporary folder removed, also on
// abort (Ctrl-C), timeout or failure.
import { copyFile, mkdir, mkdtemp, open, rm, type FileHandle } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { HashAlg } from '../../../measurements/hash.js';
import {
  MAX_SWTPM_LOG_BYTES,
  SwtpmLogError,
  parseSwtpmLog,
  type SwtpmLog,
  type SwtpmNote,
  type SwtpmRecord,
} from '../../../measurements/tpm/swtpm-log.js';
import { replayTpmLog, type TpmReplay } from '../../../measurements/tpm/replay.js';
import { ToolError } from '../../../pipeline/errors.js';
import { runTool, startTool, tail, type ToolProcess } from '../run-tool.js';
import { qemuArgs, type Accel } from '../lab/qemu-argv.js';
import { readSavedPcrs, saveAndStop, waitForSocket } from './swtpm.js';
import { swtpmArgs, swtpmSetupArgs } from '../lab/qemu-argv.js';

export type EndReason = 'marker' | 'tpm-quiet' | 'tpm-shutdown' | 'qemu-exited' | 'timeout';

export interface CaptureOptions {
  readonly disk: string;
  /** OVMF_CODE build: the Secure Boot one (with SMM) or the plain one. */
  readonly secureBootFirmware: boolean;
  /** The VARS template; a private copy is used. */
  readonly varsTemplate: string;
  readonly banks: readonly HashAlg[];
  readonly accel: Accel;
  readonly memoryMiB: number;
  readonly smp: number;
  /** Whole boot; when it runs out the boot is taken as it is. */
  readonly timeoutMs: number;
  /** Text on the serial console that means the boot is far enough. */
  readonly marker?: string;
  /** Quiet time after ExitBootServices: no PCR change for this long ends the boot. */
  readonly quietMs: number;
  readonly signal?: AbortSignal;
  /** Progress lines (stderr). */
  readonly progress?: (line: string) => void;
  /** Poll interval of the console and swtpm log; default 200 ms. */
  readonly pollMs?: number;
  /** Copy swtpm's command logs and the serial console into this folder before the temporary one goes. */
  readonly keepLogsIn?: string;
}

export interface FinalRead {
  readonly values?: Record<string, Uint8Array[]>;
  /** Why there is no read. */
  readonly why?: string;
}

export interface BootCapture {
  readonly endReason: EndReason;
  /** QEMU start to the end of the boot. */
  readonly elapsedMs: number;
  readonly accel: Accel;
  readonly log: SwtpmLog;
  readonly logBytes: number;
  readonly replay: TpmReplay;
  readonly finalRead: FinalRead;
  /** The serial console (CRs and terminal escapes removed). */
  readonly console: string;
  readonly qemuStderr: string;
}

const MAX_CONSOLE = 16 * 1024 * 1024;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The console without CRs and terminal escape sequences (OVMF paints its screen with them). */
export function plainConsole(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '').replace(/\r/g, '');
}

/** Reads what a growing file gained since the last call. */
class Follower {
  private fh: FileHandle | undefined;
  private pos = 0;
  constructor(private readonly path: string) {}
  /** The new bytes, or undefined when there are none (or the file is not there yet). */
  async poll(): Promise<Uint8Array | undefined> {
    this.fh ??= await open(this.path, 'r').catch(() => undefined);
    if (this.fh === undefined) return undefined;
    const chunks: Buffer[] = [];
    for (;;) {
      const buf = Buffer.alloc(256 * 1024);
      const { bytesRead } = await this.fh.read(buf, 0, buf.length, this.pos);
      if (bytesRead === 0) break;
      this.pos += bytesRead;
      chunks.push(buf.subarray(0, bytesRead));
    }
    if (chunks.length === 0) return undefined;
    const b = Buffer.concat(chunks);
    return new Uint8Array(b.buffer, b.byteOffset, b.length);
  }
  async close(): Promise<void> {
    await this.fh?.close();
    this.fh = undefined;
  }
}

/** swtpm's log parsed as it grows: only the new bytes (and an unfinished last record) are parsed again. */
class LogWatcher {
  private tail: Uint8Array = new Uint8Array(0);
  private readonly records: SwtpmRecord[] = [];
  private readonly notes: SwtpmNote[] = [];
  private noteCount = 0;
  private lines = 0;
  private offset = 0;
  private total = 0;

  feed(chunk: Uint8Array): void {
    this.total += chunk.length;
    if (this.total > MAX_SWTPM_LOG_BYTES) {
      throw new SwtpmLogError(
        'PARSE_LIMIT',
        this.lines + 1,
        this.offset,
        `swtpm's log grew beyond ${MAX_SWTPM_LOG_BYTES} bytes`,
      );
    }
    const buf = this.tail.length === 0 ? chunk : Buffer.concat([this.tail, chunk]);
    const log = parseSwtpmLog(buf, { partial: true, startLine: this.lines, startOffset: this.offset });
    for (const r of log.records) this.records.push(r);
    for (const n of log.notes) if (this.notes.length < 100) this.notes.push(n);
    this.noteCount += log.noteCount;
    this.tail = buf.subarray(log.consumed - this.offset);
    this.offset = log.consumed;
    this.lines = log.consumedLines;
  }

  log(): SwtpmLog {
    return {
      records: this.records,
      notes: this.notes,
      noteCount: this.noteCount,
      lines: this.lines,
      consumedLines: this.lines,
      consumed: this.offset,
      pending: this.tail.length > 0,
    };
  }

  get bytes(): number {
    return this.total;
  }
}

function abortError(signal: AbortSignal): Error {
  return signal.reason instanceof Error ? signal.reason : new Error('aborted');
}

/** The logs worth keeping for a diagnosis: swtpm's (boot and read) and the serial console. */
const KEPT = ['swtpm.log', 'swtpm2.log', 'console.log', 'swtpm_setup.log'] as const;

async function keepLogs(from: string, to: string): Promise<void> {
  await mkdir(to, { recursive: true });
  for (const name of KEPT) {
    await copyFile(join(from, name), join(to, name === 'swtpm2.log' ? 'swtpm-read.log' : name)).catch(
      (err: NodeJS.ErrnoException) => {
        if (err.code !== 'ENOENT') throw err;
      },
    );
  }
}

export async function captureBoot(opts: CaptureOptions): Promise<BootCapture> {
  const say = opts.progress ?? (() => undefined);
  const pollMs = opts.pollMs ?? 200;
  opts.signal?.throwIfAborted();
  const dir = await mkdtemp(join(tmpdir(), 'nodeimg-boot-check-'));
  let swtpm: ToolProcess | undefined;
  let qemu: ToolProcess | undefined;
  const tpmLog = new Follower(join(dir, 'swtpm.log'));
  const consoleLog = new Follower(join(dir, 'console.log'));
  const watcher = new LogWatcher();
  const consoleChunks: Buffer[] = [];
  let consoleBytes = 0;
  /** Takes what the console gained; true if it grew. */
  const pollConsole = async (): Promise<boolean> => {
    const c = await consoleLog.poll();
    if (c === undefined) return false;
    consoleBytes += c.length;
    // keep the first MAX_CONSOLE bytes: a guest that floods the console does not flood our memory
    if (consoleBytes - c.length < MAX_CONSOLE)
      consoleChunks.push(Buffer.from(c.subarray(0, MAX_CONSOLE - (consoleBytes - c.length))));
    return true;
  };
  const consoleText = () => plainConsole(Buffer.concat(consoleChunks).toString('utf8'));
  try {
    const state = join(dir, 'tpm');
    const ctrl = join(dir, 'swtpm.ctrl');
    const varsFile = join(dir, 'OVMF_VARS.fd');
    const consoleFile = join(dir, 'console.log');
    await mkdir(state);
    await copyFile(opts.varsTemplate, varsFile);
    await runTool('swtpm_setup', swtpmSetupArgs(state, opts.banks, join(dir, 'swtpm_setup.log')), {
      timeoutMs: 60_000,
      ...(opts.signal === undefined ? {} : { signal: opts.signal }),
    });
    swtpm = startTool(
      'swtpm',
      swtpmArgs(state, ctrl, join(dir, 'swtpm.log'), { logLevel: 20, terminate: false }),
    );
    await waitForSocket(ctrl, swtpm);
    const argv = [
      ...qemuArgs({
        accel: opts.accel,
        secureBoot: opts.secureBootFirmware,
        disk: opts.disk,
        varsFile,
        tpmSocket: ctrl,
        consoleFile,
        memoryMiB: opts.memoryMiB,
        smp: opts.smp,
      }),
      // a guest power-off pauses the VM: QEMU keeps swtpm running (see swtpm.ts)
      '-no-shutdown',
    ];
    const t0 = Date.now();
    // TMPDIR: QEMU's snapshot overlay of the disk lands in our folder
    qemu = startTool('qemu-system-x86_64', argv, { env: { TMPDIR: dir } });

    // watch until the boot is far enough
    let endReason: EndReason | undefined;
    let replay = replayTpmLog(watcher.log(), { banks: opts.banks });
    let changes = 0;
    let lastChangeAt = Date.now();
    let markerSeen = false;
    let ebsSaid = false;
    while (endReason === undefined) {
      if (opts.signal?.aborted) throw abortError(opts.signal);
      const exited = qemu.exited();
      const grew = await tpmLog.poll();
      if (grew !== undefined) {
        watcher.feed(grew);
        replay = replayTpmLog(watcher.log(), { banks: opts.banks });
        const now = replay.extends.length + replay.resets.length + replay.startups.length;
        if (now !== changes) {
          changes = now;
          lastChangeAt = Date.now();
        }
      }
      if (replay.exitBootServices !== undefined && !ebsSaid) {
        ebsSaid = true;
        say(
          `ExitBootServices after ${((Date.now() - t0) / 1000).toFixed(1)} s (${replay.extends.length} PCR extends so far)`,
        );
      }
      if ((await pollConsole()) && opts.marker !== undefined)
        markerSeen = consoleText().includes(opts.marker);
      if (markerSeen) endReason = 'marker';
      else if (replay.shutdowns.length > 0) endReason = 'tpm-shutdown';
      else if (replay.exitBootServices !== undefined && Date.now() - lastChangeAt >= opts.quietMs)
        endReason = 'tpm-quiet';
      else if (exited) endReason = 'qemu-exited';
      else if (Date.now() - t0 >= opts.timeoutMs) endReason = 'timeout';
      else await sleep(pollMs);
    }
    const elapsedMs = Date.now() - t0;
    if (endReason === 'qemu-exited' && replay.exitBootServices === undefined) {
      // QEMU died (or the guest reset) before the boot got anywhere: a failure of the tool, not a verdict
      const failure = await qemu.wait().then(
        () => undefined,
        (err: unknown) => err,
      );
      const last = consoleText().trimEnd().split('\n').pop() ?? '';
      const why = failure instanceof Error ? failure.message : 'QEMU exited by itself';
      throw new ToolError(
        'TOOL_FAILED',
        {
          tool: 'qemu-system-x86_64',
          argv: ['qemu-system-x86_64', ...argv],
          stderrTail: tail(qemu.output().stderr),
        },
        `the boot ended before ExitBootServices: ${why}${last ? ` (console: ${last.slice(0, 200)})` : ''}`,
        failure === undefined ? {} : { cause: failure },
      );
    }

    // end QEMU without letting it shut swtpm down, then read the TPM
    if (qemu.pid !== undefined && !qemu.exited()) {
      try {
        process.kill(-qemu.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    await qemu.stop(500);
    const qemuStderr = qemu.output().stderr;
    const saved = await saveAndStop(swtpm, ctrl);
    let finalRead: FinalRead;
    if (saved.ok) {
      try {
        finalRead = {
          values: await readSavedPcrs(
            state,
            { data: join(dir, 'swtpm2.sock'), ctrl: join(dir, 'swtpm2.ctrl') },
            join(dir, 'swtpm2.log'),
            opts.banks,
          ),
        };
      } catch (err) {
        finalRead = { why: `reading the PCRs from the saved TPM state failed: ${(err as Error).message}` };
      }
    } else {
      finalRead = { why: saved.why ?? 'the TPM state could not be saved' };
    }

    // the rest of the log, now that swtpm has ended
    const rest = await tpmLog.poll();
    if (rest !== undefined) watcher.feed(rest);
    const log = watcher.log();
    replay = replayTpmLog(log, { banks: opts.banks });
    await pollConsole();
    if (endReason === 'qemu-exited' && qemuStderr.trim() !== '')
      say(`QEMU exited: ${tail(qemuStderr, 3, 500)}`);
    return {
      endReason,
      elapsedMs,
      accel: opts.accel,
      log,
      logBytes: watcher.bytes,
      replay,
      finalRead,
      console: consoleText(),
      qemuStderr,
    };
  } finally {
    await tpmLog.close();
    await consoleLog.close();
    if (qemu?.pid !== undefined && !qemu.exited()) {
      try {
        process.kill(-qemu.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    await qemu?.stop(500);
    await swtpm?.stop(1000);
    try {
      if (opts.keepLogsIn !== undefined) await keepLogs(dir, opts.keepLogsIn);
    } catch (err) {
      say(`cannot keep the logs in ${opts.keepLogsIn}: ${(err as Error).message}`);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }
}
