import type { ByteSource } from '../source.js';
import { detectKernel, type KernelVersion } from './detect-kernel.js';
import { detectSystemd, type SystemdVersion } from './detect-systemd.js';
import type { PeImage } from './parse.js';
import { sectionSource } from './section-data.js';
import { findSection } from './sections.js';
import { ukiSections, type UkiSectionName } from './uki.js';

/** What a PE image is, as far as measured boot cares. */
export interface PeDetection {
  /** systemd-stub (also the stub inside a UKI) or systemd-boot, from the LoaderInfo marker. */
  readonly systemd: SystemdVersion | undefined;
  /** The Linux kernel: the image itself (vmlinuz) or, for a UKI, its .linux payload. */
  readonly kernel: KernelVersion | undefined;
  /** For a UKI (has .linux): the UKI sections present, in section-table order. */
  readonly uki: { readonly sections: readonly UkiSectionName[] } | undefined;
}

/** Detects systemd version, kernel version and UKI layout of a parsed PE image. */
export async function detectPe(src: ByteSource, pe: PeImage): Promise<PeDetection> {
  const linux = findSection(pe.sections, '.linux');
  const systemd = await detectSystemd(src, pe);
  const kernel = await detectKernel(linux ? sectionSource(src, pe, linux) : src);
  return { systemd, kernel, uki: linux ? { sections: ukiSections(pe) } : undefined };
}
