import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/helpers/global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Argon2 and Chromium are CPU-heavy; two cores on CI.
    fileParallelism: true,
    maxWorkers: 2,
    reporters: ['default'],
  },
});
