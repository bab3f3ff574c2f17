// Minimal DER encoder for building test signatures (X.690 §8.1, definite lengths).

export function der(tag: number, ...contents: Uint8Array[]): Uint8Array {
  const len = contents.reduce((n, c) => n + c.length, 0);
  const lenBytes =
    len < 0x80
      ? [len]
      : len < 0x100
        ? [0x81, len]
        : len < 0x10000
          ? [0x82, len >> 8, len & 0xff]
          : [0x83, len >> 16, (len >> 8) & 0xff, len & 0xff];
  const out = new Uint8Array(1 + lenBytes.length + len);
  out[0] = tag;
  out.set(lenBytes, 1);
  let at = 1 + lenBytes.length;
  for (const c of contents) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

export function oid(dotted: string): Uint8Array {
  const arcs = dotted.split('.').map(Number);
  const body: number[] = [];
  const push = (v: number): void => {
    const groups: number[] = [v & 0x7f];
    for (v = Math.floor(v / 128); v > 0; v = Math.floor(v / 128)) groups.unshift((v & 0x7f) | 0x80);
    body.push(...groups);
  };
  push((arcs[0] ?? 0) * 40 + (arcs[1] ?? 0));
  for (const a of arcs.slice(2)) push(a);
  return der(0x06, new Uint8Array(body));
}

const NULL = new Uint8Array([0x05, 0x00]);

/** An Authenticode-shaped PKCS#7 SignedData (no signerInfo content) with the given digest and certificates. */
export function authenticodeSignedData(
  digest: Uint8Array,
  certs: readonly Uint8Array[],
  digestOid = '2.16.840.1.101.3.4.2.1',
): Uint8Array {
  const alg = der(0x30, oid(digestOid), NULL);
  const spc = der(
    0x30,
    der(0x30, oid('1.3.6.1.4.1.311.2.1.15'), der(0x30)), // SpcAttributeTypeAndOptionalValue (SpcPeImageData)
    der(0x30, alg, der(0x04, digest)), // DigestInfo
  );
  const signed = der(
    0x30,
    der(0x02, new Uint8Array([1])),
    der(0x31, alg),
    der(0x30, oid('1.3.6.1.4.1.311.2.1.4'), der(0xa0, spc)),
    der(0xa0, ...certs),
    der(0x31),
  );
  return der(0x30, oid('1.2.840.113549.1.7.2'), der(0xa0, signed));
}

/** A self-signed P-256 certificate, CN=nodeimg fuzz (openssl req -x509, valid until 2126). */
export const TEST_CERT_DER = new Uint8Array(
  Buffer.from(
    'MIIBhTCCASugAwIBAgIUAkp/+R+41HR02Lzk49UFTtLq0IgwCgYIKoZIzj0EAwIwFzEVMBMGA1UEAwwMbm9kZWltZyBmdXp6MCAXDTI2MTEyNzA4MDMwOFoYDzIxMjYxMTAzMDgwMzA4WjAXMRUwEwYDVQQDDAxub2RlaW1nIGZ1enowWTATBgcqhkjOPQIBBggqhkjOPQMBBwNCAASKy//Ayh/R5yf8jIU+tX2V0qjqz7ZdX51+cWpy/rtV2Xbxg40HCXoiTkVaA+X/ww1w+BJ7VvEJXvouiXz0/UN5o1MwUTAdBgNVHQ4EFgQUlg7sLv0O8l8GtP+huyN/+8v5uSQwHwYDVR0jBBgwFoAUlg7sLv0O8l8GtP+huyN/+8v5uSQwDwYDVR0TAQH/BAUwAwEB/zAKBggqhkjOPQQDAgNIADBFAiAUz4eFtxGNCS7kfswpgF4aoi7ewjmkWoFA59QG7fYakgIhAJ4V7pd44CQvMq4+5Ddll11nJbK2wWtsReTH8+r9i1Bb',
    'base64',
  ),
);
