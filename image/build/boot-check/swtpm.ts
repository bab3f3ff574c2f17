// swtpm for `nodeimg boot-check`: the argument vectors, a client for its control channel and for its
// TPM data socket, and the read of the PCRs after the boot.
//
// How the final PCRs are read: QEMU owns both swtpm channels while it runs (the control socket, and
// the data channel it hands over with CMD_SET_DATAFD; swtpm refuses --server next to that), and QEMU
// sends CMD_SHUTDOWN when it exits normally, which ends swtpm. So swtpm runs without --terminate,
// QEMU runs with -no-shutdown (a guest power-off pauses the VM instead of ending QEMU) and is killed
// with SIGKILL once the boot is far enough; the control socket is then free: CMD_STORE_VOLATILE
// writes the running TPM's volatile state (PCRs included) next to its permanent state and
// CMD_SHUTDOWN ends that swtpm. A second swtpm started on the same state with a data socket
// (--server, --flags not-need-init) resumes from the volatile state without TPM2_Startup, and
// answers TPM2_PCR_Read, even after the guest sent TPM2_Shutdown(CLEAR): nothing clears the PCRs
// before the next TPM2_Startup. Both swtpm logs keep every command, ours included.
import { stat } from 'node:fs/promises';
import { createConnection, type Socket } from 'node:net';
import { ToolError } from '../../../pipeline/errors.js';
import type { HashAlg } from '../../../measurements/hash.js';
import { PCR_COUNT } from '../../../measurements/register.js';
import { SWTPM_CTRL } from '../../../measurements/tpm/replay.js';
import { decodePcrReadResponse, encodePcrRead, wireHeader } from '../../../measurements/tpm/tpm2-wire.js';
import { startTool, type ToolProcess } from '../run-tool.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The swtpm that reads the PCRs afterwards: resumes from the saved volatile state, with a data socket. */
export function swtpmReadArgv(
  stateDir: string,
  dataSocket: string,
  ctrlSocket: string,
  logFile: string,
): string[] {
  return [
    'socket',
    '--tpm2',
    '--tpmstate',
    `dir=${stateDir}`,
    '--server',
    `type=unixio,path=${dataSocket}`,
    '--ctrl',
    `type=unixio,path=${ctrlSocket}`,
    '--flags',
    'not-need-init',
    '--log',
    `file=${logFile},level=20`,
  ];
}

function swtpmError(message: string, cause?: unknown): ToolError {
  return new ToolError(
    'TOOL_FAILED',
    { tool: 'swtpm', argv: ['swtpm'] },
    message,
    cause === undefined ? {} : { cause },
  );
}

export async function waitForSocket(path: string, proc: ToolProcess, timeoutMs = 10_000): Promise<void> {
  const t0 = Date.now();
  while (Date.now() - t0 < timeoutMs) {
    const ok = await stat(path).then(
      (s) => s.isSocket(),
      () => false,
    );
    if (ok) return;
    if (proc.exited()) await proc.wait(); // throws ToolError with swtpm's stderr
    await sleep(25);
  }
  throw swtpmError(`swtpm did not create ${path} in ${timeoutMs} ms`);
}

/** One connection to a unix socket; requests are answered in order. */
class Channel {
  private buf = Buffer.alloc(0);
  private waiter: (() => void) | undefined;
  private closed: Error | undefined;

  private constructor(private readonly sock: Socket) {
    sock.on('data', (d: Buffer) => {
      this.buf = Buffer.concat([this.buf, d]);
      this.waiter?.();
    });
    sock.on('close', () => {
      this.closed ??= new Error('the connection was closed');
      this.waiter?.();
    });
    sock.on('error', (err) => {
      this.closed = err;
      this.waiter?.();
    });
  }

  static open(path: string, timeoutMs: number): Promise<Channel> {
    return new Promise((resolve, reject) => {
      const sock = createConnection(path);
      const timer = setTimeout(() => {
        sock.destroy();
        reject(swtpmError(`cannot connect to ${path} in ${timeoutMs} ms`));
      }, timeoutMs);
      sock.once('connect', () => {
        clearTimeout(timer);
        resolve(new Channel(sock));
      });
      sock.once('error', (err) => {
        clearTimeout(timer);
        reject(swtpmError(`cannot connect to ${path}: ${err.message}`, err));
      });
    });
  }

  /** Sends `request` and waits until `size(received)` says how long the answer is and it is all there. */
  async request(
    request: Uint8Array,
    size: (got: Buffer) => number | undefined,
    timeoutMs: number,
  ): Promise<Uint8Array> {
    this.buf = Buffer.alloc(0);
    this.sock.write(request);
    const t0 = Date.now();
    for (;;) {
      const want = size(this.buf);
      if (want !== undefined && this.buf.length >= want) return new Uint8Array(this.buf.subarray(0, want));
      if (this.closed)
        throw swtpmError(
          `swtpm answered ${this.buf.length} bytes, then: ${this.closed.message}`,
          this.closed,
        );
      const left = timeoutMs - (Date.now() - t0);
      if (left <= 0) throw swtpmError(`swtpm did not answer in ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiter = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.waiter = undefined;
    }
  }

  close(): void {
    this.sock.destroy();
  }
}

/** Sends one control-channel command whose answer is a 4-byte ptm_res; returns the result code (0 = success). */
export async function ctrlCommand(ctrlSocket: string, code: number, timeoutMs = 5000): Promise<number> {
  const ch = await Channel.open(ctrlSocket, timeoutMs);
  try {
    const req = new Uint8Array(4);
    new DataView(req.buffer).setUint32(0, code);
    const rsp = await ch.request(req, () => 4, timeoutMs);
    return new DataView(rsp.buffer, rsp.byteOffset).getUint32(0);
  } finally {
    ch.close();
  }
}

/** PCR 0-23 of every bank, read over the data socket of a running swtpm (8 values per TPM2_PCR_Read). */
export async function readAllPcrs(
  dataSocket: string,
  banks: readonly HashAlg[],
  timeoutMs = 5000,
): Promise<Record<string, Uint8Array[]>> {
  const ch = await Channel.open(dataSocket, timeoutMs);
  try {
    const out: Record<string, Uint8Array[]> = {};
    for (const bank of banks) {
      const values: Uint8Array[] = [];
      for (let first = 0; first < PCR_COUNT; first += 8) {
        const pcrs = Array.from({ length: 8 }, (_, i) => first + i);
        const rsp = await ch.request(
          encodePcrRead(bank, pcrs),
          (got) => (got.length >= 10 ? got.readUInt32BE(2) : undefined),
          timeoutMs,
        );
        const h = wireHeader(rsp);
        if (h === undefined || h.code !== 0) {
          throw swtpmError(
            `TPM2_PCR_Read of ${bank} PCR ${first}-${first + 7} failed with response code 0x${(h?.code ?? 0).toString(16)}`,
          );
        }
        const { values: got } = decodePcrReadResponse(rsp);
        for (const v of got) if (v.bank === bank) values[v.pcr] = v.value;
      }
      if (values.length !== PCR_COUNT || values.some((v) => v === undefined))
        throw swtpmError(`swtpm returned no value for some ${bank} PCRs`);
      out[bank] = values;
    }
    return out;
  } finally {
    ch.close();
  }
}

/** Waits up to `ms` for a process to exit, then stops it. */
export async function awaitExit(proc: ToolProcess, ms: number): Promise<void> {
  // the timer is cleared as soon as the process ends: a pending one would keep the event loop, and
  // so `nodeimg boot-check`, alive for the rest of `ms` after its work is done
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    proc.wait().catch(() => undefined),
    new Promise<void>((resolve) => {
      timer = setTimeout(resolve, ms);
    }),
  ]);
  clearTimeout(timer);
  await proc.stop(1000);
}

export interface SavedState {
  readonly ok: boolean;
  /** Why the state could not be saved. */
  readonly why?: string;
}

/** After QEMU is gone: saves the running TPM's volatile state and ends that swtpm. */
export async function saveAndStop(swtpm: ToolProcess, ctrlSocket: string): Promise<SavedState> {
  if (swtpm.exited()) return { ok: false, why: 'swtpm had already ended (QEMU shut it down when it exited)' };
  let saved: SavedState;
  try {
    const rc = await ctrlCommand(ctrlSocket, SWTPM_CTRL.STORE_VOLATILE);
    saved =
      rc === 0 ? { ok: true } : { ok: false, why: `CMD_STORE_VOLATILE failed with 0x${rc.toString(16)}` };
  } catch (err) {
    saved = { ok: false, why: `CMD_STORE_VOLATILE: ${(err as Error).message}` };
  }
  try {
    await ctrlCommand(ctrlSocket, SWTPM_CTRL.SHUTDOWN);
  } catch {
    // stopped below anyway
  }
  await awaitExit(swtpm, 3000);
  return saved;
}

/** Starts swtpm on the saved state, reads every PCR, ends it. */
export async function readSavedPcrs(
  stateDir: string,
  sockets: { data: string; ctrl: string },
  logFile: string,
  banks: readonly HashAlg[],
): Promise<Record<string, Uint8Array[]>> {
  const swtpm = startTool('swtpm', swtpmReadArgv(stateDir, sockets.data, sockets.ctrl, logFile), {
    timeoutMs: 60_000,
  });
  try {
    await waitForSocket(sockets.data, swtpm);
    return await readAllPcrs(sockets.data, banks);
  } finally {
    try {
      if (!swtpm.exited()) await ctrlCommand(sockets.ctrl, SWTPM_CTRL.SHUTDOWN, 2000);
    } catch {
      // stopped below anyway
    }
    await awaitExit(swtpm, 2000);
  }
}
