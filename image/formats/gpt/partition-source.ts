// One partition of a GPT disk as a ByteSource; in its own file so that readers (image/boot-chain.ts)
// can import it without the GPT writer that index.ts also re-exports.
import { slice, type ByteSource } from '../source.js';
import type { GptPartition } from './entries.js';

/** The bytes of one partition as a ByteSource (offsets relative to the partition start). */
export function partitionSource(disk: ByteSource, p: GptPartition): ByteSource {
  const label = p.name === '' ? `partition ${p.index}` : `partition ${p.index} (${p.name})`;
  return slice(disk, p.offset, p.size, `${disk.name} ${label}`);
}
