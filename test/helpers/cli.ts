// Runs the nodeimg CLI in-process with captured stdout and stderr.
import { PassThrough } from 'node:stream';
import { main } from '../../pipeline/cli.js';

export async function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = new PassThrough();
  const err = new PassThrough();
  const o: Buffer[] = [];
  const e: Buffer[] = [];
  out.on('data', (c: Buffer) => o.push(c));
  err.on('data', (c: Buffer) => e.push(c));
  const code = await main(args, { stdout: out, stderr: err, env: process.env, cwd: process.cwd() });
  return { code, stdout: Buffer.concat(o).toString(), stderr: Buffer.concat(e).toString() };
}
