import { defineConfig } from 'vitest/config';

// Unit and integration tests run by default; the slow end-to-end suite (real QEMU boots) is
// selected with NODEIMG_SLOW=1 (scripts/test --slow).
const slow = process.env['NODEIMG_SLOW'] === '1';

export default defineConfig({
  test: {
    include: slow ? ['test/**/*.slow.test.ts'] : ['test/**/*.test.ts'],
    exclude: slow ? [] : ['test/**/*.slow.test.ts', 'node_modules/**'],
    testTimeout: 120_000,
    hookTimeout: 600_000,
    pool: 'forks',
  },
});
