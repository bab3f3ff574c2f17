// The default object store: a local directory (`dir:PATH`), laid out exactly as the keys say, so
// `nodeimg serve PATH` or any static web server publishes it as it is. Writes are atomic and
// immutable: the body goes to a temporary file (fsynced), link() puts it under its final name
// (link never replaces: an existing name means someone published first, and the bytes are
// compared), then the directory is fsynced. Mutable objects (putVersioned) are replaced with
// rename() under a per-key lock, after checking the version (the SHA-256 of the current bytes).
// The SHA-256 of each object is kept in a sidecar (dir-files.ts) and computed when missing.
import { createHash } from 'node:crypto';
import { constants } from 'node:fs';
import { link, mkdir, open, readdir, realpath, rename, rm, type FileHandle } from 'node:fs/promises';
import { dirname, join, sep } from 'node:path';
import { NodeimgError, PublishError } from '../../errors.js';
import type {
  GetOptions,
  ObjectStore,
  PutImmutableOptions,
  StoreBody,
  StoredObjectInfo,
  VersionedObject,
} from '../../ports.js';
import { withBody } from './body.js';
import {
  DEFAULT_MAX_GET,
  integrityError,
  readVerified,
  sha256Hex,
  tooLarge,
  verifiedStream,
} from './digest.js';
import { fsyncDir, lockKey, readSidecar, STORE_DIR, writeSidecar, writeTemp } from './dir-files.js';
import { checkKey, checkPrefix, checkSha256, isValidKey } from './keys.js';
import { conflictError } from './conflict.js';

/** An object opened for reading: the handle, its size and (from the sidecar or hashed) its SHA-256. */
export interface OpenObject {
  readonly handle: FileHandle;
  readonly size: number;
  readonly sha256: string;
  readonly contentType: string | undefined;
}

const isErr = (err: unknown, ...codes: string[]): boolean =>
  codes.includes((err as NodeJS.ErrnoException).code ?? '');

export class DirStore implements ObjectStore {
  readonly writable = true;
  readonly ref: string;

  /**
   * @param root the store's directory (created on the first write)
   * @param lockTimeoutMs how long putVersioned waits for another writer's lock (default 15 s)
   */
  constructor(
    readonly root: string,
    private readonly lockTimeoutMs = 15_000,
  ) {
    this.ref = `dir:${root}`;
  }

  private pathOf(key: string): string {
    return join(this.root, ...checkKey(key).split('/'));
  }

  private target(key: string): string {
    return `${this.root}/${key}`;
  }

  private failed(key: string, what: string, err: unknown): NodeimgError {
    if (err instanceof NodeimgError) return err; // PublishError, or IO_* about the local body file
    return new PublishError(
      'PUBLISH_FAILED',
      { target: this.target(key), fault: 'server', retryable: false },
      `cannot ${what}: ${(err as Error).message}`,
      { cause: err },
    );
  }

  /**
   * Opens `key` for reading (no symlink as the last component, the parent inside the root), with
   * its SHA-256; undefined when there is no such object. The caller closes the handle.
   */
  async open(key: string): Promise<OpenObject | undefined> {
    const path = this.pathOf(key);
    let handle: FileHandle;
    try {
      handle = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW);
    } catch (err) {
      if (isErr(err, 'ENOENT', 'ENOTDIR', 'ELOOP')) return undefined;
      throw this.failed(key, 'open the object', err);
    }
    try {
      const st = await handle.stat();
      const [realRoot, realParent] = await Promise.all([realpath(this.root), realpath(dirname(path))]);
      if (!st.isFile() || (realParent !== realRoot && !realParent.startsWith(realRoot + sep))) {
        await handle.close();
        return undefined;
      }
      let meta = await readSidecar(this.root, key, st.ino, st.size);
      if (!meta) {
        const hash = createHash('sha256');
        for await (const chunk of handle.createReadStream({ start: 0, autoClose: false }))
          hash.update(chunk as Buffer);
        meta = { sha256: hash.digest('hex'), size: st.size, ino: st.ino };
        await writeSidecar(this.root, key, meta).catch(() => undefined); // a cache: best effort
      }
      return { handle, size: st.size, sha256: meta.sha256, contentType: meta.contentType };
    } catch (err) {
      await handle.close();
      throw this.failed(key, 'read the object', err);
    }
  }

  async head(key: string): Promise<StoredObjectInfo | undefined> {
    const o = await this.open(key);
    if (!o) return undefined;
    await o.handle.close();
    return o.contentType === undefined
      ? { size: o.size, sha256: o.sha256 }
      : { size: o.size, sha256: o.sha256, contentType: o.contentType };
  }

  async get(key: string, options: GetOptions = {}): Promise<Uint8Array | undefined> {
    const max = options.maxBytes ?? DEFAULT_MAX_GET;
    const o = await this.open(key);
    if (!o) return undefined;
    try {
      if (o.size > max) throw tooLarge(this.target(key), max, o.size);
      const stream = o.handle.createReadStream({ start: 0, autoClose: false });
      return await readVerified(stream, max, {
        target: this.target(key),
        size: o.size,
        sha256: options.sha256 ?? o.sha256,
      });
    } finally {
      await o.handle.close();
    }
  }

  async getStream(
    key: string,
    options: Pick<GetOptions, 'sha256'> = {},
  ): Promise<AsyncIterable<Uint8Array> | undefined> {
    const o = await this.open(key);
    if (!o) return undefined;
    const exp = { target: this.target(key), size: o.size, sha256: options.sha256 ?? o.sha256 };
    // the read stream closes the handle when it ends or is destroyed
    return verifiedStream(o.handle.createReadStream({ start: 0 }), exp);
  }

  async list(prefix: string): Promise<string[]> {
    checkPrefix(prefix);
    const cut = prefix.lastIndexOf('/');
    const base = cut < 0 ? '' : prefix.slice(0, cut + 1);
    const keys: string[] = [];
    const walk = async (dir: string, rel: string): Promise<void> => {
      let entries;
      try {
        entries = await readdir(dir, { withFileTypes: true });
      } catch (err) {
        if (isErr(err, 'ENOENT', 'ENOTDIR')) return;
        throw this.failed(rel || prefix, 'list the store', err);
      }
      for (const e of entries) {
        const key = `${rel}${e.name}`;
        if (e.name.startsWith('.') || !(key.startsWith(prefix) || prefix.startsWith(`${key}/`))) continue;
        if (e.isDirectory()) await walk(join(dir, e.name), `${key}/`);
        else if (e.isFile() && key.startsWith(prefix) && isValidKey(key)) keys.push(key);
      }
    };
    await walk(base === '' ? this.root : join(this.root, ...base.slice(0, -1).split('/')), base);
    return keys.sort();
  }

  async getVersioned(
    key: string,
    options: Pick<GetOptions, 'maxBytes'> = {},
  ): Promise<VersionedObject | undefined> {
    const o = await this.open(key);
    if (!o) return undefined;
    try {
      const max = options.maxBytes ?? DEFAULT_MAX_GET;
      if (o.size > max) throw tooLarge(this.target(key), max, o.size);
      const bytes = await readVerified(o.handle.createReadStream({ start: 0, autoClose: false }), max, {
        target: this.target(key),
        size: o.size,
      });
      return { bytes, version: sha256Hex(bytes) };
    } finally {
      await o.handle.close();
    }
  }

  async putImmutable(
    key: string,
    body: StoreBody,
    options: PutImmutableOptions,
  ): Promise<'created' | 'unchanged'> {
    const final = this.pathOf(key);
    const wanted = checkSha256(options.sha256);
    const existing = await this.sha256Of(key);
    if (existing !== undefined) return this.compare(key, existing, wanted);
    const tmp = await withBody(body, (src) => writeTemp(this.root, src.chunks())).catch((err: unknown) => {
      throw this.failed(key, 'write a temporary file', err);
    });
    try {
      if (tmp.sha256 !== wanted)
        throw integrityError(
          this.target(key),
          `the body's sha256 is ${tmp.sha256}, not the given ${wanted}`,
          'client',
        );
      await mkdir(dirname(final), { recursive: true });
      try {
        await link(tmp.path, final);
      } catch (err) {
        if (!isErr(err, 'EEXIST')) throw err;
        const now = await this.sha256Of(key);
        if (now === undefined) throw err;
        return this.compare(key, now, wanted);
      }
      const meta = { sha256: tmp.sha256, size: tmp.size, ino: tmp.ino };
      await writeSidecar(
        this.root,
        key,
        options.contentType ? { ...meta, contentType: options.contentType } : meta,
      );
      await fsyncDir(dirname(final));
      return 'created';
    } catch (err) {
      throw this.failed(key, 'store the object', err);
    } finally {
      await rm(tmp.path, { force: true });
    }
  }

  private async sha256Of(key: string): Promise<string | undefined> {
    const o = await this.open(key);
    await o?.handle.close();
    return o?.sha256;
  }

  private compare(key: string, existing: string, wanted: string): 'unchanged' {
    if (existing === wanted) return 'unchanged';
    throw conflictError(this.target(key), existing, wanted);
  }

  async putVersioned(
    key: string,
    bytes: Uint8Array,
    options: { readonly expected: string | null; readonly contentType?: string },
  ): Promise<string> {
    const final = this.pathOf(key);
    const target = this.target(key);
    let release: (() => Promise<void>) | undefined;
    try {
      release = await lockKey(this.root, key, target, this.lockTimeoutMs);
      const current = await this.getVersioned(key, { maxBytes: Number.MAX_SAFE_INTEGER });
      if ((current?.version ?? null) !== options.expected)
        throw new PublishError(
          'PUBLISH_CONFLICT',
          { target, fault: 'client', retryable: true },
          `changed concurrently: version ${current?.version ?? '(none)'}, expected ${options.expected ?? '(none)'}`,
          { hint: 'read it again, redo the change and retry' },
        );
      const tmp = await writeTemp(this.root, [bytes]);
      try {
        await mkdir(dirname(final), { recursive: true });
        await rename(tmp.path, final);
      } finally {
        await rm(tmp.path, { force: true });
      }
      const meta = { sha256: tmp.sha256, size: tmp.size, ino: tmp.ino };
      await writeSidecar(
        this.root,
        key,
        options.contentType ? { ...meta, contentType: options.contentType } : meta,
      );
      await fsyncDir(dirname(final));
      return tmp.sha256;
    } catch (err) {
      throw this.failed(key, 'update the object', err);
    } finally {
      await release?.();
    }
  }
}

export { STORE_DIR };
