// A signed Debian repository for provenance tests, made with the real tools and served on
// 127.0.0.1: tiny .debs built with `dpkg-deb --build` (a control file, a copyright file, one data
// file), Packages from `apt-ftparchive packages` (plus .gz and .xz), Release from `apt-ftparchive
// release` with a fixed Date and Valid-Until, and InRelease clearsigned with a throwaway ed25519
// key (`gpg --quick-gen-key`, `gpg --clearsign`). A second key ("other") signs when a test wants a
// Release signed by the wrong key. Each publish() builds a fresh tree and swaps the server over to
// it (version X -> X+1), and tamper() changes a served file in place.
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, normalize } from 'node:path';
import { gzipSync } from 'node:zlib';
import { runTool } from '../../image/build/run-tool.js';

export interface TestDeb {
  readonly name: string;
  readonly version: string;
  /** Default amd64. */
  readonly architecture?: string;
  readonly section?: string;
  readonly priority?: string;
  readonly depends?: string;
  /** DEP-5 License of the copyright file; null: no copyright file; 'free-form': not DEP-5. */
  readonly licence?: string | null;
  /** Bytes of filler in the data file (default a few). */
  readonly filler?: number;
  /** A real .deb to serve as it is (its control file must say this name, version and architecture). */
  readonly file?: string;
}

export interface PublishOptions {
  readonly suite?: string;
  /** The Suite field, when it should differ from the folder (a Release replayed under another name). */
  readonly suiteField?: string;
  readonly codename?: string;
  /** RFC 2822 dates; default Sat, 01 Jun 2024 00:00:00 UTC and one week later. */
  readonly date?: string;
  readonly validUntil?: string | null;
  /** Which key signs InRelease (default the archive key, the one in `keyring`). */
  readonly signWith?: 'archive' | 'other';
}

export const REPO_DATE_MS = Date.UTC(2024, 5, 1);
export const REPO_DATE = 'Sat, 01 Jun 2024 00:00:00 UTC';
export const REPO_VALID_UNTIL = 'Sat, 08 Jun 2024 00:00:00 UTC';
export const REPO_VALID_UNTIL_MS = Date.UTC(2024, 5, 8);
/** A clock inside the default validity window. */
/** RFC 2822 in UTC, as apt-ftparchive writes Date. */
export const rfc2822 = (ms: number): string => new Date(ms).toUTCString().replace('GMT', 'UTC');

/** Date an hour ago, Valid-Until in a week: a Release the real clock accepts (CLI tests). */
export const freshDates = (): { date: string; validUntil: string } => ({
  date: rfc2822(Date.now() - 3_600_000),
  validUntil: rfc2822(Date.now() + 7 * 86_400_000),
});

export const REPO_CLOCK = { now: () => REPO_DATE_MS + 3_600_000 };

const poolPath = (d: TestDeb) => {
  const v = d.version.replace(/^\d+:/, '');
  return `pool/main/${d.name[0]}/${d.name}/${d.name}_${v}_${d.architecture ?? 'amd64'}.deb`;
};

export class TestAptRepo {
  /** Mirror root: http://127.0.0.1:PORT/debian */
  url = '';
  /** Keyring file holding only the archive key. */
  keyring = '';
  /** Keyring file holding only the other key. */
  otherKeyring = '';
  archiveFingerprint = '';
  otherFingerprint = '';
  readonly requests: string[] = [];
  private root = '';
  private generation = 0;
  private server: Server | undefined;
  private readonly debCache = new Map<string, Uint8Array>();

  private constructor(
    readonly dir: string,
    private readonly home: string,
  ) {}

  static async create(): Promise<TestAptRepo> {
    const dir = await mkdtemp(join(tmpdir(), 'nodeimg-aptrepo-'));
    const home = join(dir, 'gnupg');
    await mkdir(home, { mode: 0o700 });
    const repo = new TestAptRepo(dir, home);
    repo.archiveFingerprint = await repo.genKey('nodeimg test archive <archive@nodeimg.invalid>');
    repo.otherFingerprint = await repo.genKey('nodeimg other key <other@nodeimg.invalid>');
    repo.keyring = join(dir, 'archive-keyring.gpg');
    repo.otherKeyring = join(dir, 'other-keyring.gpg');
    await repo.gpg(['--output', repo.keyring, '--export', repo.archiveFingerprint]);
    await repo.gpg(['--output', repo.otherKeyring, '--export', repo.otherFingerprint]);
    await repo.listen();
    return repo;
  }

  private gpg(args: string[]) {
    return runTool(
      'gpg',
      ['--batch', '--homedir', this.home, '--pinentry-mode', 'loopback', '--passphrase', '', ...args],
      {
        timeoutMs: 60_000,
      },
    );
  }

  private async genKey(uid: string): Promise<string> {
    await this.gpg(['--quick-gen-key', uid, 'ed25519', 'sign', 'never']);
    const { stdout } = await this.gpg(['--with-colons', '--list-keys', uid]);
    const fpr = /^fpr:+([0-9A-F]{40}):/m.exec(stdout)?.[1];
    if (fpr === undefined) throw new Error(`no fingerprint for ${uid}`);
    return fpr;
  }

  private async listen(): Promise<void> {
    this.server = createServer((req, res) => {
      const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
      this.requests.push(path);
      const rel = normalize(path).replace(/^\/+/, '');
      if (rel.startsWith('..') || this.root === '') {
        res.writeHead(404).end();
        return;
      }
      readFile(join(this.root, rel)).then(
        (bytes) => {
          res.writeHead(200, { 'content-length': bytes.length, 'content-type': 'application/octet-stream' });
          res.end(req.method === 'HEAD' ? undefined : bytes);
        },
        () => res.writeHead(404).end(),
      );
    });
    await new Promise<void>((r) => this.server?.listen(0, '127.0.0.1', () => r()));
    this.url = `http://127.0.0.1:${(this.server?.address() as AddressInfo).port}/debian`;
  }

  /** The .deb bytes of a package (built once per name/version/arch/licence/filler). */
  async deb(d: TestDeb): Promise<Uint8Array> {
    if (d.file !== undefined) return new Uint8Array(await readFile(d.file));
    const id = JSON.stringify([
      d.name,
      d.version,
      d.architecture,
      d.section,
      d.priority,
      d.depends,
      d.licence,
      d.filler,
    ]);
    const have = this.debCache.get(id);
    if (have !== undefined) return have;
    const work = await mkdtemp(join(this.dir, 'deb-'));
    try {
      const pkg = join(work, 'pkg');
      await mkdir(join(pkg, 'DEBIAN'), { recursive: true });
      await mkdir(join(pkg, 'usr/share', d.name), { recursive: true });
      await mkdir(join(pkg, 'usr/share/doc', d.name), { recursive: true });
      const control = [
        `Package: ${d.name}`,
        `Version: ${d.version}`,
        `Architecture: ${d.architecture ?? 'amd64'}`,
        'Maintainer: nodeimg tests <tests@nodeimg.invalid>',
        `Section: ${d.section ?? 'misc'}`,
        `Priority: ${d.priority ?? 'optional'}`,
        ...(d.depends === undefined ? [] : [`Depends: ${d.depends}`]),
        `Description: test package ${d.name}`,
        ' A tiny package for nodeimg provenance tests.',
        '',
      ].join('\n');
      await writeFile(join(pkg, 'DEBIAN/control'), control);
      await writeFile(
        join(pkg, 'usr/share', d.name, 'data.txt'),
        `${d.name} ${d.version}\n${'x'.repeat(d.filler ?? 8)}\n`,
      );
      const licence = d.licence === undefined ? 'GPL-2+' : d.licence;
      if (licence === 'free-form')
        await writeFile(
          join(pkg, 'usr/share/doc', d.name, 'copyright'),
          `This is ${d.name}.\nCopyright 2024 nobody. Do what you like.\n`,
        );
      else if (licence !== null)
        await writeFile(
          join(pkg, 'usr/share/doc', d.name, 'copyright'),
          [
            'Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/',
            `Upstream-Name: ${d.name}`,
            '',
            'Files: *',
            'Copyright: 2024 nodeimg tests',
            `License: ${licence}`,
            '',
            'Files: debian/*',
            'Copyright: 2024 nodeimg tests',
            'License: public-domain',
            '',
            'License: public-domain',
            ' Nobody owns this.',
            '',
          ].join('\n'),
        );
      const out = join(work, 'out.deb');
      await runTool('dpkg-deb', ['--root-owner-group', '-Zxz', '--build', pkg, out], { timeoutMs: 60_000 });
      const bytes = new Uint8Array(await readFile(out));
      this.debCache.set(id, bytes);
      return bytes;
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  }

  /** Builds a new tree with exactly these packages and serves it from now on. */
  async publish(debs: readonly TestDeb[], opts: PublishOptions = {}): Promise<string> {
    const suite = opts.suite ?? 'nodeimg-test';
    const root = join(this.dir, `tree-${++this.generation}`);
    const mirror = join(root, 'debian');
    for (const d of debs) {
      const p = join(mirror, poolPath(d));
      await mkdir(join(p, '..'), { recursive: true });
      await writeFile(p, await this.deb(d));
    }
    const bin = join(mirror, 'dists', suite, 'main', 'binary-amd64');
    await mkdir(bin, { recursive: true });
    await mkdir(join(mirror, 'pool', 'main'), { recursive: true });
    const { stdout: packages } = await runTool('apt-ftparchive', ['packages', 'pool/main'], {
      cwd: mirror,
      timeoutMs: 120_000,
    });
    await writeFile(join(bin, 'Packages'), packages);
    await writeFile(join(bin, 'Packages.gz'), gzipSync(Buffer.from(packages), { level: 9 }));
    await runTool('xz', ['-k', '-9', join(bin, 'Packages')], { timeoutMs: 60_000 });
    const field = (k: string, v: string) => ['-o', `APT::FTPArchive::Release::${k}=${v}`];
    const validUntil = opts.validUntil === undefined ? REPO_VALID_UNTIL : opts.validUntil;
    const { stdout: release } = await runTool(
      'apt-ftparchive',
      [
        ...field('Origin', 'nodeimg-test'),
        ...field('Label', 'nodeimg-test'),
        ...field('Suite', opts.suiteField ?? suite),
        ...field('Codename', opts.codename ?? opts.suiteField ?? suite),
        ...field('Architectures', 'amd64'),
        ...field('Components', 'main'),
        ...field('Date', opts.date ?? REPO_DATE),
        ...(validUntil === null ? [] : [...field('ValidTime', '86400'), ...field('Valid-Until', validUntil)]),
        'release',
        join('dists', suite),
      ],
      { cwd: mirror, timeoutMs: 60_000 },
    );
    const dists = join(mirror, 'dists', suite);
    await writeFile(join(dists, 'Release'), release);
    const signer = opts.signWith === 'other' ? this.otherFingerprint : this.archiveFingerprint;
    await this.gpg([
      '--local-user',
      signer,
      '--digest-algo',
      'SHA256',
      '--clearsign',
      '--output',
      join(dists, 'InRelease'),
      join(dists, 'Release'),
    ]);
    this.root = root;
    return root;
  }

  /** Rewrites a file of the served tree (path below the mirror root, e.g. dists/S/main/...). */
  async tamper(rel: string, change: (bytes: Buffer) => Buffer | Uint8Array): Promise<void> {
    const p = join(this.root, 'debian', rel);
    await writeFile(p, change(await readFile(p)));
  }

  /** Pool path of a package (relative to the mirror root). */
  poolPath(d: TestDeb): string {
    return poolPath(d);
  }

  async close(): Promise<void> {
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
    await runTool('gpgconf', ['--homedir', this.home, '--kill', 'gpg-agent']).catch(() => undefined);
    await rm(this.dir, { recursive: true, force: true });
  }
}
