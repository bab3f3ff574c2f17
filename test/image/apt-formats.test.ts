// The pure Debian archive formats (image/formats/apt): deb822, the InRelease framing, Release and
// Packages fields, Debian version order (against dpkg --compare-versions), gpgv status lines (as
// gpgv 2.2.40 printed them for a good, a bad, an unknown-key and Debian's three-key signatures),
// DEP-5 copyright files, and a fuzz pass: hostile inputs end in a result or a ParseError.
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import {
  compareDebianVersions,
  parseDeb822,
  parseDebianCopyright,
  parseGpgStatus,
  parsePackages,
  parseRelease,
  parseReleaseDate,
  signatureVerdict,
  splitClearsigned,
  stanzaText,
  deb822Field,
} from '../../image/formats/apt/index.js';
import { NodeimgError, ParseError } from '../../image/formats/errors.js';
import { Prng } from '../helpers/prng.js';

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);
const H = (c: string) => c.repeat(64);

function parseError(fn: () => unknown): ParseError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ParseError);
    return err as ParseError;
  }
  throw new Error('no error');
}

describe('deb822', () => {
  it('parses stanzas, continuation lines, UTF-8 values and byte ranges', () => {
    const text = 'Package: a\nDescription: first\n second\n .\nMaintainer: Jöhn\n\n\nPackage: b\n';
    const st = parseDeb822(enc(text), { base: 100 });
    expect(st).toHaveLength(2);
    expect(deb822Field(st[0]!, 'description')).toBe('first\nsecond\n.');
    expect(deb822Field(st[0]!, 'MAINTAINER')).toBe('Jöhn');
    expect(st[0]!.offset).toBe(100);
    expect(st[1]!.offset).toBe(100 + enc(text).indexOf(enc('Package: b')[0]!, 60));
    expect(dec(enc(text).subarray(st[0]!.offset - 100, st[0]!.end - 100))).toBe(
      text.slice(0, text.indexOf('\n\n') + 1),
    );
  });

  it('refuses duplicate fields, stray continuation lines and non-field lines, with offsets', () => {
    expect(parseError(() => parseDeb822(enc('A: 1\na: 2\n'))).message).toMatch(/at byte 5 .*appears twice/);
    expect(parseError(() => parseDeb822(enc(' x\n'))).offset).toBe(0);
    expect(parseError(() => parseDeb822(enc('A: 1\nnot a field\n'))).offset).toBe(5);
    expect(parseError(() => parseDeb822(enc('A: 1\n\nB: 2\n'), { maxStanzas: 1 })).code).toBe('PARSE_LIMIT');
  });
});

const RELEASE = `Origin: Debian
Suite: oldstable
Codename: bookworm
Date: Sat, 11 Jul 2026 10:16:37 UTC
Valid-Until: Sat, 18 Jul 2026 10:16:37 +0200
Acquire-By-Hash: yes
Architectures: all amd64
Components: main contrib
SHA256:
 ${H('a')}  1484322 main/binary-amd64/Packages
 ${H('b')}  98581 main/binary-amd64/Packages.xz
`;

describe('InRelease framing', () => {
  const signed = (body: string) =>
    `-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA256\n\n${body}-----BEGIN PGP SIGNATURE-----\n\nAAAA\n-----END PGP SIGNATURE-----\n`;

  it('splits header, dash-unescaped text and signature', () => {
    const m = splitClearsigned(enc(signed('a\n- -b\n- - c\n')));
    expect(m.hashes).toEqual(['SHA256']);
    expect(dec(m.text)).toBe('a\n-b\n- c\n');
    expect(m.signature).toBe('-----BEGIN PGP SIGNATURE-----\n\nAAAA\n-----END PGP SIGNATURE-----');
    expect(m.textOffset).toBe(49); // after the header line, the Hash header and the blank line
  });

  it('refuses text before or after the message, unescaped dashes, other headers, a second block', () => {
    expect(parseError(() => splitClearsigned(enc(`x\n${signed('a\n')}`))).message).toMatch(
      /nothing may come before/,
    );
    expect(parseError(() => splitClearsigned(enc(`${signed('a\n')}Date: now\n`))).message).toMatch(
      /after the signature/,
    );
    expect(parseError(() => splitClearsigned(enc(signed('-x\n')))).message).toMatch(/not dash-escaped/);
    expect(
      parseError(() => splitClearsigned(enc(signed('a\n').replace('Hash: SHA256', 'Comment: hi')))).message,
    ).toMatch(/other than "Hash:"/);
    const nested = signed('a\n').replace('AAAA\n', 'AAAA\n-----BEGIN PGP SIGNATURE-----\n');
    expect(parseError(() => splitClearsigned(enc(nested))).message).toMatch(/second armored block/);
    expect(
      parseError(() => splitClearsigned(enc(signed('a\n').replace(/-----END[^\n]*\n/, '')))).message,
    ).toMatch(/ends early/);
  });
});

describe('Release', () => {
  it('reads dates, validity, architectures, components and the SHA256 list', () => {
    const r = parseRelease(enc(RELEASE));
    expect(r.suite).toBe('oldstable');
    expect(r.codename).toBe('bookworm');
    expect(r.date).toBe(Date.UTC(2026, 6, 11, 10, 16, 37));
    expect(r.validUntil).toBe(Date.UTC(2026, 6, 18, 8, 16, 37));
    expect(r.acquireByHash).toBe(true);
    expect(r.architectures).toEqual(['all', 'amd64']);
    expect(r.components).toEqual(['main', 'contrib']);
    expect(r.sha256.get('main/binary-amd64/Packages.xz')).toEqual({
      path: 'main/binary-amd64/Packages.xz',
      size: 98581,
      sha256: H('b'),
    });
  });

  it('refuses a Release without SHA256 or Date, bad dates and paths leaving the suite', () => {
    expect(parseError(() => parseRelease(enc(RELEASE.replace(/SHA256:[\s\S]*/, '')))).message).toMatch(
      /no SHA256 list/,
    );
    expect(parseError(() => parseRelease(enc(RELEASE.replace(/Date: .*\n/, '')))).message).toMatch(/no Date/);
    expect(
      parseError(() => parseRelease(enc(RELEASE.replace('Sat, 11 Jul', 'Sat, 31 Feb')))).message,
    ).toMatch(/not an RFC 2822 date/);
    expect(
      parseError(() => parseRelease(enc(RELEASE.replace('main/binary-amd64/Packages\n', '../x\n')))).message,
    ).toMatch(/leaves the suite/);
    expect(parseReleaseDate('11 Jul 2026 10:16:37 GMT')).toBe(Date.UTC(2026, 6, 11, 10, 16, 37));
    expect(parseReleaseDate('2026-07-11')).toBeUndefined();
  });
});

describe('Packages', () => {
  const stanza = (over: Record<string, string | undefined> = {}) => {
    const f: Record<string, string | undefined> = {
      Package: 'adduser',
      Version: '3.134',
      Architecture: 'all',
      Priority: 'important',
      Section: 'admin',
      Filename: 'pool/main/a/adduser/adduser_3.134_all.deb',
      Size: '1200',
      SHA256: H('c'),
      ...over,
    };
    return Object.entries(f)
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => `${k}: ${v}\n`)
      .join('');
  };

  it('reads the lock fields and the exact stanza text', () => {
    const text = `${stanza()}\n${stanza({ Package: 'apt', Version: '2.6.1', Architecture: 'amd64' })}`;
    const [a, b] = parsePackages(enc(text));
    expect(a).toMatchObject({
      package: 'adduser',
      version: '3.134',
      size: 1200,
      sha256: H('c'),
      section: 'admin',
      priority: 'important',
    });
    expect(stanzaText(enc(text), b!)).toBe(
      stanza({ Package: 'apt', Version: '2.6.1', Architecture: 'amd64' }),
    );
  });

  it('refuses stanzas that cannot authenticate or locate their .deb', () => {
    expect(parseError(() => parsePackages(enc(stanza({ SHA256: undefined })))).message).toMatch(
      /without SHA256/,
    );
    expect(parseError(() => parsePackages(enc(stanza({ Filename: '../../etc/passwd' })))).message).toMatch(
      /leaves the mirror/,
    );
    expect(parseError(() => parsePackages(enc(stanza({ Filename: '/abs.deb' })))).message).toMatch(
      /leaves the mirror/,
    );
    expect(parseError(() => parsePackages(enc(stanza({ Size: '-1' })))).message).toMatch(/Size/);
    expect(parseError(() => parsePackages(enc(stanza({ Package: 'Bad_Name' })))).message).toMatch(
      /package name/,
    );
  });
});

describe('Debian version order', () => {
  const pairs: [string, string][] = [
    ['1.0', '1.0'],
    ['1.0', '1.0-1'],
    ['1.0~rc1', '1.0'],
    ['1.0~~', '1.0~'],
    ['1:0.1', '2.0'],
    ['1.0a', '1.0'],
    ['1.0+b1', '1.0'],
    ['1.2.10', '1.2.9'],
    ['252.39-1~deb12u1', '252.39-1'],
    ['6.1.192-2', '6.1.192-10'],
    ['0001', '1'],
    ['1.0-1', '1.0.0-1'],
    ['2:1.0', '1:9.9'],
    ['a', 'B'],
    ['1-1+deb12u1', '1-1'],
  ];
  it('orders versions as dpkg --compare-versions does', () => {
    const rng = new Prng(0x64706b67);
    const chars = ['0', '1', '9', '10', 'a', 'z', 'A', '.', '+', '~'];
    const part = () =>
      `${rng.pick(['0', '1', '2', '10'])}${Array.from({ length: rng.int(5) }, () => rng.pick(chars)).join('')}`;
    for (let i = 0; i < 60; i++) {
      const gen = () =>
        `${rng.chance(0.3) ? `${rng.int(3)}:` : ''}${part()}${rng.chance(0.6) ? `-${part()}` : ''}`;
      pairs.push([gen(), gen()]);
    }
    /** dpkg's verdict: exit 0 = true, 1 = false, anything else (bad syntax) fails the test. */
    const dpkg = (a: string, op: string, b: string): boolean => {
      try {
        execFileSync('dpkg', ['--compare-versions', a, op, b], { stdio: 'ignore' });
        return true;
      } catch (err) {
        expect((err as { status?: number }).status).toBe(1);
        return false;
      }
    };
    for (const [a, b] of pairs) {
      const want = dpkg(a, 'lt', b) ? -1 : dpkg(a, 'eq', b) ? 0 : 1;
      expect([a, b, Math.sign(compareDebianVersions(a, b))]).toEqual([a, b, want]);
    }
  });
});

describe('gpgv status lines', () => {
  const FPR = 'D898BD17BA3E7CF23B86D9CC8FFB475731D904A3';
  const good = `[GNUPG:] NEWSIG
[GNUPG:] KEY_CONSIDERED ${FPR} 0
[GNUPG:] SIG_ID hatowAbslciKgUrE34Ji2NLR20Y 2026-11-27 1795778860
[GNUPG:] GOODSIG 8FFB475731D904A3 nodeimg test archive <archive@nodeimg.invalid>
[GNUPG:] VALIDSIG ${FPR} 2026-11-27 1795778860 0 4 0 22 10 01 ${FPR}
`;
  const noKey = `[GNUPG:] NEWSIG
[GNUPG:] ERRSIG 8FFB475731D904A3 22 10 01 1795778860 9 ${FPR}
[GNUPG:] NO_PUBKEY 8FFB475731D904A3
`;
  const bad = `[GNUPG:] NEWSIG
[GNUPG:] BADSIG 8FFB475731D904A3 nodeimg test archive <archive@nodeimg.invalid>
`;
  // bookworm's InRelease: signed by three keys; the first two with subkeys (primary fingerprint last)
  const debian = `[GNUPG:] NEWSIG
[GNUPG:] GOODSIG 6ED0E7B82643E131 Debian Archive Automatic Signing Key (12/bookworm) <ftpmaster@debian.org>
[GNUPG:] VALIDSIG 4CB50190207B4758A3F73A796ED0E7B82643E131 2026-07-11 1783765031 0 4 0 1 8 01 B8B80B5B623EAB6AD8775C45B7C5D7D6350947F8
[GNUPG:] NEWSIG
[GNUPG:] GOODSIG F8D2585B8783D481 Debian Stable Release Key (12/bookworm) <debian-release@lists.debian.org>
[GNUPG:] VALIDSIG 4D64FEC119C2029067D6E791F8D2585B8783D481 2026-07-11 1783765141 0 4 0 22 8 01 4D64FEC119C2029067D6E791F8D2585B8783D481
`;
  it('reads each signature block', () => {
    expect(parseGpgStatus(good)).toEqual([
      {
        status: 'good',
        keyId: '8FFB475731D904A3',
        userId: 'nodeimg test archive <archive@nodeimg.invalid>',
        fingerprint: FPR,
        primaryFingerprint: FPR,
        created: 1795778860,
        hashAlgorithm: 10,
      },
    ]);
    expect(parseGpgStatus(noKey)[0]).toMatchObject({ status: 'no-public-key', fingerprint: FPR });
    expect(parseGpgStatus(debian).map((s) => s.primaryFingerprint)).toEqual([
      'B8B80B5B623EAB6AD8775C45B7C5D7D6350947F8',
      '4D64FEC119C2029067D6E791F8D2585B8783D481',
    ]);
  });

  it('counts only trusted, good, strong signatures; a BADSIG spoils the file', () => {
    expect(signatureVerdict(parseGpgStatus(good), new Set([FPR])).good).toHaveLength(1);
    expect(signatureVerdict(parseGpgStatus(good), new Set(['X'])).problem).toMatch(
      /not one of the trusted keys/,
    );
    expect(signatureVerdict(parseGpgStatus(noKey), new Set([FPR])).problem).toMatch(/not in the keyring/);
    expect(signatureVerdict(parseGpgStatus(good + bad), new Set([FPR])).problem).toMatch(/BAD signature/);
    expect(
      signatureVerdict(parseGpgStatus(good.replace(' 22 10 01 ', ' 22 2 01 ')), new Set([FPR])).problem,
    ).toMatch(/weak digest/);
    expect(
      signatureVerdict(parseGpgStatus(good.replace('GOODSIG', 'EXPKEYSIG')), new Set([FPR])).problem,
    ).toMatch(/expired/);
    expect(signatureVerdict(parseGpgStatus(''), new Set([FPR])).problem).toBe('no signature found');
    const stable = new Set(['4D64FEC119C2029067D6E791F8D2585B8783D481']);
    expect(signatureVerdict(parseGpgStatus(debian), stable).good.map((s) => s.keyId)).toEqual([
      'F8D2585B8783D481',
    ]);
  });
});

describe('DEP-5 copyright', () => {
  it('reads the licences of the header and Files stanzas, and stand-alone licence texts', () => {
    const c = parseDebianCopyright(
      enc(
        'Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\nLicense: GPL-2+\n\nFiles: *\nCopyright: me\nLicense: GPL-2+ or Artistic\n\nFiles: debian/*\nLicense: BSD-3-clause\n\nLicense: BSD-3-clause\n Redistribution ...\n .\n more\n',
      ),
    );
    expect(c).toEqual({
      machineReadable: true,
      licences: ['BSD-3-clause', 'GPL-2+', 'GPL-2+ or Artistic'],
      texts: new Map([['BSD-3-clause', 'Redistribution ...\n\nmore']]),
    });
  });
  it('claims nothing about free-form files', () => {
    expect(parseDebianCopyright(enc('This is foo.\nCopyright 2024: nobody\n')).machineReadable).toBe(false);
    expect(
      parseDebianCopyright(enc('Format-Specification: http://wiki.debian.org/Proposals/CopyrightFormat\n'))
        .machineReadable,
    ).toBe(false);
  });
});

describe('hostile input', () => {
  it('ends in a result or a ParseError, never another error', () => {
    const rng = new Prng(0x61707431);
    const seeds = [
      enc(RELEASE),
      enc(
        `-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA256\n\n${RELEASE}-----BEGIN PGP SIGNATURE-----\nAAA\n-----END PGP SIGNATURE-----\n`,
      ),
      enc(`Package: a\nVersion: 1\nArchitecture: all\nFilename: pool/a.deb\nSize: 1\nSHA256: ${H('d')}\n`),
    ];
    let parsed = 0;
    let refused = 0;
    for (let i = 0; i < 3000; i++) {
      const buf = new Uint8Array(seeds[i % seeds.length]!);
      for (let k = 0; k < 1 + rng.int(6); k++) {
        const at = rng.int(buf.length);
        buf[at] = rng.chance(0.5) ? rng.pick([0x0a, 0x20, 0x3a, 0x2d, 0x00, 0xff, 0x09]) : rng.int(256);
      }
      const data = rng.chance(0.1) ? buf.subarray(0, rng.int(buf.length)) : buf;
      for (const f of [
        () => parseRelease(data),
        () => splitClearsigned(data),
        () => parsePackages(data),
        () => parseDeb822(data),
        () => parseDebianCopyright(data),
      ]) {
        try {
          f();
          parsed++;
        } catch (err) {
          if (!(err instanceof ParseError)) throw err;
          expect(err).toBeInstanceOf(NodeimgError);
          refused++;
        }
      }
    }
    expect(parsed).toBeGreaterThan(1000);
    expect(refused).toBeGreaterThan(1000);
  });
});
