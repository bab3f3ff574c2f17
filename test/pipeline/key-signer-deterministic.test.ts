import { generateKeyPairSync, verify } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { KeySigner } from '../../pipeline/adapters/key-signer.js';

describe('KeySigner signatures', () => {
  it('are deterministic (RFC 6979) and verify with node:crypto, so a resumed release re-creates the same log entry', async () => {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const signer = KeySigner.fromPem(
      privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
      'test',
      {},
    );
    for (const text of ['', 'measurements', 'x'.repeat(100_000)]) {
      const bytes = Buffer.from(text);
      const a = await signer.sign(bytes);
      const b = await signer.sign(bytes);
      expect(Buffer.from(a.signature).equals(Buffer.from(b.signature))).toBe(true);
      expect(verify('sha256', bytes, signer.publicKey.pem, a.signature)).toBe(true);
      expect(verify('sha256', Buffer.from(`${text}!`), signer.publicKey.pem, a.signature)).toBe(false);
    }
    const other = await signer.sign(Buffer.from('other'));
    const first = await signer.sign(Buffer.from('measurements'));
    expect(Buffer.from(other.signature).equals(Buffer.from(first.signature))).toBe(false);
  });
});
