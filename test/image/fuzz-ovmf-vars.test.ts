// Fuzzer for readVarStore / parseSignatureLists / predictPcr7: >= 10,000 deterministic inputs
// mutated from Debian's OVMF_VARS_4M.snakeoil.fd (cut down to its used part, 57 records) and from a
// Microsoft db value (two X.509 lists) plus a SHA-256 list, and purely random ones. Every case must
// end in a result or a NodeimgError, quickly.
import { readFileSync } from 'node:fs';
import { expect, it } from 'vitest';
import { ByteReader } from '../../image/formats/reader.js';
import {
  parseSignatureLists,
  readVarStore,
  secureBootVariables,
  walkVariableRecords,
} from '../../image/formats/ovmf-vars/index.js';
import { fromBytes } from '../../image/formats/source.js';
import { predictPcr7 } from '../../measurements/firmware/index.js';
import { FuzzTally, Mutator, interesting } from '../helpers/fuzz.js';
import { SHA256_TYPE, concat, fixFvChecksum, signatureList } from '../helpers/ovmf-vars-bytes.js';
import { Prng } from '../helpers/prng.js';

const STORE_CASES = 7000;
const LIST_CASES = 3000;
const RANDOM_CASES = 500;
const SEED = 0x6f766d66; // "ovmf"
const FV_HEADER = 0x48;

/** The snakeoil store with Size/FvLength shrunk to the records actually used (plus 64 bytes). */
function smallStore(): { bytes: Uint8Array; records: number[] } {
  const full = new Uint8Array(readFileSync('/usr/share/OVMF/OVMF_VARS_4M.snakeoil.fd'));
  const v = new DataView(full.buffer);
  const size = v.getUint32(FV_HEADER + 16, true);
  let end = FV_HEADER + size;
  while (end > FV_HEADER && full[end - 1] === 0xff) end--;
  const storeSize = Math.ceil((end - FV_HEADER) / 4) * 4 + 64;
  const out = full.slice(0, FV_HEADER + storeSize);
  const o = new DataView(out.buffer);
  o.setUint32(FV_HEADER + 16, storeSize, true);
  o.setBigUint64(32, BigInt(out.length), true);
  fixFvChecksum(out);
  const records = walkVariableRecords(new ByteReader(out.subarray(FV_HEADER)), 'authenticated').map(
    (r) => r.offset + FV_HEADER,
  );
  return { bytes: out, records };
}

async function exercise(bytes: Uint8Array, withImage: boolean): Promise<void> {
  const store = await readVarStore(fromBytes(bytes, 'fuzz.fd'));
  const sb = secureBootVariables(store);
  for (const v of [sb.PK, sb.KEK, sb.db, sb.dbx, sb.dbt]) if (v) parseSignatureLists(v.data, v.offset);
  const signer = parseSignatureLists(sb.db?.data ?? new Uint8Array())[0]?.entries[0]?.data;
  const images = withImage && signer ? [{ label: 'img', signatures: [{ certificates: [signer] }] }] : [];
  predictPcr7({ vars: store, banks: ['sha256'], images });
}

it('survives mutated and random OVMF variable stores and signature lists', async () => {
  const rng = new Prng(SEED);
  const tally = new FuzzTally('ovmf-vars', 2000);
  const base = smallStore();
  expect(base.records).toHaveLength(57);
  expect((await readVarStore(fromBytes(base.bytes))).variables.length).toBe(31);
  const m = new Mutator(base.bytes);
  // Header fields worth hitting: FV header, store header, and each record's State/Attributes/NameSize/DataSize.
  const fields = [
    32,
    40,
    48,
    52,
    55,
    56,
    60,
    FV_HEADER + 16,
    FV_HEADER + 20,
    FV_HEADER + 21,
    ...base.records.flatMap((r) => [r, r + 2, r + 4, r + 36, r + 40]),
  ];

  for (let i = 0; i < STORE_CASES; i++) {
    const kind = rng.int(5);
    let input = base.bytes;
    if (kind === 0) for (let n = 1 + rng.int(8); n > 0; n--) m.flip(rng.int(base.bytes.length), rng.int(8));
    else if (kind === 1 || kind === 2) {
      for (let n = 1 + rng.int(3); n > 0; n--)
        m.uint(
          rng.pick(fields),
          rng.pick([1, 2, 4] as const),
          interesting(rng, [0x55aa, 0x3f, 0x3e, 0x3c, 0x7f, 0x5a, 0xfe]),
        );
      if (kind === 2) fixFvChecksum(base.bytes); // reach the store behind a valid FV header
    } else if (kind === 3) input = base.bytes.subarray(0, rng.int(base.bytes.length));
    else
      for (let n = 1 + rng.int(4); n > 0; n--)
        m.write(FV_HEADER + 28 + rng.int(base.bytes.length - FV_HEADER - 28), rng.bytes(1 + rng.int(16)));
    await tally.run(`store ${i} kind ${kind}`, () => exercise(input, i % 10 === 0));
    m.restore();
    fixFvChecksum(base.bytes);
  }

  const ms = await readVarStore(
    fromBytes(new Uint8Array(readFileSync('/usr/share/OVMF/OVMF_VARS_4M.ms.fd'))),
  );
  const lists = concat(
    secureBootVariables(ms).db?.data ?? new Uint8Array(),
    signatureList(SHA256_TYPE, [{ data: new Uint8Array(32) }, { data: new Uint8Array(32).fill(1) }]),
  );
  const starts = parseSignatureLists(lists).map((l) => l.offset);
  const lm = new Mutator(lists);
  for (let i = 0; i < LIST_CASES; i++) {
    if (rng.chance(0.5))
      for (let n = 1 + rng.int(3); n > 0; n--)
        lm.uint(rng.pick(starts) + rng.pick([16, 20, 24]), 4, interesting(rng));
    else for (let n = 1 + rng.int(8); n > 0; n--) lm.flip(rng.int(lists.length), rng.int(8));
    const cut = rng.chance(0.2) ? lists.subarray(0, rng.int(lists.length)) : lists;
    await tally.run(`list ${i}`, async () => void parseSignatureLists(cut));
    lm.restore();
  }

  for (let i = 0; i < RANDOM_CASES; i++) {
    const bytes = rng.bytes(rng.int(4096));
    if (i % 2 === 0 && bytes.length >= FV_HEADER + 16) {
      // a valid-looking NV FV header in front of random store bytes
      bytes.set(base.bytes.subarray(0, FV_HEADER + 16));
    }
    await tally.run(`random ${i}`, async () => {
      if (i % 3 === 0) parseSignatureLists(bytes);
      else await exercise(bytes, false);
    });
  }

  console.log(tally.summary());
  expect(tally.cases).toBeGreaterThanOrEqual(10_000);
  expect(tally.ok).toBeGreaterThan(0);
  expect(tally.cases - tally.ok).toBeGreaterThan(0);
}, 60_000);
