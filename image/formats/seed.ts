// Identifiers derived from a build seed, so that two builds with the same seed write the same
// bytes: HMAC-SHA256 keyed with the seed's 16 bytes (a UUID in text order, like systemd-repart's
// --seed) over a label. The GPT writer derives its GUIDs the same way (gpt/writer.ts, systemd's
// derive_uuid); these helpers serve the dm-verity salt and UUID and the file-system UUIDs of the
// build stages. Labels are nodeimg's own ("verity-salt:root", "erofs-uuid:root"): no other tool has
// to reproduce them, the seed and the derived values are recorded in the build manifest. Pure.
import { createHmac } from 'node:crypto';
import { NodeimgError } from './errors.js';

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function seedKey(seed: string): Uint8Array {
  if (!UUID_RE.test(seed))
    throw new NodeimgError('USAGE', `a build seed is a UUID, not ${JSON.stringify(seed)}`, {
      hint: 'generate one once with `uuidgen` and keep it in the recipe',
    });
  return Uint8Array.from(Buffer.from(seed.replaceAll('-', ''), 'hex'));
}

/** HMAC-SHA256(key = seed bytes, label): 32 bytes. */
export function seedBytes(seed: string, label: string): Uint8Array {
  return new Uint8Array(createHmac('sha256', seedKey(seed)).update(label, 'utf8').digest());
}

/** A version 4 UUID (text, lower case) from the first 16 bytes of seedBytes (id128_make_v4_uuid). */
export function seedUuid(seed: string, label: string): string {
  const id = seedBytes(seed, label).subarray(0, 16);
  id[6] = ((id[6] as number) & 0x0f) | 0x40;
  id[8] = ((id[8] as number) & 0x3f) | 0x80;
  const h = Buffer.from(id).toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}
