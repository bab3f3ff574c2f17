// diffExtends names an EV_EVENT_TAG prediction by what its data says it is (the kernel's
// "LOADED_IMAGE::LoadOptions" for the command line), so a changed command line reads as such.
import { describe, expect, it } from 'vitest';
import type { ExpectedEvent } from '../../measurements/eventlog/expected-event.js';
import { EV } from '../../measurements/eventlog/types.js';
import { diffExtends } from '../../measurements/tpm/extend-diff.js';
import type { TpmExtend } from '../../measurements/tpm/replay.js';

const d = (v: number) => new Uint8Array(32).fill(v);
const tagged = (id: number, text: string): Uint8Array => {
  const body = new TextEncoder().encode(text);
  const out = new Uint8Array(8 + body.length);
  const v = new DataView(out.buffer);
  v.setUint32(0, id, true);
  v.setUint32(4, body.length, true);
  out.set(body, 8);
  return out;
};
const predicted = (data: Uint8Array | undefined, description: string): ExpectedEvent => ({
  pcr: 9,
  type: EV.EVENT_TAG,
  digests: { sha256: d(1) },
  data,
  description,
});
const received: TpmExtend = {
  n: 1,
  command: 7,
  line: 42,
  pcr: 9,
  via: 'TPM2_PCR_Extend',
  digests: { sha256: d(2) },
  locality: 0,
  epoch: 1,
};
const message = (e: ExpectedEvent) => diffExtends([e], [received]).pcrs[0]?.first?.message;

describe('diffExtends: the predicted EV_EVENT_TAG named by its tag', () => {
  it("the tag's own text when it has one (the kernel's LoadOptions event)", () => {
    expect(
      message(predicted(tagged(0x8f3b22ed, 'LOADED_IMAGE::LoadOptions\0'), 'kernel command line "x"')),
    ).toBe(
      `PCR 9 extend 1: predicted EV_EVENT_TAG LOADED_IMAGE::LoadOptions: kernel command line "x" = sha256:${'01'.repeat(6)}…, the TPM received sha256:${'02'.repeat(6)}… (TPM2_PCR_Extend, TPM command #7, swtpm log line 42)`,
    );
  });
  it('the known tag name for binary tag data, the id for an unknown tag, nothing without data', () => {
    expect(message(predicted(tagged(0x13aed6db, '\x01\x02'), 'profile 1'))).toContain(
      'predicted EV_EVENT_TAG UKI_PROFILE_EVENT_TAG_ID: profile 1 = ',
    );
    expect(message(predicted(tagged(0x12345678, '\x01'), 'odd'))).toContain(
      'predicted EV_EVENT_TAG tag 0x12345678: odd = ',
    );
    expect(message(predicted(undefined, 'no data'))).toContain('predicted EV_EVENT_TAG no data = ');
    expect(message(predicted(new Uint8Array([1, 2]), 'truncated'))).toContain(
      'predicted EV_EVENT_TAG truncated = ',
    );
  });
});
