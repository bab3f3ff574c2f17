// A real S3-compatible server for the S3 adapter's tests: s3rver 3.7.1 on 127.0.0.1 (port 0), in a
// child process started with the legacy OpenSSL provider (truncated ListObjectsV2 needs DES) and a
// conditional-write shim (If-None-Match / If-Match, abort of multipart uploads): see
// test/helpers/s3rver-child.mjs and specs/sigstore-rekor-s3.md §4. Data lives in a fresh temporary
// directory, removed by stop().
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

const CHILD = join(import.meta.dirname, 's3rver-child.mjs');

export interface S3TestServer {
  /** http://127.0.0.1:PORT */
  readonly endpoint: string;
  readonly port: number;
  /** s3rver's storage directory (buckets are folders in it). */
  readonly directory: string;
  readonly buckets: readonly string[];
  /** The fixed key pair s3rver accepts. */
  readonly credentials: { readonly accessKeyId: string; readonly secretAccessKey: string };
  stop(): Promise<void>;
}

function waitForPort(child: ChildProcess): Promise<number> {
  return new Promise((resolve, reject) => {
    let stderr = '';
    child.stderr?.on('data', (c: Buffer) => (stderr += c.toString()));
    const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
    lines.once('line', (line) => {
      const port = (JSON.parse(line) as { port?: unknown }).port;
      if (typeof port === 'number') resolve(port);
      else reject(new Error(`s3rver child printed ${line}`));
    });
    child.once('exit', (code) =>
      reject(new Error(`s3rver child exited (${code}) before listening: ${stderr}`)),
    );
    child.once('error', reject);
  });
}

export async function startS3Server(
  buckets: readonly string[] = ['nodeimg'],
  /** "bucket/key" -> how many conditional writes of it answer 409 ConditionalRequestConflict. */
  conflicts: Readonly<Record<string, number>> = {},
  /** "bucket/key" -> how If-Match on it misbehaves (s3rver-child.mjs: 'bare-bytes' is radosgw 16/18's). */
  ifMatchQuirks: Readonly<Record<string, 'bare-bytes' | 'refuse'>> = {},
): Promise<S3TestServer> {
  const directory = await mkdtemp(join(tmpdir(), 'nodeimg-s3rver-'));
  const child = spawn(
    process.execPath,
    ['--openssl-legacy-provider', CHILD, JSON.stringify({ directory, buckets, conflicts, ifMatchQuirks })],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NODE_OPTIONS: '' } },
  );
  let port: number;
  try {
    port = await waitForPort(child);
  } catch (err) {
    child.kill('SIGKILL');
    await rm(directory, { recursive: true, force: true });
    throw err;
  }
  return {
    endpoint: `http://127.0.0.1:${port}`,
    port,
    directory,
    buckets,
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await exited;
      }
      await rm(directory, { recursive: true, force: true });
    },
  };
}
