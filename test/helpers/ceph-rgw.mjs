// A throw-away single-node Ceph cluster on 127.0.0.1 with the RADOS Gateway in front of it: a
// second real S3 server next to s3rver, for the store contract (test/pipeline/adapters/store/
// s3-radosgw.test.ts) and bench/s3-upload.mjs --server radosgw. Written in C++, multi-threaded,
// with its own conditional writes (no shim) and multipart uploads completed by writing a manifest
// (the parts stay where they are) instead of copying them. Debian packages radosgw, ceph-mon and
// ceph-osd (scripts/debian-packages.txt).
//
// One monitor, one OSD on the in-memory object store (memstore: no disk to provision, the bytes
// live in the OSD's RAM, up to `memoryGiB`), pools of size 1, no cephx (auth none, which needs the
// msgr2 'crc' mode allowed for daemons), everything bound to 127.0.0.1, all state in `dir`. The
// daemons run in the foreground as children of this process and die with stop().
import { spawn, spawnSync } from 'node:child_process';
import { createServer } from 'node:net';
import { mkdir, writeFile } from 'node:fs/promises';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

export const RADOSGW_PACKAGES = ['radosgw', 'ceph-mon', 'ceph-osd'];

// NODEIMG_CEPH_CHROOT=DIR runs every Ceph binary as `chroot DIR ...`: another Debian release's Ceph
// (mmdebstrap --include=radosgw,ceph-mon,ceph-osd,ceph-common trixie DIR) checked from this host.
// The cluster's folder must be visible at the same path inside (mount --bind /tmp DIR/tmp).
const CHROOT = process.env['NODEIMG_CEPH_CHROOT'];
const wrap = (cmd, args) => (CHROOT ? ['chroot', [CHROOT, cmd, ...args]] : [cmd, args]);

/** The binaries this needs, or the first one missing. */
export function missingCephTool() {
  for (const tool of ['monmaptool', 'ceph-mon', 'ceph-osd', 'radosgw', 'radosgw-admin', 'ceph']) {
    if (spawnSync(...wrap('sh', ['-c', `command -v ${tool}`])).status !== 0) return tool;
  }
  return undefined;
}

/** A TCP port on 127.0.0.1 that nothing listens on right now. */
function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

function run(cmd, args) {
  const r = spawnSync(...wrap(cmd, args), { encoding: 'utf8', timeout: 120_000 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: exit ${r.status}\n${r.stderr}${r.stdout}`);
  return r.stdout;
}

/**
 * Starts mon, OSD and radosgw with their state under `dir` (on free ports unless given) and a user.
 * Returns { endpoint, pids: [radosgw, ceph-osd, ceph-mon], credentials, version, stop() }.
 */
export async function startRadosgw(dir, options = {}) {
  const port = options.port ?? (await freePort());
  const monPort = options.monPort ?? (await freePort());
  const memoryGiB = options.memoryGiB ?? 8;
  const conf = join(dir, 'ceph.conf');
  const fsid = randomUUID();
  for (const d of ['mon', 'osd', 'run', 'log']) await mkdir(join(dir, d), { recursive: true });
  await writeFile(
    conf,
    [
      '[global]',
      `fsid = ${fsid}`,
      `mon host = v2:127.0.0.1:${monPort}`,
      'public addr = 127.0.0.1',
      'cluster addr = 127.0.0.1',
      'ms bind ipv6 = false',
      'auth cluster required = none',
      'auth service required = none',
      'auth client required = none',
      'ms mon client mode = crc secure',
      'ms client mode = crc secure',
      'ms mon service mode = crc secure',
      'ms service mode = crc secure',
      'ms cluster mode = crc secure',
      'osd pool default size = 1',
      'osd pool default min size = 1',
      'osd pool default pg autoscale mode = off',
      'osd pool default pg num = 8',
      'osd pool default pgp num = 8',
      'osd crush chooseleaf type = 0',
      'mon allow pool size one = true',
      'mon warn on pool no redundancy = false',
      'mon data avail warn = 1',
      'mon data avail crit = 0',
      'osd objectstore = memstore',
      `memstore device bytes = ${memoryGiB * 1024 ** 3}`,
      `run dir = ${join(dir, 'run')}`,
      `log file = ${join(dir, 'log')}/$name.log`,
      `admin socket = ${join(dir, 'run')}/$name.asok`,
      '[mon.a]',
      `mon data = ${join(dir, 'mon')}`,
      '[osd.0]',
      `osd data = ${join(dir, 'osd')}`,
      '[client.rgw.a]',
      `rgw frontends = beast endpoint=127.0.0.1:${port}`,
      // Deleted objects' tails go to the garbage collector; collect them at once so that runs of
      // the bench do not fill the OSD's memory.
      'rgw gc obj min wait = 0',
      'rgw gc processor period = 5',
      '',
    ].join('\n'),
  );
  const children = [];
  const daemon = (cmd, args) => {
    const child = spawn(...wrap(cmd, ['-f', '-c', conf, ...args]), { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (b) => (err = (err + b).slice(-4000)));
    child.on('exit', (code) => {
      if (!stopping && code !== null) process.stderr.write(`ceph-rgw: ${cmd} exited ${code}\n${err}`);
    });
    children.push(child);
    return child;
  };
  let stopping = false;
  const stop = async () => {
    stopping = true;
    for (const c of children.reverse()) {
      if (c.exitCode !== null || c.signalCode !== null) continue;
      c.kill('SIGKILL');
      await new Promise((r) => c.once('exit', r));
    }
  };
  try {
    const monmap = join(dir, 'monmap');
    run('monmaptool', ['--create', '--addv', 'a', `[v2:127.0.0.1:${monPort}]`, '--fsid', fsid, monmap]);
    run('ceph-mon', ['-c', conf, '--mkfs', '-i', 'a', '--monmap', monmap]);
    const mon = daemon('ceph-mon', ['-i', 'a']);
    run('ceph', ['-c', conf, '--connect-timeout', '90', 'osd', 'create']);
    run('ceph-osd', ['-c', conf, '-i', '0', '--mkfs']);
    run('ceph', ['-c', conf, 'osd', 'crush', 'add', 'osd.0', '1', 'root=default']);
    const osd = daemon('ceph-osd', ['-i', '0']);
    const accessKeyId = 'NODEIMGBENCH';
    const secretAccessKey = 'nodeimg-bench-secret';
    run('radosgw-admin', [
      '-c',
      conf,
      'user',
      'create',
      '--uid=bench',
      '--display-name=bench',
      `--access-key=${accessKeyId}`,
      `--secret=${secretAccessKey}`,
    ]);
    const rgw = daemon('radosgw', ['-n', 'client.rgw.a']);
    const endpoint = `http://127.0.0.1:${port}`;
    for (let i = 0; ; i++) {
      if (rgw.exitCode !== null) throw new Error('radosgw exited at start');
      try {
        if ((await globalThis.fetch(endpoint)).ok) break;
      } catch {
        // not listening yet
      }
      if (i > 480) throw new Error(`radosgw did not answer on ${endpoint} within 120 s`);
      await sleep(250);
    }
    const version = spawnSync(...wrap('radosgw', ['--version']), { encoding: 'utf8' }).stdout.match(
      /version (\S+)/,
    )?.[1];
    return {
      endpoint,
      version: version ?? 'unknown',
      pids: [rgw.pid, osd.pid, mon.pid],
      credentials: { accessKeyId, secretAccessKey },
      stop,
    };
  } catch (e) {
    await stop();
    throw e;
  }
}
