// `nodeimg serve` as a real process: prints its URL as JSON with --port 0, serves a directory store
// read-only, and exits 0 on SIGTERM; bad arguments are usage or file errors.
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DirStore } from '../../../../pipeline/adapters/store/dir-store.js';
import { HttpStore } from '../../../../pipeline/adapters/store/http-store.js';
import { run } from '../../../helpers/cli.js';
import { sha256 } from '../../../helpers/store-contract.js';

const ROOT = join(import.meta.dirname, '..', '..', '..', '..');

describe('nodeimg serve', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'nodeimg-serve-cli-'));
    const b = Buffer.from('{"measurements":{}}\n');
    await new DirStore(dir).putImmutable('v2/ref/-/stream/stable/v1.0.0/image/measurements.json', b, {
      sha256: sha256(b),
      contentType: 'application/json',
    });
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('serves the store on a free loopback port until SIGTERM, then exits 0', async () => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', join(ROOT, 'pipeline', 'bin.ts'), 'serve', dir, '--port', '0', '--json'],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    try {
      const lines = createInterface({ input: child.stdout });
      let json = '';
      for await (const line of lines) {
        json += `${line}\n`;
        if (line === '}') break;
      }
      const info = JSON.parse(json) as { url: string; host: string; port: number; root: string };
      expect(info.host).toBe('127.0.0.1');
      expect(info.url).toBe(`http://127.0.0.1:${info.port}/`);
      expect(info.root).toBe(dir);
      const store = new HttpStore(info.url);
      const got = await store.get('v2/ref/-/stream/stable/v1.0.0/image/measurements.json');
      expect(Buffer.from(got ?? []).toString()).toBe('{"measurements":{}}\n');
      expect((await store.head('v2/ref/-/stream/stable/v1.0.0/image/measurements.json'))?.contentType).toBe(
        'application/json',
      );
      expect(await store.list('v2/')).toEqual(['v2/ref/-/stream/stable/v1.0.0/image/measurements.json']);
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
    expect(stderr).toContain('SIGTERM: stopped');
  }, 60_000);

  it('a missing directory is a file error (4), a bad port a usage error (2)', async () => {
    const file = join(dir, 'plain-file');
    await writeFile(file, 'x');
    expect((await run(['serve', join(dir, 'nope')])).code).toBe(4);
    expect((await run(['serve', file])).code).toBe(4);
    expect((await run(['serve', dir, '--port', '70000'])).code).toBe(2);
    expect((await run(['serve', dir, '--port', 'x'])).code).toBe(2);
  });
});
