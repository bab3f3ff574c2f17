// `nodeimg fetch-measurements` against stores written by the real publish code (dir, HTTP via the
// store server, S3 via s3rver): a clean fetch succeeds from each, and every attack or mistake the
// issue lists fails with its own error code and exit code and leaves no output file.
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DirStore } from '../../pipeline/adapters/store/dir-store.js';
import { startStoreServer } from '../../pipeline/adapters/store/serve-handler.js';
import { S3Store } from '../../pipeline/adapters/store/s3-store.js';
import { LocalLog } from '../../pipeline/adapters/local-log/local-log.js';
import { canonicalText } from '../../pipeline/release/canonical-text.js';
import { coordinates, imagePrefix, versionPointerKey } from '../../pipeline/release/names.js';
import { signArtifact } from '../../pipeline/sign-bundle.js';
import {
  digestOf,
  nextIndex,
  pointerTo,
  serializeIndex,
  sha256Hex,
  type VersionIndex,
} from '../../pipeline/release/version-index.js';
import { run } from '../helpers/cli.js';
import {
  FIXED_CLOCK,
  releaseFixture,
  sampleMeasurements,
  type ReleaseFixture,
} from '../helpers/release-store.js';
import { startS3Server, type S3TestServer } from '../helpers/s3-server.js';

process.env['AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'] = '1';

let tmp: string;
let fx: ReleaseFixture;
let n = 0;

beforeAll(async () => {
  process.env['AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'] = '1';
  tmp = await mkdtemp(join(tmpdir(), 'nodeimg-fetch-'));
  fx = await releaseFixture(join(tmp, 'fixture'));
});

afterAll(async () => {
  await fx.close();
  await rm(tmp, { recursive: true, force: true });
});

/** A fresh dir store with v1.0.0 released, and fresh state/output paths. */
async function released(): Promise<{ dir: string; store: DirStore; out: string; state: string }> {
  const dir = join(tmp, `store-${++n}`);
  const store = new DirStore(dir);
  await fx.publish(store);
  return { dir, store, out: join(tmp, `out-${n}.json`), state: join(tmp, `state-${n}.json`) };
}

function fetchArgs(storeRef: string, out: string, state: string, extra: string[] = []): string[] {
  return [
    'fetch-measurements',
    '--version',
    'v1.0.0',
    '--store',
    storeRef,
    '--key',
    fx.keyPub,
    '--trusted-root',
    fx.trustedRoot,
    '--offline',
    '--state',
    state,
    '-o',
    out,
    ...extra,
  ];
}

/** Replaces a stored file the way an attacker with write access would (new inode, no sidecar update). */
async function replace(path: string, bytes: string | Uint8Array): Promise<void> {
  await writeFile(`${path}.evil`, bytes);
  await rename(`${path}.evil`, path);
}

const docPath = (dir: string, name: string) => join(dir, imagePrefix(coordinates('v1.0.0')), name);

async function expectFailure(args: string[], out: string, exit: number, code: string): Promise<string> {
  const r = await run(args);
  expect(r.stderr, r.stderr).toContain(`[${code}]`);
  expect(r.code, r.stderr).toBe(exit);
  expect(existsSync(out)).toBe(false);
  return r.stderr;
}

describe('fetch-measurements: a clean fetch', () => {
  it('from a dir store writes measurements.json exactly as published, with the release block', async () => {
    const s = await released();
    const r = await run(fetchArgs(`dir:${s.dir}`, s.out, s.state, ['--json']));
    expect(r.code, r.stderr).toBe(0);
    const published = await readFile(docPath(s.dir, 'measurements.json'));
    expect(await readFile(s.out)).toEqual(published);
    const doc = JSON.parse(published.toString()) as { release: unknown };
    expect(doc.release).toEqual({ version: 'v1.0.0', ref: '-', stream: 'stable', enforced: [4, 9, 11] });
    const summary = JSON.parse(r.stdout) as { index: { sequence: number }; online: boolean };
    expect(summary.index.sequence).toBe(1);
    expect(summary.online).toBe(false);
  });

  it('over HTTP from the read-only store server, as from a CDN', async () => {
    const s = await released();
    const server = await startStoreServer(s.store);
    try {
      const r = await run(fetchArgs(server.url, s.out, s.state));
      expect(r.code, r.stderr).toBe(0);
      expect(await readFile(s.out)).toEqual(await readFile(docPath(s.dir, 'measurements.json')));
    } finally {
      await server.close();
    }
  });

  it('from S3 (s3rver on loopback)', async () => {
    let s3: S3TestServer | undefined;
    try {
      s3 = await startS3Server(['releases']);
      const env = {
        NODEIMG_S3_ENDPOINT: s3.endpoint,
        AWS_REGION: 'us-east-1',
        AWS_ACCESS_KEY_ID: s3.credentials.accessKeyId,
        AWS_SECRET_ACCESS_KEY: s3.credentials.secretAccessKey,
      };
      const store = new S3Store({
        bucket: 'releases',
        prefix: 'nodeimg',
        endpoint: s3.endpoint,
        region: 'us-east-1',
        credentials: s3.credentials,
      });
      await fx.publish(store);
      const out = join(tmp, 's3-out.json');
      const saved = { ...process.env };
      Object.assign(process.env, env);
      try {
        const r = await run(fetchArgs('s3://releases/nodeimg', out, join(tmp, 's3-state.json')));
        expect(r.code, r.stderr).toBe(0);
        expect(JSON.parse(await readFile(out, 'utf8'))).toHaveProperty('release.version', 'v1.0.0');
      } finally {
        for (const k of Object.keys(env)) {
          if (saved[k] === undefined) delete process.env[k];
          else process.env[k] = saved[k];
        }
      }
    } finally {
      await s3?.stop();
    }
  });
});

describe('fetch-measurements: each failure has its own code, and nothing is written', () => {
  it('measurements.json changed after release: 10 VERIFY_DIGEST_MISMATCH', async () => {
    const s = await released();
    const p = docPath(s.dir, 'measurements.json');
    await replace(p, (await readFile(p, 'utf8')).replace('"secureBoot": false', '"secureBoot": true'));
    await expectFailure(fetchArgs(`dir:${s.dir}`, s.out, s.state), s.out, 10, 'VERIFY_DIGEST_MISMATCH');
  });

  it('measurements.json edited in place behind the store (its recorded digest): 10 as well', async () => {
    const s = await released();
    const p = docPath(s.dir, 'measurements.json');
    const text = await readFile(p, 'utf8');
    await writeFile(p, text.replace('event of PCR 4', 'event of PCR 5'));
    await expectFailure(fetchArgs(`dir:${s.dir}`, s.out, s.state), s.out, 10, 'VERIFY_DIGEST_MISMATCH');
  });

  it('another key: 12 VERIFY_WRONG_KEY', async () => {
    const s = await released();
    const args = fetchArgs(`dir:${s.dir}`, s.out, s.state);
    args[args.indexOf(fx.keyPub)] = fx.otherKeyPub;
    await expectFailure(args, s.out, 12, 'VERIFY_WRONG_KEY');
  });

  it('the bundle of another file next to measurements.json: 14 VERIFY_BUNDLE_MISMATCH', async () => {
    const s = await released();
    await replace(
      docPath(s.dir, 'measurements.json.sigstore.json'),
      await readFile(docPath(s.dir, 'info.json.sigstore.json')),
    );
    await expectFailure(fetchArgs(`dir:${s.dir}`, s.out, s.state), s.out, 14, 'VERIFY_BUNDLE_MISMATCH');
  });

  it('a bundle without its log entry: 15 VERIFY_TLOG_MISSING', async () => {
    const s = await released();
    const p = docPath(s.dir, 'measurements.json.sigstore.json');
    const b = JSON.parse(await readFile(p, 'utf8')) as { verificationMaterial: Record<string, unknown> };
    delete b.verificationMaterial['tlogEntries'];
    await replace(p, JSON.stringify(b));
    await expectFailure(fetchArgs(`dir:${s.dir}`, s.out, s.state), s.out, 15, 'VERIFY_TLOG_MISSING');
  });

  it('a log whose key the trusted root does not pin: 16 VERIFY_TLOG_UNTRUSTED', async () => {
    const s = await released();
    const otherLog = await LocalLog.open(join(tmp, 'other-log'), FIXED_CLOCK);
    const root = join(tmp, 'other-root.json');
    await writeFile(root, JSON.stringify(otherLog.trustedRoot()));
    await otherLog.close();
    const args = fetchArgs(`dir:${s.dir}`, s.out, s.state);
    args[args.indexOf(fx.trustedRoot)] = root;
    await expectFailure(args, s.out, 16, 'VERIFY_TLOG_UNTRUSTED');
  });

  it('a checkpoint that does not verify: 17 VERIFY_TLOG_INCONSISTENT', async () => {
    const s = await released();
    const p = docPath(s.dir, 'measurements.json.sigstore.json');
    const b = JSON.parse(await readFile(p, 'utf8')) as {
      verificationMaterial: { tlogEntries: { inclusionProof: { checkpoint: { envelope: string } } }[] };
    };
    const cp = b.verificationMaterial.tlogEntries[0]?.inclusionProof.checkpoint;
    if (!cp) throw new Error('no checkpoint');
    const lines = cp.envelope.split('\n');
    lines[2] = Buffer.alloc(32, 1).toString('base64'); // another root hash under the same signature
    cp.envelope = lines.join('\n');
    await replace(p, JSON.stringify(b));
    await expectFailure(fetchArgs(`dir:${s.dir}`, s.out, s.state), s.out, 17, 'VERIFY_TLOG_INCONSISTENT');
  });

  it("another stream's index served under this stream: 18 VERIFY_RELEASE_MISMATCH", async () => {
    const s = await released();
    await fx.publish(s.store, coordinates('v1.0.0', '-', 'nightly'));
    const stable = join(s.dir, versionPointerKey(coordinates('v1.0.0')));
    const nightly = join(s.dir, versionPointerKey(coordinates('v1.0.0', '-', 'nightly')));
    await replace(stable, await readFile(nightly));
    await expectFailure(fetchArgs(`dir:${s.dir}`, s.out, s.state), s.out, 18, 'VERIFY_RELEASE_MISMATCH');
  });

  it('a version that was never released: 22 VERIFY_NOT_FOUND', async () => {
    const s = await released();
    const args = fetchArgs(`dir:${s.dir}`, s.out, s.state);
    args[args.indexOf('v1.0.0')] = 'v9.9.9';
    await expectFailure(args, s.out, 22, 'VERIFY_NOT_FOUND');
  });

  it('a rolled-back version index: 19 VERIFY_ROLLBACK, unless --allow-rollback', async () => {
    const s = await released();
    const pointer = join(s.dir, versionPointerKey(coordinates('v1.0.0')));
    const old = await readFile(pointer);
    expect((await run(fetchArgs(`dir:${s.dir}`, s.out, s.state))).code).toBe(0);
    await rm(s.out);
    await fx.publish(s.store, coordinates('v1.1.0'));
    const newer = fetchArgs(`dir:${s.dir}`, s.out, s.state);
    newer[newer.indexOf('v1.0.0')] = 'v1.1.0';
    expect((await run(newer)).code).toBe(0);
    await rm(s.out);
    await replace(pointer, old); // the store (or a mirror) serves index 1 again
    const stderr = await expectFailure(
      fetchArgs(`dir:${s.dir}`, s.out, s.state),
      s.out,
      19,
      'VERIFY_ROLLBACK',
    );
    expect(stderr).toMatch(/index 1, older than index 2/);
    expect((await run(fetchArgs(`dir:${s.dir}`, s.out, s.state, ['--allow-rollback']))).code).toBe(0);
  });

  it('a validly signed document that enforces nothing: 20 VERIFY_ENFORCED_SET', async () => {
    // The signer itself published an incomplete document (e.g. an old tool): signature fine, content not.
    const dir = join(tmp, `store-${++n}`);
    const store = new DirStore(dir);
    const c = coordinates('v1.0.0');
    const own = await LocalLog.open(join(tmp, `enforce-log-${n}`), FIXED_CLOCK);
    try {
      const root = join(tmp, `enforce-root-${n}.json`);
      await writeFile(root, JSON.stringify(own.trustedRoot()));
      const doc = {
        ...sampleMeasurements(),
        release: { version: 'v1.0.0', ref: '-', stream: 'stable', enforced: [] },
      };
      const texts = {
        'measurements.json': canonicalText(doc),
        'manifest.json': canonicalText({ m: 1 }),
        'info.json': canonicalText({ i: 1 }),
      };
      const put = async (key: string, text: string) => {
        const bytes = Buffer.from(text);
        await store.putImmutable(key, bytes, { sha256: sha256Hex(bytes) });
        const signed = await signArtifact(bytes, fx.signer, own);
        const b = Buffer.from(signed.bundleText);
        await store.putImmutable(`${key}.sigstore.json`, b, { sha256: sha256Hex(b) });
      };
      for (const [name, text] of Object.entries(texts)) await put(imagePrefix(c) + name, text);
      const next = nextIndex(c, undefined, {
        version: 'v1.0.0',
        documents: {
          'manifest.json': digestOf(texts['manifest.json']),
          'measurements.json': digestOf(texts['measurements.json']),
          'info.json': digestOf(texts['info.json']),
        },
      }).index as VersionIndex;
      const indexText = serializeIndex(next);
      const pointer = pointerTo(next, indexText);
      await put(pointer.index, indexText);
      await store.putVersioned(versionPointerKey(c), Buffer.from(canonicalText(pointer)), { expected: null });
      const out = join(tmp, `out-${n}.json`);
      const args = fetchArgs(`dir:${dir}`, out, join(tmp, `state-${n}.json`));
      args[args.indexOf(fx.trustedRoot)] = root;
      await expectFailure(args, out, 20, 'VERIFY_ENFORCED_SET');
    } finally {
      await own.close();
    }
  });

  it('the transparency log unreachable while online verification is required: 21 VERIFY_TLOG_UNREACHABLE', async () => {
    const s = await released();
    const args = fetchArgs(`dir:${s.dir}`, s.out, s.state).filter((a) => a !== '--offline');
    args.push('--rekor', 'http://127.0.0.1:9');
    await expectFailure(args, s.out, 21, 'VERIFY_TLOG_UNREACHABLE');
  }, 60_000);

  it('refuses to run without saying how the log is checked, or with an unpinned online log', async () => {
    const s = await released();
    const noMode = fetchArgs(`dir:${s.dir}`, s.out, s.state).filter((a) => a !== '--offline');
    expect((await run(noMode)).code).toBe(2);
    expect(existsSync(s.out)).toBe(false);
  });
});
