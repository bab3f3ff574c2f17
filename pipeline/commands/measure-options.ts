// The option names `nodeimg measure` takes only together with --platform, kept apart from the
// platform code (measure-platform.ts, measure-tdx.ts) so that a plain `measure` run can refuse a
// stray one without loading the SEV-SNP and TDX modules (about 50 files; bench/measure.mjs).

/** measure options only an SEV-SNP --platform takes. */
export const SNP_MEASURE_OPTIONS = ['vcpus', 'vcpu-type', 'vcpu-sig', 'guest-features'] as const;

/** measure options only --platform qemu-tdx takes. */
export const TDX_MEASURE_OPTIONS = [
  'memory',
  'acpi-tables',
  'acpi-loader',
  'acpi-rsdp',
  'boot-variables',
  'platform-ccel',
  'rtmr-layout',
] as const;

/** Every option that goes with --platform. */
export const PLATFORM_OPTIONS = ['firmware', ...SNP_MEASURE_OPTIONS, ...TDX_MEASURE_OPTIONS] as const;
