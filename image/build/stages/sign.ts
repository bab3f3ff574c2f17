// Stage `sign`: Secure Boot signatures on the UKI (and on systemd-boot for the sdboot layout), made
// by nodeimg's own Authenticode writer (image/build/sign.ts signPeImage, tool 'nodeimg': no signing
// time, RSA PKCS#1 v1.5 is deterministic, so the signed files are a function of the inputs). The
// key file is an input only by the digest of its public key (pipeline/build/plan.ts), never by path.
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { signPeImage } from '../sign.js';
import type { BuildStage } from './types.js';

export type SignParams = {
  /** Also sign systemd-bootx64.efi (input `systemd-boot`). */
  readonly systemdBoot: boolean;
};

export const signStage: BuildStage<SignParams> = {
  kind: 'sign',
  version: 1,
  tools: [],
  outputs: (p) => (p.systemdBoot ? ['systemd-bootx64.efi', 'uki.efi'] : ['uki.efi']),
  async run(ctx) {
    const key = {
      key: ctx.inputs['key'] as string,
      cert: ctx.inputs['cert'] as string,
      tool: 'nodeimg',
    } as const;
    const files: [string, string][] = [['uki', 'uki.efi']];
    if (ctx.params.systemdBoot) files.push(['systemd-boot', 'systemd-bootx64.efi']);
    for (const [input, out] of files) {
      ctx.signal.throwIfAborted();
      const signed = await signPeImage(new Uint8Array(await readFile(ctx.inputs[input] as string)), key);
      await writeFile(join(ctx.outDir, out), signed);
    }
  },
};
